"""The G.711 batch: every 8 kHz µ-law/A-law leg of the media loop, resampled and coded together
once per tick instead of one small numpy pipeline per leg.

Each tick, before the mixers:

1. (stage -2) the RTP pacer's reports on the packets it sent are folded into the clock's frame
   lateness; without a pacer, the packets encoded in the previous tick are sent, first thing, so
   each goes out at its own slot however long the rest of the tick takes (mixing 200 calls takes
   longer than the 10 ms a frame may be late);
2. (stage -1) the legs' sockets are read dry by the :class:`~engine.sip.rtp_drain.RtpDrain` and the tick's
   G.711 payloads decoded in one table lookup;
3. one 8 kHz frame queued by each leg is converted to 16 kHz in one array operation and handed
   to the leg's inbound queue.

After the mixers (stage 1), every frame the mixers gave the legs is converted to 8 kHz, clipped
and G.711-encoded through lookup tables in one pass, built into RTP packets and handed to the RTP
pacer process (:mod:`engine.sip.rtp_pacer`), which sends them at the next tick's slot: a tick
that starts late, or runs long, no longer delays the packets of the one before. Without a pacer
they wait for the next tick's step 1. Either way a batched leg's audio leaves one tick (20 ms)
after it was mixed, and on time. A row converts exactly as the leg's own resampler would.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from aiortp.codecs.g711 import PcmaCodec, PcmuCodec

from engine.media import TICK_S, BatchResampler, MediaClock
from engine.sip.rtp_drain import RtpDrain
from engine.sip.rtp_pacer import RtpPacer
from engine.sip.rtp_wire import RtpWire

if TYPE_CHECKING:
    from engine.sip.rtp_leg import RtpLeg

log = logging.getLogger(__name__)

CODEC_RATE = 8000
MIXER_RATE = 16000
BATCHED_CODECS = {"PCMU": 0, "PCMA": 1}  # -> row of the encode tables
SEND_STAGE = -2  # first in the tick: send what the last tick encoded
RECEIVE_STAGE = -1  # read and decode, before the mixers
ENCODE_STAGE = 1  # encode what the mixers gave, for the next tick

# raw native-order u16 sample -> codec byte, one row per codec (aiortp's precomputed tables)
_ENCODE = np.stack([np.frombuffer(PcmuCodec._encode_table, dtype=np.uint8),
                    np.frombuffer(PcmaCodec._encode_table, dtype=np.uint8)])


def _decode_table(codec: type[PcmuCodec] | type[PcmaCodec]) -> np.ndarray:
    low = np.frombuffer(codec._decode_lo, dtype=np.uint8).astype(np.uint16)
    high = np.frombuffer(codec._decode_hi, dtype=np.uint8).astype(np.uint16)
    return (low | (high << 8)).view(np.int16)


# codec byte -> 16-bit sample, one row per codec (the same tables aiortp decodes with)
_DECODE = np.stack([_decode_table(PcmuCodec), _decode_table(PcmaCodec)])


class RtpBatch:
    """Converts and codes the G.711 legs of one media clock together."""

    def __init__(self, clock: MediaClock) -> None:
        self.clock = clock
        self._up = BatchResampler(CODEC_RATE, MIXER_RATE)
        self._down = BatchResampler(MIXER_RATE, CODEC_RATE)
        self._slots: dict[RtpLeg, tuple[int, int]] = {}
        self._outgoing: list[tuple[RtpLeg, bytes]] = []
        self._ready: tuple[list[RtpLeg], npt.NDArray[np.uint8]] | None = None  # encoded, unsent
        self.wire = RtpWire()
        self.drain = RtpDrain()
        self.frames_in = 0  # 20 ms frames handed to the legs' inbound queues
        clock.add(self.send, SEND_STAGE)
        clock.add(self.receive, RECEIVE_STAGE)
        clock.add(self.encode, ENCODE_STAGE)

    @staticmethod
    def accepts(codec: str, codec_rate: int) -> bool:
        """Whether a leg of this codec (as SDP names it) at this audio rate is batched: G.711
        only; G.722 and Opus legs code their own frames."""
        return codec in BATCHED_CODECS and codec_rate == CODEC_RATE

    def start_pacer(self, realtime: bool = False) -> bool:
        """Starts the RTP pacer process (under real-time scheduling when ``realtime`` and the
        system allows it), before the media loop runs; whether it started."""
        if self.wire.pacer is None:
            self.wire.pacer = RtpPacer.start(realtime)
        return self.wire.pacer is not None

    def stop_pacer(self) -> None:
        """Stops the pacer, once the media loop has stopped (blocking, briefly)."""
        pacer, self.wire.pacer = self.wire.pacer, None
        if pacer is not None:
            pacer.stop()

    @property
    def pacer(self) -> RtpPacer | None:
        return self.wire.pacer

    def attach(self, leg: RtpLeg) -> None:
        self._slots[leg] = (self._up.open(), self._down.open())
        self.wire.attach(leg)
        self.drain.attach(leg)

    def detach(self, leg: RtpLeg) -> None:
        slots = self._slots.pop(leg, None)
        if slots is not None:
            self._up.close(slots[0])
            self._down.close(slots[1])
        self.wire.detach(leg)
        self.drain.detach(leg)
        self._outgoing = [(other, pcm) for other, pcm in self._outgoing if other is not leg]

    def queue(self, leg: RtpLeg, pcm: bytes) -> None:
        """A mixed 16 kHz frame for ``leg``, encoded at the end of this tick and sent at the
        start of the next."""
        self._outgoing.append((leg, pcm))

    def receive(self) -> None:
        self.decode(self.drain.receive())
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

    @staticmethod
    def decode(payloads: list[tuple[RtpLeg, bytes]]) -> None:
        """Decode the G.711 payloads the drain read this tick into their legs' queues."""
        if not payloads:
            return
        codes = np.frombuffer(b"".join(payload for _, payload in payloads), dtype=np.uint8)
        sizes = [len(payload) for _, payload in payloads]
        rows = np.repeat([BATCHED_CODECS[leg.params.codec] for leg, _ in payloads], sizes)
        pcm = _DECODE[rows, codes].tobytes()
        start = 0
        for (leg, _), size in zip(payloads, sizes, strict=True):
            leg._on_codec_audio(pcm[2 * start:2 * (start + size)], 0)
            start += size

    def send(self) -> None:
        """Take in the pacer's reports; send the packets the last tick encoded that the pacer
        did not take, to legs still attached."""
        pacer = self.wire.pacer
        if pacer is not None:
            pacer.collect(self.clock.frames)
        ready, self._ready = self._ready, None
        if ready is None:
            return
        legs, encoded = ready
        keep = [row for row, leg in enumerate(legs) if leg in self._slots]
        if len(keep) < len(legs):
            if not keep:
                return
            legs, encoded = [legs[row] for row in keep], encoded[keep]
        self.wire.send(legs, encoded, self.clock.frame_sent)

    def encode(self) -> None:
        outgoing, self._outgoing = self._outgoing, []
        if not outgoing:
            return
        x = np.frombuffer(b"".join(pcm for _, pcm in outgoing), dtype="<i2")
        x = x.reshape(len(outgoing), -1).astype(np.float32)
        y = self._down.process([self._slots[leg][1] for leg, _ in outgoing], x)
        np.clip(y, -32768, 32767, out=y)
        samples = y.astype("<i2").view(np.uint16)
        rows = np.array([BATCHED_CODECS[leg.params.codec] for leg, _ in outgoing])
        legs, encoded = [leg for leg, _ in outgoing], _ENCODE[rows[:, None], samples]
        rest = self.wire.hand(legs, encoded, self.clock.slot + TICK_S)
        self.clock.frames_handed(len(legs) - len(rest))
        if len(rest) == len(legs):
            self._ready = (legs, encoded)
        else:  # the pacer took the rest
            self._ready = ([legs[row] for row in rest], encoded[rest]) if rest else None
