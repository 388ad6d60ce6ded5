"""The AI agent's leg of a call: its speech pipeline joined to the call's mixer, and everything
it hears and says written down as it happens.

:class:`AgentLegs` (one per engine) builds a leg per answered call from the agent's record: the
brain (:func:`engine.agents.factory.build_brain`, with the key of the provider credential it
names), the recogniser its ``stt`` settings name
(shared across calls, see :class:`engine.speech.models.SpeechModels`), espeak-ng with its voice,
rate and pitch. The leg writes transcript entries through the BatchWriter, publishes
``transcript.partial`` / ``transcript.final`` / ``agent.speaking`` / ``metrics.turn`` on the
event bus, and at the end fills the call's transcript, latency, costs and usage. The call's
metadata gets the speech facts as soon as the leg is built (``stt_engine``, ``stt_model``,
``stt_language``, ``tts_voice``) and the caller's menu choices in the call vocabulary's shape
(:func:`engine.store.vocabulary.menu_match`) as they happen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine as SqlEngine
from sqlmodel import select

from engine.agents.brain import Brain
from engine.agents.call_tools import EngineTools, callback_note, number_zone
from engine.agents.factory import build_brain
from engine.agents.tools import ENGINE_TOOL_TYPES, ToolError, ToolSpec
from engine.calls.costs import CallUsage, Rates, call_costs
from engine.calls.credentials import CredentialError, ProviderKey, load_provider_key
from engine.calls.hooks import CallHooks
from engine.calls.metrics import latency_fields
from engine.calls.summary import Turn
from engine.events import AgentSpeaking, Event, EventBus, MetricsTurn, TranscriptFinal, TranscriptPartial
from engine.media import AGENT_MASKS, Participant
from engine.speech.espeak import DEFAULT_PITCH, DEFAULT_RATE, DEFAULT_VOICE, VoiceSettings
from engine.speech.frames import BrainEvent, ToolCall
from engine.speech.models import SpeechModels
from engine.speech.pipeline import Line, Pipeline, PipelineConfig, PipelineObserver
from engine.speech.tts import EspeakTTS, TextToSpeech
from engine.store import Agent, ToolTemplate, TranscriptEntry, UsageLog, session_scope
from engine.store import vocabulary as words
from engine.store.timeutil import iso, utcnow
from engine.store.writer import BatchWriter

log = logging.getLogger(__name__)

AGENT_PARTICIPANT = "agent"
# The BYE after the agent's last words waits this long, so the far end's jitter buffer (60-200 ms
# on common phones) plays them out before the call drops.
HANGUP_DELAY_S = 0.3


class Records(Protocol):
    """The store edge a leg needs (the live call's :class:`~engine.calls.records.CallRecords`)."""

    def update_call(self, call_id: str, fields: dict[str, Any]) -> None: ...

    def add_event(self, call_id: str, provider: str, event_type: str, *, status: str | None = None,
                  code: int | None = None, reason: str | None = None, failure: str | None = None,
                  actor: str | None = None, payload: dict[str, Any] | None = None) -> None: ...


@dataclass
class CallInfo:
    """What a leg knows of its call."""

    call_id: str
    organization_id: str
    agent_id: str
    from_number: str = ""
    to_number: str = ""
    direction: str = "inbound"
    variables: Mapping[str, Any] | None = None
    overrides: Mapping[str, Any] | None = None  # agent fields for this call (API names)
    test: bool = False  # a test call: no usage is logged


def with_overrides(agent: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The agent's record with a call's overrides: API names (``metadata``) map to the record's
    (``metadata_``); a mapping merges into the record's mapping."""
    out = dict(agent)
    for key, value in overrides.items():
        name = key if key in out or f"{key}_" not in out else f"{key}_"
        current = out.get(name)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            value = {**current, **value}
        out[name] = value
    return out


def load_agent(db: SqlEngine, agent_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Blocking: the agent's record and its tool templates, as dicts."""
    with session_scope(db) as session:
        agent = session.get(Agent, agent_id)
        if agent is None:
            raise LookupError(f"agent {agent_id} not found")
        row = agent.model_dump()
        tools: list[dict[str, Any]] = []
        if agent.tool_ids:
            found = session.exec(select(ToolTemplate).where(
                ToolTemplate.id.in_(agent.tool_ids))).all()  # type: ignore[attr-defined]
            tools = [t.model_dump() for t in found]
    return row, tools


def pipeline_config(agent: Mapping[str, Any]) -> PipelineConfig:
    stt = agent.get("stt") or {}
    language = stt.get("language") or agent.get("language") or None
    config = PipelineConfig(
        language=str(language).split("-")[0].lower() if language else None,
        interruptible=bool(agent.get("interruptible", True)),
        idle_timeout_s=float(agent.get("idle_timeout_seconds") or 10),
        idle_max_prompts=int(agent.get("idle_max_prompts") or 0),
        max_duration_s=float(agent.get("max_duration_seconds") or 1800),
    )
    if agent.get("end_call_message"):
        config.idle_goodbye = str(agent["end_call_message"])
    return config


def stt_language(agent: Mapping[str, Any], stt: Any) -> str | None:
    """The language the call's speech is recognised in: the agent's (``stt.language``, else its
    ``language``, as the agent names it: ``en-US``), else the recogniser's own (``en``)."""
    stt_settings = agent.get("stt") or {}
    language = stt_settings.get("language") or agent.get("language") or getattr(stt, "language", None)
    return str(language) if language else None


def voice_settings(agent: Mapping[str, Any]) -> VoiceSettings:
    tts = agent.get("tts") or {}
    return VoiceSettings(voice=str(tts.get("voice") or DEFAULT_VOICE),
                         rate=int(tts.get("rate") or DEFAULT_RATE),
                         pitch=int(tts.get("pitch") or DEFAULT_PITCH))


class AgentLegs:
    """Builds agent legs for the engine's calls; owns the shared recognisers."""

    def __init__(self, db: SqlEngine, writer: BatchWriter, bus: EventBus | None,
                 models: SpeechModels, *, rates: Rates | None = None,
                 tts_factory: Callable[[VoiceSettings], TextToSpeech] = EspeakTTS) -> None:
        self.db = db
        self.writer = writer
        self.bus = bus
        self.models = models
        self.rates = rates or Rates.from_env()
        self.tts_factory = tts_factory
        self.hooks: CallHooks | None = None  # the organization's webhooks: the brains' tools

    def start(self) -> None:
        """Loads the default recogniser in the background (engine start does not wait)."""
        self.models.warm_in_background()

    async def open(self, call: CallInfo, records: Records,
                   hangup: Callable[[str], None]) -> AgentLeg:
        agent, tools = await asyncio.to_thread(load_agent, self.db, call.agent_id)
        if call.overrides:
            agent = with_overrides(agent, call.overrides)
        stt, fallback = self.models.for_agent(agent.get("stt") or {})
        if fallback:
            log.warning("call %s: %s; whisper answers instead", call.call_id, fallback)
            records.add_event(call.call_id, "engine", "stt.fallback",
                              payload={"engine": stt.provider, "reason": fallback})
        runner = None
        if self.hooks is not None:
            runner = self.hooks.tool_runner(call.organization_id, {
                "id": call.call_id, "agent_id": call.agent_id, "organization_id": call.organization_id,
                "from_number": call.from_number, "to_number": call.to_number,
                "direction": call.direction})
        leg = AgentLeg(self, call, records, hangup, agent)
        engine_tools = EngineTools(self.db, call.organization_id, call.call_id, self.bus)

        async def run_tool(tool_call: ToolCall) -> Mapping[str, Any]:
            if tool_call.type in ENGINE_TOOL_TYPES:  # scheduling a callback, opting out
                return await engine_tools.run(tool_call)
            if runner is None:
                leg.event("tool.unavailable", {"name": tool_call.name,
                                               "reason": "no webhook dispatcher in this engine"})
                raise ToolError(f"no webhook runs tool {tool_call.name}")
            return dict(await runner(tool_call))

        key: ProviderKey | None = None
        try:
            key = await asyncio.to_thread(load_provider_key, self.db, call.organization_id,
                                          agent.get("brain") or {})
        except CredentialError as exc:
            log.warning("call %s: %s", call.call_id, exc)
            records.add_event(call.call_id, "engine", "brain.credential_missing",
                              payload={"reason": str(exc)})
        # "tomorrow" is the other party's: the day in their number's zone, not the engine's
        other = call.to_number if call.direction == "outbound" else call.from_number
        today = datetime.now(number_zone(other)).date() if other else None
        brain = build_brain(agent, tools=[ToolSpec.from_template(t) for t in tools],
                            variables=dict(call.variables or {}), tool_runner=run_tool,
                            api_key=key.api_key if key else None,
                            base_url=key.base_url if key else None, today=today)
        if (note := callback_note(call.variables or {})) is not None:  # a scheduled callback's
            async for _ in brain.inject_context(note):  # instructions, before the greeting
                pass
        leg.build(brain, stt, self.tts_factory(voice_settings(agent)))
        return leg


class AgentLeg(PipelineObserver):
    """One call's agent: a mixer participant, its pipeline, and the call's records."""

    def __init__(self, legs: AgentLegs, call: CallInfo, records: Records,
                 hangup: Callable[[str], None], agent: Mapping[str, Any]) -> None:
        self.legs = legs
        self.call = call
        self.records = records
        self._hangup = hangup
        self.agent = agent
        self.started_at: datetime = utcnow()
        self.pipeline: Pipeline | None = None
        self.participant: Participant | None = None
        self.brain: Brain | None = None
        self.menu_matches: list[dict[str, Any]] = []  # in the call vocabulary's shape
        self.menu_final_selection: dict[str, Any] | None = None
        self._heard_confidence: float | None = None  # the recogniser's, for the caller's last line
        self.slots: dict[str, Any] = {}
        self.tool_calls: list[ToolCall] = []
        self._closed = False

    def build(self, brain: Brain, stt: Any, tts: TextToSpeech) -> None:
        self.brain = brain
        self.pipeline = Pipeline(brain, stt, tts, self, pipeline_config(self.agent))
        audio = self.pipeline.audio
        self.participant = Participant(AGENT_PARTICIPANT, AGENT_MASKS, audio.source, audio.sink)
        self.records.update_call(self.call.call_id, {"metadata_": self.speech_facts()})

    def speech_facts(self) -> dict[str, Any]:
        """What recognises and speaks on the call: ``stt_engine``, ``stt_model``,
        ``stt_language``, ``tts_voice`` (Samva's ``sttLanguage``/``ttsVoice``)."""
        assert self.pipeline is not None
        stt = self.pipeline.stt
        return {"stt_engine": stt.provider, "stt_model": stt.model,
                "stt_language": stt_language(self.agent, stt),
                "tts_voice": voice_settings(self.agent).voice}

    async def start(self) -> None:
        """Joins the call (the participant must be in the mixer) and greets."""
        assert self.pipeline is not None
        self.started_at = utcnow()
        await self.pipeline.start()

    def dtmf(self, digit: str) -> None:
        if self.pipeline is not None:
            self.pipeline.dtmf(digit)

    def take_index(self) -> int | None:
        """The next transcript line's index, for a line of the engine's own (a transfer's note);
        None without a pipeline (the caller numbers its own lines)."""
        return self.pipeline.take_index() if self.pipeline is not None else None

    def turns(self) -> list[Turn]:
        """What was said so far, in order (empty without a pipeline)."""
        if self.pipeline is None:
            return []
        return [Turn(line.source, line.text)
                for line in sorted(self.pipeline.lines, key=lambda line: line.index)]

    # -- supervisor controls (on the call's loop) ----------------------------------------------

    def say(self, text: str, *, interrupt: bool = True, interruptible: bool = True,
            end_after: bool = False, source: str = "supervisor") -> None:
        """The agent speaks a supervisor's words (transcript source ``supervisor``), or words of
        the engine's own in the agent's name (``source="agent"``: a transfer's outcome)."""
        assert self.pipeline is not None
        self.pipeline.say(text, interrupt=interrupt, interruptible=interruptible,
                          end_after=end_after, source=source)

    def inject_context(self, text: str, *, trigger_response: bool = False) -> None:
        """A hidden instruction for the brain; with ``trigger_response`` it answers now."""
        assert self.pipeline is not None
        self.pipeline.inject_context(text, reply=trigger_response)

    @property
    def speaking(self) -> bool:
        return self.pipeline is not None and self.pipeline.state != "listening"

    def pause(self) -> None:
        """The call is on hold: the pipeline stops hearing and speaking."""
        if self.pipeline is not None:
            self.pipeline.pause()

    def resume(self) -> None:
        if self.pipeline is not None:
            self.pipeline.resume()

    # -- pipeline observer ---------------------------------------------------------------------

    def _at(self, media_s: float | None) -> datetime | None:
        return None if media_s is None else self.started_at + timedelta(seconds=media_s)

    def _emit(self, event: Event) -> None:
        if self.legs.bus is not None:
            self.legs.bus.emit(event)

    def event(self, kind: str, payload: dict[str, Any]) -> None:
        self.records.add_event(self.call.call_id, "engine", kind, payload=payload)

    def partial(self, index: int, text: str, started_at: float) -> None:
        self._emit(TranscriptPartial(organization_id=self.call.organization_id,
                                     call_id=self.call.call_id, index=index, source="user",
                                     text=text, started_at=iso(self._at(started_at))))

    def final(self, line: Line) -> None:
        row: dict[str, Any] = {"organization_id": self.call.organization_id, "call_id": self.call.call_id,
               "index": line.index, "source": line.source, "text": line.text,
               "started_at": self._at(line.started_at), "ended_at": self._at(line.ended_at),
               "provider": line.provider, "model": line.model, "confidence": line.confidence,
               "interrupted": line.interrupted, **line.latency(),
               "metadata_": {"kind": line.kind} if line.kind else {}}
        self.legs.writer.add(TranscriptEntry, row)
        self._emit(TranscriptFinal.from_row(row))
        if line.source == "user":
            self._heard_confidence = line.confidence

    def state(self, state: str) -> None:
        self._emit(AgentSpeaking(organization_id=self.call.organization_id,
                                 call_id=self.call.call_id, state=state))

    def turn(self, line: Line) -> None:
        assert self.pipeline is not None
        self._emit(MetricsTurn(organization_id=self.call.organization_id,
                               call_id=self.call.call_id, index=line.index,
                               turn=len(self.pipeline.turn_lines()) - 1, eou_ms=line.eou_ms,
                               stt_ms=line.stt_ms, brain_ms=line.brain_ms,
                               tts_ttfb_ms=line.tts_ttfb_ms,
                               voice_to_voice_ms=line.voice_to_voice_ms))

    def brain_event(self, event: BrainEvent) -> None:
        if event.kind == "menu_match":
            self.menu_matches.append(self._menu_match(event.data))
        elif event.kind == "menu_final_selection":
            label = event.data.get("label")
            self.menu_final_selection = next(
                (m for m in reversed(self.menu_matches) if m["menu"] == label), None)
        elif event.kind == "slot":
            self.slots[str(event.data.get("name"))] = event.data.get("value")
        if event.kind in ("menu_match", "menu_final_selection"):
            self.records.update_call(self.call.call_id, {"metadata_": self._menu()})
        if event.kind != "usage":
            self.event(f"agent.{event.kind}", dict(event.data))

    def tool_call(self, call: ToolCall) -> None:
        self.tool_calls.append(call)
        payload = {"name": call.name, "type": call.type, "arguments": dict(call.arguments)}
        if call.type == "transfer_call":
            self.event("transfer.requested", payload)
        elif call.type == "end_call":
            self.event("tool.end_call", payload)
        else:
            self.event("tool.called", payload)

    def barge_in(self, count: int) -> None:
        self.records.update_call(self.call.call_id, {"metadata_": {"barge_in_count": count}})

    def hangup(self, reason: str) -> None:
        self.event("agent.hangup", {"reason": reason})
        asyncio.get_running_loop().call_later(HANGUP_DELAY_S, self._hangup, reason)

    def _menu_match(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """A brain's menu match in the call vocabulary's shape, stamped now; a spoken choice
        is as sure as the recogniser was of the caller's line."""
        digit, phrase = data.get("digit"), data.get("phrase")
        if digit is not None:
            phrase = None
        elif phrase is None:  # neither: what matched is all there is of what the caller did
            phrase = str(data.get("matched_text") or "")
        confidence = data.get("confidence")
        if phrase is not None and confidence is None:
            confidence = self._heard_confidence
        return words.menu_match(str(data.get("menu") or data.get("label") or ""),
                                at=iso(utcnow()) or "",
                                digit=None if digit is None else str(digit),
                                phrase=None if phrase is None else str(phrase),
                                matched_text=data.get("matched_text"), confidence=confidence)

    def _menu(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.menu_matches:
            out["menu_matches"] = list(self.menu_matches)
        if self.menu_final_selection is not None:
            out["menu_final_selection"] = self.menu_final_selection
        return out

    # -- the end -------------------------------------------------------------------------------

    async def close(self) -> dict[str, Any]:
        """Stops the pipeline; writes the call's transcript, latency, usage and costs."""
        if self._closed or self.pipeline is None:
            return {}
        self._closed = True
        pipeline = self.pipeline
        await pipeline.close()
        if self.brain is not None:
            await self.brain.aclose()
        lines = sorted(pipeline.lines, key=lambda line: line.index)
        turns = [line.latency() for line in pipeline.turn_lines()]
        usage = CallUsage(stt_seconds=pipeline.usage.stt_audio_s,
                          tts_characters=pipeline.usage.tts_characters,
                          llm_prompt_tokens=pipeline.usage.llm_prompt_tokens,
                          llm_completion_tokens=pipeline.usage.llm_completion_tokens,
                          telephony_seconds=pipeline.audio.tick * 0.02,
                          stt_provider=pipeline.stt.provider, tts_provider=pipeline.tts.provider,
                          llm_provider=str((self.agent.get("brain") or {}).get("model") or ""))
        costs, usage_rows = call_costs(usage, self.legs.rates)
        now = utcnow()
        for row in usage_rows if not self.call.test else ():  # test calls cost nothing
            self.legs.writer.add(UsageLog, {"organization_id": self.call.organization_id,
                                            "call_id": self.call.call_id, "occurred_at": now, **row})
        fields: dict[str, Any] = {
            "transcript": "\n".join(f"{line.source}: {line.text}" for line in lines),
            **latency_fields(turns), **costs,
            "metadata_": {"barge_in_count": pipeline.barge_ins, **self._menu(),
                          **self.speech_facts(),
                          "speculative_discards": pipeline.speculative_discards,
                          **({"slots": dict(self.slots)} if self.slots else {})},
        }
        self.records.update_call(self.call.call_id, fields)
        return fields
