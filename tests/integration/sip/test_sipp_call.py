"""sipp's uac_pcap (6.96 s of G.711 A-law and an RFC 4733 digit) calls the engine's number."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from tests.harness.sip_engine import SipEngine
from tests.harness.sipp import requires_sipp, run_sipp, uac_pcap_scenario

pytestmark = requires_sipp


async def test_uac_pcap_is_answered_recorded_and_logged(sip_engine: SipEngine,
                                                        tmp_path: Path) -> None:
    result = await run_sipp(uac_pcap_scenario(tmp_path), sip_engine.port, "15550100")
    assert result.returncode == 0, result.stderr
    await sip_engine.settled()

    [call] = sip_engine.calls()
    assert call.status == "completed"
    assert call.direction == "inbound" and call.to_number == sip_engine.number
    assert call.agent_id == sip_engine.agent_id
    # the routing rule it matched: the dialled number (its agent took the call)
    assert call.phone_number_id and call.metadata_["rule_id"] == call.phone_number_id
    assert call.metadata_["routed_by"] == "phone_number"
    assert call.disconnect_reason == "caller_hangup"
    assert call.initiated_at and call.answered_at and call.ended_at
    assert call.initiated_at <= call.answered_at <= call.ended_at
    assert 8 <= (call.duration_seconds or 0) <= 11  # 8 s of audio and pause, 1 s, then BYE

    session = sip_engine.telephony.finished[-1]
    assert session.stats.frames_received * 0.02 >= 6.9  # all 6.96 s of caller audio
    assert session.stats.dtmf == ["1"]
    assert session.stats.frames_sent >= 400  # the agent's audio flowed back the whole call
    [setup_s] = sip_engine.telephony.setup_times_s  # INVITE received to 200 OK sent
    assert 0 < setup_s < 2

    events = sip_engine.events(call.id)
    steps = [(e.event_type, e.sip_status_code) for e in events if e.provider == "sip"]
    for step in [("invite_received", None), ("response_sent", 100), ("response_sent", 180),
                 ("response_sent", 200), ("ack_received", None), ("bye_received", None)]:
        assert step in steps, steps
    assert any(e.event_type == "dtmf_received" and e.payload["digit"] == "1" for e in events)

    assert call.recording_status == "completed"
    assert call.recording_path and Path(call.recording_path).is_file()  # noqa: ASYNC240
    with wave.open(call.recording_path) as wav:
        assert wav.getnchannels() == 2 and wav.getframerate() == 16000
        seconds = wav.getnframes() / wav.getframerate()
        stereo = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").reshape(-1, 2)
    assert abs(seconds - (call.recording_duration_ms or 0) / 1000) < 0.05
    assert 8.0 <= seconds <= 11.0
    loud = np.abs(stereo[:, 0].astype(np.int32)).reshape(-1, 320)[: len(stereo) // 320].max(axis=1) > 300
    assert 6.0 <= loud.sum() * 0.02 <= 7.5  # the caller's speech is on the left, about 7 s
    assert np.abs(stereo[:, 1]).max() > 1000  # the agent is on the right
