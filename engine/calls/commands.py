"""The live-control commands of ``POST /v1/calls/{id}/control``, validated from their JSON bodies.

Each command is a small pydantic model tagged by ``type``; :func:`parse_command` turns a body
into one, or raises :class:`CommandError` naming the field at fault.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from engine.calls.destinations import check_destination

MAX_TEXT = 2000  # characters a say / inject_context / end_call message may carry
DTMF_DIGITS = "0123456789*#ABCD"
MAX_DIGITS = 32


class _Command(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty")
    return value


class Say(_Command):
    """The agent speaks ``content`` now (cutting its speech) or after it (``interrupt: false``)."""

    type: Literal["say"]
    content: Annotated[str, Field(max_length=MAX_TEXT)]
    interrupt: bool = True
    interruptible: bool = True
    end_after: bool = False

    _strip = field_validator("content")(classmethod(lambda cls, v: _text(v)))


class InjectContext(_Command):
    """A hidden instruction to the brain; ``trigger_response`` makes the agent reply at once."""

    type: Literal["inject_context"]
    content: Annotated[str, Field(max_length=MAX_TEXT)]
    trigger_response: bool = False

    _strip = field_validator("content")(classmethod(lambda cls, v: _text(v)))


class EndCall(_Command):
    """Hang up, after speaking ``message`` when one is given."""

    type: Literal["end_call"]
    message: Annotated[str | None, Field(max_length=MAX_TEXT)] = None


class Hold(_Command):
    """Put the caller on hold (re-INVITE a=sendonly, music on hold, the agent paused)."""

    type: Literal["hold"]


class Resume(_Command):
    """Take the caller off hold (re-INVITE a=sendrecv, the agent listens again)."""

    type: Literal["resume"]


class MuteAgent(_Command):
    """The caller no longer hears the AI agent."""

    type: Literal["mute_agent"]


class UnmuteAgent(_Command):
    type: Literal["unmute_agent"]


class Dtmf(_Command):
    """Key ``digits`` to the caller as RFC 4733 telephone-events."""

    type: Literal["dtmf"]
    digits: Annotated[str, Field(min_length=1, max_length=MAX_DIGITS)]

    @field_validator("digits")
    @classmethod
    def _digits(cls, value: str) -> str:
        value = value.upper()
        bad = sorted({c for c in value if c not in DTMF_DIGITS})
        if bad:
            raise ValueError(f"not DTMF digits: {' '.join(bad)} (use 0-9 * # A-D)")
        return value


MAX_RINGING_TIMEOUT_S = 300
TransferMethod = Literal["auto", "refer", "bridge"]


class Transfer(_Command):
    """A blind transfer of the caller to ``to`` (an E.164 number or a sip: URI). ``method``:
    ``refer`` asks the caller's side to call ``to`` itself (SIP REFER); ``bridge`` dials ``to``
    on a new leg that rings for ``ringing_timeout`` seconds and, once answered, replaces the AI
    agent; ``auto`` sends REFER where allowed and bridges when it is refused."""

    type: Literal["transfer"]
    to: Annotated[str, Field(max_length=255)]
    ringing_timeout: Annotated[int, Field(ge=1, le=MAX_RINGING_TIMEOUT_S)] = 30
    play_dialtone: bool = False
    method: TransferMethod = "auto"

    _to = field_validator("to")(classmethod(lambda cls, v: check_destination(v)))


MAX_DESTINATIONS = 10
MAX_LABEL = 100
USER_PREFIX = "user:"
FallbackStrategy = Literal["return_to_agent", "take_message", "end_call"]


def check_warm_destination(value: str) -> str:
    """A warm transfer's ``to``: what :func:`check_destination` takes, or ``user:<id>`` (a
    console user's softphone)."""
    value = value.strip()
    if value.lower().startswith(USER_PREFIX):
        user_id = value[len(USER_PREFIX):].strip()
        if not user_id:
            raise ValueError("expected user:<id> with a console user's id")
        return USER_PREFIX + user_id
    try:
        return check_destination(value)
    except ValueError:
        raise ValueError("expected an E.164 number (+14155550123), a sip: URI "
                         "(sip:user@host:port) or user:<id>") from None


def user_of(to: str) -> str | None:
    """The console user id of a ``user:<id>`` destination, else None."""
    return to[len(USER_PREFIX):] if to.startswith(USER_PREFIX) else None


def _optional_text(value: str | None) -> str | None:
    if value is None:
        return None
    return value.strip() or None


