"""Registration with a registrar (RFC 3261 §10): REGISTER our Contact for an address of record,
answer a digest challenge, and refresh before the binding expires.

A rejected password ends in state ``failed`` with the reason kept, and nothing is retried: a
second challenge after we answered one is a refusal, not a prompt to try again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from engine.sip.auth import AuthError, Credentials, DigestSession
from engine.sip.build import USER_AGENT, new_call_id, new_tag
from engine.sip.message import Request, Response
from engine.sip.timers import TimerHandle
from engine.sip.transport import Peer

if TYPE_CHECKING:
    from engine.sip.ua import UserAgent

log = logging.getLogger(__name__)

REFRESH_SHARE = 0.5  # refresh halfway through the granted expiry (what most phones do)
MIN_REFRESH_S = 5.0
RETRY_AFTER_FAILURE_S = 60.0  # a registrar that times out or errs (not a refusal) is retried


class Registration:
    """One binding of our Contact at a registrar. States: idle, registering, registered,
    failed, unregistered."""

    def __init__(self, ua: UserAgent, registrar: Peer, aor: str, *,
                 credentials: Credentials | None = None, expires: int = 3600,
                 registrar_uri: str | None = None) -> None:
        self.ua = ua
        self.registrar = registrar
        self.aor = aor  # sip:user@domain
        self.registrar_uri = registrar_uri or f"sip:{registrar.host}:{registrar.port}"
        self.expires = expires
        self.auth = DigestSession(credentials) if credentials is not None else None
        self.call_id = new_call_id(ua.endpoint.host)
        self.local_tag = new_tag()
        self.seq = 0
        self.state = "idle"
        self.status: int | None = None
        self.error: str | None = None
        self.granted_s: int | None = None
        self.registrations = 0  # successful REGISTERs (first and refreshes)
        self.sent = 0  # REGISTER requests sent (retransmissions not counted)
        self.on_change: Callable[[Registration], None] = lambda _reg: None
        self._refresh: TimerHandle | None = None
        self._done: asyncio.Future[bool] | None = None
        self._wanted = expires

    async def register(self) -> bool:
        """REGISTER (answering one challenge); True once registered, False when refused."""
        self._wanted = self.expires
        return await self._run()

    async def unregister(self) -> bool:
        self._cancel_refresh()
        self._wanted = 0
        return await self._run()

    def close(self) -> None:
        self._cancel_refresh()

    async def _run(self) -> bool:
        self._done = asyncio.get_running_loop().create_future()
        self._send(self._build())
        return await self._done

    def _build(self) -> Request:
        self.seq += 1
        transport = self.registrar.transport
        request = Request(method="REGISTER", uri=self.registrar_uri)
        request.headers += [
            ("Via", self.ua.via(transport)),
            ("Max-Forwards", "70"),
            ("From", f"<{self.aor}>;tag={self.local_tag}"),
            ("To", f"<{self.aor}>"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.seq} REGISTER"),
            ("Contact", self.ua.contact(transport)),
            ("Expires", str(self._wanted)),
            ("User-Agent", USER_AGENT),
        ]
        return request

    def _send(self, request: Request) -> None:
        self.sent += 1
        self.state = "registering" if self._wanted else self.state

        def on_response(response: Response) -> None:
            self._on_response(request, response)

        self.ua.endpoint.client_transaction(request, self.registrar, on_response, self._timeout)

    def _on_response(self, request: Request, response: Response) -> None:
        status = response.status
        if status < 200:
            return
        self.status = status
        if status in (401, 407) and self.auth is not None:
            retry = self._build()
            try:
                self.auth.authorize(retry, response)
            except AuthError as exc:
                self._fail(status, str(exc))
                return
            self._send(retry)
            return
        if 200 <= status < 300:
            if self.auth is not None:
                self.auth.accepted()
            if self._wanted == 0:
                self.state = "unregistered"
                self.error = None
                self._resolve(True)
                return
            self.granted_s = _granted(response, self._wanted)
            self.state = "registered"
            self.error = None
            self.registrations += 1
            delay = max(MIN_REFRESH_S, self.granted_s * REFRESH_SHARE)
            self._cancel_refresh()
            self._refresh = self.ua.endpoint.clock.call_later(delay, self._refresh_now)
            self.on_change(self)
            self._resolve(True)
            return
        if status == 423:  # Interval Too Brief: ask again for what the registrar allows
            minimum = response.header("Min-Expires")
            if minimum and minimum.strip().isdigit() and int(minimum) > self._wanted:
                self._wanted = int(minimum)
                self._send(self._build())
                return
        self._fail(status, f"{status} {response.reason}")

    def _timeout(self) -> None:
        self._fail(408, "registrar did not answer")
        if self._wanted:
            self._refresh = self.ua.endpoint.clock.call_later(RETRY_AFTER_FAILURE_S,
                                                              self._refresh_now)

    def _fail(self, status: int, error: str) -> None:
        log.warning("registration of %s at %s failed: %s", self.aor, self.registrar_uri, error)
        self.status = status
        self.state = "failed"
        self.error = error
        self._cancel_refresh()
        self.on_change(self)
        self._resolve(False)

    def _refresh_now(self) -> None:
        self._refresh = None
        self._wanted = self.expires
        self._send(self._build())

    def _cancel_refresh(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            self._refresh = None

    def _resolve(self, ok: bool) -> None:
        if self._done is not None and not self._done.done():
            self._done.set_result(ok)


def _granted(response: Response, wanted: int) -> int:
    """The expiry the registrar granted: our Contact's expires param, or Expires."""
    for value in response.header_values("Contact"):
        for part in value.split(";")[1:]:
            key, _, number = part.partition("=")
            if key.strip().lower() == "expires" and number.strip().isdigit():
                return int(number.strip())
    header = response.header("Expires")
    if header and header.strip().isdigit():
        return int(header.strip())
    return wanted
