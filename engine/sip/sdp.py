"""SDP offer/answer for one audio stream (RFC 3264), on ``aiosipua``'s SDP model.

Codecs: G.722 (RFC 3551: payload type 9, ``G722/8000`` although its audio is 16 kHz), Opus
(RFC 7587: a dynamic payload type, always ``opus/48000/2``; only where ``opuslib`` and libopus
load), PCMU and PCMA, and RFC 4733 telephone-event at 8 kHz, plus at 48 kHz beside Opus (an
event's clock should be its audio stream's). Offers list them in :data:`PREFERENCE` order;
answers pick the first of :data:`PREFERENCE` that the offer has, under the offer's payload type
numbers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from aiortp.codecs import get_codec
from aiosipua.sdp import (
    ConnectionData,
    MediaDescription,
    Origin,
    SdpMessage,
    TimingField,
    parse_sdp,
    serialize_sdp,
)


@dataclass(frozen=True)
class CodecSpec:
    """An audio codec as SDP names it."""

    name: str  # the rtpmap encoding name, canonical spelling
    clock_rate: int  # the RTP clock (rtpmap), not necessarily the audio's sample rate
    channels: int | None = None  # the rtpmap channel count, where one is written
    fmtp: str = ""  # our format parameters for it

    @property
    def rtpmap(self) -> str:
        suffix = f"/{self.channels}" if self.channels else ""
        return f"{self.name}/{self.clock_rate}{suffix}"


PCMU = CodecSpec("PCMU", 8000)
PCMA = CodecSpec("PCMA", 8000)
G722 = CodecSpec("G722", 8000)
# We encode mono and mix at 16 kHz: the peer need not send more (RFC 7587 §6.1).
OPUS = CodecSpec("opus", 48000, 2, "maxplaybackrate=16000;sprop-maxcapturerate=16000;"
                                   "stereo=0;sprop-stereo=0")
STATIC = {0: PCMU, 8: PCMA, 9: G722}
BY_NAME = {spec.name.upper(): spec for spec in (PCMU, PCMA, G722, OPUS)}
OPUS_PT = 111  # the dynamic payload type we offer Opus under (the usual one: WebRTC, baresip)
DTMF_PT = 101  # telephone-event/8000 in our offers
DTMF_OPUS_PT = 110  # telephone-event/48000 in our offers, beside Opus
TELEPHONE_EVENT = "TELEPHONE-EVENT"

# Wideband first. G.722 before Opus: both carry the 16 kHz our mixer runs at, and G.722 costs a
# tenth of the CPU (measured per 20 ms frame: G.722 ~20 µs encode + ~15 µs decode, Opus at
# 16 kHz ~90 µs + ~30 µs); Opus's gains (loss concealment, ~20 kbit/s instead of 64) matter on
# lossy or thin links, where a peer without G.722 still gets it. Then G.711, µ-law first.
PREFERENCE = ("G722", "opus", "PCMU", "PCMA")

ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                    "inactive": "inactive"}


@cache
def available(name: str) -> bool:
    """Whether the native codec behind ``name`` loads (G.722 needs the ``G722`` package, Opus
    ``opuslib`` and libopus; G.711 is always there)."""
    if name.upper() in ("PCMU", "PCMA"):
        return True
    try:
        if name.upper() == "G722":
            get_codec(9)
        elif name.upper() == "OPUS":
            from aiortp.codecs.opus import OpusCodec

            OpusCodec(sample_rate=16000)
        else:
            return False
    except (ValueError, ImportError, RuntimeError, OSError):
        return False
    return True


def supported_codecs() -> list[str]:
    """The codecs we can run, in :data:`PREFERENCE` order."""
    return [name for name in PREFERENCE if available(name)]


def supported_payload_types() -> list[int]:
    """The payload types of our offers, in preference order (Opus under :data:`OPUS_PT`)."""
    numbers = {"PCMU": 0, "PCMA": 8, "G722": 9, "opus": OPUS_PT}
    return [numbers[name] for name in supported_codecs()]


class SdpError(ValueError):
    """An offer we cannot answer (488 Not Acceptable Here)."""


@dataclass
class MediaParams:
    """What offer/answer settled for the audio stream."""

    payload_type: int
    codec: str  # PCMU | PCMA | G722 | opus
    clock_rate: int  # the RTP clock: 8000, or 48000 for Opus
    dtmf_payload_type: int | None
    remote_addr: tuple[str, int]
    direction: str  # ours: sendrecv | sendonly | recvonly | inactive
    dtmf_clock_rate: int = 8000


def _formats(media: MediaDescription) -> list[tuple[int, str, int]]:
    """The offered formats in order: (payload type, upper-case name, RTP clock)."""
    described = {codec.payload_type: codec for codec in media.codecs}
    out: list[tuple[int, str, int]] = []
    for fmt in media.formats:
        if not fmt.isdigit():
            continue
        pt = int(fmt)
        codec = described.get(pt)
        if codec is not None and codec.encoding_name:
            out.append((pt, codec.encoding_name.upper(), codec.clock_rate or 8000))
        elif pt in STATIC:
            out.append((pt, STATIC[pt].name, STATIC[pt].clock_rate))
    return out


def parse(body: bytes) -> SdpMessage:
    try:
        return parse_sdp(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, IndexError) as exc:
        raise SdpError(f"unreadable SDP: {exc}") from exc


def negotiate(offer: SdpMessage, supported: Sequence[int | str] | None = None) -> MediaParams:
    """The codec of :data:`PREFERENCE` the offer has (only ``supported`` ones: codec names or
    static payload types; by default every codec that loads), under the offer's payload type,
    and the offer's telephone-event at that codec's clock (else its 8 kHz one)."""
    names = supported_codecs() if supported is None else [
        STATIC[item].name if isinstance(item, int) and item in STATIC
        else "opus" if item in (OPUS_PT, "opus", "OPUS") else str(item) for item in supported]
    wanted = [name.upper() for name in PREFERENCE if name in names]
    audio = offer.audio
    if audio is None or audio.port == 0:
        raise SdpError("no audio stream offered")
    conn = audio.connection or offer.connection
    if conn is None:
        raise SdpError("no connection address")
    offered = _formats(audio)
    chosen: tuple[int, CodecSpec] | None = None
    for name in wanted:
        spec = BY_NAME[name]
        match = next((pt for pt, n, rate in offered if n == name and rate == spec.clock_rate),
                     None)
        if match is not None:
            chosen = (match, spec)
            break
    if chosen is None:
        raise SdpError(f"no common codec in {audio.formats}")
    pt, spec = chosen
    events = {rate: number for number, name, rate in reversed(offered)
              if name == TELEPHONE_EVENT}
    dtmf_rate = spec.clock_rate if spec.clock_rate in events else 8000
    return MediaParams(pt, spec.name, spec.clock_rate, events.get(dtmf_rate),
                       (conn.address, audio.port),
                       ANSWER_DIRECTION.get(audio.direction, "sendrecv"), dtmf_rate)


def build(local_ip: str, port: int, payload_types: Sequence[int], dtmf_pt: int | None,
          direction: str = "sendrecv", session_id: int | None = None, version: int = 1, *,
          params: MediaParams | None = None) -> bytes:
    """An SDP body offering (or answering with) these payload types.

    Static types are G.711 and G.722; any other is Opus (the only dynamic codec we run), unless
    ``params`` names it. ``dtmf_pt`` is telephone-event at the audio's clock when only Opus is
    listed (or at ``params.dtmf_clock_rate``), else at 8 kHz; an offer with Opus among others
    adds :data:`DTMF_OPUS_PT` at 48 kHz beside it.
    """
    sid = str(session_id if session_id is not None else int(time.time()))
    specs = [(pt, BY_NAME[params.codec.upper()] if params is not None
              and pt == params.payload_type else STATIC.get(pt, OPUS)) for pt in payload_types]
    formats = [str(pt) for pt in payload_types]
    rtpmap = [f"{pt} {spec.rtpmap}" for pt, spec in specs]
    fmtp = [f"{pt} {spec.fmtp}" for pt, spec in specs if spec.fmtp]
    if dtmf_pt is not None:
        rates = {spec.clock_rate for _, spec in specs}
        if params is not None and params.dtmf_payload_type == dtmf_pt:
            events = [(dtmf_pt, params.dtmf_clock_rate)]
        elif rates == {OPUS.clock_rate}:
            events = [(dtmf_pt, OPUS.clock_rate)]
        else:
            events = [(dtmf_pt, 8000)]
            if OPUS.clock_rate in rates and DTMF_OPUS_PT not in payload_types:
                events.append((DTMF_OPUS_PT, OPUS.clock_rate))
        for number, rate in events:
            formats.append(str(number))
            rtpmap.append(f"{number} telephone-event/{rate}")
            fmtp.append(f"{number} 0-16")
    attrs: dict[str, list[str]] = {"rtpmap": rtpmap}
    if fmtp:
        attrs["fmtp"] = fmtp
    attrs["ptime"] = ["20"]
    attrs[direction] = []
    media = MediaDescription(media="audio", port=port, proto="RTP/AVP", formats=formats,
                             attributes=attrs)
    message = SdpMessage(
        origin=Origin(username="switchboard", session_id=sid, session_version=str(version),
                      address=local_ip),
        session_name="switchboard",
        connection=ConnectionData(address=local_ip),
        timing=TimingField(),
        media=[media],
    )
    return serialize_sdp(message).encode("utf-8")


def answer(offer: SdpMessage, params: MediaParams, local_ip: str, port: int,
           session_id: int | None = None, version: int = 1) -> bytes:
    """The answer to ``offer``, for the parameters :func:`negotiate` chose: that one codec and
    telephone-event, under the offer's payload type numbers."""
    return build(local_ip, port, [params.payload_type], params.dtmf_payload_type,
                 params.direction, session_id, version, params=params)