class WarmDestination(_Command):
    """One destination of a warm transfer, called in turn: ``to`` (E.164, sip: URI or
    ``user:<id>``), a ``label`` for people, what the recipient hears first (``screening_prompt``)
    and the ``summary`` of the call it is briefed with (else the transfer's, else a generated
    one)."""

    to: Annotated[str, Field(max_length=255)]
    label: Annotated[str | None, Field(max_length=MAX_LABEL)] = None
    screening_prompt: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    summary: Annotated[str | None, Field(max_length=MAX_TEXT)] = None

    _to = field_validator("to")(classmethod(lambda cls, v: check_warm_destination(v)))
    _texts = field_validator("label", "screening_prompt", "summary")(
        classmethod(lambda cls, v: _optional_text(v)))


class WarmFallback(_Command):
    """What happens when no destination takes the call: the agent takes it back
    (``return_to_agent``), takes a message (``take_message``) or says ``message`` and hangs up
    (``end_call``)."""

    strategy: FallbackStrategy = "return_to_agent"
    message: Annotated[str | None, Field(max_length=MAX_TEXT)] = None

    _message = field_validator("message")(classmethod(lambda cls, v: _optional_text(v)))


class WarmTransfer(_Command):
    """A warm transfer: the caller waits on hold with music while each destination is called in
    turn (``ringing_timeout`` seconds each), briefed, and accepts or declines; ``fallback`` when
    none accepts."""

    destinations: Annotated[list[WarmDestination], Field(min_length=1,
                                                         max_length=MAX_DESTINATIONS)]
    summary: Annotated[str | None, Field(max_length=MAX_TEXT)] = None
    ringing_timeout: Annotated[int, Field(ge=1, le=MAX_RINGING_TIMEOUT_S)] = 30
    fallback: WarmFallback = Field(default_factory=WarmFallback)

    _summary = field_validator("summary")(classmethod(lambda cls, v: _optional_text(v)))


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """A pydantic error location as a field path: ``destinations[1].to``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def parse_warm_transfer(body: Any) -> WarmTransfer:
    """The warm transfer a JSON body describes, or :class:`CommandError` naming the field."""
    if not isinstance(body, dict):
        raise CommandError("body", "expected a JSON object with destinations")
    try:
        return WarmTransfer.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(first.get("loc", ()))
        field = field_path(loc)
        message = first.get("msg", "invalid")
        if first.get("type") == "extra_forbidden":
            message = "not a field of a warm transfer"
        elif first.get("type") == "too_short" and field == "destinations":
            message = "give at least one destination"
        raise CommandError(field, message) from None


Command = Annotated[Say | InjectContext | EndCall | Hold | Resume | MuteAgent | UnmuteAgent | Dtmf
                    | Transfer, Field(discriminator="type")]
COMMAND_TYPES = ("say", "inject_context", "end_call", "hold", "resume", "mute_agent",
                 "unmute_agent", "dtmf", "transfer")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Command)


AnyCommand = Say | InjectContext | EndCall | Hold | Resume | MuteAgent | UnmuteAgent | Dtmf \
    | Transfer


def content_of(command: AnyCommand) -> str | None:
    """The text a command carries (for the audit trail), if any."""
    if isinstance(command, (Say, InjectContext)):
        return command.content
    if isinstance(command, EndCall):
        return command.message.strip() if command.message and command.message.strip() else None
    if isinstance(command, Dtmf):
        return command.digits
    if isinstance(command, Transfer):
        return command.to
    return None


class CommandError(ValueError):
    """A control body that is not a valid command: ``field`` names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_command(body: Any) -> AnyCommand:
    """The command a JSON body describes, or :class:`CommandError`."""
    if not isinstance(body, dict):
        raise CommandError("body", "expected a JSON object with a type")
    kind = body.get("type")
    if kind is None:
        raise CommandError("type", f"missing; one of {', '.join(COMMAND_TYPES)}")
    if kind not in COMMAND_TYPES:
        raise CommandError("type", f"unknown command {kind!r}; one of {', '.join(COMMAND_TYPES)}")
    try:
        command: Any = _ADAPTER.validate_python(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = [str(p) for p in first.get("loc", ()) if p != kind] or ["body"]
        field = ".".join(loc)
        message = first.get("msg", "invalid")
        if first.get("type") == "extra_forbidden":
            message = f"not a field of {kind}"
        raise CommandError(field, message) from None
    return command  # type: ignore[no-any-return]


__all__ = [
    "COMMAND_TYPES",
    "AnyCommand",
    "Command",
    "CommandError",
    "Dtmf",
    "EndCall",
    "Hold",
    "InjectContext",
    "MuteAgent",
    "Resume",
    "Say",
    "Transfer",
    "TransferMethod",
    "UnmuteAgent",
    "WarmDestination",
    "WarmFallback",
    "WarmTransfer",
    "check_warm_destination",
    "content_of",
    "field_path",
    "parse_command",
    "parse_warm_transfer",
    "user_of",
]
