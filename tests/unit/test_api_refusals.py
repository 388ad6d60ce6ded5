"""What API v1 refuses, in its own words: a body field a route does not take is named with the
fields it does take (never pydantic's "Extra inputs are not permitted"), and every list refuses a
query parameter it does not take, naming it, instead of ignoring it (an engine over a real
SQLite store, its API in process)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from engine.api import create_app, errors
from engine.app import Engine
from engine.settings import Settings

KEY = "sb_refusals_admin_key_0123456789abcdefghijkl"
BEARER = {"Authorization": f"Bearer {KEY}"}
PYDANTIC_EXTRA = "Extra inputs are not permitted"

# Lists without paging (the paged ones are found by their page and limit parameters)
UNPAGED_LISTS = frozenset({
    "/v1/api-keys", "/v1/personas", "/v1/voices", "/v1/models", "/v1/usage",
    "/v1/calls/{call_id}/events", "/v1/calls/{call_id}/transfers",
    "/v1/calls/{call_id}/participants", "/v1/calls/{call_id}/analysis/history",
    "/v1/provider-credentials/providers",
})
# Paged lists the discovery must find (a change that hides them from it fails here)
PAGED_LISTS = frozenset({
    "/v1/calls", "/v1/agents", "/v1/campaigns", "/v1/campaigns/{campaign_id}/leads",
    "/v1/phone-numbers", "/v1/sip-trunks", "/v1/analysis-templates", "/v1/tool-templates",
    "/v1/provider-credentials", "/v1/webhooks", "/v1/users", "/v1/usage/logs",
    "/v1/webhooks/{webhook_id}/deliveries", "/v1/callbacks",
    "/v1/campaigns/{campaign_id}/callbacks", "/v1/do-not-call",
    "/v1/agents/{agent_id}/rehearsals",
})


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    engine = Engine(Settings(data_dir=Path(tmp_path_factory.mktemp("refusals")), api_key=KEY))
    engine.setup()
    yield create_app(engine)
    engine.close()


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://engine", headers=BEARER) as client:
        yield client


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> str:
    response = await http.post(path, json=body)
    assert response.status_code == 201, response.text
    ident: str = response.json()["id"]
    return ident


def refusal(response: httpx.Response, field: str) -> str:
    """The message of a 422 that names ``field``."""
    assert response.status_code == 422, response.text
    error = response.json()
    assert error["field"] == field, error
    assert error["error"].startswith(f"{field}: "), error
    assert PYDANTIC_EXTRA not in response.text
    message: str = error["error"]
    return message


@pytest.mark.parametrize(("method", "path", "body", "field", "hint"), [
    ("POST", "/v1/agents", {"name": "Ada", "colour": "blue"}, "colour", None),
    ("POST", "/v1/agents", {"name": "Ada", "langauge": "fr-FR"}, "langauge", "language"),
    ("POST", "/v1/do-not-call", {"number": "+14155550100", "reson": "asked"}, "reson", "reason"),
    ("POST", "/v1/api-keys", {"name": "ci", "scope": ["admin"]}, "scope", "scopes"),
])
@pytest.mark.timeout(60)
async def test_a_body_field_a_route_does_not_take_is_named_in_our_words(
        http: httpx.AsyncClient, method: str, path: str, body: dict[str, Any], field: str,
        hint: str | None) -> None:
    response = await http.request(method, path, json=body)
    message = refusal(response, field)
    assert f"not a field of the body of {method} {path}" in message
    listed = message.split("(the fields: ")[1].rstrip(")").split(", ")
    assert next(iter(body)) in listed  # the field given with it, which the route takes
    if hint is not None:
        assert f"did you mean {hint}?" in message
    assert [d["field"] for d in response.json()["details"]] == [field]


@pytest.mark.timeout(60)
async def test_an_update_names_the_field_too(http: httpx.AsyncClient) -> None:
    trunk = await created(http, "/v1/sip-trunks", {"name": "Carrier", "host": "127.0.0.1"})
    response = await http.patch(f"/v1/sip-trunks/{trunk}", json={"user_name": "ada"})
    message = refusal(response, "user_name")
    assert "did you mean username?" in message


def list_routes(app: FastAPI) -> dict[str, frozenset[str]]:
    """API v1's list routes (from its OpenAPI document), each with its query parameters."""
    out: dict[str, frozenset[str]] = {}
    for path, operations in app.openapi()["paths"].items():
        get = operations.get("get")
        if not path.startswith("/v1/") or get is None:
            continue
        names = frozenset(p["name"] for p in get.get("parameters", []) if p["in"] == "query")
        if path in UNPAGED_LISTS or {"page", "limit"} <= names:
            out[path] = names
    return out


@pytest.mark.timeout(120)
async def test_every_list_refuses_a_query_parameter_it_does_not_take(
        app: FastAPI, http: httpx.AsyncClient) -> None:
    routes = list_routes(app)
    assert PAGED_LISTS | UNPAGED_LISTS <= set(routes), set(routes)
    agent = await created(http, "/v1/agents", {"name": "Lister"})
    ids = {
        "agent_id": agent,
        "campaign_id": await created(http, "/v1/campaigns", {"name": "Spring", "agent_id": agent}),
        "webhook_id": await created(http, "/v1/webhooks", {"url": "http://127.0.0.1:9/hook"}),
        "call_id": await created(http, "/v1/calls", {"agent_id": agent, "direction": "inbound",
                                                     "from_number": "+14155550100"}),
    }
    for template, names in sorted(routes.items()):
        path = re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)
        message = refusal(await http.get(path, params={"colour": "blue"}), "colour")
        assert "not a query parameter" in message, template
        if "page" in names:
            # a near miss is named with what was meant; the route's own parameters still work
            message = refusal(await http.get(path, params={"pgae": 2}), "pgae")
            assert "did you mean page?" in message, template
            response = await http.get(path, params={"page": 1, "limit": 5})
            assert response.status_code == 200, (template, response.text)


@pytest.mark.timeout(60)
async def test_a_generic_list_still_takes_its_filters(http: httpx.AsyncClient) -> None:
    """The generic lists read their filters from the query themselves: they are taken."""
    await created(http, "/v1/agents", {"name": "Francophone", "language": "fr-FR"})
    response = await http.get("/v1/agents", params={"language": "fr-FR"})
    assert response.status_code == 200, response.text
    assert [a["name"] for a in response.json()["items"]] == ["Francophone"]
    message = refusal(await http.get("/v1/agents", params={"lang": "fr-FR"}), "lang")
    assert "language" in message


class Destination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    ringing_timeout: int = 30


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    destinations: list[Destination]


@pytest.mark.timeout(60)
async def test_a_nested_field_is_named_with_the_fields_of_its_own_object() -> None:
    """The error handler on an app of its own whose body nests objects: an unknown field deep in
    the body is named by its path, with the fields of the object it was sent in."""
    app = FastAPI()
    errors.install(app)

    @app.post("/plans")
    def create_plan(plan: Plan) -> dict[str, str]:
        return {"name": plan.name}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://test") as client:
        response = await client.post("/plans", json={
            "name": "Escalation", "destinations": [{"to": "+14155550100", "ringing_timout": 20}]})
    message = refusal(response, "destinations.0.ringing_timout")
    assert message == ("destinations.0.ringing_timout: not a field of destinations.0; did you "
                       "mean ringing_timeout? (the fields: ringing_timeout, to)")
