"""Bearer API keys: ``sb_`` + 40 url-safe characters; only a SHA-256 hash is stored."""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col

from engine.api.errors import ApiError
from engine.store import ApiKey
from engine.store.timeutil import utcnow

log = logging.getLogger(__name__)

KEY_PREFIX = "sb_"
_CACHE_TTL_S = 10.0  # a revoked key stops working within this long on a busy engine
# A key's ``last_used_at`` is written at most this often: one small UPDATE a minute per key in
# use, whatever its request rate, and the minute is all the precision "last used" needs.
LAST_USED_EVERY_S = 60.0


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(30)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[:10]


@dataclass(frozen=True)
class Principal:
    """Who is asking: the key's organization, id and scopes."""

    organization_id: str
    key_id: str
    scopes: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return "admin" in self.scopes


class KeyVerifier:
    """Looks keys up by hash with a short cache, so authentication costs no query per request,
    and records when each key was last used (at most every ``LAST_USED_EVERY_S``). ``verify``
    blocks on the database now and then: call it off the event loop."""

    def __init__(self, engine: Engine, clock: Callable[[], float] = time.monotonic) -> None:
        self._engine = engine
        self._clock = clock
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._used: dict[str, float] = {}  # key id -> when its last use was last written
        self._lock = threading.Lock()

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def verify(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = self._clock()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < _CACHE_TTL_S:
            if hit[1] is not None:
                self._note_use(hit[1].key_id, now)
            return hit[1]
        with Session(self._engine) as session:
            row = session.execute(
                select(ApiKey).where(col(ApiKey.key_hash) == digest)).scalar_one_or_none()
        principal = None
        if row is not None and row.revoked_at is None:
            principal = Principal(row.organization_id, row.id, tuple(row.scopes or ()))
        with self._lock:
            self._cache[digest] = (now, principal)
        if principal is not None:
            self._note_use(principal.key_id, now)
        return principal

    def _note_use(self, key_id: str, now: float) -> None:
        """Write the key's ``last_used_at`` unless it was written less than a minute ago."""
        with self._lock:
            written = self._used.get(key_id)
            if written is not None and now - written < LAST_USED_EVERY_S:
                return
            self._used[key_id] = now
        try:
            with self._engine.begin() as connection:
                connection.execute(update(ApiKey).where(col(ApiKey.id) == key_id)
                                   .values(last_used_at=utcnow()))
        except SQLAlchemyError as exc:  # the request goes on: its key is valid
            log.warning("could not record the last use of API key %s: %s", key_id, exc)


def bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def principal_of_key(request: Request, key: str) -> Principal | None:
    """The principal of an API key, however the client sent it (a bearer token, an
    ``X-API-Key`` header), or None when the key is unknown or revoked. Blocks on the database
    now and then: call it off the event loop."""
    verifier: KeyVerifier = request.app.state.verifier
    return verifier.verify(key)


def principal_from(request: Request) -> Principal:
    """FastAPI dependency: the caller's principal, or 401."""
    token = bearer(request.headers.get("authorization"))
    if token is None:
        raise ApiError(401, "missing bearer API key (Authorization: Bearer <key>)", "UNAUTHORIZED")
    principal = principal_of_key(request, token)
    if principal is None:
        raise ApiError(401, "invalid or revoked API key", "UNAUTHORIZED")
    return principal
