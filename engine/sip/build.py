"""Building SIP messages: responses to a request (RFC 3261 §8.2.6), ids, tags and branches."""

from __future__ import annotations

import secrets

from engine.sip.message import REASONS, Request, Response

BRANCH_COOKIE = "z9hG4bK"  # RFC 3261 §8.1.1.7 magic cookie
USER_AGENT = "Switchboard"


def new_branch() -> str:
    return BRANCH_COOKIE + secrets.token_hex(8)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


def make_response(request: Request, status: int, reason: str | None = None, *,
                  to_tag: str | None = None, body: bytes = b"", content_type: str | None = None,
                  extra: list[tuple[str, str]] | None = None) -> Response:
    """A response that copies Via, From, To, Call-ID and CSeq from the request; ``to_tag`` is
    added to To when the request's To has none (never for 100 Trying)."""
    response = Response(status=status, reason=reason or REASONS.get(status, "Unknown"))
    for name in ("Via", "From", "To", "Call-ID", "CSeq"):
        for value in request.header_values(name):
            response.headers.append((name, value))
    if to_tag and status > 100 and not request.to_tag:
        response.set_header("To", f"{request.header('To')};tag={to_tag}")
    if 100 < status < 300 and request.method in ("INVITE", "SUBSCRIBE"):
        for value in request.header_values("Record-Route"):
            response.headers.append(("Record-Route", value))
    response.headers.append(("Server", USER_AGENT))
    for name, value in extra or []:
        response.add_header(name, value)
    if body:
        response.headers.append(("Content-Type", content_type or "application/sdp"))
        response.body = body
    return response
