"""sipp callers for the live-control tests (their scenario text from ``tests.sipp_steps``), and
the caller's media socket.

The caller's SDP points at a UDP socket the test owns (``-key rtp_port``), so the test sees every
RTP packet the engine sends the caller: speech, music on hold, RFC 4733 events.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.integration.sip.conftest import free_media_port
from tests.sipp_steps import DTMF_PT, dial, scenario

# the media's payload types and the caller's steps, for the tests that take them from here
from tests.sipp_steps import PCMA_PT as PCMA_PT
from tests.sipp_steps import answer_reinvite as answer_reinvite
from tests.sipp_steps import recv_bye as recv_bye
from tests.sipp_steps import send_bye as send_bye
from tests.sipp_steps import send_reinvite as send_reinvite


def write_scenario(path: Path, *steps: str) -> Path:
    """The caller's scenario at ``path`` (named after it): it dials, then follows ``steps``."""
    path.write_text(scenario(path.stem, dial(), *steps))
    return path


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
