"""A migrated SQLite store in a file, with one organization."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from engine.store import Organization, make_engine, migrate, session_scope, sqlite_url


def fresh_store(path: Path, organization: str = "Demo") -> tuple[Engine, str]:
    """The store's engine and the organization's id."""
    db = make_engine(sqlite_url(path))
    migrate(db)
    with session_scope(db) as session:
        org = Organization(name=organization)
        session.add(org)
        session.flush()
        return db, org.id
