"""The console's phone: a WebRTC leg to the engine on its own media thread, with the audio
devices through QtMultimedia. One :class:`Phone` per console window.

    phone = Phone(bridge, AudioDevices())
    phone.state_changed.connect(show)  # idle, connecting, connected, ended, failed
    phone.join(call_id, "listen")      # listen, whisper, barge, takeover, agent
    phone.hang_up()                    # leaves (a takeover hands the call back)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from console import formatting as fmt
from console.bridge import ApiBridge
from console.phone.audio import AudioDevices, AudioIO, TonePlayer
from console.phone.ring import FRAME_BYTES, RingBuffer
from engine.client import ApiError, Client, Record
from engine.events import CallParticipantLeft, CallUpdated, Event

if TYPE_CHECKING:  # aiortc loads with the first call (~0.4 s measured), not with the window
    from console.phone.leg import MediaLoop, Offer, PhoneLeg

log = logging.getLogger(__name__)

STATES = ("idle", "connecting", "connected", "ended", "failed")
ROLES = ("listen", "whisper", "barge", "takeover", "agent")
LEVELS_INTERVAL_MS = 100  # the meters' refresh: about ten a second
MIC_RING_BYTES = FRAME_BYTES * 8  # 160 ms: the microphone may run ahead of the sender this much
SPEAKER_RING_BYTES = FRAME_BYTES * 15  # 300 ms of received audio waiting for the speaker


def _message(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)


class Phone(QObject):
    """Joins live calls, answers transfers and makes web calls over WebRTC.

    The peer connection and its API calls run on the phone's own media thread; the audio
    devices run on the GUI thread and meet the leg through two ring buffers.
    """

    state_changed = Signal(str)  # "idle" | "connecting" | "connected" | "ended" | "failed"
    error = Signal(str)
    levels = Signal(float, float)  # mic, speaker RMS 0..1, about ten a second
    answered = Signal()  # the engine answered: ``call_id`` and ``participant_id`` are known

    _reported = Signal(object, str, object)  # (leg, kind, payload) from the media thread

    def __init__(self, bridge: ApiBridge, devices: AudioDevices, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.devices = devices
        self.mic = RingBuffer(MIC_RING_BYTES)
        self.speaker = RingBuffer(SPEAKER_RING_BYTES)
        self.audio = AudioIO(devices, self.mic, self.speaker, self)
        self.tones = TonePlayer(devices, self)
        self.state = "idle"
        self.kind: str | None = None  # "join", "transfer" or "web_call"
        self.call_id: str | None = None
        self.role: str | None = None
        self.participant_id: str | None = None
        self.muted = False
        self._leg: PhoneLeg | None = None
        self._media: MediaLoop | None = None
        self._lock: asyncio.Lock | None = None  # made on the media loop: one leg change at a time
        self._closed = False
        self._reported.connect(self._on_report, Qt.ConnectionType.QueuedConnection)
        bridge.event_received.connect(self._event)
        self._meter = QTimer(self)
        self._meter.setInterval(LEVELS_INTERVAL_MS)
        self._meter.timeout.connect(self._emit_levels)

    # -- what the phone is doing -------------------------------------------------------------

    @property
    def frames_sent(self) -> int:
        return self._leg.frames_sent if self._leg is not None else 0

    @property
    def frames_received(self) -> int:
        return self._leg.frames_received if self._leg is not None else 0

    @property
    def active(self) -> bool:
        return self.state in ("connecting", "connected")

    # -- calls -------------------------------------------------------------------------------

    def join(self, call_id: str, role: str) -> None:
        """Joins a live call as ``listen``, ``whisper``, ``barge``, ``takeover`` or ``agent``
        (leaving the call it is on first)."""
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        self._start("join", call_id, role, lambda api, sdp: api.join_call(call_id, sdp, role),
                    send=role != "listen")

    def answer_transfer(self, call_id: str, transfer_id: str, user_id: str) -> None:
        """Takes a transfer offered to ``user:<user_id>``: the caller is bridged to this phone."""
        self._start("transfer", call_id, "agent",
                    lambda api, sdp: api.answer_transfer(call_id, transfer_id, user_id, sdp))

    def web_call(self, agent_id: str) -> None:
        """Calls an agent from this phone's microphone; ``call_id`` is known once answered."""
        self._start("web_call", None, None, lambda api, sdp: api.web_call(agent_id, sdp))

    def hang_up(self) -> None:
        """Leaves the call (a takeover hands it back to the AI); a web call ends."""
        leg = self._leg
        if leg is None or not self.active:
            return
        self._submit(self._close_leg(leg))

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if self._leg is not None:
            self._leg.muted = muted
        if muted:
            self.mic.reset_level()

    def send_dtmf(self, digits: str) -> None:
        """Sends DTMF into the call this phone is on (the control API)."""
        call_id = self.call_id
        if not digits or call_id is None or not self.active:
            return
        self.bridge.call(lambda api: api.control(call_id, "dtmf", digits=digits), None,
                         lambda exc: self.error.emit(f"Keypad: {_message(exc)}"), context=self)

    def test_speaker(self, kind: str = "output") -> bool:
        """A short tone on the output (or ringer) device; False when there is none."""
        return self.tones.play(kind)

    # -- the leg on the media thread ---------------------------------------------------------

    def _start(self, kind: str, call_id: str | None, role: str | None, offer: Offer, *,
               send: bool = True) -> None:
        if self._closed:
            return
        from console.phone.leg import PhoneLeg

        previous = self._leg
        leg: PhoneLeg | None = None

        def report(what: str, payload: Any) -> None:
            self._reported.emit(leg, what, payload)

        leg = PhoneLeg(self.mic, self.speaker, report, send=send)
        leg.muted = self.muted
        self._leg = leg
        self.kind, self.call_id, self.role, self.participant_id = kind, call_id, role, None
        self.error.emit("")
        self._set_state("connecting")
        self.audio.start(capture=send)
        self._meter.start()
        self._submit(self._open_leg(previous, leg, offer, call_id))

    def _submit(self, coroutine: Any) -> None:
        if self._media is None:
            from console.phone.leg import MediaLoop

            self._media = MediaLoop()
        self._media.submit(coroutine)

    async def _client(self) -> Client:
        assert self._media is not None
        return await self._media.client(self.bridge.base_url, self.bridge.api_key)

    def _serial(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _open_leg(self, previous: PhoneLeg | None, leg: PhoneLeg, offer: Offer,
                        call_id: str | None) -> None:
        async with self._serial():
            client = await self._client()
            if previous is not None:
                await previous.close(client)
            if leg.closed:
                return
            try:
                answer = await leg.open(client, offer)
            except Exception as exc:
                leg.report("failed", _message(exc))
                return
            pid = answer.get("participant_id") if answer is not None else None
            joined = (answer or {}).get("call_id") or call_id
            if pid and joined:
                leg.leave = lambda api: api.leave_call(str(joined), str(pid))
            if answer is None and leg.leave is not None:  # hung up while the engine answered
                with contextlib.suppress(Exception):
                    await leg.leave(client)

    async def _close_leg(self, leg: PhoneLeg) -> None:
        async with self._serial():
            await leg.close(await self._client())

    @Slot(object, str, object)
    def _on_report(self, leg: PhoneLeg, kind: str, payload: Any) -> None:
        if leg is not self._leg:
            return  # a leg this phone has moved on from
        if kind == "answered" and isinstance(payload, dict):
            self._answered(payload)
        elif kind == "connected" and self.state == "connecting":
            self._set_state("connected")
        elif kind == "ended" and self.active:
            self._finish("ended")
        elif kind == "failed" and self.active:
            self.error.emit(str(payload))
            self._finish("failed")
            self._submit(self._close_leg(leg))

    def _answered(self, answer: Record) -> None:
        self.participant_id = str(answer["participant_id"]) if answer.get("participant_id") else None
        if answer.get("call_id"):
            self.call_id = str(answer["call_id"])
        self.answered.emit()

    def _finish(self, state: str) -> None:
        self.audio.stop()
        self._meter.stop()
        self.levels.emit(0.0, 0.0)
        self._set_state(state)

    def _set_state(self, state: str) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # -- the engine's word on the call -------------------------------------------------------

    @Slot(object)
    def _event(self, event: Event) -> None:
        if not self.active or self.call_id is None:
            return
        match event:
            case CallParticipantLeft(participant_id=pid) if pid == self.participant_id:
                self._gone()
            case CallUpdated(status=status) if event.ident == self.call_id \
                    and status and status not in fmt.LIVE_STATUSES:
                self._gone()

    def _gone(self) -> None:
        """The engine took this phone out of the call (it ended, or someone removed it)."""
        leg = self._leg
        self._finish("ended")
        if leg is not None:
            self._submit(self._close_leg(leg))

    def _emit_levels(self) -> None:
        mic = 0.0 if self.muted else self.mic.level()
        self.levels.emit(mic, self.speaker.level())

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Hangs up and stops the media thread (the window is closing)."""
        if self._closed:
            return
        self._closed = True
        self.tones.stop()
        self.audio.stop()
        self._meter.stop()
        leg, media = self._leg, self._media
        self._media = None
        if media is not None:
            async def cleanup() -> None:
                if leg is not None:
                    await leg.close(await media.client(self.bridge.base_url, self.bridge.api_key))

            media.close(cleanup())
        if self.active:
            self._set_state("ended")


__all__ = ["AudioDevices", "Phone", "RingBuffer", "TonePlayer"]
