"""The RTP leg: adapts one negotiated RTP stream (``aiortp``) to the mixer.

Inbound packets are reordered by aiortp's jitter buffer, decoded, resampled to 16 kHz and
queued; the mixer pulls one frame per tick. Outbound, each mixed frame is resampled to the
codec's rate, encoded and sent (one packet per tick keeps RTP timestamps continuous).
Symmetric RTP (RFC 4961): we send to where the peer's packets come from.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from aiortp import RTPSession
from aiortp.codecs import get_codec
from aiortp.port_allocator import PortAllocator

from engine.media.frame import FRAME_BYTES, SAMPLE_RATE, FrameCutter
from engine.media.resample import Resampler
from engine.sip.sdp import MediaParams

log = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 10  # 200 ms: beyond this the oldest inbound audio is dropped (latency cap)
JITTER_PREFETCH = 2  # packets aiortp holds before releasing in order (40 ms)
RTCP_INTERVAL_S = 5.0  # RFC 3550 minimum


class _Session(RTPSession):
    """An RTPSession that notes when each packet arrived (for the RTP timeout)."""

    last_rx: float = 0.0
    packets_in: int = 0

    def _handle_rtp(self, data: bytes, addr: tuple[str, int]) -> None:
        self.last_rx = time.monotonic()
        self.packets_in += 1
        super()._handle_rtp(data, addr)


class RtpLeg:
    """One RTP stream as a mixer participant's ``source``/``sink``."""

    def __init__(self, session: _Session, params: MediaParams) -> None:
        self.session = session
        self.params = params
        codec = session.codec
        assert codec is not None
        self.codec_rate = codec.sample_rate
        self._inbound: deque[bytes] = deque()
        self._cutter = FrameCutter(FRAME_BYTES)
        self._rx = Resampler(self.codec_rate, SAMPLE_RATE)
        self._tx = Resampler(SAMPLE_RATE, self.codec_rate)
        self.on_dtmf: Callable[[str], None] = lambda _digit: None
        self.frames_received = 0
        self.frames_dropped = 0
        self.frames_sent = 0
        self.dtmf_received: list[str] = []
        self.opened_at = time.monotonic()
        self.sending = params.direction in ("sendrecv", "sendonly")
        session.on_audio = self._on_audio
        session.on_dtmf = self._on_dtmf

    @classmethod
    async def open(cls, local_ip: str, params: MediaParams,
                   allocator: PortAllocator | None = None) -> RtpLeg:
        codec = get_codec(params.payload_type)
        session = await _Session.create(
            local_addr=(local_ip, 0), remote_addr=params.remote_addr,
            payload_type=params.payload_type, codec=codec,
            dtmf_payload_type=params.dtmf_payload_type if params.dtmf_payload_type is not None
            else -1,
            jitter_prefetch=JITTER_PREFETCH, rtcp_interval=RTCP_INTERVAL_S, symmetric_rtp=True,
            port_allocator=allocator, cname="switchboard",
        )
        return cls(session, params)

    @property
    def local_port(self) -> int:
        transport: Any = self.session._rtp_transport
        return int(transport._transport.get_extra_info("sockname")[1])

    @property
    def last_rx(self) -> float:
        """Monotonic time of the last packet, or of opening when none came yet."""
        return self.session.last_rx or self.opened_at

    def set_direction(self, direction: str) -> None:
        self.sending = direction in ("sendrecv", "sendonly")

    def update_remote(self, addr: tuple[str, int]) -> None:
        self.session.update_remote(addr)

    # aiortp callbacks
    def _on_audio(self, pcm: bytes, _timestamp: int) -> None:
        for frame in self._cutter.feed(self._rx.process(pcm)):
            self._inbound.append(frame)
            self.frames_received += 1
            if len(self._inbound) > MAX_QUEUED_FRAMES:
                self._inbound.popleft()
                self.frames_dropped += 1

    def _on_dtmf(self, digit: str, _duration: int) -> None:
        self.dtmf_received.append(digit)
        self.on_dtmf(digit)

    # mixer side
    def pull(self) -> bytes | None:
        return self._inbound.popleft() if self._inbound else None

    def push(self, pcm: bytes) -> None:
        if not self.sending:
            return
        self.session.send_audio_pcm_auto(self._tx.process(pcm))
        self.frames_sent += 1

    def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        self.session.send_dtmf(digit, duration_ms)

    async def close(self) -> None:
        await self.session.close()
