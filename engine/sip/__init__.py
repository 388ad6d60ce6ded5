"""SIP: our RFC 3261 transaction layer and user agent (UDP, TCP, rport), SDP offer/answer, and
the RTP leg that adapts a call's media to the mixer. ``aiosipua`` supplies header codecs and SDP."""

from engine.sip.endpoint import Endpoint
from engine.sip.message import ParseError, Request, Response, parse
from engine.sip.rtp_leg import RtpLeg
from engine.sip.sdp import MediaParams, SdpError
from engine.sip.timers import Clock, LoopClock, VirtualClock
from engine.sip.transport import FakeTransport, Peer, TcpTransport, UdpTransport
from engine.sip.ua import UserAgent
from engine.sip.uas import IncomingCall

__all__ = [
    "Clock",
    "Endpoint",
    "FakeTransport",
    "IncomingCall",
    "LoopClock",
    "MediaParams",
    "ParseError",
    "Peer",
    "Request",
    "Response",
    "RtpLeg",
    "SdpError",
    "TcpTransport",
    "UdpTransport",
    "UserAgent",
    "VirtualClock",
    "parse",
]
