"""Organizations, child organizations, API keys, and isolation between organizations."""

from __future__ import annotations

import httpx
import pytest

from engine.client import ApiError, Client
from tests.harness.engine_host import RunningEngine
from tests.harness.tenants import Scratch


async def test_organization_get_and_update(scratch: Scratch, api: Client) -> None:
    org = await scratch.api.organization()
    assert org["id"] == scratch.organization_id and org["name"] == "scratch"
    assert org["parent_id"] == (await api.organization())["id"]
    updated = await scratch.api.update_organization(name="Renamed", settings={"theme": "dark"})
    assert updated["name"] == "Renamed" and updated["settings"] == {"theme": "dark"}
    assert (await scratch.api.organization())["name"] == "Renamed"
    for fields, field in (({"name": ""}, "name"), ({"name": None}, "name"), ({"plan": "gold"}, "plan")):
        with pytest.raises(ApiError) as err:
            await scratch.api.update_organization(**fields)
        assert err.value.status == 422 and err.value.field == field
    parent = await api.organization()
    assert scratch.organization_id in [c["id"] for c in parent["children"]]


async def test_create_child_organization(api: Client, engine_server: RunningEngine) -> None:
    created = await api.create_organization("Acme")
    assert created["organization"]["name"] == "Acme" and created["id"] == created["organization"]["id"]
    key = created["api_key"]
    assert key["key"].startswith("sb_") and key["key"].startswith(key["prefix"])
    async with Client(engine_server.url, key["key"]) as child:
        assert (await child.organization())["id"] == created["id"]
        listed = await child.list_api_keys()
        assert [k["id"] for k in listed] == [key["id"]]
    with pytest.raises(ApiError) as err:
        await api.create_organization("")
    assert err.value.status == 422 and err.value.field == "name"


async def test_api_keys(scratch: Scratch, engine_server: RunningEngine) -> None:
    api = scratch.api
    made = await api.create_api_key("reader", ["read"])
    assert made["key"].startswith("sb_") and made["scopes"] == ["read"]
    listed = await api.list_api_keys()
    assert {k["name"] for k in listed} == {"admin", "reader"}
    for item in listed:
        assert "key" not in item and "key_hash" not in item and "hash" not in str(item)
    async with Client(engine_server.url, made["key"]) as reader:
        assert (await reader.organization())["id"] == scratch.organization_id
        for attempt in (reader.create_organization("x"), reader.create_api_key("y"),
                        reader.revoke_api_key(made["id"]), reader.update_organization(name="z")):
            with pytest.raises(ApiError) as err:
                await attempt
            assert err.value.status == 403 and err.value.code == "FORBIDDEN"
        revoked = await api.revoke_api_key(made["id"])
        assert revoked["success"] is True and revoked["revoked_at"]
        with pytest.raises(ApiError) as err:  # at once, not after the verifier's cache expires
            await reader.organization()
        assert err.value.status == 401 and err.value.code == "UNAUTHORIZED"
    listed = {k["id"]: k for k in await api.list_api_keys()}
    assert listed[made["id"]]["revoked"] is True
    with pytest.raises(ApiError) as err:
        await api.create_api_key("bad", ["root"])
    assert err.value.status == 422 and err.value.field == "scopes"
    with pytest.raises(ApiError) as err:
        await api.revoke_api_key("no-such-key")
    assert err.value.status == 404


async def test_keys_of_other_organizations_are_invisible(api: Client, scratch: Scratch) -> None:
    child_keys = await scratch.api.list_api_keys()
    parent_keys = {k["id"] for k in await api.list_api_keys()}
    assert not parent_keys & {k["id"] for k in child_keys}
    with pytest.raises(ApiError) as err:
        await api.revoke_api_key(child_keys[0]["id"])
    assert err.value.status == 404
    with pytest.raises(ApiError) as err:
        await scratch.api.revoke_api_key(next(iter(parent_keys)))
    assert err.value.status == 404


async def test_crud_rows_are_scoped_to_the_organization(api: Client, scratch: Scratch) -> None:
    parent_agent = await api.agents.create(name="Parent only")
    child_agents = await scratch.api.agents.all()
    assert parent_agent["id"] not in {a["id"] for a in child_agents}
    for attempt in (scratch.api.agents.get(parent_agent["id"]),
                    scratch.api.agents.update(parent_agent["id"], name="stolen"),
                    scratch.api.agents.delete(parent_agent["id"])):
        with pytest.raises(ApiError) as err:
            await attempt
        assert err.value.status == 404
    assert (await api.agents.get(parent_agent["id"]))["name"] == "Parent only"
    await api.agents.delete(parent_agent["id"])


async def test_unauthorized_body(engine_server: RunningEngine) -> None:
    async with httpx.AsyncClient(base_url=engine_server.url) as raw:
        for path in ("/v1/organization", "/v1/api-keys", "/v1/usage", "/v1/voices"):
            response = await raw.get(path)
            assert response.status_code == 401
            body = response.json()
            assert body["code"] == "UNAUTHORIZED" and body["error"]
