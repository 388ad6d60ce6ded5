"""The G.711 batch: every 8 kHz µ-law/A-law leg of the media loop, resampled and coded together
once per tick instead of one small numpy pipeline per leg.

Each tick, before the mixers (stage -1), one 8 kHz frame queued by each leg is converted to
16 kHz in one array operation and handed to the leg's inbound queue; after the mixers (stage 1),
every frame the mixers gave the legs is converted to 8 kHz, clipped and G.711-encoded through
lookup tables in one pass, and sent. A row converts exactly as the leg's own resampler would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
from aiortp.codecs.g711 import PcmaCodec, PcmuCodec

from engine.media.clock import MediaClock
from engine.media.resample import BatchResampler
from engine.sip.rtp_wire import RtpWire

if TYPE_CHECKING:
    from engine.sip.rtp_leg import RtpLeg

log = logging.getLogger(__name__)

CODEC_RATE = 8000
MIXER_RATE = 16000
BATCHED_CODECS = {"PCMU": 0, "PCMA": 1}  # -> row of the encode tables
RECEIVE_STAGE = -1
SEND_STAGE = 1

# raw native-order u16 sample -> codec byte, one row per codec (aiortp's precomputed tables)
_ENCODE = np.stack([np.frombuffer(PcmuCodec._encode_table, dtype=np.uint8),
                    np.frombuffer(PcmaCodec._encode_table, dtype=np.uint8)])


class RtpBatch:
    """Converts and codes the G.711 legs of one media clock together."""

    def __init__(self, clock: MediaClock) -> None:
        self.clock = clock
        self._up = BatchResampler(CODEC_RATE, MIXER_RATE)
        self._down = BatchResampler(MIXER_RATE, CODEC_RATE)
        self._slots: dict[RtpLeg, tuple[int, int]] = {}
        self._outgoing: list[tuple[RtpLeg, bytes]] = []
        self.wire = RtpWire()
        self.frames_in = 0  # 20 ms frames handed to the legs' inbound queues
        clock.add(self.receive, RECEIVE_STAGE)
        clock.add(self.send, SEND_STAGE)

    @staticmethod
    def accepts(codec: str, codec_rate: int) -> bool:
        """Whether a leg of this codec (as SDP names it) at this audio rate is batched: G.711
        only; G.722 and Opus legs code their own frames."""
        return codec in BATCHED_CODECS and codec_rate == CODEC_RATE

    def attach(self, leg: RtpLeg) -> None:
        self._slots[leg] = (self._up.open(), self._down.open())
        self.wire.attach(leg)

    def detach(self, leg: RtpLeg) -> None:
        slots = self._slots.pop(leg, None)
        if slots is not None:
            self._up.close(slots[0])
            self._down.close(slots[1])
        self.wire.detach(leg)
        self._outgoing = [(other, pcm) for other, pcm in self._outgoing if other is not leg]

    def queue(self, leg: RtpLeg, pcm: bytes) -> None:
        """A mixed 16 kHz frame for ``leg``, sent at the end of this tick."""
        self._outgoing.append((leg, pcm))

    def receive(self) -> None:
        legs: list[RtpLeg] = []
        frames: list[bytes] = []
        for leg in self._slots:
            frame = leg.next_codec_frame()
            if frame is not None:
                legs.append(leg)
                frames.append(frame)
        if not legs:
            return
        x = np.frombuffer(b"".join(frames), dtype="<i2").reshape(len(frames), -1)
        y = self._up.process([self._slots[leg][0] for leg in legs], x.astype(np.float32))
        np.clip(y, -32768, 32767, out=y)
        pcm = y.astype("<i2")
        self.frames_in += len(legs)
        for row, leg in enumerate(legs):
            leg.deliver(pcm[row].tobytes())

    def send(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing:
            return
        x = np.frombuffer(b"".join(pcm for _, pcm in outgoing), dtype="<i2")
        x = x.reshape(len(outgoing), -1).astype(np.float32)
        y = self._down.process([self._slots[leg][1] for leg, _ in outgoing], x)
        np.clip(y, -32768, 32767, out=y)
        samples = y.astype("<i2").view(np.uint16)
        rows = np.array([BATCHED_CODECS[leg.params.codec] for leg, _ in outgoing])
        encoded = _ENCODE[rows[:, None], samples]
        self.wire.send([leg for leg, _ in outgoing], encoded, self.clock.frame_sent)
