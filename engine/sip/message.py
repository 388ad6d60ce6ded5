"""SIP messages (RFC 3261 §7): a strict parser, the request and response objects, serialisation.

Structured header values (Via, name-addr, CSeq, URI) are decoded with ``aiosipua``'s codecs; the
framing and validation here are our own, because a UA must answer torture messages (RFC 4475)
with 400 or drop them, never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiosipua.headers import (
    Address,
    CSeq,
    SipUri,
    Via,
    parse_address,
    parse_uri,
    parse_via,
    stringify_via,
)

MAX_MESSAGE_BYTES = 65_535  # larger than any UDP datagram we accept; TCP frames are capped alike
MAX_HEADERS = 256
SIP_VERSION = "SIP/2.0"
REQUIRED_REQUEST_HEADERS = ("Via", "From", "To", "Call-ID", "CSeq")

COMPACT = {"i": "Call-ID", "m": "Contact", "e": "Content-Encoding", "l": "Content-Length",
           "c": "Content-Type", "f": "From", "s": "Subject", "k": "Supported", "t": "To",
           "v": "Via", "o": "Event", "r": "Refer-To", "u": "Allow-Events", "x": "Session-Expires"}
CANONICAL = {name.lower(): name for name in (
    "Accept", "Allow", "Authorization", "Call-ID", "Contact", "Content-Length", "Content-Type",
    "CSeq", "Event", "Expires", "From", "Max-Forwards", "Min-Expires", "Proxy-Authenticate",
    "Proxy-Authorization", "Record-Route", "Refer-To", "Require", "Route", "Server", "Supported",
    "To", "Unsupported", "User-Agent", "Via", "WWW-Authenticate", "Subject", "Allow-Events",
    "Content-Encoding", "Session-Expires", "Reason", "Retry-After", "Warning",
)}
# Headers whose comma-separated values are separate entries (RFC 3261 §7.3.1).
LIST_HEADERS = frozenset({"via", "route", "record-route", "contact"})

REASONS = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 183: "Session Progress",
    200: "OK", 202: "Accepted", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 407: "Proxy Authentication Required",
    408: "Request Timeout", 415: "Unsupported Media Type", 420: "Bad Extension",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist", 482: "Loop Detected",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    491: "Request Pending", 500: "Server Internal Error", 501: "Not Implemented",
    503: "Service Unavailable", 505: "Version Not Supported", 600: "Busy Everywhere",
    603: "Decline",
}

_TOKEN = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+$")
_REQUEST_LINE = re.compile(r"^([A-Za-z0-9\-.!%*_+`'~]+) (\S+) (SIP/\d+\.\d+)$", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_STATUS_LINE = re.compile(r"^(SIP/\d+\.\d+) ([1-6]\d\d) ?(.*)$", re.IGNORECASE)


class ParseError(ValueError):
    """A message that cannot be accepted. ``partial`` holds what was read, when a response can be
    built from it (``status`` says which: 400, or 505 for another SIP version)."""

    def __init__(self, reason: str, partial: Request | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.status = status


def canonical(name: str) -> str:
    """The full, conventionally cased form of a header name (compact forms expanded)."""
    if len(name) == 1 and name.lower() in COMPACT:
        return COMPACT[name.lower()]
    return CANONICAL.get(name.lower()) or "-".join(p.capitalize() for p in name.split("-"))


def split_list(value: str) -> list[str]:
    """Split a header value at commas outside quotes and angle brackets."""
    parts: list[str] = []
    depth, quoted, start, escaped = 0, False, 0, False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            depth += 1
        elif ch == ">" and not quoted:
            depth = max(0, depth - 1)
        elif ch == "," and not quoted and depth == 0:
            parts.append(value[start:i].strip())
            start = i + 1
    parts.append(value[start:].strip())
    return [p for p in parts if p]


@dataclass
class Message:
    """Headers in wire order (canonical names) and a raw body."""

    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        key = canonical(name).lower()
        return next((v for n, v in self.headers if n.lower() == key), None)

    def header_values(self, name: str) -> list[str]:
        key = canonical(name).lower()
        return [v for n, v in self.headers if n.lower() == key]

    def set_header(self, name: str, value: str) -> None:
        """Replace every value of ``name`` with one value, at the first one's place."""
        _check_value(value)
        name = canonical(name)
        key, out, placed = name.lower(), [], False
        for n, v in self.headers:
            if n.lower() == key:
                if not placed:
                    out.append((name, value))
                    placed = True
            else:
                out.append((n, v))
        if not placed:
            out.append((name, value))
        self.headers = out

    def add_header(self, name: str, value: str, *, first: bool = False) -> None:
        _check_value(value)
        name = canonical(name)
        if first:
            index = next((i for i, (n, _) in enumerate(self.headers) if n.lower() == name.lower()),
                         0)
            self.headers.insert(index, (name, value))
        else:
            self.headers.append((name, value))

    def remove_header(self, name: str) -> None:
        key = canonical(name).lower()
        self.headers = [(n, v) for n, v in self.headers if n.lower() != key]

    # structured views
    @property
    def vias(self) -> list[Via]:
        return [parse_via(v) for v in self.header_values("Via")]

    @property
    def top_via(self) -> Via:
        value = self.header("Via")
        if value is None:
            raise ParseError("no Via")
        return parse_via(value)

    def set_top_via(self, via: Via) -> None:
        for i, (n, _) in enumerate(self.headers):
            if n == "Via":
                self.headers[i] = (n, stringify_via(via))
                return

    @property
    def call_id(self) -> str:
        return self.header("Call-ID") or ""

    @property
    def cseq(self) -> CSeq:
        return parse_cseq_strict(self.header("CSeq") or "")

    @property
    def from_addr(self) -> Address:
        return parse_address(self.header("From") or "")

    @property
    def to_addr(self) -> Address:
        return parse_address(self.header("To") or "")

    @property
    def from_tag(self) -> str | None:
        return self.from_addr.tag

    @property
    def to_tag(self) -> str | None:
        return self.to_addr.tag

    @property
    def contact_uri(self) -> str | None:
        value = self.header("Contact")
        if not value:
            return None
        addr = value.strip()
        if "<" in addr and ">" in addr:
            return addr[addr.index("<") + 1:addr.index(">")]
        return addr.split(";", 1)[0].strip()

    def _start_line(self) -> str:
        raise NotImplementedError

    def __bytes__(self) -> bytes:
        lines = [self._start_line()]
        lines += [f"{n}: {v}" for n, v in self.headers if n != "Content-Length"]
        lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass
