"""The per-call mixer (DESIGN §5): each tick it pulls one frame from every participant and gives
each participant the sum of the others it may hear.

Who hears whom is two role masks per participant: ``hears`` (whose audio it takes) and
``heard_by`` (who may take its audio). A hears B when B's role is in A.hears and A's role is in
B.heard_by. The mixer knows no protocol; legs adapt RTP or WebRTC to ``source``/``sink``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from engine.media.frame import FRAME_BYTES, FRAME_SAMPLES, SILENCE

log = logging.getLogger(__name__)

CALLER = 1
AGENT = 2  # the AI agent's voice
HUMAN = 4  # a human agent (softphone) or a supervisor who took over
SUPERVISOR = 8
MUSIC = 16  # hold music, tones
CONSULT = 32  # a warm transfer's recipient while being briefed, apart from the call
ALL = CALLER | AGENT | HUMAN | SUPERVISOR | MUSIC
NOBODY = 0

Source = Callable[[], bytes | None]
Sink = Callable[[bytes], None]
Tap = Callable[[bytes, bytes], None]  # (caller frame, everyone-else frame) for the recorder


@dataclass(frozen=True)
class Masks:
    role: int
    hears: int
    heard_by: int


# DESIGN §5 presets
CALLER_MASKS = Masks(CALLER, ALL, ALL)
AGENT_MASKS = Masks(AGENT, CALLER | HUMAN, ALL)
HUMAN_MASKS = Masks(HUMAN, ALL, ALL)
LISTEN_MASKS = Masks(SUPERVISOR, ALL, NOBODY)
WHISPER_MASKS = Masks(SUPERVISOR, ALL, HUMAN)
BARGE_MASKS = Masks(SUPERVISOR, ALL, ALL)
MUSIC_MASKS = Masks(MUSIC, NOBODY, CALLER)
# A warm transfer's consultation: the recipient hears only its briefing, and nobody hears it
CONSULT_MASKS = Masks(CONSULT, MUSIC, NOBODY)
BRIEFING_MASKS = Masks(MUSIC, NOBODY, CONSULT)


@dataclass(eq=False)
class Participant:
    name: str
    masks: Masks
    source: Source | None = None
    sink: Sink | None = None
    muted: bool = False
    frames_in: int = field(default=0)

    def can_hear(self, other: Participant) -> bool:
        return (other is not self and bool(self.masks.hears & other.masks.role)
                and bool(other.masks.heard_by & self.masks.role))


class Mixer:
    """Mixes one call. ``tick()`` is driven by the media clock, every 20 ms."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.participants: list[Participant] = []
        self.taps: list[Tap] = []
        self.ticks = 0
        self._plan: _Plan | None = None

    def add(self, participant: Participant) -> Participant:
        self.participants.append(participant)
        self._plan = None
        return participant

    def remove(self, participant: Participant) -> None:
        if participant in self.participants:
            self.participants.remove(participant)
            self._plan = None

    def set_masks(self, participant: Participant, masks: Masks) -> None:
        participant.masks = masks
        self._plan = None

    def _listeners(self) -> list[tuple[Participant, list[int]]]:
        return self._plan_for().listeners

    def _plan_for(self) -> _Plan:
        plan = self._plan
        if plan is None:
            people = self.participants
            plan = self._plan = _Plan(
                [(p, [j for j, q in enumerate(people) if p.can_hear(q)])
                 for p in people if p.sink is not None],
                [j for j, p in enumerate(people) if p.masks.role == CALLER],
                [j for j, p in enumerate(people)
                 if p.masks.role != CALLER and p.masks.heard_by != NOBODY])
        return plan

    def tick(self) -> None:
        self.ticks += 1
        frames: list[bytes | None] = []
        add = frames.append
        for p in self.participants:
            pcm = None
            if p.source is not None:
                try:
                    pcm = p.source()
                except Exception:
                    log.exception("mixer %s: source %s failed", self.name, p.name)
            if pcm is not None and not p.muted and len(pcm) == FRAME_BYTES:
                p.frames_in += 1
                add(pcm)
            else:
                add(None)
        plan = self._plan or self._plan_for()
        for listener, heard in plan.listeners:
            sink = listener.sink  # read each tick: a leg may wrap or drop its sink in a call
            if sink is None:
                continue
            if len(heard) == 1:  # one voice (the usual two-party call): passed through as is
                pcm = frames[heard[0]] or SILENCE
            else:
                pcm = _mix([frames[j] for j in heard])
            try:
                sink(pcm)
            except Exception:
                log.exception("mixer %s: sink %s failed", self.name, listener.name)
        if self.taps:
            callers, others = plan.callers, plan.others
            left = (frames[callers[0]] or SILENCE) if len(callers) == 1 \
                else _mix([frames[j] for j in callers])
            right = (frames[others[0]] or SILENCE) if len(others) == 1 \
                else _mix([frames[j] for j in others])
            for tap in self.taps:
                tap(left, right)


@dataclass(slots=True)
class _Plan:
    """Who hears whom, worked out once per change of participants or masks: each listener with
    the indices of the participants it hears, and the recorder's two channels' indices."""

    listeners: list[tuple[Participant, list[int]]]
    callers: list[int]
    others: list[int]


def _mix(frames: list[bytes | None]) -> bytes:
    """The sum of the frames present, clipped to 16 bits (one frame passes through as is)."""
    present = [f for f in frames if f is not None]
    if not present:
        return SILENCE
    if len(present) == 1:
        return present[0]
    total = np.zeros(FRAME_SAMPLES, dtype=np.int32)
    for f in present:
        total += np.frombuffer(f, dtype="<i2")
    return np.clip(total, -32768, 32767).astype("<i2").tobytes()
