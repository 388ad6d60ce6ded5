"""WebRTC peer legs on aiortc: a peer connection joined to a call's mixer, with ICE settings
that never reach out to a public server and work on loopback (see :mod:`engine.rtc`).

The face is the leg the calls join to a mixer (and the error its offer may raise), and the
offering peer that tests and other clients of the engine call in with."""

from engine.webrtc.offerer import OfferingPeer
from engine.webrtc.peer import OfferError, PeerLeg, check_offer

__all__ = [
    "OfferError",
    "OfferingPeer",
    "PeerLeg",
    "check_offer",
]
