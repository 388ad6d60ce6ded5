"""A warm transfer's attempt at a phone number or ``sip:`` URI: the consultation leg.

The destination is dialled on a leg that is not bridged to the caller. Once it answers
(``screening``) the recipient hears a spoken briefing (espeak-ng): the destination's screening
prompt, its summary or the transfer's, or one made from the transcript so far, then "Press 1 or
say yes to accept, press 2 or say no to decline". The recipient hears only the briefing
(:data:`~engine.media.mixer.CONSULT_MASKS`), and nobody hears the recipient. What the recipient
says, during the briefing and after it, is recognised (whisper, English;
:mod:`engine.calls.transfers.consult`): every utterance is a ``transfer.recipient_said`` event,
and the one that decides is the attempt's ``answer_text``. DTMF 1 (RFC 4733 or SIP INFO) or
"yes" accepts: the leg becomes a human in the call (``bridging`` then ``completed``). DTMF 2,
"no" or a BYE declines; busy, no answer (the ringing timeout, or no decision within
:data:`SCREENING_DECISION_S` of the briefing) and failures are typed like a blind transfer's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial

from engine.calls.greeting import SynthesisError, synthesize_async
from engine.calls.legs.base import threadsafe
from engine.calls.summary import briefing
from engine.calls.transfers.attempts import Attempt, Destination, WarmSteps
from engine.calls.transfers.base import FINISHED, call_ended, failure_cause
from engine.calls.transfers.consult import ConsultListener, Heard
from engine.calls.transfers.signals import CANCEL, EVENT
from engine.media import HUMAN_MASKS, SAMPLE_RATE, Participant, Player
from engine.media.mixer import BRIEFING_MASKS, CONSULT_MASKS
from engine.sip.uac import OutgoingCall

log = logging.getLogger(__name__)

ACCEPT_DIGIT = "1"
DECLINE_DIGIT = "2"
# After the briefing has played the recipient has this long to key 1 or 2 (a person who reads the
# prompt on a phone display and decides needs well under 10 s; 30 s leaves room for questions).
SCREENING_DECISION_S = 30.0
VOICE_LANGUAGE = "en"  # the briefing and the recipient's answers are English


def tapped(pull: Callable[[], bytes | None],
           feed: Callable[[bytes | None], None]) -> Callable[[], bytes | None]:
    """``pull`` whose every frame is also handed to ``feed`` (the mixer's side: no blocking)."""
    def source() -> bytes | None:
        pcm = pull()
        feed(pcm)
        return pcm

    return source


class Consultation:
    """The consultation legs of one warm transfer, and the briefing they hear."""

    def __init__(self, steps: WarmSteps) -> None:
        self.steps = steps
        self.briefing: Participant | None = None
        self._player: Player | None = None

    async def attempt(self, attempt: Attempt) -> str:
        """Dials, briefs and waits for the recipient's decision: ``bridged``, ``failed`` (the
        next destination follows), ``canceled`` or ``gone`` (the caller left)."""
        steps = self.steps
        call = steps.call
        dest = attempt.dest
        target = dest.target
        assert target is not None
        steps.dialing(dest)
        steps.event("dialing", method="sip")
        speech = asyncio.ensure_future(self._synthesize(dest))
        try:
            sip, attempt.port = await steps.dial(target, float(steps.command.ringing_timeout),
                                                 attempt=attempt.index)
            attempt.sip = sip
            answered, ended = asyncio.Event(), asyncio.Event()
            sip.on_answered = lambda _body: answered.set()
            sip.on_ended = lambda _reason: ended.set()
            sip.on_dtmf = lambda digit: steps.signals.put(f"digit:{digit}")
            sip.start()
            while sip.state in ("calling", "proceeding"):
                signal = await steps.signals.next(answered, ended)
                if signal in (CANCEL, EVENT) and (steps.canceled_by is not None
                                                  or call.ended.is_set()):
                    sip.hangup("canceled")
                    return steps.stopped(attempt)
                if signal.startswith("digit:") and sip.state == "answered":
                    steps.signals.put(signal)  # keyed as it answered: screening reads it
            if sip.state != "answered":
                cause = failure_cause(sip.outcome, sip.status)
                steps.attempt_failed(attempt, cause, sip.status, sip.reason)
                return "failed"
            attempt.answered = True
            await self._open_leg(attempt, sip)
            steps.set_status("screening")
            steps.event("screening", code=sip.status)
            pcm = await speech
            playout_s = len(pcm) / (2 * SAMPLE_RATE)
            if pcm:
                await self._brief(pcm)
            return await self._screen(attempt, sip, ended, playout_s + SCREENING_DECISION_S)
        finally:
            speech.cancel()

    async def _synthesize(self, dest: Destination) -> bytes:
        """The briefing as PCM (empty when espeak-ng fails: the keys still work)."""
        route = self.steps.call.route
        text = briefing(dest.summary or self.steps.summary, dest.screening_prompt)
        try:
            return await synthesize_async(text, route.voice, route.rate_wpm)
        except SynthesisError as exc:
            log.warning("call %s: transfer briefing not synthesized: %s",
                        self.steps.call.call_id, exc)
            return b""

    async def _open_leg(self, attempt: Attempt, sip: OutgoingCall) -> None:
        """The answered consultation leg's RTP, in the mixer apart from the call."""
        steps = self.steps
        call = steps.call
        assert call.mixer is not None
        leg, _params = await steps.ctx.rtp.open(sip.answer, attempt.port)
        attempt.leg = leg
        attempt.port = 0  # the leg gives it back
        loop = asyncio.get_running_loop()
        leg.on_dtmf = partial(threadsafe, loop, lambda digit: steps.signals.put(f"digit:{digit}"))
        source = leg.pull
        stt = steps.ctx.recogniser()
        if stt is not None:
            listener = ConsultListener(stt, lambda heard: self._heard(attempt, heard),
                                       language=VOICE_LANGUAGE)
            listener.start()
            attempt.listener = listener
            source = tapped(leg.pull, listener.feed)
        attempt.participant = Participant(f"consult:{steps.id[:8]}:{attempt.index}",
                                          CONSULT_MASKS, source, leg.push)
        await call.media.loop.call_soon_wait(call.mixer.add, attempt.participant)

    def _heard(self, attempt: Attempt, heard: Heard) -> None:
        """An utterance of the recipient: an event, and a decision when it makes one."""
        steps = self.steps
        if attempt is not steps.attempt or not attempt.answered or steps.status in FINISHED:
            return
        if heard.decision is not None or attempt.answer_text is None:
            attempt.answer_text = heard.text
        steps.event("recipient_said", text=heard.text, decision=heard.decision,
                    briefing_playing=self._player is not None and not self._player.idle)
        if heard.decision is not None:
            steps.signals.put(f"voice:{heard.decision}")

    async def _brief(self, pcm: bytes) -> None:
        call = self.steps.call
        if call.mixer is None:
            return
        if self.briefing is None:
            self._player = Player()
            self.briefing = Participant(f"briefing:{self.steps.id[:8]}", BRIEFING_MASKS,
                                        self._player.next_frame, None)
            await call.media.loop.call_soon_wait(call.mixer.add, self.briefing)
        player = self._player
        assert player is not None
        call.media.loop.call(player.clear)
        call.media.loop.call(player.enqueue, pcm)

    async def _screen(self, attempt: Attempt, sip: OutgoingCall, ended: asyncio.Event,
                      within: float) -> str:
        steps = self.steps
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                sip.hangup("no_decision")
                steps.attempt_failed(attempt, "no_answer", None, "no decision in time")
                return "failed"
            signal = await steps.signals.next(ended, within=remaining)
            if signal == CANCEL or call_ended(steps.call):
                return steps.stopped(attempt)
            if signal in (f"digit:{ACCEPT_DIGIT}", "voice:accept") or \
                    signal.startswith("complete:"):
                forced_by = signal.partition(":")[2] if signal.startswith("complete:") else None
                await self._bridge(attempt, sip, forced_by)
                return "bridged"
            if signal in (f"digit:{DECLINE_DIGIT}", "voice:decline"):
                sip.hangup("declined")
                steps.attempt_failed(attempt, "declined", None, "declined by voice"
                                     if signal == "voice:decline" else "declined by key 2")
                return "failed"
            if signal == EVENT and sip.state == "ended":
                steps.attempt_failed(attempt, "declined", None, "recipient hung up")
                return "failed"

    async def _bridge(self, attempt: Attempt, sip: OutgoingCall, forced_by: str | None) -> None:
        steps = self.steps
        call = steps.call
        steps.set_status("bridging")
        steps.event("bridging", code=sip.status, forced=forced_by is not None, actor=forced_by)
        assert call.mixer is not None and attempt.participant is not None
        await self.stop_listening(attempt)
        await call.media.loop.call_soon_wait(call.mixer.set_masks, attempt.participant,
                                             HUMAN_MASKS)
        await steps.leave_music_and_agent()
        steps.completed(attempt, sip.status,
                        {"identity": attempt.participant.name, "role": "human",
                         "to": attempt.dest.to, "label": attempt.dest.label,
                         "sip_call_id": sip.call_id}, forced_by=forced_by)

    @staticmethod
    async def stop_listening(attempt: Attempt) -> None:
        listener, attempt.listener = attempt.listener, None
        if listener is not None:
            await listener.close()

    async def end(self, attempt: Attempt) -> None:
        """Hangs up and closes an attempt's consultation leg (idempotent)."""
        call = self.steps.call
        media = call.media.loop
        await self.stop_listening(attempt)
        if self._player is not None:
            media.call(self._player.clear)
        participant, attempt.participant = attempt.participant, None
        if participant is not None and call.mixer is not None:
            await media.call_soon_wait(call.mixer.remove, participant)
        if attempt.sip is not None and attempt.sip.state != "ended":
            attempt.sip.hangup(call.reason or "caller_hangup")
        leg, attempt.leg = attempt.leg, None
        if leg is not None:
            await self.steps.ctx.rtp.close(leg)
        elif attempt.port:
            await self.steps.ctx.rtp.release(attempt.port)
            attempt.port = 0


__all__ = ["ACCEPT_DIGIT", "DECLINE_DIGIT", "SCREENING_DECISION_S", "Consultation"]
