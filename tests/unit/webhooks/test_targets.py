"""An organization's webhooks are read once and re-read after any committed change to one."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from engine.store import Webhook, session_scope
from engine.webhooks.targets import find_targets, targets_for
from tests.harness.stores import fresh_store


def _store(tmp_path: Path) -> tuple[Engine, str]:
    return fresh_store(tmp_path / "hooks.db", "acme")


def _selects(db: Engine) -> list[str]:
    seen: list[str] = []
    event.listen(db, "before_cursor_execute",
                 lambda _c, _cur, statement, *_a: seen.append(statement)
                 if "FROM webhook" in statement else None)
    return seen


def test_targets_are_cached_until_a_webhook_changes(tmp_path: Path) -> None:
    db, org = _store(tmp_path)
    selects = _selects(db)
    assert find_targets(db, org, "status-update") == []
    assert find_targets(db, org, "end-of-call-report") == []
    assert len(selects) == 1  # the second question is answered from memory

    with session_scope(db) as session:
        hook = Webhook(organization_id=org, url="http://127.0.0.1:9/a", events=["status-update"])
        session.add(hook)
    [target] = find_targets(db, org, "status-update")
    assert target.url == "http://127.0.0.1:9/a"
    assert find_targets(db, org, "end-of-call-report") == []
    assert len(selects) == 2

    with session_scope(db) as session:
        row = session.get(Webhook, hook.id)
        assert row is not None
        row.enabled = False
    assert find_targets(db, org, "status-update") == []

    with session_scope(db) as session:
        row = session.get(Webhook, hook.id)
        assert row is not None
        row.enabled = True
    assert len(find_targets(db, org, "status-update")) == 1
    with session_scope(db) as session:
        session.delete(session.get(Webhook, hook.id))
    assert find_targets(db, org, "status-update") == []


def test_a_rolled_back_change_keeps_the_cache(tmp_path: Path) -> None:
    db, org = _store(tmp_path)
    selects = _selects(db)
    find_targets(db, org, "status-update")
    try:
        with session_scope(db) as session:
            session.add(Webhook(organization_id=org, url="http://127.0.0.1:9/b",
                                events=["status-update"]))
            session.flush()
            raise RuntimeError("abandoned")
    except RuntimeError:
        pass
    assert find_targets(db, org, "status-update") == []
    assert len(selects) == 1


def test_agent_scoped_webhooks_match_their_agent(tmp_path: Path) -> None:
    db, org = _store(tmp_path)
    with session_scope(db) as session:
        session.add(Webhook(organization_id=org, url="http://127.0.0.1:9/all", events=["tool-calls"]))
        session.add(Webhook(organization_id=org, url="http://127.0.0.1:9/one", events=["tool-calls"],
                            agent_id="agent-1"))
    assert [t.url for t in find_targets(db, org, "tool-calls", "agent-1")] == \
        ["http://127.0.0.1:9/all", "http://127.0.0.1:9/one"]
    assert [t.url for t in find_targets(db, org, "tool-calls", "agent-2")] == ["http://127.0.0.1:9/all"]
    assert len(find_targets(db, org, "tool-calls", any_agent=True)) == 2


async def test_targets_for_reads_in_a_worker_and_answers_kept_targets_on_the_loop(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db, org = _store(tmp_path)
    readers: list[str] = []
    event.listen(db, "before_cursor_execute",
                 lambda *_a: readers.append(threading.current_thread().name))
    hops: list[object] = []
    to_thread = asyncio.to_thread

    async def counted(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await to_thread(fn, *args, **kwargs)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    assert await targets_for(db, org, "status-update") == []
    assert len(readers) == 1 and readers[0] != threading.current_thread().name
    assert await targets_for(db, org, "end-of-call-report") == []
    assert len(readers) == 1 and len(hops) == 1  # kept: answered on the loop

    with session_scope(db) as session:
        session.add(Webhook(organization_id=org, url="http://127.0.0.1:9/c",
                            events=["status-update"]))
    readers.clear()
    [target] = await targets_for(db, org, "status-update")
    assert target.url == "http://127.0.0.1:9/c"
    assert len(hops) == 2 and readers and threading.current_thread().name not in readers
