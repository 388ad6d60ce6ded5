"""CallControl on a fake call: idempotent results, hold and resume offers, the peer's re-INVITE
answered with the right direction, the audit trail, and calls that are not live."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from engine.api.errors import call_error_status
from engine.calls.commands import parse_command
from engine.calls.control import CallControl
from engine.calls.errors import CallError
from engine.sip import sdp
from engine.sip.sdp import MediaParams

OFFER = (b"v=0\r\no=caller 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
         b"m=audio 7000 RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\n"
         b"a=rtpmap:101 telephone-event/8000\r\na=%s\r\n")


@dataclass
class FakeRecords:
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)

    def add_event(self, call_id: str, provider: str, event_type: str, **kw: Any) -> None:
        self.events.append((provider, event_type, kw))

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None:
        self.updates.append(fields)


@dataclass
class FakeSip:
    state: str = "confirmed"
    offers: list[bytes] = field(default_factory=list)

    def reinvite(self, offer: bytes, done: Any) -> bool:
        self.offers.append(offer)
        asyncio.get_running_loop().call_soon(done, 200, b"")
        return True


@dataclass
class FakeLeg:
    params: MediaParams = field(default_factory=lambda: MediaParams(
        8, "PCMA", 8000, 101, ("127.0.0.1", 7000), "sendrecv"))
    local_port: int = 30000
    directions: list[str] = field(default_factory=list)

    def set_direction(self, direction: str) -> None:
        self.directions.append(direction)


@dataclass
class FakeLoop:
    calls: list[Any] = field(default_factory=list)

    def call(self, fn: Any, *args: Any) -> None:
        self.calls.append((fn, args))


@dataclass
class FakeMedia:
    local_ip: str = "127.0.0.1"
    loop: FakeLoop = field(default_factory=FakeLoop)


class FakeSession:
    def __init__(self) -> None:
        self.call_id = "call-1"
        self.records = FakeRecords()
        self.sip = FakeSip()
        self.rtp: FakeLeg | None = FakeLeg()
        self.media = FakeMedia()
        self.mixer = None
        self.agent = None
        self.ended = asyncio.Event()
        self.reason: str | None = None
        self.answered_at: datetime | None = datetime.now(UTC)
        self.hangups: list[str] = []

    @property
    def signalling(self) -> FakeSip:
        return self.sip

    def hangup(self, reason: str) -> None:
        self.hangups.append(reason)
        self.reason = self.reason or reason


async def run(control: CallControl, body: dict[str, Any]) -> dict[str, Any]:
    return await control.execute(parse_command(body), "api_key:ops")


def direction(offer: bytes) -> str:
    media = sdp.parse(offer).audio
    assert media is not None
    return media.direction


async def test_end_call_is_idempotent_and_then_nothing_else_runs() -> None:
    session = FakeSession()
    control = CallControl(session)  # type: ignore[arg-type]
    assert (await run(control, {"type": "end_call"}))["result"] == "ending"
    assert (await run(control, {"type": "end_call"}))["result"] == "already_ended"
    assert session.hangups == ["supervisor_hangup"]
    with pytest.raises(CallError) as error:
        await run(control, {"type": "mute_agent"})
    assert call_error_status(error.value) == 400 and error.value.code == "CALL_NOT_LIVE"
    assert "status ending" in error.value.message
    audit = [(p, t, kw["actor"], kw["payload"]["result"]) for p, t, kw in session.records.events]
    assert audit == [("supervisor", "control.end_call", "api_key:ops", "ending"),
                     ("supervisor", "control.end_call", "api_key:ops", "already_ended")]


async def test_hold_and_resume_offer_sendonly_then_sendrecv() -> None:
    session = FakeSession()
    control = CallControl(session)  # type: ignore[arg-type]
    held = await run(control, {"type": "hold"})
    assert held == {"call_id": "call-1", "type": "hold", "result": "on_hold", "status": "on_hold",
                    "reinvite_status": 200}
    assert (await run(control, {"type": "hold"}))["result"] == "already_on_hold"
    assert control.holding
    resumed = await run(control, {"type": "resume"})
    assert resumed["result"] == "resumed" and resumed["status"] == "in_progress"
    assert (await run(control, {"type": "resume"}))["result"] == "not_on_hold"
    assert [direction(o) for o in session.sip.offers] == ["sendonly", "sendrecv"]
    versions = [sdp.parse(o).origin.session_version for o in session.sip.offers]
    assert versions == ["2", "3"]
    assert {sdp.parse(o).origin.session_id for o in session.sip.offers} == {str(control.sdp_id)}
    assert [u["status"] for u in session.records.updates] == ["on_hold", "in_progress"]
    assert session.rtp is not None and session.rtp.directions == ["sendonly", "sendrecv"]


async def test_mute_and_unmute_are_idempotent() -> None:
    control = CallControl(FakeSession())  # type: ignore[arg-type]
    results = [(await run(control, {"type": kind}))["result"]
               for kind in ("unmute_agent", "mute_agent", "mute_agent", "unmute_agent")]
    assert results == ["not_muted", "muted", "already_muted", "unmuted"]


async def test_the_peers_hold_is_answered_recvonly_and_pauses_our_media() -> None:
    session = FakeSession()
    control = CallControl(session)  # type: ignore[arg-type]
    answer = control.answer_reoffer(OFFER % b"sendonly")
    assert answer is not None and direction(answer) == "recvonly" and control.held_by_peer
    assert session.rtp is not None and session.rtp.directions[-1] == "recvonly"
    answer = control.answer_reoffer(OFFER % b"sendrecv")
    assert answer is not None and direction(answer) == "sendrecv" and not control.held_by_peer
    zero = (OFFER % b"sendrecv").replace(b"c=IN IP4 127.0.0.1", b"c=IN IP4 0.0.0.0")
    answer = control.answer_reoffer(zero)
    assert answer is not None and direction(answer) == "recvonly"
    assert control.answer_reoffer(OFFER.replace(b"RTP/AVP 8 101", b"RTP/AVP 0 101") % b"sendrecv") is None
    kinds = [t for _, t, _ in session.records.events]
    assert kinds == ["hold_received", "resume_received", "hold_received"]


async def test_while_we_hold_a_peer_offer_is_answered_sendonly() -> None:
    session = FakeSession()
    control = CallControl(session)  # type: ignore[arg-type]
    await run(control, {"type": "hold"})
    answer = control.answer_reoffer(OFFER % b"sendrecv")
    assert answer is not None and direction(answer) == "sendonly"


async def test_commands_that_cannot_run_now() -> None:
    session = FakeSession()
    session.rtp = FakeLeg(MediaParams(8, "PCMA", 8000, None, ("127.0.0.1", 7000), "sendrecv"))
    control = CallControl(session)  # type: ignore[arg-type]
    with pytest.raises(CallError) as error:
        await run(control, {"type": "dtmf", "digits": "1"})
    assert error.value.code == "DTMF_UNAVAILABLE"
    with pytest.raises(CallError) as error:
        await run(control, {"type": "inject_context", "content": "hi"})
    assert error.value.code == "AGENT_UNAVAILABLE"
    session.answered_at = None
    with pytest.raises(CallError) as error:
        await run(control, {"type": "hold"})
    assert call_error_status(error.value) == 409 and error.value.code == "CALL_NOT_ANSWERED"
    session.ended.set()
    with pytest.raises(CallError) as error:
        await run(control, {"type": "hold"})
    assert error.value.code == "CALL_NOT_LIVE" and "status ended" in error.value.message
    assert (await run(control, {"type": "end_call"}))["result"] == "already_ended"
