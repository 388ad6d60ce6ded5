"""Where an event goes: the organization's enabled webhooks subscribed to it (agent-scoped ones
only for their agent's calls), or a function tool's own URL. Blocking: run in a worker thread.

Every call asks several times (each status change, the assistant request), so an organization's
enabled webhooks are read once and kept until any session commits a change to a webhook row;
:func:`targets_for` answers from what is kept without leaving the event loop.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import event as orm_events
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Session, col, select

from engine.store import Agent, ToolTemplate, Webhook

DEFAULT_TIMEOUT_S = 5.0  # a webhook's timeout when none is set (Webhook.timeout_seconds default)


@dataclass(frozen=True)
class Target:
    """One receiver: URL, secret (never shown), custom headers, timeout."""

    id: str
    organization_id: str
    url: str
    secret: str = field(default="", repr=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    timeout_s: float = DEFAULT_TIMEOUT_S
    agent_id: str | None = None


def _target(row: Webhook) -> Target:
    return Target(row.id, row.organization_id, row.url, row.secret or "", dict(row.headers or {}),
                  float(row.timeout_seconds or DEFAULT_TIMEOUT_S), row.agent_id)


class _Subscriptions:
    """The enabled webhooks of each organization of each database, as (events, target), kept
    until a commit changes a webhook. The generation is read before the rows, so a change
    committed during a read leaves that read uncached."""

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()
        self._rows: weakref.WeakKeyDictionary[
            SqlEngine, dict[str, tuple[int, list[tuple[frozenset[str], Target]]]]] = \
            weakref.WeakKeyDictionary()

    def kept(self, db: SqlEngine, organization_id: str
             ) -> list[tuple[frozenset[str], Target]] | None:
        """What is kept for the organization, if still current (never blocks on the store)."""
        generation = self.generation
        with self._lock:
            cached = self._rows.get(db, {}).get(organization_id)
        return cached[1] if cached is not None and cached[0] == generation else None

    def of(self, db: SqlEngine, organization_id: str) -> list[tuple[frozenset[str], Target]]:
        generation = self.generation
        kept = self.kept(db, organization_id)
        if kept is not None:
            return kept
        with Session(db) as session:
            rows = session.exec(
                select(Webhook).where(Webhook.organization_id == organization_id)
                .where(Webhook.enabled == True)  # noqa: E712 - SQL comparison
                .order_by(col(Webhook.created_at), col(Webhook.id))
            ).all()
            subscribed = [(frozenset(r.events or ()), _target(r)) for r in rows]
        with self._lock:
            self._rows.setdefault(db, {})[organization_id] = (generation, subscribed)
        return subscribed

    def changed(self) -> None:
        with self._lock:
            self.generation += 1


_SUBSCRIPTIONS = _Subscriptions()
_CHANGED_KEY = "webhooks_changed"


@orm_events.listens_for(OrmSession, "after_flush")
def _note_webhook_writes(session: OrmSession, _context: UOWTransaction) -> None:
    if any(isinstance(row, Webhook)
           for rows in (session.new, session.dirty, session.deleted) for row in rows):
        session.info[_CHANGED_KEY] = True


@orm_events.listens_for(OrmSession, "after_commit")
def _forget_webhooks(session: OrmSession) -> None:
    if session.info.pop(_CHANGED_KEY, False):
        _SUBSCRIPTIONS.changed()


@orm_events.listens_for(OrmSession, "after_rollback")
def _keep_webhooks(session: OrmSession) -> None:
    session.info.pop(_CHANGED_KEY, None)


def _subscribed(subscriptions: list[tuple[frozenset[str], Target]], event: str,
                agent_id: str | None, any_agent: bool) -> list[Target]:
    return [target for events, target in subscriptions
            if event in events and (any_agent or target.agent_id is None
                                    or target.agent_id == agent_id)]


def find_targets(db: SqlEngine, organization_id: str, event: str,
                 agent_id: str | None = None, *, any_agent: bool = False) -> list[Target]:
    """Blocking: enabled webhooks of the organization subscribed to ``event``, oldest first.

    Agent-scoped webhooks match only ``agent_id`` (or every agent with ``any_agent``)."""
    return _subscribed(_SUBSCRIPTIONS.of(db, organization_id), event, agent_id, any_agent)


async def targets_for(db: SqlEngine, organization_id: str, event: str,
                      agent_id: str | None = None, *, any_agent: bool = False) -> list[Target]:
    """:func:`find_targets` from the event loop: answered on the loop when the organization's
    webhooks are kept (the usual case, several times per call), read in a worker thread
    otherwise."""
    kept = _SUBSCRIPTIONS.kept(db, organization_id)
    if kept is not None:
        return _subscribed(kept, event, agent_id, any_agent)
    return await asyncio.to_thread(find_targets, db, organization_id, event, agent_id,
                                   any_agent=any_agent)


def target_by_id(db: SqlEngine, organization_id: str, webhook_id: str) -> Target | None:
    with Session(db) as session:
        row = session.get(Webhook, webhook_id)
    if row is None or row.organization_id != organization_id:
        return None
    return _target(row)


def tool_target(db: SqlEngine, organization_id: str, agent_id: str | None,
                name: str) -> Target | None:
    """The function tool's own URL when the agent has a tool of that name with one."""
    if not agent_id:
        return None
    with Session(db) as session:
        agent = session.get(Agent, agent_id)
        if agent is None or agent.organization_id != organization_id or not agent.tool_ids:
            return None
        tools = session.exec(
            select(ToolTemplate).where(col(ToolTemplate.id).in_(agent.tool_ids))
            .where(ToolTemplate.organization_id == organization_id)
        ).all()
    for tool in tools:
        function: Mapping[str, Any] = tool.function or {}
        if tool.type != "function" or (function.get("name") or tool.name) != name:
            continue
        url = function.get("url")
        if not url:
            return None
        return Target(tool.id, organization_id, str(url), str(function.get("secret") or ""),
                      dict(function.get("headers") or {}),
                      float(function.get("timeout_seconds") or DEFAULT_TIMEOUT_S), agent_id)
    return None


def agent_in_organization(db: SqlEngine, organization_id: str, agent_id: str) -> bool:
    with Session(db) as session:
        agent = session.get(Agent, agent_id)
    return agent is not None and agent.organization_id == organization_id


__all__ = ["Target", "agent_in_organization", "find_targets", "target_by_id", "targets_for",
           "tool_target"]
