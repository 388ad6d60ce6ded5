"""RTP port pairs stay bound from the moment they are chosen until their leg takes them."""

from __future__ import annotations

import asyncio
import socket
import sys

import pytest

from engine.sip import sdp
from engine.sip.ports import RtpPorts
from engine.sip.rtp_leg import RtpLeg


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


async def test_a_leg_binds_its_pair_once_a_child_lets_go_of_it() -> None:
    """A child process started while the pair was held keeps a copy of its sockets until it
    closes them (here: for 0.3 s); the leg waits for that instead of failing."""
    ports = RtpPorts((44000, 44400))
    rtp, _ = await ports.allocate()
    held = [sock.fileno() for sock in ports._held[rtp]]
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(0.3)", pass_fds=held)
    try:
        params = sdp.MediaParams(0, "PCMU", 8000, 101, ("127.0.0.1", 9), "sendrecv")
        leg = await RtpLeg.open("127.0.0.1", params, ports, port=rtp)
        try:
            sockname = leg.session._rtp_transport._transport.get_extra_info("sockname")
            assert sockname[1] == rtp  # bound once the child had let go (0.3 s)
        finally:
            await leg.close()
    finally:
        await child.wait()
