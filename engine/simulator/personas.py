"""Personas: who a simulated caller is and what it does on a call, read from YAML files.

A persona file (``resources/personas/<name>.yaml``)::

    name: order_status
    description: A customer who wants to know where an order is.
    goal: Hear the status of order 8 4 3 6 1.
    voice: {language: en, voice: en-gb, rate: 150}   # espeak-ng; unlike any demo agent's
    steps:                                           # run in order; one key per step
      - wait: {}                                     # until the agent stops speaking
      - say: I would like to check my order status.
      - react:                                       # wait, then match what the agent said
          - keywords: [order number]                 # any of these words or phrases
            say: My order number is 8 4 3 6 1.
          - regex: "how can i help"
            say: ...
        otherwise: hangup                            # or a line to say; none: go on
      - dtmf: "2"                                    # RFC 4733 digits
      - silence: 8                                   # say nothing for N seconds
      - barge_in: {say: Sorry to interrupt., after: 1.0}  # talk over the agent
      - hangup: {}
    success:
      heard: [order number]        # the caller must hear each of these (any one turn)
      ended_by: caller             # caller | agent; omit for either
      outcome:                     # how success shows in the call's row (engine.simulator.outcome)
        transfer_requested: false  # a transfer was (true) or was not (false) requested
        tool_called: lookup_order  # a tool the agent called
        end_reason: caller_hangup  # the call's disconnect_reason
        transcript: [order status] # what the agent heard the caller say (| between alternatives)
        dtmf: "2"                  # the digits the agent received, in order
        barge_ins: 1               # at least this many barge-ins counted
        max_duration_s: 45         # the call lasted no longer

Personas are found in the ``resources/personas`` folder of the source tree, located from this
module (a checkout, or ``pip install -e .``, which imports the engine from the checkout), else
where an install put them (``pip install .``: ``<prefix>/share/switchboard/personas``, the
project's data files); a directory given to :func:`load_persona` / :func:`persona_names` or named
by the ``SWITCHBOARD_PERSONAS`` environment variable is used instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from engine.settings import INSTALLED_RESOURCES, SOURCE_RESOURCES, installed_resource_dirs, resource_dir

PERSONAS_ENV = "SWITCHBOARD_PERSONAS"
SOURCE_PERSONAS = SOURCE_RESOURCES / "personas"
# Where ``pip install .`` puts them: the data files of pyproject's [tool.setuptools.data-files],
# under the install scheme's data path (the environment's prefix, or the user's base)
INSTALLED_PERSONAS = INSTALLED_RESOURCES / "personas"
# The demo agents speak in en-us and en-gb-x-rp voices at 160-180 wpm; en-gb at 150 wpm is
# apart from all of them, and whisper tiny.en hears its digits through G.711 (engine.speech.sipcaller).
DEFAULT_VOICE = "en-gb"
DEFAULT_RATE = 150
WAIT_TIMEOUT_S = 20.0  # the longest a step waits for the agent to speak and finish


class PersonaError(ValueError):
    """A persona that cannot be used: a malformed file (its path and field named) or an
    unknown name (the known ones listed)."""


@dataclass(frozen=True)
class Voice:
    language: str = "en"
    voice: str = DEFAULT_VOICE
    rate: int = DEFAULT_RATE


@dataclass(frozen=True)
class Say:
    text: str


@dataclass(frozen=True)
class WaitAgent:
    """Until the agent has spoken and gone quiet (or ``timeout_s``)."""

    timeout_s: float = WAIT_TIMEOUT_S


@dataclass(frozen=True)
class Reaction:
    """When what the agent said matches ``pattern``: say ``say``, hang up, or (neither) go on."""

    pattern: re.Pattern[str]
    say: str | None = None
    hangup: bool = False

    def matches(self, heard: str) -> bool:
        return self.pattern.search(heard.lower()) is not None


@dataclass(frozen=True)
class React:
    """Wait for the agent's turn, then answer it by the first matching reaction."""

    reactions: tuple[Reaction, ...]
    otherwise: str | None = None  # a line, "hangup", or None (go on)
    timeout_s: float = WAIT_TIMEOUT_S

    def choose(self, heard: str) -> Reaction | None:
        return next((r for r in self.reactions if r.matches(heard)), None)


@dataclass(frozen=True)
class Dtmf:
    digits: str
    gap_s: float = 0.4


@dataclass(frozen=True)
class Silence:
    seconds: float


@dataclass(frozen=True)
class BargeIn:
    """Say ``say`` ``after`` seconds into the agent's next speech."""

    say: str
    after: float = 1.0
    timeout_s: float = WAIT_TIMEOUT_S


@dataclass(frozen=True)
class Hangup:
    pass


Step = Say | WaitAgent | React | Dtmf | Silence | BargeIn | Hangup


@dataclass(frozen=True)
class Outcome:
    """How success shows in the call's row (what the API reports)."""

    transfer_requested: bool | None = None
    tool_called: str | None = None
    end_reason: str | None = None
    transcript: tuple[str, ...] = ()  # each entry heard_pattern-like, in the caller's lines
    dtmf: str | None = None  # the digits received, in order
    barge_ins: int | None = None  # at least this many
    max_duration_s: float | None = None


