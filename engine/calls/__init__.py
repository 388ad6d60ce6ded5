"""Calls: the live calls (a :class:`LiveCall` over a :class:`Leg` of its kind, its control, joins
and transfers, run by the telephony service) and the records of calls (listing, serialisation,
post-call analysis, costs and metrics).

The API reaches live calls through :class:`LiveCalls`; what they refuse is a :class:`CallError`.
"""

from engine.calls.analysis import Analysis, Utterance, analyse
from engine.calls.errors import CallError
from engine.calls.facade import CallsService, LiveCalls
from engine.calls.legs import Leg, SipInboundLeg, SipOutboundLeg, WebRtcLeg
from engine.calls.live_call import LiveCall
from engine.calls.routing import Route

__all__ = [
    "Analysis",
    "CallError",
    "CallsService",
    "Leg",
    "LiveCall",
    "LiveCalls",
    "Route",
    "SipInboundLeg",
    "SipOutboundLeg",
    "Utterance",
    "WebRtcLeg",
    "analyse",
]
