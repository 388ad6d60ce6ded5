"""One live call as the panel sees it: the call's events stream (snapshot, then changes), its
transcript model, the agent's state, and the control commands as API calls."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.transcript import TranscriptModel
from engine.client import ApiError, Client, Record

log = logging.getLogger(__name__)

AGENT_STATES = ("listening", "thinking", "speaking")


class CallEventStream(QObject):
    """``WS /v1/events?call_id=…`` on the bridge's worker loop; each event arrives as a signal on
    the GUI thread. ``stop()`` cancels the socket."""

    received = Signal(dict)
    ended = Signal(str)  # why the stream stopped ("" when stopped on purpose)

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.call_id = call_id
        self._task: asyncio.Task[Any] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped = False
        self._forward.connect(self.received, Qt.ConnectionType.QueuedConnection)

    _forward = Signal(dict)  # emitted on the worker thread, delivered on the GUI thread

    def start(self) -> None:
        self.bridge.call(self._run, self._closed, self._failed, context=self)

    async def _run(self, client: Client) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.current_task()
        if self._stopped:
            return
        async for event in client.events(self.call_id):
            self._forward.emit(event)

    def _closed(self, _: object) -> None:
        self.ended.emit("" if self._stopped else "the engine closed the stream")

    def _failed(self, exc: Exception) -> None:
        self.ended.emit(str(exc) or type(exc).__name__)

    def stop(self) -> None:
        self._stopped = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)


class LiveCallModel(QObject):
    """The state of one live call, fed by its events; the control commands go through the API."""

    changed = Signal()  # the call's fields, the agent's state or the mute changed
    loaded = Signal()  # the snapshot (the call so far) is in
    error = Signal(str)  # an API error, for the panel to show inline ("" clears it)
    sent = Signal(str)  # a command was accepted: its type

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.call_id = call_id
        self.call: Record = {"id": call_id}
        self.transcript = TranscriptModel(self)
        self.agent_state = ""
        self.agent_muted = False
        self.is_loaded = False
        self.stream_error = ""
        self.busy: set[str] = set()  # command types waiting for their answer
        self.stream = CallEventStream(bridge, call_id, self)
        self.stream.received.connect(self.apply_event)
        self.stream.ended.connect(self._stream_ended)

    def start(self) -> None:
        self.stream.start()

    def stop(self) -> None:
        self.stream.stop()

    # -- what the call is now ----------------------------------------------------------------------

    @property
    def status(self) -> str:
        return str(self.call.get("status") or "")

    @property
    def live(self) -> bool:
        return self.status in fmt.LIVE_STATUSES

    @property
    def on_hold(self) -> bool:
        return self.status == "on_hold"

    # -- events -----------------------------------------------------------------------------------

    @Slot(dict)
    def apply_event(self, event: Record) -> None:
        kind = str(event.get("type", ""))
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        assert isinstance(data, dict)
        if kind == "snapshot":
            call = data.get("call") if isinstance(data.get("call"), dict) else {}
            assert isinstance(call, dict)
            entries = (call.get("transcript") or {}).get("entries") or []
            self.call = {k: v for k, v in call.items() if k != "transcript"} or self.call
            self.transcript.set_entries([e for e in entries if isinstance(e, dict)])
            self.is_loaded = True
            self.changed.emit()
            self.loaded.emit()
        elif kind in ("transcript.partial", "transcript.final"):
            if data.get("text") or kind == "transcript.final":
                self.transcript.upsert({**data, "partial": kind == "transcript.partial"})
        elif kind == "agent.speaking":
            self.agent_state = str(data.get("state") or "")
            self.changed.emit()
        elif kind == "call.control":
            if data.get("type") in ("mute_agent", "unmute_agent"):
                self.agent_muted = data.get("type") == "mute_agent"
            if data.get("status"):
                self.call["status"] = data["status"]
            self.changed.emit()
        elif kind.startswith("call."):
            fields = {k: v for k, v in data.items() if not isinstance(v, dict | list)}
            fields.pop("id", None)
            self.call.update(fields)
            self.changed.emit()

    def _stream_ended(self, reason: str) -> None:
        self.stream_error = reason
        if reason:
            self.error.emit(f"Live events stopped: {reason}")
        if not self.is_loaded:
            self.is_loaded = True
            self.loaded.emit()

    # -- commands ---------------------------------------------------------------------------------

    def command(self, type_: str, **fields: Any) -> None:
        """``POST /v1/calls/{id}/control``; the answer's status updates the call."""
        self.busy.add(type_)
        self.error.emit("")
        self.changed.emit()
        self.bridge.call(lambda api: api.control(self.call_id, type_, **fields),
                         lambda result: self._done(type_, result),
                         lambda exc: self._failed(type_, exc), context=self)

    def _done(self, type_: str, result: Record) -> None:
        self.busy.discard(type_)
        if result.get("status"):
            self.call["status"] = result["status"]
        if type_ in ("mute_agent", "unmute_agent"):
            self.agent_muted = type_ == "mute_agent"
        self.changed.emit()
        self.sent.emit(type_)

    def _failed(self, type_: str, exc: Exception) -> None:
        self.busy.discard(type_)
        message = exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)
        self.error.emit(f"{fmt.label(type_)}: {message}")
        self.changed.emit()

    def say(self, content: str, *, interrupt: bool = True, interruptible: bool = True,
            end_after: bool = False) -> bool:
        text = content.strip()
        if not text:
            return False
        self.command("say", content=text, interrupt=interrupt, interruptible=interruptible,
                     end_after=end_after)
        return True

    def whisper(self, content: str, *, reply_now: bool = False) -> bool:
        text = content.strip()
        if not text:
            return False
        self.command("inject_context", content=text, trigger_response=reply_now)
        return True

    def toggle_hold(self) -> None:
        self.command("resume" if self.on_hold else "hold")

    def set_agent_muted(self, muted: bool) -> None:
        self.command("mute_agent" if muted else "unmute_agent")

    def dtmf(self, digits: str) -> None:
        if digits:
            self.command("dtmf", digits=digits)

    def end_call(self, message: str = "") -> None:
        self.command("end_call", **({"message": message.strip()} if message.strip() else {}))
