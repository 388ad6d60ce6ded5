"""sipp callers for the live-control tests, and the caller's media socket.

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

DTMF_PT = 101
PCMA_PT = 8

INVITE = """
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 1 IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

# the engine's re-INVITE (its offer checked for the direction), answered with ours
ANSWER_REINVITE = """
  <recv request="INVITE" timeout="{timeout}">
    <action>
      <ereg regexp="a={offer}" search_in="body" check_it="true" assign_to="dir{n}"/>
    </action>
  </recv>
  <Reference variables="dir{n}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:caller@[local_ip]:[local_port]>
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 {n} IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a={answer}
    ]]>
  </send>
  <recv request="ACK" timeout="5000"/>
"""

# the caller's own re-INVITE (holding or resuming the engine), the engine's answer checked
SEND_REINVITE = """
  <pause milliseconds="{pause}"/>
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} INVITE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=caller 1 {cseq} IN IP4 [local_ip]
      s=-
      c=IN IP4 [local_ip]
      t=0 0
      m=audio [rtp_port] RTP/AVP 8 101
      a=rtpmap:8 PCMA/8000
      a=rtpmap:101 telephone-event/8000
      a={offer}
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="200">
    <action>
      <ereg regexp="a={answer}" search_in="body" check_it="true" assign_to="peer{cseq}"/>
    </action>
  </recv>
  <Reference variables="peer{cseq}"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: {cseq} ACK
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
"""

SEND_BYE = """
  <pause milliseconds="{pause}"/>
  <send retrans="500">
    <![CDATA[
      BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: sipp <sip:caller@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 9 BYE
      Contact: sip:caller@[local_ip]:[local_port]
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <recv response="200"/>
"""

RECV_BYE = """
  <recv request="BYE" timeout="{timeout}"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]>
  </send>
"""


def write_scenario(path: Path, *steps: str) -> Path:
    body = "".join(steps)
    path.write_text('<?xml version="1.0" encoding="ISO-8859-1" ?>\n'
                    f'<scenario name="{path.stem}">{INVITE}{body}\n</scenario>\n')
    return path


def answer_reinvite(n: int, offer: str, answer: str, timeout_ms: int = 30000) -> str:
    return ANSWER_REINVITE.format(n=n + 1, offer=offer, answer=answer, timeout=timeout_ms)


def send_reinvite(cseq: int, offer: str, answer: str, pause_ms: int) -> str:
    return SEND_REINVITE.format(cseq=cseq, offer=offer, answer=answer, pause=pause_ms)


def recv_bye(timeout_ms: int = 40000) -> str:
    return RECV_BYE.format(timeout=timeout_ms)


def send_bye(pause_ms: int = 0) -> str:
    return SEND_BYE.format(pause=pause_ms)


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
