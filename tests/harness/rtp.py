"""RTP on loopback for the SIP tests: the caller's media socket that keeps every packet the
engine sends (speech, music on hold, RFC 4733 events), what those packets say, and a voice that
answers the engine's RTP with A-law silence or speech from a thread of its own.

A sipp caller's SDP points at a UDP socket the test owns (``-key rtp_port``), so the test sees
every RTP packet the engine sends the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tests.harness.ports import free_media_port
from tests.harness.sipp_steps import DTMF_PT, PCMA_PT

SILENCE = b"\xd5" * 160  # 20 ms of A-law silence
FRAME_S = 0.02  # one RTP packet of 8 kHz audio, 160 samples
VOICE_SSRC = 0x0CA11E55


@dataclass
class Packet:
    at: float  # monotonic arrival time
    pt: int
    marker: bool
    timestamp: int
    payload: bytes


@dataclass
class MediaSocket(asyncio.DatagramProtocol):
    """The caller's RTP port: keeps every packet the engine sends."""

    port: int = 0
    packets: list[Packet] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def open(cls) -> MediaSocket:
        sock = cls(free_media_port())
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: sock, local_addr=("127.0.0.1", sock.port))
        return sock

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if len(data) < 12 or data[0] >> 6 != 2:
            return
        cc = data[0] & 0x0F
        pt = data[1] & 0x7F
        (timestamp,) = struct.unpack("!I", data[4:8])
        self.packets.append(Packet(time.monotonic(), pt, bool(data[1] & 0x80), timestamp,
                                   data[12 + 4 * cc:]))

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def since(self, start: float, pt: int | None = None) -> list[Packet]:
        return [p for p in self.packets if p.at >= start and (pt is None or p.pt == pt)]


def alaw_levels(packets: list[Packet]) -> list[float]:
    """The RMS level of each A-law packet (16-bit scale)."""
    from aiortp.codecs.g711 import PcmaCodec

    codec = PcmaCodec()
    levels = []
    for packet in packets:
        pcm = np.frombuffer(codec.decode(packet.payload), dtype="<i2").astype(np.float64)
        levels.append(float(np.sqrt(np.mean(pcm ** 2))) if len(pcm) else 0.0)
    return levels


def dtmf_digits(packets: list[Packet]) -> str:
    """The digits of the RFC 4733 events among ``packets`` (one per event timestamp)."""
    names = "0123456789*#ABCD"
    seen: dict[int, str] = {}
    for packet in packets:
        if packet.pt == DTMF_PT and len(packet.payload) >= 4 and packet.payload[1] & 0x80:
            seen.setdefault(packet.timestamp, names[packet.payload[0]])
    return "".join(seen.values())  # in the order they arrived


def speech_frames(text: str) -> list[bytes]:
    """``text`` as espeak-ng speech, 8 kHz A-law in 20 ms frames."""
    from aiortp.codecs.g711 import PcmaCodec

    from engine.media.polyphase import resample
    from engine.speech.sipcaller import CallerLine, render_lines

    audio = render_lines([CallerLine(0.2, text)], 1.0)
    pcm = resample(audio.pcm, 16000, 8000)
    codec = PcmaCodec()
    return [codec.encode(pcm[i:i + 320]) for i in range(0, len(pcm) - 320 + 1, 320)]


class AlawVoice:
    """A caller's voice on its media socket ``media`` (bound, on a thread of its own): once the
    engine's RTP arrives it answers with A-law every 20 ms, silence or the speech queued by
    ``say`` (an answered call without RTP times out)."""

    def __init__(self, media: socket.socket) -> None:
        self.media = media
        self.media.setblocking(False)
        self.frames: deque[bytes] = deque()
        self.peer: tuple[str, int] | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="caller-rtp", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        seq = 0
        next_at = time.monotonic()
        while not self.stopped.is_set():
            try:
                while True:
                    _, self.peer = self.media.recvfrom(4096)
            except (BlockingIOError, OSError):
                pass
            now = time.monotonic()
            if self.peer is not None and now >= next_at:
                payload = self.frames.popleft() if self.frames else SILENCE
                header = struct.pack("!BBHII", 0x80, PCMA_PT, seq & 0xFFFF, (seq * 160) & 0xFFFFFFFF,
                                     VOICE_SSRC)
                with contextlib.suppress(OSError):
                    self.media.sendto(header + payload, self.peer)
                seq += 1
                next_at = max(next_at + FRAME_S, now - 0.1)
            self.stopped.wait(0.004)

    def say(self, text: str) -> None:
        """Queue ``text`` as espeak-ng speech, 8 kHz A-law in 20 ms frames."""
        self.frames.extend(speech_frames(text))

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)


def bound_media_socket() -> tuple[socket.socket, int]:
    """A UDP socket bound to a free media port on loopback, and the port."""
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    port = free_media_port()
    media.bind(("127.0.0.1", port))
    return media, port
