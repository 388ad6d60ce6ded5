"""Wideband codecs against real peers on loopback: baresip with only G.722 or only Opus calls the
engine, the engine dials baresip with only G.722 or only Opus, and sipp offers only G.722 and
plays a tone.

Each call is answered with that codec (the SDP answer on the wire, the call's rtp.codec), audio
flows both ways (frames in and out; the peer decodes the engine's audio), and the recording's
caller channel carries the peer's tone at its frequency. On an Opus call with baresip, RFC 4733
digits go both ways under the telephone-event baresip answered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from engine.calls.commands import Dtmf
from engine.calls.legs import SipInboundLeg, SipOutboundLeg
from engine.calls.live_call import LiveCall
from engine.sip import sdp
from engine.sip.uas import IncomingCall
from engine.speech.sipcaller import scenario, write_pcap
from tests.harness.baresip import CONFIG, Baresip, dominant_hz, requires_baresip, wav_mono
from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import requires_sipp, run_sipp
from tests.harness.waiting import wait_for as until
from tests.integration.sip.test_baresip import confirmed_inbound_session
from tests.integration.sip.test_sipp_outbound import call_row, queue_call, wait_answered

PHONE_HZ = 1000  # the peer's tone, told apart from the engine's 440 Hz greeting tone
FRAMES = 150  # 3 s of media each way before hanging up
GREETING_S = 1.0  # of the engine's spoken greeting, before an inbound call is hung up
LOUD = 300  # peak of a 20 ms frame that carries sound, not codec noise

needs_codecs = pytest.mark.skipif(not (sdp.available("G722") and sdp.available("opus")),
                                  reason="the g722 and opuslib packages (and libopus0) are needed")


class CodecPhone(Baresip):
    """baresip with one audio codec module instead of G.711."""

    def __init__(self, root: Path, module: str, sine_hz: int = PHONE_HZ) -> None:
        super().__init__(root, sine_hz)
        self.module = module

    def write_config(self) -> None:
        super().write_config()
        config = self.root / "config"
        text = config.read_text()
        assert CONFIG.count("g711.so") == 1
        config.write_text(text.replace("g711.so", self.module))


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bytes]]:
    """The SDP bodies of the engine's 200 OK answers to INVITEs, as they are sent."""
    sent: list[bytes] = []
    original = IncomingCall.answer

    def answer(self: IncomingCall, body: bytes) -> None:
        sent.append(body)
        original(self, body)

    monkeypatch.setattr(IncomingCall, "answer", answer)
    yield sent


def loud_seconds(samples: np.ndarray, rate: int = 16000) -> float:
    """How long ``samples`` carry sound, counted in 20 ms frames."""
    size = rate // 50
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    return float((np.abs(frames).max(axis=1) > LOUD).sum() * 0.02)


def recorded_loud_seconds(session: Any, channel: int) -> float:
    """Sound so far on one channel of a call's recording (its header is valid as it grows)."""
    if getattr(session, "recorder", None) is None:
        return 0.0
    samples, rate = wav_mono(session.recorder.path, channel)
    return loud_seconds(samples, rate)


