"""WebRTC peer legs on aiortc: a peer connection joined to a call's mixer, with ICE settings
that never reach out to a public server and work on loopback."""

from engine.webrtc.ice import include_loopback, rtc_configuration
from engine.webrtc.offerer import OfferingPeer, PacedTrack
from engine.webrtc.peer import OfferError, PeerLeg, check_offer
from engine.webrtc.tracks import InboundAudio, MixerTrack

__all__ = [
    "InboundAudio",
    "MixerTrack",
    "OfferError",
    "OfferingPeer",
    "PacedTrack",
    "PeerLeg",
    "check_offer",
    "include_loopback",
    "rtc_configuration",
]