class Request(Message):
    method: str = ""
    uri: str = ""

    def _start_line(self) -> str:
        return f"{self.method} {self.uri} {SIP_VERSION}"

    @property
    def request_uri(self) -> SipUri:
        return parse_uri(self.uri)


@dataclass
class Response(Message):
    status: int = 0
    reason: str = ""

    def _start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"


def _check_value(value: str) -> None:
    if "\r" in value or "\n" in value:
        raise ValueError("header value contains a line break")


def parse_cseq_strict(value: str) -> CSeq:
    parts = value.split()
    if len(parts) != 2 or not parts[0].isdigit() or not _TOKEN.match(parts[1]):
        raise ParseError(f"bad CSeq {value!r}")
    number = int(parts[0])
    if number >= 2**31:
        raise ParseError("CSeq number out of range")
    return CSeq(seq=number, method=parts[1])


def split_frame(data: bytes) -> tuple[bytes, bytes] | None:
    """(head, rest-after-blank-line) of a message, or None when the blank line is missing."""
    index = data.find(b"\r\n\r\n")
    if index < 0:
        return None
    return data[:index], data[index + 4:]


def parse(data: bytes, *, stream: bool = False) -> Request | Response:
    """Parse one message. ``stream`` (TCP) requires Content-Length; on datagrams a missing one
    means the rest of the datagram is the body. Raises :class:`ParseError`."""
    if len(data) > MAX_MESSAGE_BYTES:
        raise ParseError("message too large")
    data = data.lstrip(b"\r\n")  # keep-alive CRLFs and leading blank lines (RFC 3261 §7.5)
    framed = split_frame(data)
    if framed is None:
        raise ParseError("no blank line after the headers")
    head, body = framed
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError("headers are not UTF-8") from exc
    lines = text.split("\r\n")
    start, header_lines = lines[0], lines[1:]
    headers = _parse_headers(header_lines)
    message: Request | Response
    status_line = _STATUS_LINE.match(start)
    if status_line:
        if status_line.group(1).upper() != SIP_VERSION:
            raise ParseError("unsupported SIP version")
        message = Response(headers=headers, status=int(status_line.group(2)),
                           reason=status_line.group(3))
    else:
        request_line = _REQUEST_LINE.match(start)
        if not request_line:
            raise ParseError(f"bad start line {start[:80]!r}", _lenient_request(start, headers))
        method, uri, version = request_line.groups()
        message = Request(headers=headers, method=method, uri=uri)
        if version.upper() != SIP_VERSION:
            raise ParseError("unsupported SIP version", _partial(message), status=505)
        if not _uri_ok(uri):
            raise ParseError(f"bad Request-URI {uri[:80]!r}", _partial(message))
    message.body = _frame_body(message, body, stream)
    _validate(message)
    return message