def spectrum(samples: np.ndarray, rate: int) -> np.ndarray:
    """The average magnitude spectrum of ``samples``, 100 Hz to 7 kHz in 15.6 Hz bins."""
    size = rate // 64
    chunks = samples[: len(samples) // size * size].reshape(-1, size) * np.hanning(size)
    magnitude = np.abs(np.fft.rfft(chunks, axis=1)).mean(axis=0)
    return magnitude[100 * size // rate: 7000 * size // rate]


def assert_same_sound(sent: np.ndarray, heard: np.ndarray, rate: int, heard_rate: int) -> None:
    """What the peer decoded has the spectrum of what the engine recorded sending."""
    assert loud_seconds(heard, heard_rate) >= GREETING_S / 2, "the peer decoded no sound"
    a, b = spectrum(sent, rate), spectrum(heard, heard_rate)
    n = min(len(a), len(b))
    similarity = float(np.corrcoef(a[:n], b[:n])[0, 1])
    assert similarity > 0.9, similarity


def assert_answered_with(answer: bytes, payload_type: int, rtpmap: str) -> None:
    audio = sdp.parse(answer).audio
    assert audio is not None
    assert audio.formats[0] == str(payload_type) and len(audio.formats) <= 2, answer
    assert f"{payload_type} {rtpmap}" in audio.attributes["rtpmap"], answer


@needs_codecs
@requires_baresip
@pytest.mark.parametrize(("module", "codec", "rtpmap"), [
    ("g722.so", "G722", "G722/8000"),
    ("opus.so", "opus", "opus/48000/2"),
])
async def test_baresip_calls_the_engine_with_one_wideband_codec(
        sip_engine: SipEngine, tmp_path: Path, answers: list[bytes],
        module: str, codec: str, rtpmap: str) -> None:
    async with CodecPhone(tmp_path / "baresip", module) as phone:
        reply = await phone.command("dial", f"sip:15550100@127.0.0.1:{sip_engine.port}")
        assert reply.get("ok") is True, reply
        try:
            session = await confirmed_inbound_session(sip_engine, within=30.0)
        except AssertionError:
            raise AssertionError(phone.log) from None
        assert isinstance(session.leg, SipInboundLeg) and session.rtp is not None
        leg = session.rtp
        await until(lambda: leg.frames_received >= FRAMES and leg.frames_sent >= FRAMES, 30.0,
                    f"{FRAMES} frames each way ({leg.frames_received} in, {leg.frames_sent} out)")
        # the agent greets once the caller falls silent: baresip's tone stops
        reply = await phone.command("mute")
        assert reply.get("ok") is True, reply
        await until(lambda: recorded_loud_seconds(session, 1) >= GREETING_S, 60.0,
                    "the engine's greeting")
        session.hangup()
        await phone.wait_output(b"terminated", 15.0)
        await sip_engine.settled(within=20.0)

    [answer] = answers
    offer = sdp.parse(session.leg.sip.offer).audio
    assert offer is not None
    [offered_pt] = [c.payload_type for c in offer.codecs if c.encoding_name.lower() == codec.lower()]
    assert_answered_with(answer, offered_pt, rtpmap)  # the offer's payload type number

    [call] = sip_engine.calls()
    assert call.status == "completed", phone.log
    rtp = call.metadata_["rtp"]
    assert rtp["codec"] == codec
    assert rtp["frames_received"] >= FRAMES and rtp["frames_sent"] >= FRAMES

    assert call.recording_status == "completed" and call.recording_path is not None
    caller, rate = wav_mono(Path(call.recording_path), 0)
    assert rate == 16000
    assert abs(dominant_hz(caller, rate) - PHONE_HZ) < 15  # baresip's tone, through the codec
    assert loud_seconds(caller) >= 2.0
    agent, _ = wav_mono(Path(call.recording_path), 1)
    assert loud_seconds(agent) >= GREETING_S  # the engine's greeting
    heard, heard_rate = wav_mono(phone.received_wav())
    assert_same_sound(agent, heard, rate, heard_rate)  # baresip decoded the greeting


async def dial(sip_engine: SipEngine, phone: Baresip) -> tuple[str, LiveCall]:
    """The engine dials baresip; the call once answered."""
    call_id = queue_call(sip_engine, phone.port)
    sip_engine.telephony.dial(call_id)
    try:
        await wait_answered(sip_engine, call_id, within=30.0)
    except AssertionError:
        raise AssertionError(f"baresip did not answer:\n{phone.log}") from None
    session = sip_engine.telephony.calls[call_id]
    assert isinstance(session.leg, SipOutboundLeg)
    return call_id, session


@needs_codecs
@requires_baresip
@pytest.mark.parametrize(("module", "codec", "payload_type", "rtpmap"), [
    ("g722.so", "G722", 9, "G722/8000"),
    ("opus.so", "opus", sdp.OPUS_PT, "opus/48000/2"),
])
async def test_engine_dials_baresip_with_one_wideband_codec(
        sip_engine: SipEngine, tmp_path: Path,
        module: str, codec: str, payload_type: int, rtpmap: str) -> None:
    async with CodecPhone(tmp_path / "baresip", module) as phone:
        call_id, session = await dial(sip_engine, phone)
        assert_answered_with(session.leg.sip.answer, payload_type, rtpmap)  # our offer's number
        leg = session.rtp
        assert leg is not None and leg.params.codec == codec
        assert leg.params.payload_type == payload_type
        await until(lambda: leg.frames_received >= FRAMES and leg.frames_sent >= FRAMES, 30.0,
                    f"{FRAMES} frames each way ({leg.frames_received} in, {leg.frames_sent} out)")
        reply = await phone.command("mute")  # the agent talks once the callee falls silent
        assert reply.get("ok") is True, reply
        await until(lambda: recorded_loud_seconds(session, 1) >= GREETING_S, 60.0,
                    "the engine's agent speaking")
        session.hangup()
        await phone.wait_output(b"terminated", 15.0)
        await sip_engine.settled(within=20.0)

    call = call_row(sip_engine, call_id)
    assert call.status == "completed" and call.metadata_["rtp"]["codec"] == codec
    assert call.recording_path is not None
    callee, rate = wav_mono(Path(call.recording_path), 0)
    assert abs(dominant_hz(callee, rate) - PHONE_HZ) < 15
    agent, _ = wav_mono(Path(call.recording_path), 1)
    heard, heard_rate = wav_mono(phone.received_wav())
    assert_same_sound(agent, heard, rate, heard_rate)


def telephone_event(body: bytes) -> tuple[int, int]:
    """The payload type and RTP clock of the one telephone-event in an SDP answer."""
    audio = sdp.parse(body).audio
    assert audio is not None
    events = [(c.payload_type, c.clock_rate) for c in audio.codecs
              if c.encoding_name.lower() == "telephone-event"]
    assert len(events) == 1, body
    return events[0]


def received_events(log: str) -> list[str]:
    """The RFC 4733 digits baresip logged receiving, once each (at their end packet)."""
    return re.findall(r"received event: '(.)' \(end=1\)", log)


@needs_codecs
@requires_baresip
async def test_dtmf_both_ways_on_an_opus_call_to_baresip(sip_engine: SipEngine,
                                                        tmp_path: Path) -> None:
    """The engine offers telephone-event at 8 kHz and, beside Opus, at 48 kHz; baresip 1.0.0
    (libre) has it at 8 kHz only and answers that one, so the events' clock is not the audio's.
    Each side keys digits under the answered payload type and clock, and the other hears them."""
    async with CodecPhone(tmp_path / "baresip", "opus.so") as phone:
        call_id, session = await dial(sip_engine, phone)
        answer = session.leg.sip.answer
        assert_answered_with(answer, sdp.OPUS_PT, "opus/48000/2")
        event = telephone_event(answer)
        assert event in [(sdp.DTMF_PT, 8000), (sdp.DTMF_OPUS_PT, 48000)], answer
        leg = session.rtp
        assert leg is not None and leg.params.codec == "opus" and leg.params.clock_rate == 48000
        assert (leg.params.dtmf_payload_type, leg.params.dtmf_clock_rate) == event
        await until(lambda: leg.frames_received >= 10 and leg.frames_sent >= 10, 15.0,
                    "media both ways")

        reply = await phone.command("sndcode", "5")  # baresip keys 5, as RFC 4733 events
        assert reply.get("ok") is True, reply
        await until(lambda: session.stats.dtmf == ["5"], 10.0, "baresip's digit at the engine")

        keyed = await session.control.execute(Dtmf(type="dtmf", digits="7#"), "test")
        assert keyed["result"] == "sent", keyed
        await phone.wait_output(b"received event: '#' (end=1)", 10.0)
        session.hangup()
        # baresip's BYE received (its "terminated" line is left out for calls under 1 s)
        await phone.wait_output(b"session closed", 15.0)
        await sip_engine.settled(within=20.0)

    assert leg.dtmf_received == ["5"]
    assert received_events(phone.log) == ["7", "#"], phone.log
    call = call_row(sip_engine, call_id)
    assert call.status == "completed" and call.metadata_["rtp"]["codec"] == "opus"
    assert call.metadata_["dtmf"] == "5"
    assert [e.payload["digit"] for e in sip_engine.events(call_id)
            if e.event_type == "dtmf_received"] == ["5"]


def g722_only_scenario(tmp_path: Path, seconds: float) -> Path:
    """uac_pcap offering G.722 alone and playing a G.722 tone; the call fails unless the 200's
    SDP answers with G.722 under payload type 9 (and telephone-event)."""
    t = np.arange(int(16000 * seconds)) / 16000
    tone = (8000 * np.sin(2 * np.pi * PHONE_HZ * t)).astype("<i2").tobytes()
    pcap = write_pcap(tone, tmp_path / "tone_g722.pcap", codec="G722")
    path = scenario(pcap, seconds + 1.0, tmp_path / "uac_g722.xml", codec="G722")
    text = path.read_text()
    assert "RTP/AVP 9 101" in text and "a=rtpmap:9 G722/8000" in text
    checks = """<recv response="200" rtd="true" crlf="true">
    <action>
      <ereg regexp="m=audio [0-9]+ RTP/AVP 9 101" search_in="body" check_it="true" assign_to="m"/>
      <ereg regexp="a=rtpmap:9 G722/8000" search_in="body" check_it="true" assign_to="r"/>
      <log message="answer [$m] [$r]"/>
    </action>"""
    text, count = re.subn(r'<recv response="200" rtd="true" crlf="true">', checks, text)
    assert count == 1
    path.write_text(text)
    return path


@needs_codecs
@requires_sipp
async def test_sipp_offering_g722_only_is_answered_with_g722(sip_engine: SipEngine,
                                                            tmp_path: Path) -> None:
    seconds = 3.0
    result = await run_sipp(g722_only_scenario(tmp_path, seconds), sip_engine.port, "15550100",
                            limit_s=60.0)
    assert result.returncode == 0, result.stderr
    await sip_engine.settled(within=20.0)

    [call] = sip_engine.calls()
    assert call.status == "completed" and call.disconnect_reason == "caller_hangup"
    rtp = call.metadata_["rtp"]
    assert rtp["codec"] == "G722"
    assert rtp["frames_received"] * 0.02 >= seconds - 0.1  # every packet of the tone
    assert rtp["frames_sent"] >= 100
    assert call.recording_path is not None
    caller, rate = wav_mono(Path(call.recording_path), 0)
    assert abs(dominant_hz(caller, rate) - PHONE_HZ) < 15
    assert abs(loud_seconds(caller) - seconds) < 0.3
    agent, _ = wav_mono(Path(call.recording_path), 1)
    assert np.abs(agent).max() > 1000  # the engine's greeting
