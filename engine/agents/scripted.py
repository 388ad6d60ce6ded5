"""The scripted brain: runs an agent's declarative script (``Agent.script``) offline.

The script's shape is documented in :mod:`engine.demo.scripts`: a greeting with ``{variables}``,
intents matched by keywords, patterns and fuzzy examples, slots collected with re-asks (and an
optional confirmation), actions (say, function tools, transfer, end the call, goto), a DTMF menu
kept as ``menu_matches`` / ``menu_final_selection``, goodbye, fallback and escalation.

The engine's own tools (:mod:`engine.agents.call_tools`) are script actions:

- ``{"schedule_callback": {"when": "{callback_day} {callback_time}", "reason": "...",
  "instructions": "..."}, "say": "I'll call you back {callback_day:date} at {callback_time}."}``
  schedules a callback (``when`` as ISO 8601 or words: fill it from ``date`` and ``time`` slots, or
  the caller's own sentence ``{said}``); ``say`` is spoken once it is written (``on_error`` when it
  cannot be, e.g. a time in the past).
- ``{"opt_out": "words"}`` puts the caller on the do-not-call list, says the words (or
  :data:`~engine.agents.call_tools.OPT_OUT_CONFIRMATION`) and ends the call. A script's
  ``opt_out: {"keywords": ["stop calling", "take me off"], "say": "..."}`` does it whenever the
  caller says one of the keywords, in any state of the conversation.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.agents.call_tools import OPT_OUT_CONFIRMATION
from engine.agents.matching import any_phrase, best_intent
from engine.agents.slots import extract, parse_digits, parse_yes_no
from engine.agents.template import fill
from engine.agents.tools import (
    END_CALL,
    FUNCTION,
    OPT_OUT,
    SCHEDULE_CALLBACK,
    TRANSFER_CALL,
    ToolError,
    ToolRunner,
    ToolSpec,
    tool_index,
)
from engine.speech.brain import Brain, BrainOutput, BrainStream
from engine.speech.frames import BrainEvent, BrainText, ToolCall

ANYTHING_ELSE = "anything_else"
# Built-in lines for when a script does not say its own.
DEFAULT_FALLBACK = "Sorry, I didn't catch that. Could you say it another way?"
DEFAULT_ESCALATION = "Let me get a person to help you."
DEFAULT_GOODBYE = "Thanks for calling. Goodbye!"
DEFAULT_WHAT_ELSE = "Sure, what else can I help you with?"
DEFAULT_INVALID_OPTION = "Sorry, {digit} isn't one of the options."
DEFAULT_MESSAGE_TAKEN = "Thank you, I've passed your message on. Goodbye!"
DEFAULT_TOOL_ERROR = "I'm sorry, something went wrong on my side."
DEFAULT_CALLBACK_SAID = "Sure, I'll call you back then."
DEFAULT_CALLBACK_ERROR = "Sorry, I couldn't book a call back for that time. When else suits you?"
DEFAULT_MAX_ATTEMPTS = 3
PREFILL_TYPES = ("digits", "date", "time", "choice")  # slot types read from the intent's own sentence
MAX_GOTO_DEPTH = 4


@dataclass
class ScriptState:
    """Where the conversation is; copied for speculative turns."""

    variables: dict[str, Any]
    intent: str | None = None  # the intent whose slots are being collected
    slot: str | None = None  # the slot just asked for
    confirming: str | None = None  # the slot whose confirmation was asked
    attempts: dict[str, int] = field(default_factory=dict)
    fallbacks: int = 0
    menu_active: bool = False
    menu_matches: list[dict[str, Any]] = field(default_factory=list)
    menu_final_selection: str | None = None
    asked_anything_else: bool = False
    taking_message: bool = False
    slots_captured: dict[str, Any] = field(default_factory=dict)
    ended: bool = False


class ScriptedBrain(Brain):
    """Runs one script for one call."""

    kind = "scripted"

    def __init__(
        self,
        script: Mapping[str, Any],
        *,
        variables: Mapping[str, Any] | None = None,
        tools: Iterable[ToolSpec] = (),
        tool_runner: ToolRunner | None = None,
        first_message: str | None = None,
        today: date | None = None,
    ) -> None:
        super().__init__()
        self.script = script
        self.tools = tool_index(tools)
        self.tool_runner = tool_runner
        self.first_message = first_message
        self.today = today or date.today()
        self.intents = {str(i.get("name")): i for i in script.get("intents") or ()}
        self.slot_specs: Mapping[str, Mapping[str, Any]] = script.get("slots") or {}
        self.state = ScriptState(variables={**(script.get("variables") or {}), **(variables or {})})

    # -- the brain interface -----------------------------------------------------------------

    @property
    def ended(self) -> bool:
        return self.state.ended if hasattr(self, "state") else False

    @ended.setter
    def ended(self, value: bool) -> None:
        if hasattr(self, "state"):
            self.state.ended = value

    @property
    def menu_matches(self) -> list[dict[str, Any]]:
        return self.state.menu_matches

    @property
    def menu_final_selection(self) -> str | None:
        return self.state.menu_final_selection

    @property
    def slots(self) -> dict[str, Any]:
        """Every slot value captured so far in the call."""
        return self.state.slots_captured

    def checkpoint(self) -> ScriptState:
        return copy.deepcopy(self.state)

    def rollback(self, snapshot: object) -> None:
        if not isinstance(snapshot, ScriptState):
            raise TypeError(f"not a checkpoint of a scripted brain: {snapshot!r}")
        self.state = copy.deepcopy(snapshot)

    def fill(self, text: str) -> str:
        return fill(text, self.state.variables)

    def say(self, text: str) -> None:
        self.state.asked_anything_else = False

    async def greet(self) -> BrainStream:
        greeting = self.script.get("greeting") or self.first_message or ""
        if greeting:
            yield self._text(greeting)
        menu = self.script.get("menu") or {}
        if menu.get("when") == "start" and menu.get("prompt"):
            self.state.menu_active = True
            yield self._text(menu["prompt"])

    async def on_user_text(self, text: str) -> BrainStream:
        if self.state.ended or not text.strip():
            return
        async for out in self._hear(text):
            yield out

    async def on_dtmf(self, digits: str) -> BrainStream:
        if self.state.ended:
            return
        state = self.state
        keyed = digits.rstrip("#")
        if state.slot and self._spec(state.slot).get("type") == "digits":
            async for out in self._fill_slot(keyed):
                yield out
            return
        if keyed[:1] and (self.script.get("menu") or {}).get("options"):
            async for out in self._menu_select(keyed[:1]):
                yield out

    async def inject_context(self, text: str, *, reply: bool = False) -> BrainStream:
        self.context.append(text)
        self.state.variables["context"] = " ".join(self.context)
        if reply and not self.state.ended:
            async for out in self._hear(text):
                yield out

    # -- conversation ------------------------------------------------------------------------

    def _text(self, template: str) -> BrainText:
        return BrainText(fill(template, self.state.variables))

    def _spec(self, slot: str) -> Mapping[str, Any]:
        default = {"type": "text", "prompt": f"What is your {slot.replace('_', ' ')}?"}
        return self.slot_specs.get(slot) or default

    async def _hear(self, text: str) -> AsyncIterator[BrainOutput]:
        state = self.state
        escalation = self.script.get("escalation") or {}
        if state.taking_message:
            state.taking_message = False
            yield BrainEvent("message", {"text": text})
            for out in self._end_call(DEFAULT_MESSAGE_TAKEN):
                yield out
            return
        opting_out = self.script.get("opt_out") or {}
        if any_phrase(text, opting_out.get("keywords") or ()):
            async for out in self._opt_out(str(opting_out.get("say") or "")):
                yield out
            return
        if any_phrase(text, escalation.get("keywords") or ()):
            async for out in self._escalate("asked for a person"):
                yield out
            return
        if state.confirming:
            async for out in self._confirm(text):
                yield out
            return
        if state.slot:
            async for out in self._fill_slot(text):
                yield out
            return
        goodbye = self.script.get("goodbye") or {}
        answer = parse_yes_no(text) if state.asked_anything_else else None
        match = best_intent(text, list(self.intents.values()))
        if any_phrase(text, goodbye.get("keywords") or ()) or (answer is False and match is None):
            for out in self._end_call(goodbye.get("say") or DEFAULT_GOODBYE):
                yield out
            return
        if match is not None:
            state.fallbacks = 0
            async for out in self._run_intent(match.name, text):
                yield out
            return
        if state.menu_active and (digit := parse_digits(text)) and len(digit) == 1:
            async for out in self._menu_select(digit, phrase=text):
                yield out
            return
        if answer is True:
            state.asked_anything_else = False
            yield BrainText(DEFAULT_WHAT_ELSE)
            return
        async for out in self._fallback():
            yield out

    async def _run_intent(self, name: str, text: str = "", depth: int = 0) -> AsyncIterator[BrainOutput]:
        intent = self.intents.get(name)
        if intent is None or depth > MAX_GOTO_DEPTH:
            async for out in self._fallback():
                yield out
            return
        state = self.state
        state.intent, state.asked_anything_else = name, False
        if text:
            state.variables["said"] = text
        yield BrainEvent("intent", {"name": name})
        for slot in intent.get("slots") or ():
            spec = self._spec(slot)
            if text and slot not in state.variables and spec.get("type", "text") in PREFILL_TYPES:
                value = extract(spec, text, self.today)
                if value is not None:
                    yield self._capture(slot, value)
        async for out in self._continue(depth):
            yield out

    def _capture(self, slot: str, value: Any) -> BrainEvent:
        self.state.variables[slot] = value
        self.state.slots_captured[slot] = value
        self.state.attempts.pop(slot, None)
        return BrainEvent("slot", {"name": slot, "value": value})

    async def _continue(self, depth: int = 0) -> AsyncIterator[BrainOutput]:
        """Asks the intent's next missing slot, or runs its actions once all are filled."""
        state = self.state
        intent = self.intents.get(state.intent or "") or {}
        for slot in intent.get("slots") or ():
            if slot not in state.variables:
                state.slot = slot
                yield self._text(self._spec(slot).get("prompt") or f"What is your {slot.replace('_', ' ')}?")
                return
        state.slot = None
        slots = list(intent.get("slots") or ())
        async for out in self._actions(intent.get("actions") or (), depth):
            yield out
        for slot in slots:  # a later request of the same intent asks again
            state.variables.pop(slot, None)
        if state.intent == intent.get("name"):
            state.intent = None

    async def _fill_slot(self, text: str) -> AsyncIterator[BrainOutput]:
        state = self.state
        slot = state.slot or ""
        spec = self._spec(slot)
        value = extract(spec, text, self.today)
        if value is None:
            state.attempts[slot] = attempts = state.attempts.get(slot, 0) + 1
            if attempts >= int(spec.get("max_attempts", DEFAULT_MAX_ATTEMPTS)):
                async for out in self._escalate(f"could not get {slot}"):
                    yield out
                return
            reasks = spec.get("reask") or [spec.get("prompt") or DEFAULT_FALLBACK]
            yield self._text(reasks[min(attempts - 1, len(reasks) - 1)])
            return
        yield self._capture(slot, value)
        if spec.get("confirm"):
            state.confirming, state.slot = slot, None
            yield self._text(spec["confirm"])
            return
        async for out in self._continue():
            yield out

    async def _confirm(self, text: str) -> AsyncIterator[BrainOutput]:
        state = self.state
        slot = state.confirming or ""
        answer = parse_yes_no(text)
        if answer is None:
            yield self._text(self._spec(slot)["confirm"])
            return
        state.confirming = None
        if answer is False:
            state.variables.pop(slot, None)
            state.slots_captured.pop(slot, None)
        async for out in self._continue():
            yield out

    async def _actions(self, actions: Iterable[Mapping[str, Any]], depth: int) -> AsyncIterator[BrainOutput]:
        state = self.state
        for action in actions:
            if state.ended:
                return
            if "tool" in action:
                name = str(action["tool"])
                arguments = {k: fill(v, state.variables) if isinstance(v, str) else v
                             for k, v in (action.get("arguments") or {}).items()}
                call = ToolCall(name, arguments, type=FUNCTION)
                yield call
                try:
                    if self.tool_runner is None:
                        raise ToolError(f"no runner for tool {name}")
                    result = await self.tool_runner(call)
                except Exception as exc:
                    yield BrainEvent("tool_error", {"name": name, "error": str(exc)})
                    yield self._text(action.get("on_error") or DEFAULT_TOOL_ERROR)
                    return
                yield BrainEvent("tool_result", {"name": name, "result": dict(result)})
                if action.get("save_as"):
                    state.variables[str(action["save_as"])] = dict(result)
            elif SCHEDULE_CALLBACK in action:
                arguments = {k: fill(v, state.variables) if isinstance(v, str) else v
                             for k, v in (action.get(SCHEDULE_CALLBACK) or {}).items()}
                result = None
                async for out in self._engine_tool(SCHEDULE_CALLBACK, arguments):
                    if isinstance(out, dict):
                        result = out
                    else:
                        yield out
                if result is None:
                    yield self._text(action.get("on_error") or DEFAULT_CALLBACK_ERROR)
                    return
                state.variables["callback"] = result
                yield self._text(str(action.get("say") or DEFAULT_CALLBACK_SAID))
            elif OPT_OUT in action:
                async for opted in self._opt_out(str(action.get(OPT_OUT) or "")):
                    yield opted
                return
            elif "say" in action and "transfer" not in action:
                yield self._text(str(action["say"]))
            elif "transfer" in action:
                if action.get("say"):
                    yield self._text(str(action["say"]))
                yield self._transfer(str(action["transfer"]))
            elif "end_call" in action:
                for out in self._end_call(str(action["end_call"] or "")):
                    yield out
            elif "goto" in action:
                target = str(action["goto"])
                if target == ANYTHING_ELSE:
                    if self.script.get(ANYTHING_ELSE):
                        yield self._text(self.script[ANYTHING_ELSE])
                        state.asked_anything_else = True
                else:
                    async for out in self._run_intent(target, depth=depth + 1):
                        yield out
                return

    async def _engine_tool(self, kind: str, arguments: dict[str, Any]
                           ) -> AsyncIterator[BrainOutput | dict[str, Any]]:
        """Runs one of the engine's tools: its outputs, then its result (a dict) when it ran."""
        call = ToolCall(kind, arguments, type=kind)
        yield call
        try:
            if self.tool_runner is None:
                raise ToolError(f"no runner for tool {kind}")
            result = dict(await self.tool_runner(call))
        except Exception as exc:
            yield BrainEvent("tool_error", {"name": kind, "error": str(exc)})
            return
        yield BrainEvent("tool_result", {"name": kind, "result": result})
        yield result

    async def _opt_out(self, say: str) -> AsyncIterator[BrainOutput]:
        """The caller goes on the do-not-call list; the agent confirms and ends the call."""
        state = self.state
        state.slot = state.intent = state.confirming = None
        done = False
        async for out in self._engine_tool(OPT_OUT, {}):
            if isinstance(out, dict):
                done = True
            else:
                yield out
        if not done:
            yield self._text(DEFAULT_TOOL_ERROR)
            return
        for out in self._end_call(say or OPT_OUT_CONFIRMATION):
            yield out

    def _transfer(self, name: str) -> ToolCall:
        spec = self.tools.get(name)
        self.state.ended = True
        self.state.slot = self.state.intent = None
        return ToolCall(name, {}, type=spec.type if spec else TRANSFER_CALL)

    def _end_call(self, say: str) -> list[BrainOutput]:
        out: list[BrainOutput] = [self._text(say)] if say else []
        name = next((t.name for t in self.tools.values() if t.type == END_CALL), END_CALL)
        out.append(ToolCall(name, {}, type=END_CALL))
        self.state.ended = True
        return out

    async def _escalate(self, reason: str) -> AsyncIterator[BrainOutput]:
        escalation = self.script.get("escalation") or {}
        yield BrainEvent("escalation", {"reason": reason})
        yield self._text(escalation.get("say") or DEFAULT_ESCALATION)
        action = escalation.get("action") or {}
        if "transfer" in action:
            yield self._transfer(str(action["transfer"]))
        elif "take_message" in action:
            self.state.slot = self.state.intent = self.state.confirming = None
            self.state.taking_message = True
            yield self._text(str(action["take_message"]))
            yield BrainEvent("take_message", {})
        else:
            for out in self._end_call(""):
                yield out

    async def _fallback(self) -> AsyncIterator[BrainOutput]:
        state = self.state
        fallback = self.script.get("fallback") or {}
        state.fallbacks += 1
        if state.fallbacks > int(fallback.get("max_consecutive", 2)):
            state.fallbacks = 0
            then = fallback.get("then", "escalate")
            menu = self.script.get("menu") or {}
            if then == "menu" and menu.get("prompt"):
                state.menu_active = True
                yield self._text(menu["prompt"])
                return
            if then == "end_call":
                for out in self._end_call((self.script.get("goodbye") or {}).get("say") or DEFAULT_GOODBYE):
                    yield out
                return
            async for out in self._escalate("not understood"):
                yield out
            return
        says = fallback.get("say") or [DEFAULT_FALLBACK]
        says = [says] if isinstance(says, str) else says
        yield self._text(says[(state.fallbacks - 1) % len(says)])

    async def _menu_select(self, digit: str, phrase: str | None = None) -> AsyncIterator[BrainOutput]:
        """The caller keyed ``digit`` (or said it: ``phrase``). A match is reported in the call
        vocabulary's shape, less its time (the call's leg stamps ``at``, and for a phrase the
        recogniser's confidence)."""
        state = self.state
        menu = self.script.get("menu") or {}
        option = (menu.get("options") or {}).get(digit)
        if option is None:
            yield BrainText(fill(DEFAULT_INVALID_OPTION, {"digit": digit}))
            if menu.get("prompt"):
                yield self._text(menu["prompt"])
            return
        label = str(option.get("label") or digit)
        match = {"menu": label, "digit": None if phrase else digit, "phrase": phrase,
                 "matched_text": phrase or digit, "confidence": None if phrase else 1.0}
        state.menu_matches.append(match)
        state.menu_final_selection = label
        state.menu_active = False
        yield BrainEvent("menu_match", {**match, "intent": option.get("intent"),
                                        "action": option.get("action")})
        yield BrainEvent("menu_final_selection", {"label": label, "digit": digit})
        if option.get("intent"):
            async for out in self._run_intent(str(option["intent"])):
                yield out
        elif option.get("action") == "escalate":
            async for out in self._escalate("menu"):
                yield out
