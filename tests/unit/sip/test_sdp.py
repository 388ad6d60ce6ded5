"""SDP offer/answer: which codec and telephone-event an answer settles on, and what our offers
and answers say about them."""

from __future__ import annotations

import pytest

from engine.sip import sdp

pytestmark = pytest.mark.skipif(not (sdp.available("G722") and sdp.available("opus")),
                                reason="the g722 and opuslib packages (and libopus0) are needed")


def offer(*lines: str, formats: str, direction: str = "sendrecv") -> bytes:
    body = ["v=0", "o=peer 1 1 IN IP4 192.0.2.7", "s=-", "c=IN IP4 192.0.2.7", "t=0 0",
            f"m=audio 40000 RTP/AVP {formats}", *lines, f"a={direction}"]
    return ("\r\n".join(body) + "\r\n").encode()


BARESIP_LIKE = offer("a=rtpmap:96 opus/48000/2", "a=fmtp:96 stereo=1;sprop-stereo=1",
                     "a=rtpmap:9 G722/8000", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000",
                     "a=rtpmap:101 telephone-event/8000", "a=fmtp:101 0-15",
                     formats="96 9 0 8 101")


def negotiate(body: bytes, supported: list[int | str] | None = None) -> sdp.MediaParams:
    return sdp.negotiate(sdp.parse(body), supported)


def rtpmaps(body: bytes) -> dict[int, str]:
    audio = sdp.parse(body).audio
    assert audio is not None
    return {int(v.split()[0]): v.split()[1] for v in audio.attributes.get("rtpmap", [])}


def test_g722_is_preferred_over_opus_and_g711_whatever_the_offer_order() -> None:
    params = negotiate(BARESIP_LIKE)
    assert (params.payload_type, params.codec, params.clock_rate) == (9, "G722", 8000)
    assert params.dtmf_payload_type == 101 and params.dtmf_clock_rate == 8000
    assert params.remote_addr == ("192.0.2.7", 40000) and params.direction == "sendrecv"


def test_opus_is_taken_under_the_offerers_dynamic_payload_type() -> None:
    params = negotiate(offer("a=rtpmap:98 OPUS/48000/2", "a=rtpmap:0 PCMU/8000",
                             "a=rtpmap:100 telephone-event/48000",
                             "a=rtpmap:101 telephone-event/8000", formats="0 98 101 100"))
    assert (params.payload_type, params.codec, params.clock_rate) == (98, "opus", 48000)
    # telephone-event at the audio's clock, not the first one listed
    assert (params.dtmf_payload_type, params.dtmf_clock_rate) == (100, 48000)


def test_opus_with_only_8k_telephone_event_keeps_it() -> None:
    params = negotiate(offer("a=rtpmap:96 opus/48000/2", "a=rtpmap:101 telephone-event/8000",
                             formats="96 101"))
    assert params.codec == "opus"
    assert (params.dtmf_payload_type, params.dtmf_clock_rate) == (101, 8000)


def test_g711_only_offers_pick_the_first_g711_we_prefer() -> None:
    assert negotiate(offer(formats="8 0")).codec == "PCMU"  # static types need no rtpmap
    assert negotiate(offer(formats="8")).codec == "PCMA"
    assert negotiate(offer(formats="8 0 101"), supported=[8]).codec == "PCMA"
    assert negotiate(BARESIP_LIKE, supported=[0, 8]).codec == "PCMU"
    assert negotiate(BARESIP_LIKE, supported=["opus", "PCMA"]).codec == "opus"


def test_a_codec_by_name_under_a_dynamic_type_is_recognised() -> None:
    params = negotiate(offer("a=rtpmap:97 PCMA/8000", formats="97"))
    assert (params.payload_type, params.codec) == (97, "PCMA")


def test_a_static_number_remapped_to_another_codec_is_not_taken_for_the_static_one() -> None:
    with pytest.raises(sdp.SdpError, match="no common codec"):
        negotiate(offer("a=rtpmap:9 L16/8000", formats="9"))


