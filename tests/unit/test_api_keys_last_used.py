"""A key's last use is written by the key verifier, at most once a minute per key, on a cache hit
as on a lookup (a virtual clock stands in for the monotonic one)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from engine.api.auth import LAST_USED_EVERY_S, KeyVerifier, display_prefix, hash_key, new_key
from engine.store import ApiKey, Organization, make_engine, migrate, sqlite_url


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(db: Engine, name: str) -> tuple[str, str]:
    """A new key of a new organization: (its id, the key)."""
    key = new_key()
    with Session(db) as session:
        org = Organization(name="org")
        row = ApiKey(organization_id=org.id, name=name, prefix=display_prefix(key), key_hash=hash_key(key))
        session.add(org)
        session.add(row)
        session.commit()
        return row.id, key


def _last_used(db: Engine, key_id: str) -> datetime | None:
    with Session(db) as session:
        row = session.get(ApiKey, key_id)
        assert row is not None
        return row.last_used_at


def test_last_use_is_written_at_most_once_a_minute_per_key(tmp_path: Path) -> None:
    db = make_engine(sqlite_url(tmp_path / "keys.db"))
    migrate(db)
    clock = Clock()
    verifier = KeyVerifier(db, clock)
    key_id, key = _key(db, "CRM sync")
    other_id, other = _key(db, "Reports")
    assert _last_used(db, key_id) is None

    principal = verifier.verify(key)
    assert principal is not None and principal.key_id == key_id
    first = _last_used(db, key_id)
    assert first is not None
    assert _last_used(db, other_id) is None  # only the key that was used

    clock.now += LAST_USED_EVERY_S / 2  # a cache hit within the minute: not written again
    assert verifier.verify(key) == principal
    clock.now += 1  # the cache has expired (10 s): a lookup, still within the minute
    assert verifier.verify(key) == principal
    assert _last_used(db, key_id) == first

    verifier.verify(other)  # another key has a minute of its own
    assert _last_used(db, other_id) is not None

    clock.now += LAST_USED_EVERY_S / 2  # a minute after the first write
    assert verifier.verify(key) == principal
    later = _last_used(db, key_id)
    assert later is not None and later > first


def test_a_wrong_key_writes_nothing(tmp_path: Path) -> None:
    db = make_engine(sqlite_url(tmp_path / "keys.db"))
    migrate(db)
    verifier = KeyVerifier(db, Clock())
    key_id, _ = _key(db, "CRM sync")
    assert verifier.verify(new_key()) is None
    assert _last_used(db, key_id) is None
