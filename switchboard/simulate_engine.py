"""``switchboard simulate --engine URL``: where the engine listens for SIP (``GET /v1/engine``)
and, after each simulated call, the engine's row of it, found by the call's SIP Call-ID."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx

from engine.client import ApiError, Client
from engine.simulator import CallResult
from switchboard.simulate_report import CallRow

# The engine writes a call's end a moment after the BYE (its batch writer flushes every few
# hundred ms; the agent's last words and the analysis settle after); a loaded 2-core machine
# has been seen to take a few seconds.
ROW_WAIT_S = 20.0
ROW_POLL_S = 0.5
# Rows started this long before the call (clock skew between this machine and the engine's)
# are still candidates; the SIP Call-ID tells them apart.
SKEW_S = 120.0
ROWS_PAGE = 50  # candidate rows read per look (the newest first)
UNSPECIFIED = ("0.0.0.0", "::", "")  # a listening address that means "every interface"


class EngineError(Exception):
    """The engine cannot be used: unreachable, the key refused, SIP off. One line, no key."""


def check_url(url: str) -> str:
    """``url`` without its trailing slash; EngineError unless it is http(s)://HOST[:PORT]."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise EngineError(f"--engine {url!r} is not an http(s)://HOST:PORT URL")
    return url.rstrip("/")


async def engine_sip(api: Client, url: str) -> tuple[str, int]:
    """Where the engine at ``url`` listens for SIP, from ``GET /v1/engine``; an address it
    gives for every interface is replaced by the URL's host."""
    try:
        info = await api.engine_info()
    except ApiError as exc:
        if exc.status in (401, 403):
            raise EngineError(f"the engine at {url} refused the API key ({exc.status} "
                              f"{exc.code})") from None
        raise EngineError(f"the engine at {url} answered GET /v1/engine with {exc}") from None
    except httpx.HTTPError as exc:
        raise EngineError(f"cannot reach the engine at {url}: {exc or type(exc).__name__}") from None
    sip = info.get("sip") or {}
    if not sip.get("enabled") or not sip.get("port"):
        raise EngineError(f"the engine at {url} has SIP off (start it with serve --sip-port)")
    host = str(sip.get("host") or "")
    if host in UNSPECIFIED:
        host = urlsplit(url).hostname or "127.0.0.1"
    return host, int(sip["port"])


def local_ip_for(host: str, port: int) -> str:
    """This machine's address toward ``host`` (what the caller's SDP and Contact say): the
    loopback address for a loopback host, else the source address the routing table picks."""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return "127.0.0.1"
    except ValueError:
        if host == "localhost":
            return "127.0.0.1"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((host, port))  # UDP: no packet sent, only the route chosen
        return str(probe.getsockname()[0])


class RowFinder:
    """Finds each simulated call's row among the engine's calls to the dialed number: the
    newest rows since the calls began, matched by their SIP Call-ID (the list does not carry
    it, so each candidate's detail is read once)."""

    def __init__(self, api: Client, number: str, since: datetime) -> None:
        self.api = api
        self.number = number.lstrip("+")
        self.since = (since - timedelta(seconds=SKEW_S)).astimezone(UTC).isoformat()
        self._call_ids: dict[str, str | None] = {}  # row id -> its SIP Call-ID

    async def find(self, result: CallResult, wait_s: float = ROW_WAIT_S) -> CallRow | str | None:
        """The row of ``result``'s call once it has ended, or why there is none. An unanswered
        call is looked up once, and None when it has no row (the engine keeps none of a number
        it does not route: the SIP status says it all)."""
        if result.sip_call_id is None:
            return "no SIP Call-ID (the INVITE was never sent)"
        deadline = time.monotonic() + (wait_s if result.answered else 0.0)
        found: tuple[CallRow, bool] | None = None
        while True:
            try:
                found = await self._lookup(result.sip_call_id)
            except ApiError as exc:
                return f"the engine's calls list answered {exc}"
            except httpx.HTTPError as exc:
                return f"the engine's calls list failed: {exc or type(exc).__name__}"
            if found is not None and found[1]:
                return found[0]
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(ROW_POLL_S)
        if found is not None:
            return found[0]  # still live: shown as it is
        return "no row in the engine's calls" if result.answered else None

    async def _lookup(self, call_id: str) -> tuple[CallRow, bool] | None:
        """The row with ``call_id`` and whether it has ended, or None when none has it yet."""
        page = await self.api.list_calls(number=self.number, since=self.since, limit=ROWS_PAGE,
                                         sort_by="initiated_at", sort_order="desc")
        for item in page.items:
            row_id = str(item["id"])
            if row_id not in self._call_ids:
                detail = await self.api.get_call(row_id)
                self._call_ids[row_id] = detail.get("sip_call_id")
            if self._call_ids[row_id] == call_id:
                row = CallRow(row_id, str(item["status"]), item.get("disconnect_reason"))
                return row, item.get("ended_at") is not None
        return None


__all__ = ["EngineError", "RowFinder", "check_url", "engine_sip", "local_ip_for"]