def dtmf_relay_signals(request: Request) -> list[str]:
    """The ``Signal=`` values of a SIP INFO with an ``application/dtmf-relay`` body."""
    if not (request.header("Content-Type") or "").lower().startswith("application/dtmf-relay"):
        return []
    signals = []
    for line in request.body.decode("utf-8", "replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "signal" and value.strip():
            signals.append(value.strip())
    return signals


def _parse_headers(lines: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for line in lines:
        if not line:
            raise ParseError("empty header line")
        if line[0] in " \t":
            if not headers:
                raise ParseError("continuation line before any header")
            name, value = headers[-1]
            headers[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        name, sep, value = line.partition(":")
        name = name.rstrip(" \t")
        if not sep or not _TOKEN.match(name):
            raise ParseError(f"bad header line {line[:80]!r}")
        headers.append((canonical(name), value.strip()))
        if len(headers) > MAX_HEADERS:
            raise ParseError("too many headers")
    out: list[tuple[str, str]] = []
    for name, value in headers:
        if name.lower() in LIST_HEADERS and "," in value:
            out.extend((name, part) for part in split_list(value))
        else:
            out.append((name, value))
    return out


def _lenient_request(start: str, headers: list[tuple[str, str]]) -> Request | None:
    """A request line with a broken URI (spaces, say) may still be answerable with 400."""
    parts = start.split(" ")
    if len(parts) < 3 or not _TOKEN.match(parts[0]) or not parts[-1].upper().startswith("SIP/"):
        return None
    return _partial(Request(headers=headers, method=parts[0], uri=" ".join(parts[1:-1])))


def _uri_ok(uri: str) -> bool:
    if not _SCHEME.match(uri):
        return False
    scheme = uri.split(":", 1)[0].lower()
    if scheme not in ("sip", "sips", "tel"):
        return True  # other schemes are legal; the UA answers 416 or 404 later
    if any(c in uri for c in "<>\" "):
        return False
    if scheme == "tel":
        return True
    host = parse_uri(uri).host
    return bool(host) and all(c.isalnum() or c in "-.[]:_" for c in host)


def _frame_body(message: Message, body: bytes, stream: bool) -> bytes:
    values = {v.strip() for v in message.header_values("Content-Length")}
    if not values:
        if stream:
            raise ParseError("Content-Length missing on a stream", _partial(message))
        return body
    if len(values) > 1:
        raise ParseError("conflicting Content-Length values", _partial(message))
    raw = values.pop()
    if not raw.isdigit():
        raise ParseError(f"bad Content-Length {raw[:20]!r}", _partial(message))
    length = int(raw)
    if length > len(body):
        raise ParseError("body shorter than Content-Length", _partial(message))
    return body[:length]


def _validate(message: Request | Response) -> None:
    partial = _partial(message) if isinstance(message, Request) else None
    for name in REQUIRED_REQUEST_HEADERS:
        if not message.header(name):
            raise ParseError(f"missing {name}", partial)
    try:
        cseq = message.cseq
        vias = message.vias
    except (ParseError, ValueError) as exc:
        raise ParseError(str(exc), partial) from exc
    if any(not v.host or v.protocol.upper() != SIP_VERSION for v in vias):
        raise ParseError("bad Via", partial)
    for name in ("From", "To"):
        value = message.header(name) or ""
        if value.count("<") != value.count(">") or value.count('"') % 2:
            raise ParseError(f"bad {name}", partial)
    if isinstance(message, Request) and cseq.method != message.method:
        raise ParseError("CSeq method does not match the request", partial)
    mf = message.header("Max-Forwards")
    if mf is not None and (not mf.isdigit() or int(mf) > 255):
        raise ParseError("bad Max-Forwards", partial)


def _partial(message: Message) -> Request | None:
    """The request, if enough of it is readable to address a response to its sender."""
    if not isinstance(message, Request):
        return None
    try:
        if all(message.header(n) for n in REQUIRED_REQUEST_HEADERS):
            message.vias  # noqa: B018 - parses, or raises
            return message
    except (ParseError, ValueError):
        return None
    return None
