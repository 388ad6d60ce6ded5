"""The RTP leg: adapts one negotiated RTP stream (``aiortp``) to the mixer.

Inbound packets are reordered by aiortp's jitter buffer, decoded, resampled to 16 kHz and
queued; the mixer pulls one frame per tick. Outbound, each mixed frame is resampled to the
codec's rate, encoded and sent (one packet per tick keeps RTP timestamps continuous).
Symmetric RTP (RFC 4961): we send to where the peer's packets come from.

G.722 is 16 kHz audio already, and Opus is run at 16 kHz (libopus encodes and decodes at that
rate itself, whatever the peer sends), so neither is resampled. Their RTP clocks are not their
audio rates (G.722's is 8 kHz, Opus's 48 kHz): timestamps advance by the clock's 20 ms. Codec
work stays inline on the media loop: per 20 ms frame it is tens of µs (G.722 ~20 µs each way,
Opus ~90 µs to encode and ~30 µs to decode; measured on the test machine), far under the loop's
5 ms limit. G.711 legs go through the :class:`~engine.sip.rtp_batch.RtpBatch` when given one.

A leg lives on the media loop (its sockets, callbacks and mixer calls); ``on_dtmf`` is called
there too. When given the media clock, each sent frame is reported to it for lateness figures.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable

from aiortp import RTPSession
from aiortp.codecs import Codec, get_codec
from aiortp.port_allocator import PortAllocator

from engine.media import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, FrameCutter, MediaClock, Resampler
from engine.sip.ports import RtpPorts, wait_bindable
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_drain import JITTER_PREFETCH
from engine.sip.sdp import MediaParams

log = logging.getLogger(__name__)

MAX_QUEUED_FRAMES = 10  # 200 ms: beyond this the oldest inbound audio is dropped (latency cap)
RTCP_INTERVAL_S = 5.0  # RFC 3550 minimum
# libopus's encoder effort, 0-10: at 16 kHz speech 10 costs ~220 µs a frame, 5 ~90 µs, with the
# same bytes per frame (measured with libopus 1.3.1)
OPUS_COMPLEXITY = 5


def open_codec(params: MediaParams) -> Codec:
    """The codec for the negotiated stream, producing and taking 16 kHz audio where it can."""
    if params.codec == "opus":
        from aiortp.codecs.opus import OpusCodec

        codec = OpusCodec(sample_rate=SAMPLE_RATE)
        codec._encoder.complexity = OPUS_COMPLEXITY
        return codec
    return get_codec({"PCMU": 0, "PCMA": 8, "G722": 9}[params.codec])


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

    def __init__(self, session: _Session, params: MediaParams,
                 clock: MediaClock | None = None, batch: RtpBatch | None = None) -> None:
        self.session = session
        self.clock = clock
        self.params = params
        codec = session.codec
        assert codec is not None
        self.codec_rate = codec.sample_rate
        self.batch = batch if batch is not None and batch.accepts(params.codec,
                                                                    self.codec_rate) else None
        self._inbound: deque[bytes] = deque()
        self._codec_frames: deque[bytes] = deque()  # batched legs: decoded, not yet resampled
        self.buffering = True  # batched legs: filling up to the prefetch before playing
        self._cutter = FrameCutter(FRAME_BYTES if self.batch is None
                                   else FRAME_BYTES * self.codec_rate // SAMPLE_RATE)
        self._rx = Resampler(self.codec_rate, SAMPLE_RATE)
        self._tx = Resampler(SAMPLE_RATE, self.codec_rate)
        self.on_dtmf: Callable[[str], None] = lambda _digit: None
        self.frames_received = 0
        self.frames_dropped = 0
        self.frames_sent = 0
        self.dtmf_received: list[str] = []
        self.opened_at = time.monotonic()
        self.sending = params.direction in ("sendrecv", "sendonly")
        self._reserved: tuple[PortAllocator | None, int] = (None, 0)
        session.on_audio = self._on_audio if self.batch is None else self._on_codec_audio
        session.on_dtmf = self._on_dtmf
        if self.batch is not None:
            self.batch.attach(self)

    @classmethod
    async def open(cls, local_ip: str, params: MediaParams,
                   allocator: PortAllocator | None = None,
                   clock: MediaClock | None = None, batch: RtpBatch | None = None,
                   port: int | None = None) -> RtpLeg:
        """Bind a leg; ``port`` binds one reserved earlier (the port of an offer we sent), which
        is given back to ``allocator`` when the leg closes."""
        codec = open_codec(params)
        chosen_here = port is None and allocator is not None
        if port is None and allocator is not None:
            port, _ = await allocator.allocate()
        if port is not None and isinstance(allocator, RtpPorts):
            allocator.take(port)  # bound by us since it was chosen: now the leg binds it
            if not await wait_bindable(local_ip, port):
                log.warning("RTP port %d is still bound elsewhere after it was let go", port)
        try:
            session = await _Session.create(
                local_addr=(local_ip, port or 0), remote_addr=params.remote_addr,
                payload_type=params.payload_type, codec=codec, clock_rate=params.clock_rate,
                dtmf_payload_type=params.dtmf_payload_type
                if params.dtmf_payload_type is not None else -1,
                jitter_prefetch=JITTER_PREFETCH, rtcp_interval=RTCP_INTERVAL_S,
                symmetric_rtp=True, port_allocator=None, cname="switchboard",
            )
        except OSError:
            if chosen_here and allocator is not None and port:
                await allocator.release(port)
            raise
        assert isinstance(session, _Session)  # aiortp's factory builds the class it is called on
        sender = session._sender
        assert sender is not None  # bound by create()
        # aiortp steps by the codec's samples per frame, which is not the RTP clock's 20 ms for
        # G.722 (RFC 3551 §4.5.2) or for Opus run at 16 kHz (RFC 7587 §4.1)
        sender.timestamp_increment = params.clock_rate * FRAME_MS // 1000
        if params.dtmf_clock_rate != params.clock_rate:
            from aiortp.dtmf import DtmfSender

            session._dtmf_sender = DtmfSender(sender=sender,
                                              dtmf_payload_type=session._dtmf_payload_type,
                                              clock_rate=params.dtmf_clock_rate)
        leg = cls(session, params, clock, batch)
        if port:
            leg._reserved = (allocator, port)  # given back to the allocator when the leg closes
        return leg

    @property
    def datagram(self) -> asyncio.DatagramTransport | None:
        """The asyncio datagram transport of the leg's RTP socket (None once closed)."""
        transport = self.session._rtp_transport
        return transport._transport if transport is not None else None

    @property
    def local_port(self) -> int:
        datagram = self.datagram
        if datagram is None:
            raise RuntimeError("the RTP leg has no socket")
        return int(datagram.get_extra_info("sockname")[1])

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

    def _on_codec_audio(self, pcm: bytes, _timestamp: int) -> None:
        for frame in self._cutter.feed(pcm):
            self._codec_frames.append(frame)
            if len(self._codec_frames) + len(self._inbound) > MAX_QUEUED_FRAMES:
                self._codec_frames.popleft()
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
        if self.batch is not None:
            self.batch.queue(self, pcm)
            return
        self.session.send_audio_pcm_auto(self._tx.process(pcm))
        self.frames_sent += 1
        if self.clock is not None:
            self.clock.frame_sent()

    # batch side
    def next_codec_frame(self) -> bytes | None:
        """One decoded 20 ms frame at the codec's rate, for the batch to resample (once a tick).

        Like aiortp's jitter buffer, play starts once ``JITTER_PREFETCH`` frames are queued,
        and again after the queue ran dry: those 40 ms absorb packets arriving a tick early or
        late, which would otherwise be a silent frame each (and split the caller's words)."""
        queue = self._codec_frames
        if self.buffering:
            if len(queue) < JITTER_PREFETCH:
                return None
            self.buffering = False
        if not queue:
            self.buffering = True
            return None
        return queue.popleft()

    def deliver(self, frame: bytes) -> None:
        """A resampled frame from the batch, for the mixer's next pull."""
        self._inbound.append(frame)
        self.frames_received += 1

    def send_encoded(self, payload: bytes) -> None:
        self.session.send_audio_auto(payload)
        self.frames_sent += 1

    def send_dtmf(self, digit: str, duration_ms: int = 160) -> None:
        """One RFC 4733 event, stamped with the audio stream's current RTP timestamp (each
        digit its own event: a receiver merges packets that share a timestamp)."""
        sender = self.session._sender
        self.session.send_dtmf(digit, duration_ms,
                               timestamp=sender.current_timestamp if sender is not None else 0)

    async def close(self) -> None:
        if self.batch is not None:
            self.batch.detach(self)
        await self.session.close()
        allocator, port = self._reserved
        if allocator is not None and port:
            await allocator.release(port)
