"""Warm transfers of live calls (DESIGN §5.4): the caller waits on hold while each destination
is consulted in turn, and is bridged to the first one that accepts. "The caller" is the remote
party: the callee of an outbound call, the browser of a web call.

The caller hears locally generated music (:data:`~engine.media.MUSIC_MASKS`, audible to the
caller only); the AI agent is paused and muted, and the call is ``transferring``. Each
destination is one attempt:

- a phone number (through the call's trunk) or a ``sip:`` URI is dialled on a consultation leg
  that is not bridged to the caller. Once it answers (``screening``) the recipient hears a
  spoken briefing (espeak-ng): the destination's screening prompt, its summary or the
  transfer's, or one made from the transcript so far (:mod:`engine.calls.summary`), then "Press
  1 or say yes to accept, press 2 or say no to decline". The recipient hears only the briefing
  (:data:`~engine.media.mixer.CONSULT_MASKS`), and nobody hears the recipient. What the
  recipient says, during the briefing and after it, is recognised (whisper, English; see
  :mod:`engine.calls.consult_listen`): every utterance is a ``transfer.recipient_said`` event,
  and the one that decides is the attempt's ``answer_text``. DTMF 1 (RFC 4733 or SIP INFO) or
  "yes" (yeah, sure, okay, put them through) accepts: the music stops, the leg becomes a human
  in the call, the AI agent leaves (``bridging`` then ``completed``). DTMF 2, "no" (can't, not
  now) or a BYE declines; busy, no answer (the ringing timeout, or no decision within
  :data:`SCREENING_DECISION_S` of the briefing) and failures are typed like a blind
  transfer's.
- ``user:<id>`` offers the call to a console user's softphone: a user whose presence is not
  ``available`` fails the attempt at once (``unavailable``); otherwise the bus event
  ``transfer.offered`` goes out and the user answers with a WebRTC offer (joining as a human
  agent, see :class:`~engine.calls.joins.LiveJoins`) or declines, within the ringing timeout.

Every failed attempt is written to ``routing_attempts`` with its cause and the next destination
follows (``transfer.next_destination``). When none accepts, the fallback runs: the agent takes
the call back and apologises (``return_to_agent``), takes a message (``take_message``: the brain
is told to ask for a name, a number and the message), or says goodbye and hangs up
(``end_call``); the transfer is ``failed`` with the last attempt's cause. The main steps (start,
each failed attempt, the bridge, the fallback, a cancel) are ``system`` lines of the call's
transcript too.

A supervisor may force the bridge to an answered consultation leg (:meth:`WarmTransfer.complete`)
or cancel the transfer (:meth:`WarmTransfer.cancel`): the leg hangs up and the agent takes the
call back. Once bridged, either side hanging up ends the call.

Everything here runs on the telephony loop; mixer changes hop to the media loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engine.calls.commands import WarmTransfer as WarmCommand
from engine.calls.consult_listen import ConsultListener, Heard
from engine.calls.control import ControlError
from engine.calls.greeting import SynthesisError, synthesize_async
from engine.calls.serialize import transfer as serialize_transfer
from engine.calls.summary import Turn, briefing, summarize_call
from engine.calls.transfers import NOT_CONNECTED, failure_cause, until_bridge_ends
from engine.calls.warm_attempts import FINISHED, Attempt, Destination, call_ended, load_user
from engine.calls.warm_users import UserOffers
from engine.media import HUMAN_MASKS, MUSIC_MASKS, SAMPLE_RATE, HoldMusic, Participant, Player
from engine.media.mixer import BRIEFING_MASKS, CONSULT_MASKS
from engine.sip import sdp
from engine.sip.rtp_leg import RtpLeg
from engine.sip.uac import OutgoingCall
from engine.speech.stt import SttEngine
from engine.store import TranscriptEntry, Transfer, utcnow
from engine.store.timeutil import iso
from engine.store.types import new_id

if TYPE_CHECKING:
    from engine.calls.transfers import TransferableCall, Transfers

log = logging.getLogger(__name__)

ACCEPT_DIGIT = "1"
DECLINE_DIGIT = "2"
# After the briefing has played the recipient has this long to key 1 or 2 (a person who reads the
# prompt on a phone display and decides needs well under 10 s; 30 s leaves room for questions).
SCREENING_DECISION_S = 30.0
VOICE_LANGUAGE = "en"  # the briefing and the recipient's answers are English
SETTLE_S = 10.0  # an API action (complete, cancel, decline) waits this long for its effect
TAKE_MESSAGE = ("I'm sorry, nobody is available to take your call right now. "
                "May I take a message?")
TAKE_MESSAGE_INSTRUCTION = (
    "Nobody could take the transferred call. Take a message for the team: ask the caller for "
    "their name, a phone number to call back and their message, confirm them, then say "
    "someone will call back.")
GOODBYE = "I'm sorry, nobody is available to take your call right now. Goodbye."
CANCELED_MESSAGE = NOT_CONNECTED
CAUSE_WORDS = {"declined": "declined", "busy": "busy", "no_answer": "no answer",
               "unavailable": "unavailable", "failed": "failed"}
FALLBACK_WORDS = {"returned_to_agent": "the agent took the call back",
                  "taking_message": "the agent is taking a message",
                  "ended": "the call ends"}


def _set_muted(participant: Participant, muted: bool) -> None:
    participant.muted = muted


class WarmTransfer(UserOffers):
    """One warm transfer of one call, from request through its attempts to the bridge, the
    fallback or a cancel, and the end."""

    kind = "warm"

    def __init__(self, transfers: Transfers, session: TransferableCall, command: WarmCommand,
                 destinations: list[Destination], actor: str, trunk_id: str | None) -> None:
        self.transfers = transfers
        self.session = session
        self.command = command
        self.destinations = destinations
        self.actor = actor
        self.id = new_id()
        self.status = "requested"
        self.attempts: list[dict[str, Any]] = []  # routing_attempts, in order
        self.attempt: Attempt | None = None
        self.summary = command.summary or ""
        first = destinations[0]
        self.fields: dict[str, Any] = {
            "id": self.id, "organization_id": session.organization_id,
            "call_id": session.call_id, "kind": "warm", "status": "requested",
            "transfer_to": first.to, "destinations": [d.describe() for d in destinations],
            "consultation_room": f"consult:{self.id}", "outbound_trunk_id": trunk_id,
            "screening_prompt": first.screening_prompt or "", "summary": self.summary,
            "fallback": command.fallback.model_dump(),
            "ringing_timeout_seconds": command.ringing_timeout, "requested_by": actor,
            "participants": [{"identity": "caller", "role": "caller"}],
            "metadata_": {"destination_count": len(destinations)},
        }
        self._signals: asyncio.Queue[str] = asyncio.Queue()
        self._cancel_by: str | None = None
        self._music: Participant | None = None
        self._briefing: Participant | None = None
        self._player: Player | None = None
        self._watchers: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self._busy_user: str | None = None
        self._note_index = 0  # system lines of a call without an agent pipeline

    # -- records ------------------------------------------------------------------------------

    def body(self) -> dict[str, Any]:
        """The transfer as the API shows it."""
        now = utcnow()
        return serialize_transfer(Transfer(created_at=now, updated_at=now, **self.fields))

    def _update(self, **fields: Any) -> None:
        self.fields.update(fields)
        if "status" in fields:
            self.status = fields["status"]
        self.transfers.update_row(self.id, fields)
        for check, future in list(self._watchers):
            if not future.done() and check():
                future.set_result(None)

    def _metadata(self, **fields: Any) -> dict[str, Any]:
        return {**self.fields["metadata_"], **fields}

    def _event(self, name: str, *, code: int | None = None, reason: str | None = None,
               failure: str | None = None, actor: str | None = None, **payload: Any) -> None:
        session = self.session
        attempt = self.attempt
        data = {"transfer_id": self.id, "kind": "warm", "status": self.status,
                "to": attempt.dest.to if attempt is not None else self.fields["transfer_to"],
                "label": attempt.dest.label if attempt is not None else None, **payload}
        if attempt is not None:
            data.setdefault("attempt", attempt.index)
        session.records.add_event(session.call_id, "engine", f"transfer.{name}",
                                  status=self.status, code=code, reason=reason, failure=failure,
                                  actor=actor or (self.actor if name == "requested" else None),
                                  payload=data)
        self.transfers.publish(f"transfer.{name}", session, {
            "call_id": session.call_id, "failure_cause": failure, "sip_status_code": code, **data})

    def _note(self, step: str, text: str) -> None:
        """A ``system`` line in the call's transcript (and ``transcript.final`` on the bus),
        numbered in line with the agent's lines."""
        session = self.session
        agent = session.agent
        pipeline = agent.pipeline if agent is not None else None
        if pipeline is not None:
            index = pipeline._take_index()
        else:
            index, self._note_index = self._note_index, self._note_index + 1
        now = utcnow()
        row = {"organization_id": session.organization_id, "call_id": session.call_id,
               "index": index, "source": "system", "text": text, "started_at": now,
               "ended_at": now, "metadata_": {"event": "transfer", "step": step,
                                              "transfer_id": self.id}}
        self.transfers.telephony.records.writer.add(TranscriptEntry, row)
        data = {key: value for key, value in row.items() if key != "metadata_"}
        self.transfers.publish("transcript.final", session, {
            **data, "started_at": iso(now), "ended_at": iso(now), "partial": False,
            "metadata": row["metadata_"]})

    async def _settled(self, check: Callable[[], bool], within: float = SETTLE_S) -> None:
        """Waits until ``check()`` holds after an update (or ``within`` seconds)."""
        if check():
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (check, future)
        self._watchers.append(entry)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(future, within)
        finally:
            self._watchers.remove(entry)

    # -- what the API asks --------------------------------------------------------------------

    def _check_running(self) -> None:
        if self.status in FINISHED:
            raise ControlError(409, "TRANSFER_FINISHED",
                               f"transfer {self.id} is {self.status} already")

    async def complete(self, actor: str) -> dict[str, Any]:
        """Bridges the caller to the consultation leg that answered now."""
        self._check_running()
        attempt = self.attempt
        if attempt is None or attempt.kind != "sip" or not attempt.answered:
            raise ControlError(409, "TRANSFER_NOT_READY",
                               "no consultation leg has answered yet" if attempt is None or
                               attempt.kind == "sip" else
                               "a console user takes the call by answering it")
        self._signals.put_nowait(f"complete:{actor}")
        await self._settled(lambda: self.status in FINISHED)
        return self.body()

    async def cancel(self, actor: str) -> dict[str, Any]:
        """Stops the transfer: the consultation leg hangs up and the agent takes the call back."""
        self._check_running()
        if self.status == "bridging":
            raise ControlError(409, "TRANSFER_FINISHED", f"transfer {self.id} is bridging")
        self._cancel_by = actor
        self._signals.put_nowait("cancel")
        await self._settled(lambda: self.status in FINISHED)
        return self.body()

    # -- the transfer -------------------------------------------------------------------------

    async def run(self) -> None:
        session = self.session
        control = session.control
        try:
            await self._hold_caller()
            self._note("started", "Warm transfer: the caller is on hold; trying "
                       + ", then ".join(d.name for d in self.destinations) + ".")
            if not self.summary:
                self.summary = self._generated_summary()
                self._update(summary=self.summary)
            for index, dest in enumerate(self.destinations):
                if index > 0:
                    self._event("next_destination", to=dest.to, label=dest.label,
                                previous=self.attempts[-1] if self.attempts else None,
                                attempt=index)
                self.attempt = Attempt(index, dest)
                outcome = await (self._try_user(self.attempt) if dest.user_id is not None
                                 else self._try_sip(self.attempt))
                if outcome == "bridged":
                    await self._until_either_ends()
                    return
                await self._end_attempt(self.attempt)
                if outcome in ("canceled", "gone"):
                    self._canceled(outcome)
                    return
            self._fallback()
        except Exception:
            log.exception("call %s: warm transfer %s failed", session.call_id, self.id)
            if self.status not in FINISHED:
                self._update(status="failed", failure_cause="failed", completed_at=utcnow())
                self._event("failed", failure="failed", reason="error")
                self._return_to_agent(NOT_CONNECTED)
        finally:
            control.transferring = False
            await self._close()

    def _set_status(self, status: str) -> None:
        self._update(status=status)

    async def _hold_caller(self) -> None:
        """The call is ``transferring``: music for the caller, the agent paused and muted."""
        session = self.session
        session.records.update_call(session.call_id, {"status": "transferring"})
        agent = session.control._pipeline_agent()
        if agent is not None:
            agent.pause()
        participant = session.control._agent_participant()
        if participant is not None:
            session.media.loop.call(_set_muted, participant, True)
        if session.mixer is not None:
            self._music = Participant(f"transfer_music:{self.id[:8]}", MUSIC_MASKS,
                                      HoldMusic().next_frame, None)
            await session.media.loop.call_soon_wait(session.mixer.add, self._music)

    def _turns(self) -> list[Turn]:
        agent = self.session.agent
        pipeline = agent.pipeline if agent is not None else None
        if pipeline is None:
            return []
        lines = sorted(pipeline.lines, key=lambda line: line.index)
        return [Turn(line.source, line.text) for line in lines]

    def _data(self) -> dict[str, Any]:
        agent = self.session.agent
        return dict(agent.slots) if agent is not None else {}

    def _generated_summary(self) -> str:
        session = self.session
        return summarize_call(self._turns(), self._data(), caller=session.remote_party or "",
                              agent_name=session.route.agent_name)

    async def _next_signal(self, *events: asyncio.Event, within: float | None = None) -> str:
        """The next signal (a digit ``digit:N``, ``complete:<actor>``, ``cancel``, ``decline``,
        ``answered``, ``retry``), ``event`` when one of ``events`` or the call's end is set, or
        ``timeout``."""
        if self._cancel_by is not None:
            return "cancel"
        if self.session.ended.is_set() or any(e.is_set() for e in events):
            if self._signals.empty():
                return "event"
        getter = asyncio.ensure_future(self._signals.get())
        waits = [getter, *(asyncio.ensure_future(e.wait())
                           for e in (*events, self.session.ended))]
        try:
            await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits[1:]:
                wait.cancel()
        if getter.done() and not getter.cancelled():
            signal = getter.result()
            return "cancel" if self._cancel_by is not None else signal
        getter.cancel()
        if self._cancel_by is not None:
            return "cancel"
        if self.session.ended.is_set() or any(e.is_set() for e in events):
            return "event"
        return "timeout"

    def _drain(self) -> None:
        while not self._signals.empty():
            self._signals.get_nowait()

    # -- a phone number or SIP URI ------------------------------------------------------------

    def _dialing(self, dest: Destination) -> None:
        """A new attempt starts: signals left from the last one are dropped."""
        self._drain()
        self._update(status="dialing", transfer_to=dest.to,
                     screening_prompt=dest.screening_prompt or "")

    async def _try_sip(self, attempt: Attempt) -> str:
        """Dials, briefs and waits for the recipient's decision: ``bridged``, ``failed`` (the
        next destination follows), ``canceled`` or ``gone`` (the caller left)."""
        session, media = self.session, self.session.media
        dest = attempt.dest
        target = dest.target
        assert target is not None
        self._dialing(dest)
        self._event("dialing", method="sip")
        speech = asyncio.ensure_future(self._synthesize(dest))
        try:
            if media.allocator is not None:
                attempt.port, _ = await media.loop.run(media.allocator.allocate())
            offer = sdp.build(media.local_ip, attempt.port, sdp.supported_payload_types(),
                              sdp.DTMF_PT)
            ua = self.transfers.telephony.ua
            assert ua is not None
            caller = (target.caller_id or session.remote_party or "switchboard").replace(" ", "")
            call = OutgoingCall(ua, target.uri, target.peer, offer,
                                from_uri=f"sip:{caller}@{ua.endpoint.host}",
                                credentials=target.credentials,
                                ringing_timeout_s=float(self.command.ringing_timeout))
            attempt.sip = call
            answered, ended = asyncio.Event(), asyncio.Event()
            call.on_event = lambda kind, code, detail: session.records.add_event(
                session.call_id, "sip", f"transfer.{kind}", code=code, reason=detail,
                payload={"transfer_id": self.id, "attempt": attempt.index})
            call.on_answered = lambda _body: answered.set()
            call.on_ended = lambda _reason: ended.set()
            call.on_dtmf = lambda digit: self._signals.put_nowait(f"digit:{digit}")
            call.start()
            while call.state in ("calling", "proceeding"):
                signal = await self._next_signal(answered, ended)
                if signal in ("cancel", "event") and (self._cancel_by is not None
                                                      or session.ended.is_set()):
                    call.hangup("canceled")
                    return self._stopped(attempt)
                if signal.startswith("digit:") and call.state == "answered":
                    self._signals.put_nowait(signal)  # keyed as it answered: screening reads it
            if call.state != "answered":
                cause = failure_cause(call.outcome, call.status)
                self._attempt_failed(attempt, cause, call.status, call.reason)
                return "failed"
            attempt.answered = True
            await self._open_leg(attempt, call)
            self._set_status("screening")
            self._event("screening", code=call.status)
            pcm = await speech
            playout_s = len(pcm) / (2 * SAMPLE_RATE)
            if pcm:
                await self._brief(pcm)
            return await self._screen(attempt, call, ended, playout_s + SCREENING_DECISION_S)
        finally:
            speech.cancel()

    async def _synthesize(self, dest: Destination) -> bytes:
        """The briefing as PCM (empty when espeak-ng fails: the keys still work)."""
        route = self.session.route
        text = briefing(dest.summary or self.summary, dest.screening_prompt)
        try:
            return await synthesize_async(text, route.voice, route.rate_wpm)
        except SynthesisError as exc:
            log.warning("call %s: transfer briefing not synthesized: %s", self.session.call_id,
                        exc)
            return b""

    async def _open_leg(self, attempt: Attempt, call: OutgoingCall) -> None:
        """The answered consultation leg's RTP, in the mixer apart from the call."""
        session, media = self.session, self.session.media.loop
        assert session.mixer is not None
        params = sdp.negotiate(sdp.parse(call.answer))
        leg = await media.run(RtpLeg.open(session.media.local_ip, params,
                                          session.media.allocator, media.clock,
                                          session.media.batch, port=attempt.port))
        attempt.leg = leg
        attempt.port = 0  # the leg gives it back
        loop = asyncio.get_running_loop()
        leg.on_dtmf = lambda digit: loop.call_soon_threadsafe(
            self._signals.put_nowait, f"digit:{digit}")
        source = leg.pull
        stt = self._recogniser()
        if stt is not None:
            listener = ConsultListener(stt, lambda heard: self._heard(attempt, heard),
                                       language=VOICE_LANGUAGE)
            listener.start()
            attempt.listener = listener
            source = _tapped(leg.pull, listener.feed)
        attempt.participant = Participant(f"consult:{self.id[:8]}:{attempt.index}",
                                          CONSULT_MASKS, source, leg.push)
        await media.call_soon_wait(session.mixer.add, attempt.participant)

    def _recogniser(self) -> SttEngine | None:
        """The engine's shared English whisper recogniser, or None (keys only) when the
        engine does not speak or has no model."""
        media = self.session.media
        if not media.speak or media.agents is None:
            return None
        try:
            stt: SttEngine = media.agents.models.whisper()
        except Exception as exc:
            log.warning("call %s: the transfer's recipient is not heard: %s",
                        self.session.call_id, exc)
            return None
        return stt

    def _heard(self, attempt: Attempt, heard: Heard) -> None:
        """An utterance of the recipient: an event, and a decision when it makes one."""
        if attempt is not self.attempt or not attempt.answered or self.status in FINISHED:
            return
        if heard.decision is not None or attempt.answer_text is None:
            attempt.answer_text = heard.text
        self._event("recipient_said", text=heard.text, decision=heard.decision,
                    briefing_playing=self._player is not None and not self._player.idle)
        if heard.decision is not None:
            self._signals.put_nowait(f"voice:{heard.decision}")

    async def _brief(self, pcm: bytes) -> None:
        session = self.session
        if session.mixer is None:
            return
        if self._briefing is None:
            self._player = Player()
            self._briefing = Participant(f"briefing:{self.id[:8]}", BRIEFING_MASKS,
                                         self._player.next_frame, None)
            await session.media.loop.call_soon_wait(session.mixer.add, self._briefing)
        player = self._player
        assert player is not None
        session.media.loop.call(player.clear)
        session.media.loop.call(player.enqueue, pcm)

    async def _screen(self, attempt: Attempt, call: OutgoingCall, ended: asyncio.Event,
                      within: float) -> str:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                call.hangup("no_decision")
                self._attempt_failed(attempt, "no_answer", None, "no decision in time")
                return "failed"
            signal = await self._next_signal(ended, within=remaining)
            if signal == "cancel" or call_ended(self.session):
                return self._stopped(attempt)
            if signal in (f"digit:{ACCEPT_DIGIT}", "voice:accept") or \
                    signal.startswith("complete:"):
                forced_by = signal.partition(":")[2] if signal.startswith("complete:") else None
                await self._bridge_sip(attempt, call, forced_by)
                return "bridged"
            if signal in (f"digit:{DECLINE_DIGIT}", "voice:decline"):
                call.hangup("declined")
                self._attempt_failed(attempt, "declined", None, "declined by voice"
                                     if signal == "voice:decline" else "declined by key 2")
                return "failed"
            if signal == "event" and call.state == "ended":
                self._attempt_failed(attempt, "declined", None, "recipient hung up")
                return "failed"

    async def _bridge_sip(self, attempt: Attempt, call: OutgoingCall,
                          forced_by: str | None) -> None:
        session = self.session
        media = session.media.loop
        self._set_status("bridging")
        self._event("bridging", code=call.status, forced=forced_by is not None,
                    actor=forced_by)
        assert session.mixer is not None and attempt.participant is not None
        await self._stop_listening(attempt)
        await media.call_soon_wait(session.mixer.set_masks, attempt.participant, HUMAN_MASKS)
        await self._leave_music_and_agent()
        self._completed(attempt, call.status,
                        {"identity": attempt.participant.name, "role": "human",
                         "to": attempt.dest.to, "label": attempt.dest.label,
                         "sip_call_id": call.call_id}, forced_by=forced_by)

    # -- outcomes -----------------------------------------------------------------------------

    def _attempt_entry(self, attempt: Attempt, status: str, cause: str | None,
                       code: int | None, reason: str | None) -> dict[str, Any]:
        return {"to": attempt.dest.to, "label": attempt.dest.label, "kind": attempt.kind,
                "status": status, "failure_cause": cause, "sip_status_code": code,
                "reason": reason, "answer_text": attempt.answer_text,
                "started_at": attempt.started_at, "ended_at": iso(utcnow())}

    def _attempt_failed(self, attempt: Attempt, cause: str, code: int | None,
                        reason: str | None) -> None:
        self.attempts.append(self._attempt_entry(attempt, "failed", cause, code, reason))
        self._update(routing_attempts=[dict(a) for a in self.attempts], failure_cause=cause,
                     sip_status_code=code)
        self._event("attempt_failed", code=code, reason=reason, failure=cause)
        said = f' (said "{attempt.answer_text}")' if attempt.answer_text else ""
        self._note("attempt_failed", f"Transfer to {attempt.dest.name}: "
                                     f"{CAUSE_WORDS.get(cause, cause)}{said}.")

    def _completed(self, attempt: Attempt, code: int | None, participant: dict[str, Any],
                   forced_by: str | None = None) -> None:
        session = self.session
        session.control.transferred = True
        session.control.transferring = False
        self.attempts.append(self._attempt_entry(attempt, "accepted", None, code,
                                                 f"forced by {forced_by}" if forced_by else None))
        self._update(status="completed", completed_at=utcnow(), sip_status_code=code,
                     failure_cause=None, transfer_to=attempt.dest.to,
                     routing_attempts=[dict(a) for a in self.attempts],
                     participants=[*self.fields["participants"], participant],
                     metadata_=self._metadata(accepted_by=attempt.dest.to,
                                              forced_by=forced_by))
        self._event("completed", code=code, accepted=attempt.dest.to, forced=forced_by is not None)
        self._note("completed", f"Caller connected to {attempt.dest.name}"
                                + (f", forced by {forced_by}." if forced_by else "."))
        session.records.update_call(session.call_id, {"status": "in_progress"})

    def _stopped(self, attempt: Attempt) -> str:
        """The attempt ends because the transfer was canceled or the caller left."""
        gone = self._cancel_by is None and call_ended(self.session)
        if attempt.sip is not None and attempt.sip.state != "ended":
            attempt.sip.hangup("caller_hangup" if gone else "canceled")
        self.attempts.append(self._attempt_entry(attempt, "canceled",
                                                 "caller_hangup" if gone else None, None, None))
        return "gone" if gone else "canceled"

    def _canceled(self, outcome: str) -> None:
        cause = "caller_hangup" if outcome == "gone" else None
        self._update(status="canceled", completed_at=utcnow(), failure_cause=cause,
                     routing_attempts=[dict(a) for a in self.attempts],
                     metadata_=self._metadata(canceled_by=self._cancel_by))
        self._event("canceled", failure=cause, actor=self._cancel_by)
        self._note("canceled", "Transfer canceled: the caller hung up." if cause else
                   f"Transfer canceled by {self._cancel_by}." if self._cancel_by else
                   "Transfer canceled.")
        if outcome == "canceled" and not call_ended(self.session):
            fallback = self.command.fallback
            message = fallback.message if fallback.strategy == "return_to_agent" else None
            self._return_to_agent(message or CANCELED_MESSAGE)

    async def _leave_music_and_agent(self) -> None:
        """The bridge: the music and the briefing stop, the AI agent leaves the call."""
        session = self.session
        media = session.media.loop
        mixer = session.mixer
        agent = session.control._agent_participant()
        for participant in (self._music, self._briefing):
            if participant is not None and mixer is not None:
                await media.call_soon_wait(mixer.remove, participant)
        self._music = self._briefing = None
        if agent is not None and mixer is not None:
            await media.call_soon_wait(mixer.remove, agent)
        pipeline_agent = session.control._pipeline_agent()
        if pipeline_agent is not None:
            pipeline_agent.pause()

    def _stop_music(self) -> None:
        session = self.session
        mixer = session.mixer
        for participant in (self._music, self._briefing):
            if participant is not None and mixer is not None:
                session.media.loop.call(mixer.remove, participant)
        self._music = self._briefing = None

    def _return_to_agent(self, message: str | None, *, end_after: bool = False) -> bool:
        """The agent takes the call back (unmuted, listening) and says ``message``; False
        when the call has no agent pipeline."""
        session = self.session
        control = session.control
        control.transferring = False
        self._stop_music()
        participant = control._agent_participant()
        if participant is not None:
            session.media.loop.call(control._apply_mute)
        agent = control._pipeline_agent()
        if not end_after:
            session.records.update_call(session.call_id, {"status": "in_progress"})
        if agent is None:
            return False
        if not control.held_by_peer:
            agent.resume()
        if message:
            agent.say(message, interrupt=True, interruptible=not end_after, end_after=end_after,
                      source="agent")
        return True

    def _fallback(self) -> None:
        session = self.session
        control = session.control
        fallback = self.command.fallback
        last = self.attempts[-1] if self.attempts else {}
        cause = last.get("failure_cause") or "failed"
        strategy = fallback.strategy
        if call_ended(self.session):
            self._update(status="canceled", completed_at=utcnow(), failure_cause="caller_hangup")
            self._event("canceled", failure="caller_hangup")
            return
        if strategy == "end_call":
            message = fallback.message or GOODBYE
            control.ending = True
            spoken = self._return_to_agent(message, end_after=True)
            if spoken:
                control._end_soon(message)
            else:
                session.hangup("transfer_failed")
            result = "ended"
        elif strategy == "take_message":
            message = fallback.message or TAKE_MESSAGE
            if self._return_to_agent(message):
                agent = control._pipeline_agent()
                if agent is not None:
                    agent.inject_context(TAKE_MESSAGE_INSTRUCTION)
            result = "taking_message"
        else:
            message = fallback.message or NOT_CONNECTED
            self._return_to_agent(message)
            result = "returned_to_agent"
        outcome = {"strategy": strategy, "message": message, "result": result}
        self._update(status="failed", completed_at=utcnow(), failure_cause=cause,
                     sip_status_code=last.get("sip_status_code"),
                     routing_attempts=[dict(a) for a in self.attempts],
                     metadata_=self._metadata(fallback_result=outcome))
        self._event("failed", failure=cause, code=last.get("sip_status_code"),
                    reason="no destination accepted")
        self._event("fallback", **outcome)
        self._note("failed", f"Transfer failed: nobody accepted; {FALLBACK_WORDS[result]}.")

    # -- after the bridge ---------------------------------------------------------------------

    async def _until_either_ends(self) -> None:
        session = self.session
        attempt = self.attempt
        assert attempt is not None
        if attempt.participant_id is not None:
            await self._until_user_leaves(attempt.participant_id)
            return
        assert attempt.sip is not None
        await until_bridge_ends(session, attempt.sip, self.id)

    async def _stop_listening(self, attempt: Attempt) -> None:
        listener, attempt.listener = attempt.listener, None
        if listener is not None:
            await listener.close()

    async def _end_attempt(self, attempt: Attempt) -> None:
        """Hangs up and closes an attempt's consultation leg (idempotent)."""
        session, media = self.session, self.session.media.loop
        await self._stop_listening(attempt)
        if self._player is not None:
            media.call(self._player.clear)
        participant, attempt.participant = attempt.participant, None
        if participant is not None and session.mixer is not None:
            await media.call_soon_wait(session.mixer.remove, participant)
        if attempt.sip is not None and attempt.sip.state != "ended":
            attempt.sip.hangup(session.reason or "caller_hangup")
        leg, attempt.leg = attempt.leg, None
        if leg is not None:
            await media.run(leg.close())
        elif attempt.port and session.media.allocator is not None:
            await media.run(session.media.allocator.release(attempt.port))
            attempt.port = 0

    async def _close(self) -> None:
        self._stop_music()
        if self._busy_user is not None:
            self.transfers.set_presence(self.session, self._busy_user, "available")
            self._busy_user = None
        if self.attempt is not None:
            await self._end_attempt(self.attempt)


def _tapped(pull: Callable[[], bytes | None],
            feed: Callable[[bytes | None], None]) -> Callable[[], bytes | None]:
    """``pull`` whose every frame is also handed to ``feed`` (the mixer's side: no blocking)."""
    def source() -> bytes | None:
        pcm = pull()
        feed(pcm)
        return pcm

    return source


__all__ = ["GOODBYE", "TAKE_MESSAGE", "TAKE_MESSAGE_INSTRUCTION", "Attempt", "Destination",
           "WarmTransfer", "load_user"]