def heard_pattern(entry: str) -> re.Pattern[str]:
    """A ``success.heard`` entry: words or phrases, ``|`` between alternatives."""
    return _keywords_pattern(tuple(w.strip() for w in entry.split("|") if w.strip()))


@dataclass(frozen=True)
class Success:
    """What the caller itself must notice: each ``heard`` entry in what the agent said, and
    who hung up; ``outcome`` is what the call's row must show."""

    heard: tuple[str, ...] = ()
    ended_by: Literal["caller", "agent"] | None = None
    outcome: Outcome = field(default_factory=Outcome)


@dataclass(frozen=True)
class Persona:
    name: str
    description: str
    goal: str
    voice: Voice
    steps: tuple[Step, ...]
    success: Success
    path: Path | None = None

    @property
    def lines(self) -> list[str]:
        """Every line the persona may say."""
        out: list[str] = []
        for step in self.steps:
            if isinstance(step, Say | BargeIn):
                out.append(step.say if isinstance(step, BargeIn) else step.text)
            elif isinstance(step, React):
                out += [r.say for r in step.reactions if r.say]
                if step.otherwise and step.otherwise != "hangup":
                    out.append(step.otherwise)
        return out


class _Reader:
    """Typed reads of one file's fields, each error naming the file and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> PersonaError:
        return PersonaError(f"{self.path}: {where}: {problem}")

    def mapping(self, value: Any, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def text(self, data: Mapping[str, Any], key: str, where: str, *,
             default: str | None = None) -> str:
        value = data.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "expected a non-empty string")
        return value.strip()

    def optional_text(self, data: Mapping[str, Any], key: str, where: str) -> str | None:
        return self.text(data, key, where) if data.get(key) is not None else None

    def number(self, value: Any, where: str, *, minimum: float = 0.0) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
            raise self.fail(where, f"expected a number ≥ {minimum:g}, got {value!r}")
        return float(value)

    def words(self, value: Any, where: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(where, "expected a list of strings")
        return tuple(value)


def _keywords_pattern(words: tuple[str, ...]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w.lower()) for w in words)
    return re.compile(rf"(?<![a-z0-9'])(?:{alternatives})(?![a-z0-9'])")


def _reaction(r: _Reader, raw: Any, where: str) -> Reaction:
    data = r.mapping(raw, where)
    if "regex" in data:
        source = r.text(data, "regex", f"{where}.")
        try:
            pattern = re.compile(source.lower())
        except re.error as exc:
            raise r.fail(f"{where}.regex", f"not a regular expression: {exc}") from exc
    elif "keywords" in data:
        words = r.words(data["keywords"], f"{where}.keywords")
        if not words:
            raise r.fail(f"{where}.keywords", "expected at least one keyword")
        pattern = _keywords_pattern(words)
    else:
        raise r.fail(where, "a reaction needs 'keywords' or 'regex'")
    hangup = data.get("hangup", False) is True
    return Reaction(pattern, r.optional_text(data, "say", f"{where}."), hangup)


def _step(r: _Reader, raw: Any, where: str) -> Step:
    data = r.mapping(raw, where)
    if len(data) != 1:
        raise r.fail(where, f"a step has exactly one key, got {sorted(data)}")
    [(kind, value)] = data.items()
    at = f"{where}.{kind}"
    if kind == "say":
        if not isinstance(value, str) or not value.strip():
            raise r.fail(at, "expected a line to say")
        return Say(value.strip())
    if kind == "wait":
        options = r.mapping(value or {}, at)
        return WaitAgent(r.number(options.get("timeout", WAIT_TIMEOUT_S), f"{at}.timeout"))
    if kind == "react":
        if isinstance(value, list):
            value = {"when": value}
        options = r.mapping(value, at)
        rules = options.get("when")
        if not isinstance(rules, list) or not rules:
            raise r.fail(f"{at}.when", "expected a list of reactions")
        otherwise = r.optional_text(options, "otherwise", f"{at}.")
        return React(tuple(_reaction(r, rule, f"{at}.when[{i}]") for i, rule in enumerate(rules)),
                     otherwise, r.number(options.get("timeout", WAIT_TIMEOUT_S), f"{at}.timeout"))
    if kind == "dtmf":
        digits = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else ""
        if not digits or not re.fullmatch(r"[0-9*#A-D]+", digits):
            raise r.fail(at, f"expected DTMF digits (0-9 * # A-D), got {value!r}")
        return Dtmf(digits)
    if kind == "silence":
        return Silence(r.number(value, at))
    if kind == "barge_in":
        options = r.mapping(value, at)
        return BargeIn(r.text(options, "say", f"{at}."),
                       r.number(options.get("after", 1.0), f"{at}.after"),
                       r.number(options.get("timeout", WAIT_TIMEOUT_S), f"{at}.timeout"))
    if kind == "hangup":
        return Hangup()
    raise r.fail(at, "unknown step (say, wait, react, dtmf, silence, barge_in, hangup)")


def _success(r: _Reader, raw: Any) -> Success:
    data = r.mapping(raw if raw is not None else {}, "success")
    ended_by = data.get("ended_by")
    if ended_by not in (None, "caller", "agent"):
        raise r.fail("success.ended_by", f"expected caller or agent, got {ended_by!r}")
    outcome = r.mapping(data.get("outcome") or {}, "success.outcome")
    known = {"transfer_requested", "tool_called", "end_reason", "transcript", "dtmf",
             "barge_ins", "max_duration_s"}
    for key in outcome:
        if key not in known:
            raise r.fail(f"success.outcome.{key}", f"unknown field ({', '.join(sorted(known))})")
    transfer = outcome.get("transfer_requested")
    if transfer is not None and not isinstance(transfer, bool):
        raise r.fail("success.outcome.transfer_requested", "expected true or false")
    dtmf = outcome.get("dtmf")
    if dtmf is not None:
        dtmf = str(dtmf) if isinstance(dtmf, int | str) and not isinstance(dtmf, bool) else ""
        if not re.fullmatch(r"[0-9*#A-D]+", dtmf):
            raise r.fail("success.outcome.dtmf",
                         f"expected DTMF digits (0-9 * # A-D), got {outcome['dtmf']!r}")
    barge_ins = outcome.get("barge_ins")
    if barge_ins is not None and (isinstance(barge_ins, bool) or not isinstance(barge_ins, int)
                                  or barge_ins < 0):
        raise r.fail("success.outcome.barge_ins", f"expected a count ≥ 0, got {barge_ins!r}")
    longest = outcome.get("max_duration_s")
    return Success(
        heard=r.words(data.get("heard"), "success.heard"), ended_by=ended_by,
        outcome=Outcome(transfer, r.optional_text(outcome, "tool_called", "success.outcome."),
                        r.optional_text(outcome, "end_reason", "success.outcome."),
                        r.words(outcome.get("transcript"), "success.outcome.transcript"),
                        dtmf, barge_ins,
                        None if longest is None
                        else r.number(longest, "success.outcome.max_duration_s")))


def parse_persona(text: str, path: Path) -> Persona:
    """The persona in ``text`` (the contents of ``path``); PersonaError naming the field."""
    r = _Reader(path)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise r.fail("(file)", f"not YAML: {exc}") from exc
    data = r.mapping(raw, "(file)")
    voice = r.mapping(data.get("voice") or {}, "voice")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise r.fail("steps", "expected a list of steps")
    return Persona(
        name=r.text(data, "name", ""), description=r.text(data, "description", ""),
        goal=r.text(data, "goal", ""),
        voice=Voice(r.text(voice, "language", "voice.", default="en"),
                    r.text(voice, "voice", "voice.", default=DEFAULT_VOICE),
                    int(r.number(voice.get("rate", DEFAULT_RATE), "voice.rate", minimum=80))),
        steps=tuple(_step(r, s, f"steps[{i}]") for i, s in enumerate(steps)),
        success=_success(r, data.get("success")), path=path)


def installed_dirs() -> list[Path]:
    """Where an install may have put the personas: under the data path of the environment's
    install scheme, then of the user's (``pip install --user``)."""
    return installed_resource_dirs("personas")


