"""An RTP leg for each negotiated codec, sending to a plain UDP socket on loopback: the payload
type, the RTP clock's 20 ms step (G.722's 8 kHz clock, Opus's 48 kHz one, whatever the audio
rate) and a payload that decodes back to the frame's tone."""

from __future__ import annotations

import asyncio
import itertools
import socket
import struct
from collections.abc import Callable

import numpy as np
import pytest
from aiortp.codecs import Codec, get_codec
from aiortp.codecs.opus import OpusCodec

from engine.media.frame import FRAME_SAMPLES, SAMPLE_RATE
from engine.sip import sdp
from engine.sip.rtp_leg import RtpLeg

pytestmark = pytest.mark.skipif(not (sdp.available("G722") and sdp.available("opus")),
                                reason="the g722 and opuslib packages (and libopus0) are needed")

TONE_HZ = 1000


def tone_frames(count: int) -> list[bytes]:
    t = np.arange(count * FRAME_SAMPLES) / SAMPLE_RATE
    pcm = (8000 * np.sin(2 * np.pi * TONE_HZ * t)).astype("<i2")
    return [pcm[i * FRAME_SAMPLES:(i + 1) * FRAME_SAMPLES].tobytes() for i in range(count)]


def peak_hz(pcm: bytes, rate: int) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum) * rate / len(x))


@pytest.mark.parametrize(("codec", "payload_type", "clock", "step", "decoder"), [
    ("G722", 9, 8000, 160, lambda: get_codec(9)),
    ("opus", 96, 48000, 960, lambda: OpusCodec(sample_rate=SAMPLE_RATE)),
    ("PCMU", 0, 8000, 160, lambda: get_codec(0)),
])
async def test_a_leg_sends_its_codec_on_the_rtp_clock(codec: str, payload_type: int, clock: int,
                                                      step: int, decoder: Callable[[], Codec]) -> None:
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", 0))
    peer.setblocking(False)
    params = sdp.MediaParams(payload_type, codec, clock, None, peer.getsockname(), "sendrecv")
    leg = await RtpLeg.open("127.0.0.1", params)
    loop = asyncio.get_running_loop()
    frames = tone_frames(10)
    try:
        for frame in frames:
            leg.push(frame)
        packets = [await asyncio.wait_for(loop.sock_recv(peer, 2048), 10.0) for _ in frames]
    finally:
        await leg.close()
        peer.close()
    headers = [struct.unpack("!BBHI", p[:8]) for p in packets]
    assert {h[1] & 0x7F for h in headers} == {payload_type}
    stamps = [h[3] for h in headers]
    assert {b - a for a, b in itertools.pairwise(stamps)} == {step}
    codec_impl = decoder()
    decoded = b"".join(codec_impl.decode(p[12:]) for p in packets)
    rate = codec_impl.sample_rate
    assert len(decoded) == len(frames) * rate // 50 * 2  # 20 ms a packet
    assert abs(peak_hz(decoded[len(decoded) // 2:], rate) - TONE_HZ) < 2 * rate / len(decoded)
    assert leg.frames_sent == len(frames)
