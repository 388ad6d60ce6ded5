"""A simulated caller: a SIP user agent of ours that dials a number and plays a persona.

Once the agent answers, the persona is played by :class:`~engine.simulator.conversation.
Conversation` (shared with the simulated callees): lines spoken as 20 ms frames on the caller's
own media loop, the agent heard through a real recogniser, reactions by keyword, DTMF, barge-in,
silence and hang-up. ``codec`` picks what the INVITE offers: G.711 (A-law, µ-law), or G.722
first and then G.711.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import Any

from engine.calls.destinations import parse_sip
from engine.media import MediaLoop
from engine.simulator.conversation import (
    CALL_LIMIT_S,
    QUIET_S,
    CallResult,
    Conversation,
    HeardLine,
    Line,
    Spoken,
    Turn,
    judge,
    needs_hearing,
    render,
    split_frames,
)
from engine.simulator.personas import Persona
from engine.sip import sdp
from engine.sip.ports import RtpPorts
from engine.sip.rtp_leg import RtpLeg
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.sip.uas import IncomingCall
from engine.speech.stt import SttEngine

# What a simulated party offers (and answers with), per codec choice, in order (RFC 3551
# static types): G.711 A-law then µ-law, which every SIP peer answers; G.722 (9) first when
# chosen, G.711 still offered for a peer without it.
CODEC_PAYLOAD_TYPES: dict[str, tuple[int, ...]] = {"g711": (8, 0), "g722": (9, 8, 0)}
DEFAULT_CODEC = "g711"
OFFER_PAYLOAD_TYPES = CODEC_PAYLOAD_TYPES[DEFAULT_CODEC]
# RTP ports of simulated callers, apart from the engine's usual range; a busy port is skipped
CALLER_RTP_PORTS = (46000, 48000)
RING_TIMEOUT_S = 15.0


def payload_types(codec: str) -> tuple[int, ...]:
    """The payload types of a codec choice (``g711`` or ``g722``); ValueError naming it."""
    try:
        return CODEC_PAYLOAD_TYPES[codec.lower()]
    except KeyError:
        raise ValueError(f"codec: unknown {codec!r}; expected one of "
                         f"{', '.join(CODEC_PAYLOAD_TYPES)}") from None


def parse_target(uri: str) -> Peer:
    """Where ``sip:<number>@host[:port]`` is sent (port 5060 when none is given; the URI's
    ``transport`` parameter, else UDP), read as a transfer's destination is."""
    try:
        dest = parse_sip(uri)
    except ValueError as exc:
        raise ValueError(f"not a SIP URI: {uri!r} (expected sip:NUMBER@HOST:PORT): {exc}") from None
    return Peer(dest.transport, dest.host, dest.port)


class SimulatedCaller:
    """One call: dials a URI and plays ``persona``; ``stt`` hears the agent (whisper tiny.en).
    ``lines`` are the persona's lines rendered already (:func:`render`), for many callers.
    Without ``stt`` the caller only detects the agent's speech (VAD): enough for a persona with
    no ``react`` step (:func:`needs_hearing`), and far cheaper for many calls at once.
    ``codec``: ``g711`` (A-law, µ-law) or ``g722`` (G.722 first, then G.711)."""

    def __init__(self, persona: Persona, stt: SttEngine | None, *, local_ip: str = "127.0.0.1",
                 lines: dict[str, Line] | None = None, codec: str = DEFAULT_CODEC) -> None:
        self.persona = persona
        self.stt = stt
        self.local_ip = local_ip
        self.lines = lines
        self.offer_payload_types = payload_types(codec)
        self._sip: OutgoingCall | None = None
        self._result: CallResult | None = None
        self._hung_up = False
        self._ended = asyncio.Event()

    @property
    def result(self) -> CallResult | None:
        """The call's result so far (what was said and heard until now); None before the call."""
        return self._result

    async def call(self, uri: str, *, ring_timeout_s: float = RING_TIMEOUT_S,
                   limit_s: float = CALL_LIMIT_S) -> CallResult:
        result = self._result = CallResult(self.persona.name, uri, hearing=self.stt is not None)
        peer = parse_target(uri)
        if self.lines is None:
            self.lines = await render(self.persona)
        media = MediaLoop(name="caller-media")
        media.start()
        allocator = RtpPorts(CALLER_RTP_PORTS)
        port, _ = await media.run(allocator.allocate())
        ua = await UserAgent.listen(self.local_ip, 0, _refuse, tcp=False)
        rtp: RtpLeg | None = None
        started = time.monotonic()
        try:
            offer = sdp.build(self.local_ip, port, list(self.offer_payload_types), sdp.DTMF_PT)
            sip = self._sip = OutgoingCall(
                ua, uri, peer, offer, from_uri=f"sip:simulated-{self.persona.name}@{self.local_ip}",
                display_name=f"Simulated {self.persona.name}", ringing_timeout_s=ring_timeout_s)
            answered = asyncio.Event()
            sip.on_answered = lambda _body: answered.set()
            sip.on_ended = self._on_ended
            sip.start()
            await _first(answered.wait(), self._ended.wait())
            result.sip_status, result.sip_call_id = sip.status, sip.call_id
            if sip.state != "answered":
                return result
            result.answered = True
            conversation = Conversation(self.persona, self.lines, self.stt, result, media,
                                        hangup=self._hangup, ended=self._ended)
            params = sdp.negotiate(sdp.parse(sip.answer), list(self.offer_payload_types))
            rtp = await media.run(RtpLeg.open(self.local_ip, params, allocator, port=port))
            await conversation.run(rtp, limit_s)
        finally:
            if rtp is not None:
                await media.run(rtp.close())  # gives the port back
            else:
                await media.run(allocator.release(port))
            if self._sip is not None and self._sip.state != "ended":
                self._hangup()
            ua.close()
            await media.stop()
            result.duration_s = time.monotonic() - started
            judge(self.persona, result)
        return result

    # signalling
    def _on_ended(self, _reason: str) -> None:
        result = self._result
        if result is not None and result.answered and result.ended_by is None:
            result.ended_by = "caller" if self._hung_up else "agent"
        self._ended.set()

    def _hangup(self) -> None:
        if self._sip is not None and self._sip.state != "ended":
            self._hung_up = True
            self._sip.hangup("caller_hangup")


def _refuse(call: IncomingCall) -> None:
    call.reject(486, "Busy Here")  # a simulated caller takes no calls


async def _first(*waits: Coroutine[Any, Any, object]) -> None:
    """Until the first of ``waits`` is done; the others are cancelled."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()


async def simulate(persona: Persona, uri: str, stt: SttEngine, *,
                   local_ip: str = "127.0.0.1", limit_s: float = CALL_LIMIT_S,
                   codec: str = DEFAULT_CODEC) -> CallResult:
    """One call from ``persona`` to ``uri``."""
    return await SimulatedCaller(persona, stt, local_ip=local_ip, codec=codec).call(
        uri, limit_s=limit_s)


__all__ = ["CALL_LIMIT_S", "CODEC_PAYLOAD_TYPES", "QUIET_S", "CallResult", "HeardLine", "Line",
           "SimulatedCaller", "Spoken", "Turn", "needs_hearing", "parse_target", "payload_types",
           "render", "simulate", "split_frames"]
