"""ICE settings of every peer connection: no STUN or TURN server unless one is configured, and
host candidates that include the loopback address.

aiortc contacts a public STUN server when ``iceServers`` is left unset, so the configuration
here always names the servers (none by default). aioice leaves 127.0.0.1 out of its host
candidates; an engine and its console on one machine (or a machine with no other interface)
then find no pair, so :func:`include_loopback` adds it to the host addresses aioice gathers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import aioice.ice
from aiortc import RTCConfiguration, RTCIceServer

LOOPBACK = "127.0.0.1"

_original: Callable[[bool, bool], list[str]] | None = None


def include_loopback() -> None:
    """Makes aioice offer a 127.0.0.1 host candidate too (process-wide, idempotent)."""
    global _original
    if _original is not None:
        return
    original = aioice.ice.get_host_addresses
    _original = original

    def host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4=use_ipv4, use_ipv6=use_ipv6)
        if use_ipv4 and LOOPBACK not in addresses:
            addresses.append(LOOPBACK)
        return addresses

    aioice.ice.get_host_addresses = host_addresses


def rtc_configuration(ice_servers: Sequence[str] = ()) -> RTCConfiguration:
    """A configuration with exactly the given STUN/TURN URLs (none: host candidates only)."""
    include_loopback()
    return RTCConfiguration(iceServers=[RTCIceServer(urls=url) for url in ice_servers])
