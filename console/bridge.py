"""ApiBridge: the console's API client on an asyncio loop in a worker thread.

The GUI thread never awaits anything. ``ApiBridge.call`` schedules a coroutine on the worker
loop with ``asyncio.run_coroutine_threadsafe``; the result comes back on the GUI thread through
a queued Qt signal and is handed to the caller's ``on_ok`` or ``on_error``. The events WebSocket
runs on the same loop and emits each event, typed (``engine.events``, parsed on the worker
thread), through ``event_received``.

This is the same shape as the softphone's media thread (its own loop, talking to Qt through
signals), and it avoids a Qt-driven asyncio loop with its re-entrancy: a modal dialog or a
``processEvents`` can never run an API coroutine halfway inside another one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

import httpx
import shiboken6
import websockets.asyncio.client  # noqa: F401  (see below)
from PySide6.QtCore import QObject, Qt, Signal, Slot

from engine.client import ApiError, Client
from engine.events import Snapshot

log = logging.getLogger(__name__)
# websockets.asyncio.client is imported with the console rather than by the events socket on the
# worker thread: that import (~60 ms measured) holds the GIL while the first page is painted.

EVENTS_RETRY_SECONDS = (0.5, 1.0, 2.0, 5.0)  # back-off between reconnects of the events socket
# How long an idle connection is kept for the next request. httpx keeps one 5 s by default, and
# the engine's uvicorn closes one after 5 s idle (its timeout_keep_alive): a request sent just as
# the server closes it fails with a ReadError although the engine is fine. The console's health
# check every 5 s hit that race (measured: 2 failures in 60 requests spaced about 5 s apart on
# loopback; none with 2 s), and the status bar said "Disconnected" until the next check.
KEEPALIVE_EXPIRY_S = 2.0

ApiCall = Callable[[Client], Awaitable[Any]]
OnOk = Callable[[Any], object]  # what a callback answers is ignored
OnError = Callable[[Exception], object]


def _alive(callback: Callable[..., Any] | None, context: QObject | None) -> bool:
    """False when the callback belongs to a Qt object that has been deleted meanwhile."""
    for owner in (context, getattr(callback, "__self__", None)):
        if isinstance(owner, QObject) and not shiboken6.isValid(owner):
            return False
    return True


def _transport(base_url: str) -> httpx.AsyncBaseTransport:
    """A transport that drops idle connections before the engine does (``KEEPALIVE_EXPIRY_S``),
    without a TLS context for plain HTTP (the embedded engine on loopback).

    httpx builds a verifying TLS context for every client, loading the CA bundle: 30-55 ms
    measured here, holding the GIL while the window is being built.
    """
    limits = httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY_S)
    if base_url.startswith("http://"):
        return httpx.AsyncHTTPTransport(verify=False, limits=limits)
    return httpx.AsyncHTTPTransport(limits=limits)


class ApiBridge(QObject):
    """Owns the worker thread, its asyncio loop and the ``engine.client.Client`` on it."""

    _delivered = Signal(object)
    event_received = Signal(object)  # an engine.events.Event
    events_connected = Signal(bool)
    connection_changed = Signal(str)

    def __init__(self, base_url: str, api_key: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.base_url = base_url
        self.api_key = api_key
        self._loop = asyncio.new_event_loop()
        self._client: Client | None = None
        self._events_task: asyncio.Task[None] | None = None  # touched on the worker loop only
        self._events_wanted = False
        self.snapshots = 0  # snapshots the events socket delivered so far
        self._closed = False
        self._delivered.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        self._thread = threading.Thread(target=self._run_loop, name="switchboard-api", daemon=True)
        self._thread.start()
        self._submit(self._open(base_url, api_key))  # runs before any request submitted after it

    # -- the worker loop -------------------------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()
        self._loop.close()

    def _submit(self, coroutine: Awaitable[Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop)  # type: ignore[arg-type]

    async def _open(self, base_url: str, api_key: str) -> None:
        previous, self._client = self._client, Client(base_url, api_key, transport=_transport(base_url))
        if previous is not None:
            await previous.aclose()

    # -- requests --------------------------------------------------------------------------------

    def call(self, request: ApiCall, on_ok: OnOk | None = None, on_error: OnError | None = None,
             *, context: QObject | None = None) -> None:
        """Run ``request(client)`` on the worker loop; ``on_ok``/``on_error`` run on the GUI thread.

        The callbacks are dropped when ``context`` (or the object a callback is a method of) has
        been deleted by the time the answer arrives.
        """
        if self._closed:
            return

        async def run() -> None:
            assert self._client is not None
            try:
                result = await request(self._client)
            except Exception as exc:  # every failure goes back to the GUI as a value
                if not isinstance(exc, ApiError):
                    log.debug("API call failed: %r", exc)
                self._delivered.emit((on_error, exc, True, context))
            else:
                self._delivered.emit((on_ok, result, False, context))

        self._submit(run())

    def call_and_wait(self, request: ApiCall, timeout_s: float) -> Any:
        """Run ``request(client)`` and wait for its answer on this thread, for at most
        ``timeout_s``. Only for the window's last words as it closes (signing a user out): the
        GUI never waits otherwise."""
        if self._closed:
            raise RuntimeError("the API bridge is closed")

        async def run() -> Any:
            assert self._client is not None
            return await request(self._client)

        return self._submit(run()).result(timeout=timeout_s)

    @Slot(object)
    def _deliver(self, item: tuple[Callable[[Any], object] | None, Any, bool, QObject | None]) -> None:
        callback, value, failed, context = item
        if callback is None:
            if failed:
                log.warning("API call failed: %s", value)
            return
        if _alive(callback, context):
            callback(value)

    def reconnect(self, base_url: str, api_key: str) -> None:
        """Point the client at another engine (remote attach); the events socket follows."""
        self.base_url, self.api_key = base_url, api_key
        events_running = self._events_wanted
        self.stop_events()
        self._submit(self._open(base_url, api_key))
        if events_running:
            self.start_events()
        self.connection_changed.emit(base_url)

    # -- events ----------------------------------------------------------------------------------

    def start_events(self) -> None:
        """Keep the events WebSocket open (reconnecting with back-off); events arrive as signals."""
        if not self._events_wanted and not self._closed:
            self._events_wanted = True
            self._loop.call_soon_threadsafe(self._start_events_task)

    def _start_events_task(self) -> None:
        if self._events_task is None:
            self._events_task = self._loop.create_task(self._pump_events())

    async def _pump_events(self) -> None:
        failures = 0
        while True:
            client = self._client
            assert client is not None
            try:
                async for event in client.event_stream():
                    snapshot = isinstance(event, Snapshot)
                    if snapshot:
                        self.snapshots += 1
                    if failures or snapshot:
                        self.events_connected.emit(True)
                    failures = 0
                    self.event_received.emit(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("events socket closed: %r", exc)
            self.events_connected.emit(False)
            await asyncio.sleep(EVENTS_RETRY_SECONDS[min(failures, len(EVENTS_RETRY_SECONDS) - 1)])
            failures += 1

    def resync_events(self) -> None:
        """Reopen the events socket so that a fresh snapshot arrives (a view built after the
        first one went by needs the live state as it is now)."""
        if self._events_wanted and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._restart_events_task)

    def _restart_events_task(self) -> None:
        self._stop_events_task()
        self._start_events_task()

    def stop_events(self) -> None:
        if self._events_wanted and not self._loop.is_closed():
            self._events_wanted = False
            self._loop.call_soon_threadsafe(self._stop_events_task)

    def _stop_events_task(self) -> None:
        task, self._events_task = self._events_task, None
        if task is not None:
            task.cancel()

    # -- shutdown --------------------------------------------------------------------------------

    def close(self) -> None:
        """Cancel the events socket, close the client and stop the worker thread."""
        if self._closed:
            return
        self._closed = True
        self.stop_events()

        async def shutdown() -> None:
            others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in others:
                task.cancel()
            if others:  # let them unwind (a request halfway through connecting, the socket)
                await asyncio.wait(others, timeout=2)
            if self._client is not None:
                await self._client.aclose()

        try:
            self._submit(shutdown()).result(timeout=5)
        except Exception as exc:
            log.debug("closing the API client: %r", exc)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
