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


def listed_calls(data_dir: Path) -> int:
    """How many calls an engine's store has that the calls list shows by default (all but the
    test calls); the demo's number depends on the day it was seeded."""
    db = make_engine(sqlite_url(data_dir / "switchboard.db"))
    try:
        with db.connect() as conn:
            return int(conn.exec_driver_sql("SELECT count(*) FROM call WHERE NOT is_test").scalar_one())
    finally:
        db.dispose()
