"""The key a request is authenticated with: marked in the list, never revoked by that request
(409 naming it), its last use recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.client import ApiError, Client
from tests.harness.engine_host import RunningEngine
from tests.harness.tenants import Scratch


async def test_a_key_cannot_revoke_itself(scratch: Scratch, engine_server: RunningEngine) -> None:
    api = scratch.api
    made = await api.create_api_key("Console", ["admin"])
    async with Client(engine_server.url, made["key"]) as console:
        listed = {k["name"]: k for k in await console.list_api_keys()}
        assert listed["Console"]["current"] is True and listed["admin"]["current"] is False
        with pytest.raises(ApiError) as refused:
            await console.revoke_api_key(made["id"])
        assert refused.value.status == 409 and refused.value.code == "CONFLICT"
        assert "“Console”" in refused.value.message and made["prefix"] in refused.value.message
        assert "another admin key" in refused.value.message
        assert (await console.organization())["id"] == scratch.organization_id  # still works
        # another admin key may revoke it
        revoked = await api.revoke_api_key(made["id"])
        assert revoked["success"] is True
        with pytest.raises(ApiError) as gone:
            await console.organization()
        assert gone.value.status == 401
    listed = {k["name"]: k for k in await api.list_api_keys()}
    assert listed["Console"]["revoked"] is True and listed["admin"]["current"] is True


async def test_a_key_shows_when_it_was_last_used(scratch: Scratch, engine_server: RunningEngine) -> None:
    made = await scratch.api.create_api_key("Reports", ["read"])
    listed = {k["id"]: k for k in await scratch.api.list_api_keys()}
    assert listed[made["id"]]["last_used_at"] is None  # never used yet
    before = datetime.now(UTC) - timedelta(seconds=1)
    async with Client(engine_server.url, made["key"]) as reports:
        await reports.organization()
    listed = {k["id"]: k for k in await scratch.api.list_api_keys()}
    used = datetime.fromisoformat(listed[made["id"]]["last_used_at"].replace("Z", "+00:00"))
    assert used >= before
