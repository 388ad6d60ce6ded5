"""SIP: our RFC 3261 transaction layer and user agent (UDP, TCP, rport), SDP offer/answer, and
the RTP leg that adapts a call's media to the mixer. ``aiosipua`` supplies header codecs and SDP.

The face is what the calls take from SIP: the user agent and its incoming and outgoing calls,
registration, REFER and re-INVITE, the RTP legs with their port pool and G.711 batch, and
:mod:`engine.sip.sdp` for offer/answer."""

from engine.sip import sdp
from engine.sip.auth import Credentials
from engine.sip.message import Response
from engine.sip.ports import RtpPorts
from engine.sip.refer import NOTIFY_WAIT_S, Refer, ReferResult
from engine.sip.registration import Registration
from engine.sip.reinvite import ReInvite
from engine.sip.rtp_batch import RtpBatch
from engine.sip.rtp_leg import RtpLeg
from engine.sip.transport import Peer
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.sip.uas import IncomingCall

__all__ = [
    "NOTIFY_WAIT_S",
    "Credentials",
    "IncomingCall",
    "OutgoingCall",
    "Peer",
    "ReInvite",
    "Refer",
    "ReferResult",
    "Registration",
    "Response",
    "RtpBatch",
    "RtpLeg",
    "RtpPorts",
    "UserAgent",
    "sdp",
]
