"""SDP offer/answer for one audio stream (RFC 3264), on ``aiosipua``'s SDP model."""

from __future__ import annotations

import time
from dataclasses import dataclass

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

STATIC = {0: ("PCMU", 8000), 8: ("PCMA", 8000), 9: ("G722", 8000)}
DTMF_PT = 101
ANSWER_DIRECTION = {"sendrecv": "sendrecv", "sendonly": "recvonly", "recvonly": "sendonly",
                    "inactive": "inactive"}


def supported_payload_types() -> list[int]:
    """PCMU and PCMA always; G.722 when its native codec is installed."""
    types = [0, 8]
    try:
        get_codec(9)
        types.append(9)
    except (ValueError, ImportError, RuntimeError):
        pass
    return types


class SdpError(ValueError):
    """An offer we cannot answer (488 Not Acceptable Here)."""


@dataclass
class MediaParams:
    """What offer/answer settled for the audio stream."""

    payload_type: int
    codec: str
    clock_rate: int
    dtmf_payload_type: int | None
    remote_addr: tuple[str, int]
    direction: str  # ours: sendrecv | sendonly | recvonly | inactive


def _codec_of(media: MediaDescription, pt: int) -> tuple[str, int]:
    for codec in media.codecs:
        if codec.payload_type == pt and codec.encoding_name:
            return codec.encoding_name.upper(), codec.clock_rate or 8000
    return STATIC.get(pt, ("", 0))


def parse(body: bytes) -> SdpMessage:
    try:
        return parse_sdp(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, IndexError) as exc:
        raise SdpError(f"unreadable SDP: {exc}") from exc


def negotiate(offer: SdpMessage, supported: list[int] | None = None) -> MediaParams:
    """Pick the first offered codec we support, and the offer's telephone-event type."""
    supported = supported or supported_payload_types()
    audio = offer.audio
    if audio is None or audio.port == 0:
        raise SdpError("no audio stream offered")
    conn = audio.connection or offer.connection
    if conn is None:
        raise SdpError("no connection address")
    chosen: int | None = None
    dtmf: int | None = None
    for fmt in audio.formats:
        if not fmt.isdigit():
            continue
        pt = int(fmt)
        name, _ = _codec_of(audio, pt)
        if name == "TELEPHONE-EVENT" and dtmf is None:
            dtmf = pt
        elif chosen is None and name in ("PCMU", "PCMA", "G722") and STATIC.get(pt, ("",))[0] == name \
                and pt in supported:
            chosen = pt
    if chosen is None:
        raise SdpError(f"no common codec in {audio.formats}")
    name, rate = STATIC[chosen]
    return MediaParams(chosen, name, rate, dtmf, (conn.address, audio.port),
                       ANSWER_DIRECTION.get(audio.direction, "sendrecv"))


def build(local_ip: str, port: int, payload_types: list[int], dtmf_pt: int | None,
          direction: str = "sendrecv", session_id: int | None = None, version: int = 1) -> bytes:
    """An SDP body offering (or answering with) these payload types."""
    sid = str(session_id if session_id is not None else int(time.time()))
    formats = [str(pt) for pt in payload_types] + ([str(dtmf_pt)] if dtmf_pt is not None else [])
    attrs: dict[str, list[str]] = {"rtpmap": [f"{pt} {STATIC[pt][0]}/{STATIC[pt][1]}"
                                              for pt in payload_types]}
    if dtmf_pt is not None:
        attrs["rtpmap"].append(f"{dtmf_pt} telephone-event/8000")
        attrs["fmtp"] = [f"{dtmf_pt} 0-16"]
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
    """The answer to ``offer``, for the parameters :func:`negotiate` chose."""
    return build(local_ip, port, [params.payload_type], params.dtmf_payload_type,
                 params.direction, session_id, version)
