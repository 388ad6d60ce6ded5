"""Transfer destinations: an E.164 phone number or a SIP URI, checked and parsed into where an
INVITE goes."""

from __future__ import annotations

import re
from dataclasses import dataclass

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SIP_URI = re.compile(
    r"^(?P<scheme>sips?):(?:(?P<user>[^@\s;:]+)@)?"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.\-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])"
    r"(?::(?P<port>\d{1,5}))?(?P<params>(?:;[^\s;]+)*)$")
DEFAULT_SIP_PORT = 5060


@dataclass(frozen=True)
class SipDestination:
    """A SIP URI destination: the Request-URI and the host, port and transport to send to."""

    uri: str
    user: str | None
    host: str
    port: int
    transport: str  # UDP | TCP


def check_destination(value: str) -> str:
    """``value`` stripped when it is an E.164 number (``+14155550123``) or a ``sip:`` URI;
    ValueError saying what is expected otherwise."""
    value = value.strip()
    if E164.match(value):
        return value
    if value.lower().startswith(("sip:", "sips:")):
        parse_sip(value)
        return value
    raise ValueError("expected an E.164 number (+14155550123) or a sip: URI "
                     "(sip:user@host:port)")


def parse_sip(value: str) -> SipDestination:
    """The parts of a ``sip:`` URI (ValueError when it is not one)."""
    match = SIP_URI.match(value.strip())
    if match is None:
        raise ValueError("not a valid sip: URI (sip:user@host:port)")
    port = int(match["port"]) if match["port"] else DEFAULT_SIP_PORT
    if not 0 < port < 65536:
        raise ValueError(f"port {port} is out of range")
    transport = "UDP"
    for param in (match["params"] or "").split(";"):
        key, _, val = param.partition("=")
        if key.lower() == "transport" and val:
            if val.lower() not in ("udp", "tcp"):
                raise ValueError(f"transport {val} is not supported (udp or tcp)")
            transport = val.upper()
    host = match["host"].strip("[]")
    return SipDestination(value.strip(), match["user"], host, port, transport)


def is_phone_number(value: str) -> bool:
    return bool(E164.match(value))


__all__ = ["SipDestination", "check_destination", "is_phone_number", "parse_sip"]
