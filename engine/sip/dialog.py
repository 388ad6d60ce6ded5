"""SIP dialogs (RFC 3261 §12): the peer-to-peer state that in-dialog requests are built from."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from aiosipua.headers import parse_uri

from engine.sip.build import USER_AGENT, new_branch
from engine.sip.message import Request, Response
from engine.sip.transport import Peer


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # our From in requests we send, as a header value without tag
    remote_uri: str  # their address (To in requests we send), without tag
    remote_target: str  # the peer's Contact URI
    peer: Peer  # where in-dialog requests go (next hop)
    local_contact: str
    route_set: list[str] = field(default_factory=list)
    local_seq: int = field(default_factory=lambda: random.randint(1, 10_000))
    remote_seq: int | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, invite: Request, response: Response, peer: Peer, local_contact: str) -> Dialog:
        """The dialog a UAS creates by sending a 2xx to an INVITE (§12.1.1)."""
        return cls(
            call_id=invite.call_id,
            local_tag=response.to_tag or "",
            remote_tag=invite.from_tag or "",
            local_uri=_strip_tag(invite.header("To") or ""),
            remote_uri=_strip_tag(invite.header("From") or ""),
            remote_target=invite.contact_uri or invite.uri,
            peer=_next_hop(invite.header_values("Record-Route"), peer),
            local_contact=local_contact,
            route_set=invite.header_values("Record-Route"),
            remote_seq=invite.cseq.seq,
        )

    @classmethod
    def as_uac(cls, invite: Request, response: Response, peer: Peer) -> Dialog:
        """The dialog a UAC creates on a 2xx (or tagged 1xx) to its INVITE (§12.1.2)."""
        routes = list(reversed(response.header_values("Record-Route")))
        target = response.contact_uri or invite.uri
        # §12.2.1.1: without a route set, in-dialog requests go to the remote target itself
        hop = _next_hop(routes, peer) if routes else _uri_peer(target, peer)
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_tag or "",
            remote_tag=response.to_tag or "",
            local_uri=_strip_tag(invite.header("From") or ""),
            remote_uri=_strip_tag(response.header("To") or ""),
            remote_target=target,
            peer=hop,
            local_contact=invite.header("Contact") or "",
            route_set=routes,
            local_seq=invite.cseq.seq,
        )

    def create_request(self, method: str, via: str, body: bytes = b"",
                       content_type: str | None = None) -> Request:
        """An in-dialog request (§12.2.1.1); ACK and CANCEL reuse the INVITE's CSeq number."""
        if method not in ("ACK", "CANCEL"):
            self.local_seq += 1
        request = Request(method=method, uri=self.remote_target)
        request.headers.append(("Via", via))
        for route in self.route_set:
            request.headers.append(("Route", route))
        request.headers += [
            ("Max-Forwards", "70"),
            ("From", f"{self.local_uri};tag={self.local_tag}"),
            ("To", f"{self.remote_uri};tag={self.remote_tag}"),
            ("Call-ID", self.call_id),
            ("CSeq", f"{self.local_seq} {method}"),
            ("Contact", self.local_contact),
            ("User-Agent", USER_AGENT),
        ]
        if body:
            request.headers.append(("Content-Type", content_type or "application/sdp"))
            request.body = body
        return request

    def new_via(self, host: str, port: int) -> str:
        return f"SIP/2.0/{self.peer.transport} {host}:{port};branch={new_branch()};rport"


def _strip_tag(value: str) -> str:
    parts = [p for p in value.split(";") if not p.strip().lower().startswith("tag=")]
    return ";".join(parts).strip()


def _uri_peer(uri: str, peer: Peer) -> Peer:
    """Where a SIP URI points (its host and port), or ``peer`` when it cannot be read."""
    try:
        parsed = parse_uri(uri.strip().strip("<>"))
    except (ValueError, IndexError):
        return peer
    if not parsed.host:
        return peer
    transport = (parsed.params.get("transport") or peer.transport).upper()
    return Peer(transport, parsed.host, parsed.port or 5060)


def _next_hop(routes: list[str], peer: Peer) -> Peer:
    """The first Route's host, when a proxy recorded one; otherwise the flow we talk on."""
    if not routes:
        return peer
    value = routes[0].strip()
    uri = value[value.find("<") + 1:value.find(">")] if "<" in value else value
    parsed = parse_uri(uri)
    transport = (parsed.params.get("transport") or peer.transport).upper()
    return Peer(transport, parsed.host, parsed.port or 5060)
