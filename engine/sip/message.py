"""SIP messages (RFC 3261 §7): a strict parser, the request and response objects, serialisation.

Structured header values (Via, name-addr, CSeq, URI) are decoded with ``aiosipua``'s codecs; the
framing and validation here are our own, because a UA must answer torture messages (RFC 4475)
with 400 or drop them, never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

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
# Headers a message may carry once only (RFC 3261 §7.3, §20; RFC 4475 §3.3.8).
SINGLE_HEADERS = ("Call-ID", "From", "To", "CSeq", "Max-Forwards", "Content-Type")
ADDRESS_HEADERS = ("From", "To", "Contact")
SIP_SCHEMES = frozenset({"sip", "sips"})

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
_STATUS_LINE = re.compile(r"^(SIP/\d+\.\d+) ([1-6]\d\d)(?: (.*))?$", re.IGNORECASE)
_SIP_DATE = re.compile(  # rfc1123-date, always GMT (RFC 3261 §20.17)
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"\d{4} \d{2}:\d{2}:\d{2} GMT$")
_QUOTED = re.compile(r'^"(?:[^"\\]|\\.)*"$')
_DISPLAY_TOKENS = re.compile(r"^[A-Za-z0-9\-.!%*_+`'~]+(?:[ \t]+[A-Za-z0-9\-.!%*_+`'~]+)*$")
_VIA_PROTOCOL = re.compile(r"^\s*([^\s/]+)\s*/\s*([^\s/]+)\s*/\s*([^\s/]+)\s+(.*)$", re.S)
_HOST = re.compile(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._]+)(:\d{1,5})?$")


class ParseError(ValueError):
    """A message that cannot be accepted. ``partial`` holds what was read, when a response can be
    built from it (``status`` says which: 400, or 505 for another SIP version)."""

    def __init__(self, reason: str, partial: Request | None = None, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.partial = partial
        self.status = status

    @property
    def phrase(self) -> str:
        """The reason phrase of the response: for a 400, the problem itself (RFC 3261 §21.4.1
        "SHOULD identify the syntax problem"), printable and short."""
        if self.status != 400:
            return REASONS.get(self.status, "Bad Request")
        text = "".join(c if c.isprintable() else "?" for c in self.reason)[:100].strip()
        return (text[:1].upper() + text[1:]) if text else REASONS[400]


def canonical(name: str) -> str:
    """The full, conventionally cased form of a header name (compact forms expanded)."""
    if len(name) == 1 and name.lower() in COMPACT:
        return COMPACT[name.lower()]
    return CANONICAL.get(name.lower()) or "-".join(p.capitalize() for p in name.split("-"))


_KEYS: dict[str, str] = {}  # header name as asked for -> its canonical name in lower case
MAX_KEYS = 4096


def _key(name: str) -> str:
    key = _KEYS.get(name)
    if key is None:
        if len(_KEYS) >= MAX_KEYS:
            _KEYS.clear()
        key = _KEYS[name] = canonical(name).lower()
    return key


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

    def _positions(self) -> dict[str, list[int]]:
        """Where each header (by lower-case name) is in ``headers``; rebuilt when the list is
        replaced or changes length (a message is parsed, then looked up many times)."""
        headers = self.headers
        cached = self.__dict__.get("_index")
        if cached is None or cached[0] is not headers or cached[1] != len(headers):
            index: dict[str, list[int]] = {}
            for i, (n, _) in enumerate(headers):
                index.setdefault(n.lower(), []).append(i)
            cached = self.__dict__["_index"] = (headers, len(headers), index)
        return cached[2]

    def header(self, name: str) -> str | None:
        positions = self._positions().get(_key(name))
        return self.headers[positions[0]][1] if positions else None

    def header_values(self, name: str) -> list[str]:
        headers = self.headers
        return [headers[i][1] for i in self._positions().get(_key(name), ())]

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
        return [parse_via(_tidy_via(v)) for v in self.header_values("Via")]

    @property
    def top_via(self) -> Via:
        value = self.header("Via")
        if value is None:
            raise ParseError("no Via")
        return parse_via(_tidy_via(value))

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
        return parse_sip_uri(self.uri)


def parse_sip_uri(uri: str) -> SipUri:
    """A SIP URI split at its one ``@`` first, so that a user part holding ``;`` or ``?``
    (RFC 3261 §25.1 user-unreserved, RFC 4475 §3.1.1.2 and §3.1.1.9) stays the user part.
    Other schemes are left to ``aiosipua``."""
    scheme, sep, rest = uri.strip().partition(":")
    if not sep or scheme.lower() not in SIP_SCHEMES or "@" not in rest:
        return parse_uri(uri)
    user, _, hostpart = rest.partition("@")
    parsed = parse_uri(f"{scheme}:{hostpart}")
    userinfo = user.split(":", 1)[0]
    parsed.user = userinfo
    return parsed


def uri_user(uri: SipUri) -> str:
    """The user part with its %HH escapes decoded (RFC 3261 §19.1.4 compares them so)."""
    return unquote(uri.user or "")


@dataclass
class Response(Message):
    status: int = 0
    reason: str = ""

    def _start_line(self) -> str:
        return f"{SIP_VERSION} {self.status} {self.reason}"


def _tidy_via(value: str) -> str:
    """A Via value with the linear whitespace RFC 3261 §25.1 allows around the sent-protocol's
    slashes removed (``SIP / 2.0 / UDP``, RFC 4475 §3.1.1.1)."""
    match = _VIA_PROTOCOL.match(value)
    if match is None:
        return value
    return f"{match.group(1)}/{match.group(2)}/{match.group(3)} {match.group(4)}"


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
                           reason=status_line.group(3) or "")
    else:
        request_line = _REQUEST_LINE.match(start)
        if not request_line:
            raise ParseError(_start_line_problem(start), _lenient_request(start, headers))
        method, uri, version = request_line.groups()
        message = Request(headers=headers, method=method, uri=uri)
        if version.upper() != SIP_VERSION:
            raise ParseError("unsupported SIP version", _partial(message), status=505)
        problem = _uri_problem(uri)
        if problem:
            raise ParseError(problem, _partial(message))
    message.body = _frame_body(message, body, stream)
    _validate(message)
    return message


def sdp_part(message: Message) -> bytes | None:
    """The SDP of a message: its body when that is ``application/sdp``, or the first
    ``application/sdp`` part of a ``multipart/mixed`` body (RFC 5621, RFC 4475 §3.1.1.11);
    None when there is no such part."""
    kind, params = _content_type(message.header("Content-Type") or "")
    if kind == "application/sdp":
        return message.body
    if kind not in ("multipart/mixed", "multipart/alternative") or not params.get("boundary"):
        return None
    delimiter = b"--" + params["boundary"].encode("utf-8", "replace")
    for chunk in message.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the close delimiter
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        part_type = ""
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            if canonical(name.strip()) == "Content-Type":
                part_type = _content_type(value)[0]
        if part_type == "application/sdp":
            return content[:-2] if content.endswith(b"\r\n") else content
    return None


def _content_type(value: str) -> tuple[str, dict[str, str]]:
    kind, *rest = value.split(";")
    params = {}
    for item in rest:
        key, _, val = item.partition("=")
        params[key.strip().lower()] = val.strip().strip('"')
    return kind.strip().lower(), params


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
    """A request line with a broken URI (spaces, say), extra spaces between its elements or
    after the version may still be answerable with 400 (RFC 4475 §3.1.2.7-10)."""
    parts = start.rstrip(" \t").split(" ")
    if len(parts) < 3 or not _TOKEN.match(parts[0]) or not parts[-1].upper().startswith("SIP/"):
        return None
    uri = " ".join(parts[1:-1]).strip() or "sip:invalid"
    return _partial(Request(headers=headers, method=parts[0], uri=uri))


def _start_line_problem(start: str) -> str:
    """What is wrong with a start line the request-line grammar refused, in a few words."""
    stripped = start.rstrip(" \t")
    if stripped != start and _REQUEST_LINE.match(stripped):
        return "whitespace after the SIP version"
    if "  " in stripped or "\t" in stripped:
        return "extra whitespace in the Request-Line"
    parts = stripped.split(" ")
    if len(parts) > 3:
        return "whitespace in the Request-URI"
    if len(parts) == 3 and parts[1].startswith("<"):
        return "Request-URI in angle brackets"
    return f"bad start line {start[:60]!r}"


def _uri_problem(uri: str) -> str | None:
    """Why a Request-URI cannot be accepted, or None. A scheme other than sip, sips or tel is
    well-formed here: the UA answers it 416."""
    if uri.startswith("<"):
        return "Request-URI in angle brackets"
    if not _SCHEME.match(uri) or any(c in uri for c in "<>\"\t"):
        return "bad Request-URI"
    scheme = uri.split(":", 1)[0].lower()
    if scheme not in SIP_SCHEMES:
        return None
    rest = uri.split(":", 1)[1]
    hostpart = rest.rpartition("@")[2] if "@" in rest else rest
    if "?" in hostpart:
        return "header fields in the Request-URI"
    host = hostpart.split(";", 1)[0]
    if not _HOST.match(host):
        return "bad host in the Request-URI"
    return None


def _address_problem(name: str, value: str) -> str | None:
    """Why a From, To or Contact value is not a name-addr or addr-spec (RFC 3261 §20.10), or
    None: an unterminated quoted string, a display name that is neither quoted nor tokens,
    whitespace inside the URI, or an unbracketed URI with header fields or commas
    (RFC 4475 §3.1.2.6, §3.1.2.13-15)."""
    value = value.strip()
    if name == "Contact" and value == "*":
        return None
    if not _quotes_closed(value):
        return f"unterminated quoted string in {name}"
    display, bracket, rest = _outside_quotes_partition(value, "<")
    if bracket:
        display = display.strip(" \t")
        if display and not (_QUOTED.match(display) or _DISPLAY_TOKENS.match(display)):
            return f"bad display name in {name}"
        uri, closed, _ = rest.partition(">")
        if not closed:
            return f"unbalanced angle brackets in {name}"
        if not uri or any(c in uri for c in " \t<\""):
            return f"whitespace in the {name} URI"
        return None
    if '"' in value:
        return f"quoted display name without <URI> in {name}"
    addr = value.split(";", 1)[0]
    if not addr or any(c in addr for c in " \t,?<>"):
        return f"bad {name} URI (enclose it in <> to use those characters)"
    return None


def _quotes_closed(value: str) -> bool:
    quoted = escaped = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
    return not quoted


def _outside_quotes_partition(value: str, sep: str) -> tuple[str, str, str]:
    quoted = escaped = False
    for i, ch in enumerate(value):
        if escaped:
            escaped = False
        elif ch == "\\" and quoted:
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == sep and not quoted:
            return value[:i], sep, value[i + 1:]
    return value, "", ""


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
    problem = _problem(message)
    if problem is not None:
        # only a bad message pays for working out whether it can still be answered
        raise ParseError(problem, _partial(message) if isinstance(message, Request) else None)


def _problem(message: Request | Response) -> str | None:
    """What makes a parsed message unacceptable (RFC 3261 §16.3, RFC 4475), or None."""
    for name in REQUIRED_REQUEST_HEADERS:
        if not message.header(name):
            return f"missing {name}"
    try:
        cseq = message.cseq
        vias = message.vias
    except (ParseError, ValueError) as exc:
        return str(exc)
    if any(not v.host or v.protocol.upper() != SIP_VERSION for v in vias):
        return "bad Via"
    for name in SINGLE_HEADERS:
        if len(message.header_values(name)) > 1:
            return f"more than one {name}"
    for name in ADDRESS_HEADERS:
        for value in message.header_values(name):
            problem = _address_problem(name, value)
            if problem:
                return problem
    if isinstance(message, Request) and cseq.method != message.method:
        return "CSeq method does not match the request"
    mf = message.header("Max-Forwards")
    if mf is not None and (not mf.isdigit() or int(mf) > 255):
        return "bad Max-Forwards"
    date = message.header("Date")
    if date is not None and not _SIP_DATE.match(date):
        return "bad Date (RFC 1123 form in GMT expected)"
    return None


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
