"""RTP port pairs stay bound from the moment they are chosen until their leg takes them."""

from __future__ import annotations

import socket

import pytest

from engine.sip.ports import RtpPorts


def _free(port: int) -> bool:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind(("", port))
        return True
    except OSError:
        return False
    finally:
        sock.close()


async def test_a_chosen_pair_is_held_until_taken_and_given_back() -> None:
    ports = RtpPorts((42000, 42400))
    rtp, rtcp = await ports.allocate()
    assert rtcp == rtp + 1 and rtp % 2 == 0 and 42000 <= rtp < 42400
    assert not _free(rtp) and not _free(rtcp)  # nobody else can take it meanwhile
    other, _ = await ports.allocate()
    assert other != rtp
    ports.take(rtp)
    assert _free(rtp) and _free(rtcp)  # now the leg binds it
    await ports.release(rtp)
    await ports.release(other)
    assert _free(other)


async def test_the_search_starts_anywhere_and_skips_ports_in_use() -> None:
    ports = RtpPorts((43000, 43010))
    seen = set()
    for _ in range(5):
        port, _ = await ports.allocate()
        seen.add(port)
    assert seen == {43000, 43002, 43004, 43006, 43008}
    with pytest.raises(RuntimeError):
        await ports.allocate()
    for port in seen:
        await ports.release(port)