def test_opus_at_a_wrong_clock_rate_is_not_opus() -> None:
    params = negotiate(offer("a=rtpmap:96 opus/16000", "a=rtpmap:0 PCMU/8000", formats="96 0"))
    assert params.codec == "PCMU"


@pytest.mark.parametrize("body", [
    offer("a=rtpmap:96 iLBC/8000", "a=rtpmap:18 G729/8000", formats="96 18"),
    offer("a=rtpmap:101 telephone-event/8000", formats="101"),
])
def test_no_common_codec_is_an_error(body: bytes) -> None:
    with pytest.raises(sdp.SdpError, match="no common codec"):
        negotiate(body)


def test_a_refused_stream_is_an_error() -> None:
    with pytest.raises(sdp.SdpError, match="no audio"):
        negotiate(BARESIP_LIKE.replace(b"m=audio 40000", b"m=audio 0"))


def test_the_answer_names_the_chosen_codec_and_event_under_the_offers_numbers() -> None:
    body = offer("a=rtpmap:98 opus/48000/2", "a=rtpmap:100 telephone-event/48000",
                 formats="98 100", direction="sendonly")
    parsed = sdp.parse(body)
    params = sdp.negotiate(parsed)
    answer = sdp.parse(sdp.answer(parsed, params, "127.0.0.1", 30000, session_id=7))
    audio = answer.audio
    assert audio is not None
    assert audio.formats == ["98", "100"] and audio.port == 30000
    assert rtpmaps(sdp.answer(parsed, params, "127.0.0.1", 30000)) == {
        98: "opus/48000/2", 100: "telephone-event/48000"}
    assert "98 maxplaybackrate=16000;sprop-maxcapturerate=16000;stereo=0;sprop-stereo=0" \
        in audio.attributes["fmtp"]
    assert audio.direction == "recvonly"


def test_the_answer_to_a_g722_offer_keeps_its_8k_clock() -> None:
    parsed = sdp.parse(BARESIP_LIKE)
    params = sdp.negotiate(parsed)
    assert rtpmaps(sdp.answer(parsed, params, "127.0.0.1", 30000)) == {
        9: "G722/8000", 101: "telephone-event/8000"}


def test_our_offer_lists_every_codec_in_preference_order_with_both_event_clocks() -> None:
    assert sdp.supported_payload_types() == [9, sdp.OPUS_PT, 0, 8]
    body = sdp.build("127.0.0.1", 30000, sdp.supported_payload_types(), sdp.DTMF_PT)
    audio = sdp.parse(body).audio
    assert audio is not None
    assert audio.formats == ["9", "111", "0", "8", "101", "110"]
    assert rtpmaps(body) == {9: "G722/8000", 111: "opus/48000/2", 0: "PCMU/8000",
                             8: "PCMA/8000", 101: "telephone-event/8000",
                             110: "telephone-event/48000"}
    assert audio.attributes["ptime"] == ["20"]


def test_our_offer_answered_by_a_peer_is_negotiated_back() -> None:
    """The peer answers our offer with Opus and its 48 kHz event: we read the same back."""
    ours = sdp.parse(sdp.build("127.0.0.1", 30000, sdp.supported_payload_types(), sdp.DTMF_PT))
    params = sdp.negotiate(ours, supported=["opus"])
    assert (params.payload_type, params.dtmf_payload_type, params.dtmf_clock_rate) == (
        sdp.OPUS_PT, sdp.DTMF_OPUS_PT, 48000)


def test_a_reoffer_for_a_dynamic_opus_type_still_describes_opus() -> None:
    """A re-INVITE built from the payload type alone (hold, resume) keeps the codec's rtpmap."""
    assert rtpmaps(sdp.build("127.0.0.1", 30000, [96], 100, "sendonly")) == {
        96: "opus/48000/2", 100: "telephone-event/48000"}
    params = sdp.MediaParams(96, "opus", 48000, 101, ("192.0.2.7", 4000), "sendrecv", 8000)
    assert rtpmaps(sdp.build("127.0.0.1", 30000, [96], 101, "sendonly", params=params)) == {
        96: "opus/48000/2", 101: "telephone-event/8000"}
