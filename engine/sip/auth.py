"""Digest authentication of our requests (RFC 3261 §22, RFC 7616, RFC 8760): answering a 401
WWW-Authenticate or 407 Proxy-Authenticate challenge with MD5 or SHA-256, qop=auth.

The digest itself is computed by ``aiosipua.auth``; this module picks the challenge, keeps the
nonce count per nonce, and decides when a challenge means "wrong credentials" (a second
challenge after we answered one, unless the server says ``stale=true``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiosipua.auth import SipDigestAuth, build_credentials
from aiosipua.headers import parse_auth, stringify_auth

from engine.sip.message import Request, Response

CHALLENGE_HEADER = {401: "WWW-Authenticate", 407: "Proxy-Authenticate"}
CREDENTIALS_HEADER = {401: "Authorization", 407: "Proxy-Authorization"}
ALGORITHM_PREFERENCE = ("SHA-256", "MD5")


class AuthError(Exception):
    """The server refused our credentials, or asked for a scheme we cannot answer."""


@dataclass
class Credentials:
    username: str
    password: str
    realm: str | None = None  # answer only challenges of this realm, when set


@dataclass
class DigestSession:
    """Answers the challenges of one request's retries (a REGISTER refresh, an INVITE)."""

    credentials: Credentials
    _counts: dict[str, int] = field(default_factory=dict)
    _answered: set[int] = field(default_factory=set)

    def authorize(self, request: Request, challenge: Response) -> None:
        """Add the credentials answering ``challenge`` (401/407) to ``request``, in place.

        Raises :class:`AuthError` when this is a repeat challenge (wrong username or password),
        or when no challenge offered a scheme and algorithm we support.
        """
        status = challenge.status
        if status not in CHALLENGE_HEADER:
            raise AuthError(f"{status} is not a challenge")
        offers = [parse_auth(v) for v in challenge.header_values(CHALLENGE_HEADER[status])]
        offers = [o for o in offers if o.scheme.lower() == "digest"
                  and (self.credentials.realm is None
                       or o.params.get("realm") == self.credentials.realm)]
        if not offers:
            raise AuthError(f"{status} without a digest challenge we can answer")
        offers.sort(key=lambda o: _rank(o.params.get("algorithm", "MD5")))
        offer = offers[0]
        stale = offer.params.get("stale", "").lower() == "true"
        if status in self._answered and not stale:
            raise AuthError(f"credentials rejected ({status} {challenge.reason})")
        self._answered.add(status)
        nonce = offer.params.get("nonce", "")
        self._counts[nonce] = count = self._counts.get(nonce, 0) + 1
        auth = SipDigestAuth(self.credentials.username, self.credentials.password)
        answer = build_credentials(auth, offer, request.method, request.uri, nonce_count=count)
        if answer is None:
            raise AuthError(f"cannot answer the {offer.params.get('algorithm', 'MD5')} challenge")
        request.set_header(CREDENTIALS_HEADER[status], stringify_auth(answer))

    def accepted(self) -> None:
        """The server accepted a request: a later challenge (a new nonce) may be answered."""
        self._answered.clear()


def _rank(algorithm: str) -> int:
    name = algorithm.upper()
    return ALGORITHM_PREFERENCE.index(name) if name in ALGORITHM_PREFERENCE else 99
