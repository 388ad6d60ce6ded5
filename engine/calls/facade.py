"""The live calls as the API reaches them: :class:`LiveCalls` finds a call, runs a supervisor's
command on it, joins and leaves it, starts and drives its transfers, and starts web calls.

The API's handlers run in the server's worker threads and the calls live on the telephony
service's loop: every operation hops there through :meth:`LiveCalls.on_loop` and waits for its
outcome. Refusals are :class:`~engine.calls.errors.CallError` (the API maps their codes to HTTP
statuses); a bad WebRTC offer is :class:`~engine.webrtc.OfferError`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, Protocol, TypeVar

from engine.calls.commands import AnyCommand, EndCall, Transfer
from engine.calls.commands import WarmTransfer as WarmCommand
from engine.calls.errors import CallError, not_live, unsupported
from engine.calls.joins import LiveJoins
from engine.calls.live_call import LiveCall
from engine.calls.routing import Route
from engine.calls.transfers import Transfers
from engine.store import LIVE_STATUSES

T = TypeVar("T")


class CallsService(Protocol):
    """The service that runs the live calls (:class:`~engine.calls.telephony.Telephony`)."""

    calls: dict[str, LiveCall]
    joins: LiveJoins
    transfers: Transfers

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None: ...

    @property
    def dials(self) -> bool:
        """Whether queued outbound calls can be dialled (SIP is on)."""

    def dial_soon(self, call_id: str) -> None: ...

    async def web_call(self, route: Route, offer: str, *,
                       actor: str | None) -> tuple[str, str]: ...

COMMAND_TIMEOUT_S = 20.0  # a hold waits for the caller's re-INVITE answer (8 s at most)
# An answer needs the offer applied and host candidates gathered (measured: ~10 ms on loopback);
# the bound covers a loaded machine.
ANSWER_TIMEOUT_S = 20.0
START_TIMEOUT_S = 15.0  # starting a transfer looks up the trunk and writes the row
# complete / cancel / decline wait for the transfer to act (10 s at most); an answer also needs
# the WebRTC offer applied. The bound covers a loaded machine.
ACTION_TIMEOUT_S = 25.0
LATE = "the call did not act on the transfer in time"
UNAVAILABLE = "live calls need the telephony service (serve with --sip-port)"


class LiveCalls:
    """The engine's live calls, for the API (from its worker threads)."""

    def __init__(self, service: CallsService | None) -> None:
        self.service = service

    @property
    def running(self) -> bool:
        """Whether live calls run here (the telephony service has started)."""
        return self.service is not None and self.service.loop is not None

    @property
    def dials(self) -> bool:
        """Whether queued outbound calls can be dialled (SIP is on)."""
        return self.service is not None and self.service.dials

    def _service(self) -> CallsService:
        service = self.service
        if service is None or service.loop is None:
            raise CallError("UNAVAILABLE", UNAVAILABLE)
        return service

    def on_loop(self, coro: Coroutine[Any, Any, T], within: float, late: str) -> T:
        """Runs ``coro`` on the calls' loop and waits for it; ``late`` is the message of the
        CONTROL_TIMEOUT error after ``within`` seconds."""
        loop = self._service().loop
        assert loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, loop)
        try:
            return future.result(within)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise CallError("CONTROL_TIMEOUT", late) from None

    def find(self, call_id: str, organization_id: str) -> LiveCall | None:
        """The live call ``call_id`` of the organization, or None."""
        if self.service is None:
            return None
        call = self.service.calls.get(call_id)
        if call is None or call.organization_id != organization_id:
            return None
        return call

    def _live(self, call_id: str, organization_id: str, stored_status: str) -> LiveCall:
        call = self.find(call_id, organization_id)
        if call is None:
            raise not_live(call_id, stored_status)
        return call

    # -- commands ------------------------------------------------------------------------------

    def command(self, call_id: str, organization_id: str, command: AnyCommand, actor: str,
                stored_status: str) -> dict[str, Any]:
        """Runs a supervisor's command on the live call (a ``transfer`` starts a blind
        transfer); ``stored_status`` is the call row's, for the error when it is not live."""
        if stored_status not in LIVE_STATUSES or not self.running:
            if isinstance(command, EndCall):
                return {"call_id": call_id, "type": command.type, "result": "already_ended",
                        "status": stored_status}
            raise not_live(call_id, stored_status)
        call = self.find(call_id, organization_id)
        if isinstance(command, Transfer):
            return self.on_loop(self._transfer(call, call_id, command, actor, stored_status),
                                COMMAND_TIMEOUT_S, f"the call did not act on {command.type} in time")
        if call is None:
            if isinstance(command, EndCall):
                return {"call_id": call_id, "type": command.type, "result": "already_ended",
                        "status": stored_status}
            raise not_live(call_id, stored_status)
        return self.on_loop(call.control.execute(command, actor), COMMAND_TIMEOUT_S,
                            f"the call did not act on {command.type} in time")

    async def _transfer(self, call: LiveCall | None, call_id: str, command: Transfer, actor: str,
                        stored_status: str) -> dict[str, Any]:
        """A ``transfer`` command: a blind transfer, audited like the other commands."""
        service = self._service()
        if not service.dials and call is not None:
            raise unsupported("blind transfers need SIP, which is off in this engine "
                              "(start it with --sip-port)")
        started = await service.transfers.blind(call, call_id, command, actor, stored_status)
        details = {"transfer_id": started["id"], "transfer_status": started["status"]}
        assert call is not None  # a transfer started on it
        call.records.add_event(call_id, "supervisor", "control.transfer", actor=actor,
                               status="transferring",
                               payload={"action": "transfer", "content": command.to,
                                        "ringing_timeout": command.ringing_timeout,
                                        "play_dialtone": command.play_dialtone,
                                        "result": "transferring", **details})
        return {"call_id": call_id, "type": "transfer", "result": "transferring",
                "status": "transferring", **details, "transfer": started}

    # -- joins ---------------------------------------------------------------------------------

    def join(self, call: LiveCall, offer: str, role: str, actor: str) -> tuple[str, str]:
        """Joins ``call`` with a WebRTC offer: (answer SDP, participant id)."""
        joins = self._service().joins
        return self.on_loop(joins.join(call, offer, role, actor), ANSWER_TIMEOUT_S,
                            "the engine did not answer the offer in time")

    def leave(self, call: LiveCall, participant_id: str, actor: str) -> bool:
        joins = self._service().joins
        return self.on_loop(joins.leave(call, participant_id, actor), ANSWER_TIMEOUT_S,
                            "the engine did not take the participant out in time")

    def participants(self, call: LiveCall) -> list[dict[str, Any]]:
        return self._service().joins.participants(call.call_id)

    def web_call(self, route: Route, offer: str, actor: str) -> tuple[str, str]:
        """Starts a web call to ``route``'s agent: (call id, answer SDP)."""
        service = self._service()
        return self.on_loop(service.web_call(route, offer, actor=actor), ANSWER_TIMEOUT_S,
                            "the engine did not answer the offer in time")

    def dial(self, call_id: str) -> None:
        """Dials a stored queued outbound call (in the background)."""
        self._service().dial_soon(call_id)

    # -- transfers -----------------------------------------------------------------------------

    def blind_transfer(self, call_id: str, organization_id: str, command: Transfer, actor: str,
                       stored_status: str) -> dict[str, Any]:
        """Starts a blind transfer of the live call: the transfer as first written."""
        transfers = self._transferring(call_id, stored_status)
        call = self.find(call_id, organization_id)
        return self.on_loop(transfers.blind(call, call_id, command, actor, stored_status),
                            START_TIMEOUT_S, "the call did not start the transfer in time")

    def warm_transfer(self, call_id: str, organization_id: str, command: WarmCommand,
                      actor: str, stored_status: str) -> dict[str, Any]:
        """Starts a warm transfer of the live call: the transfer as first written."""
        transfers = self._transferring(call_id, stored_status)
        call = self.find(call_id, organization_id)
        return self.on_loop(transfers.warm(call, call_id, command, actor, stored_status),
                            START_TIMEOUT_S, "the call did not act on the transfer in time")

    def complete_transfer(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        """Bridges a warm transfer to the destination being consulted now."""
        transfers = self._transfers(transfer_id)
        return self.on_loop(transfers.complete(call_id, transfer_id, actor), ACTION_TIMEOUT_S,
                            LATE)

    def cancel_transfer(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        transfers = self._transfers(transfer_id)
        return self.on_loop(transfers.cancel(call_id, transfer_id, actor), ACTION_TIMEOUT_S, LATE)

    def answer_transfer(self, call_id: str, transfer_id: str, user_id: str, offer: str,
                        actor: str) -> dict[str, Any]:
        """The console user a warm transfer is offered to takes the call."""
        transfers = self._transfers(transfer_id)
        return self.on_loop(transfers.answer(call_id, transfer_id, user_id, offer, actor),
                            ACTION_TIMEOUT_S, LATE)

    def decline_transfer(self, call_id: str, transfer_id: str, user_id: str, reason: str | None,
                         actor: str) -> dict[str, Any]:
        transfers = self._transfers(transfer_id)
        return self.on_loop(transfers.decline(call_id, transfer_id, user_id, reason, actor),
                            ACTION_TIMEOUT_S, LATE)

    def _transferring(self, call_id: str, stored_status: str) -> Transfers:
        """The transfers, when the call's row says it is live and calls run here."""
        if stored_status not in LIVE_STATUSES or not self.running:
            raise not_live(call_id, stored_status)
        return self._service().transfers

    def _transfers(self, transfer_id: str) -> Transfers:
        """The running transfers (TRANSFER_FINISHED when no calls run here)."""
        if not self.running:
            raise CallError("TRANSFER_FINISHED", f"transfer {transfer_id} is not running")
        return self._service().transfers


__all__ = ["UNAVAILABLE", "CallsService", "LiveCalls"]
