"""Legs: one party's transport in a live call (SIP inbound, SIP outbound, WebRTC)."""

from engine.calls.legs.base import CLEAN_ENDS, Ending, Leg, Signalling, SipCall, Stats, failure_of
from engine.calls.legs.sip_inbound import SipInboundLeg
from engine.calls.legs.sip_outbound import OutboundDialog, SipOutboundLeg
from engine.calls.legs.webrtc import WEB_CALLER, WebRtcLeg

__all__ = [
    "CLEAN_ENDS",
    "WEB_CALLER",
    "Ending",
    "Leg",
    "OutboundDialog",
    "Signalling",
    "SipCall",
    "SipInboundLeg",
    "SipOutboundLeg",
    "Stats",
    "WebRtcLeg",
    "failure_of",
]