def find_personas(source: Path = SOURCE_PERSONAS, installed: list[Path] | None = None) -> Path:
    """The source tree's personas folder when there is one (a checkout, an editable install),
    else the first installed one; ``source`` when there is none."""
    return resource_dir("personas", source, installed)


def personas_dir(directory: Path | None = None) -> Path:
    """Where personas are read from: ``directory``, ``$SWITCHBOARD_PERSONAS``, or the source
    tree's ``resources/personas`` (an installed copy when there is no source tree)."""
    if directory is not None:
        return Path(directory)
    named = os.environ.get(PERSONAS_ENV)
    return Path(named) if named else find_personas()


def persona_names(directory: Path | None = None) -> list[str]:
    folder = personas_dir(directory)
    if not folder.is_dir():
        raise PersonaError(f"no personas folder at {folder} (set {PERSONAS_ENV} to one)")
    return sorted(p.stem for p in folder.glob("*.yaml"))


def load_file(path: Path) -> Persona:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PersonaError(f"{path}: cannot be read: {exc}") from exc
    return parse_persona(text, Path(path))


def load_persona(name: str, directory: Path | None = None) -> Persona:
    """The persona called ``name`` (its file's stem); PersonaError listing the known ones."""
    known = persona_names(directory)
    if name not in known:
        raise PersonaError(f"unknown persona {name!r}; known: {', '.join(known) or 'none'}")
    persona = load_file(personas_dir(directory) / f"{name}.yaml")
    if persona.name != name:
        raise PersonaError(f"{persona.path}: name: {persona.name!r} differs from the file's "
                           f"name {name!r}")
    return persona


__all__ = ["BargeIn", "Dtmf", "Hangup", "Outcome", "Persona", "PersonaError", "React",
           "Reaction", "Say", "Silence", "Step", "Success", "Voice", "WaitAgent", "find_personas",
           "heard_pattern", "installed_dirs", "load_file", "load_persona", "parse_persona",
           "persona_names", "personas_dir"]
