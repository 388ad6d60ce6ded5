"""A peer leg in a mixer on a threaded media loop, against a real aiortc peer on loopback."""

from __future__ import annotations

import asyncio

import pytest

from engine.media import BARGE_MASKS, CALLER_MASKS, LISTEN_MASKS, Mixer, Participant
from engine.media.loop import MediaLoop
from engine.rtc import rtc_configuration
from engine.webrtc import OfferError, OfferingPeer, PeerLeg, check_offer
from tests.harness.tones import Capture, Sine, heard, silent_at, tone_level


def test_the_default_configuration_names_no_ice_server() -> None:
    assert rtc_configuration().iceServers == []


@pytest.mark.parametrize("sdp", ["", "hello", "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"])
def test_offers_without_audio_are_refused(sdp: str) -> None:
    with pytest.raises(OfferError):
        check_offer(sdp)


async def joined(mixer: Mixer, media: MediaLoop, masks, source, sink):  # type: ignore[no-untyped-def]
    leg = PeerLeg("peer", masks)
    peer = OfferingPeer(source, sink)
    answer = await leg.accept(await peer.offer())
    assert "a=candidate" in answer and "127.0.0.1" in answer
    await peer.accept(answer)
    await asyncio.wait_for(peer.connected.wait(), 10)
    await media.call_soon_wait(mixer.add, leg.participant)
    return leg, peer


async def test_a_peer_hears_the_caller_and_is_heard_by_it() -> None:
    media = MediaLoop()
    media.start()
    mixer = Mixer("t")
    caller_ear = Capture()
    mixer.add(Participant("caller", CALLER_MASKS, Sine(440), caller_ear))
    media.call(media.clock.add, mixer.tick)
    peer_ear = Capture()
    leg, peer = await joined(mixer, media, BARGE_MASKS, Sine(1000), peer_ear)
    try:
        assert leg.connected_s is not None and leg.connected_s < 5
        await asyncio.sleep(1.5)
        caller_ear.mark()
        peer_ear.mark()
        await asyncio.sleep(1.0)
        assert heard(peer_ear.since_mark(), 440), tone_level(peer_ear.since_mark(), 440)
        assert heard(caller_ear.since_mark(), 1000), tone_level(caller_ear.since_mark(), 1000)
        assert silent_at(peer_ear.since_mark(), 1000)  # nobody hears itself
        await media.call_soon_wait(mixer.set_masks, leg.participant, LISTEN_MASKS)
        await asyncio.sleep(0.3)
        caller_ear.mark()
        await asyncio.sleep(1.0)
        assert silent_at(caller_ear.since_mark(), 1000), tone_level(caller_ear.since_mark(), 1000)
    finally:
        await peer.close()
        await asyncio.wait_for(leg.ended.wait(), 10)
        await leg.close()
        await media.stop()
