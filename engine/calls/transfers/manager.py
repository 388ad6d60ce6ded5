"""The live calls' transfers: :class:`Transfers` starts blind and warm transfers on live calls
(checking the call can be transferred now and where each destination goes), keeps the one
running on each call, and routes the API's complete, cancel, answer and decline to it."""

from __future__ import annotations

from typing import Any

from engine.calls.commands import Transfer as TransferCommand
from engine.calls.commands import TransferMethod, user_of
from engine.calls.commands import WarmTransfer as WarmCommand
from engine.calls.destinations import is_phone_number, parse_sip
from engine.calls.errors import CallError, not_live, unsupported
from engine.calls.transfers.attempts import Destination, TransferChains
from engine.calls.transfers.base import TransferBase
from engine.calls.transfers.blind import BlindTransfer
from engine.calls.transfers.context import Target, TransferableCall, TransferContext
from engine.calls.transfers.warm import WarmTransfer
from engine.sip.auth import Credentials
from engine.sip.transport import Peer
from engine.store import SipTrunk

SIP_OFF = "transfers to a phone number or SIP address need SIP, which is off in this engine " \
          "(start it with --sip-port)"

AnyTransfer = BlindTransfer | WarmTransfer


def refer_allowed(sip_call: Any, trunk: SipTrunk | None) -> bool:
    """Whether a REFER may be sent in ``sip_call``: its dialog is established and its trunk
    (if any) allows REFER."""
    if getattr(sip_call, "dialog", None) is None:
        return False
    if getattr(sip_call, "state", None) not in ("answered", "confirmed"):
        return False
    return trunk is None or trunk.allow_refer


class Transfers:
    """Starts transfers on live calls and finds the one running on a call."""

    def __init__(self, ctx: TransferContext) -> None:
        self.ctx = ctx
        self.active: dict[str, AnyTransfer] = {}  # by call id
        self.chains = TransferChains()

    async def blind(self, call: TransferableCall | None, call_id: str, command: TransferCommand,
                    actor: str, stored_status: str = "ended") -> dict[str, Any]:
        """Starts a blind transfer of the live call ``call`` (None: not live here); the transfer
        as first written (CallError when the call cannot be transferred now)."""
        live = self._transferable(call, call_id, stored_status)
        if self.ctx.sip is None:
            raise unsupported(SIP_OFF)
        trunk = await self._call_trunk(live)
        use_refer = self._use_refer(live, trunk, command.method)
        target = self._target(command.to, trunk)
        return await self._start(live, BlindTransfer(self.ctx, live, command, target, actor,
                                                     use_refer))

    async def warm(self, call: TransferableCall | None, call_id: str, command: WarmCommand,
                   actor: str, stored_status: str = "ended") -> dict[str, Any]:
        """Starts a warm transfer of the live call ``call``; the transfer as first written
        (CallError when the call cannot be transferred now)."""
        live = self._transferable(call, call_id, stored_status)
        if self.ctx.sip is None and any(user_of(d.to) is None for d in command.destinations):
            raise unsupported(SIP_OFF)
        trunk = await self._call_trunk(live)
        destinations: list[Destination] = []
        for dest in command.destinations:
            user_id = user_of(dest.to)
            target = None if user_id is not None else self._target(dest.to, trunk)
            name = None if user_id is None else await self.ctx.lookups.user_name(user_id)
            destinations.append(Destination(dest.to, dest.label, dest.screening_prompt,
                                            dest.summary, target, user_id, name))
        trunk_id = next((d.target.trunk_id for d in destinations
                         if d.target is not None and d.target.trunk_id), None)
        return await self._start(live, WarmTransfer(self.ctx, live, command, destinations, actor,
                                                    trunk_id))

    def find(self, call_id: str, transfer_id: str) -> AnyTransfer:
        """The running transfer ``transfer_id`` of ``call_id`` (TRANSFER_FINISHED when it is
        not running: the API found its row)."""
        transfer = self.active.get(call_id)
        if transfer is None or transfer.id != transfer_id:
            raise CallError("TRANSFER_FINISHED", f"transfer {transfer_id} is not running")
        return transfer

    def find_warm(self, call_id: str, transfer_id: str) -> WarmTransfer:
        transfer = self.find(call_id, transfer_id)
        if not isinstance(transfer, WarmTransfer):
            raise CallError("TRANSFER_NOT_OFFERED", f"transfer {transfer_id} is a blind transfer")
        return transfer

    async def complete(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        return await self.find(call_id, transfer_id).complete(actor)

    async def cancel(self, call_id: str, transfer_id: str, actor: str) -> dict[str, Any]:
        return await self.find(call_id, transfer_id).cancel(actor)

    async def answer(self, call_id: str, transfer_id: str, user_id: str, offer: str,
                     actor: str) -> dict[str, Any]:
        """The offered console user takes the call with a WebRTC offer."""
        return await self.find_warm(call_id, transfer_id).answer(user_id, offer, actor)

    async def decline(self, call_id: str, transfer_id: str, user_id: str, reason: str | None,
                      actor: str) -> dict[str, Any]:
        """The offered console user declines; the next destination is tried."""
        return await self.find_warm(call_id, transfer_id).decline(user_id, reason, actor)

    def _transferable(self, call: TransferableCall | None, call_id: str,
                      stored_status: str) -> TransferableCall:
        """``call`` when a transfer may start on it now."""
        if call is None:
            raise not_live(call_id, stored_status)
        control = call.control
        status = control.status
        if status in ("ended", "ending"):
            raise not_live(call_id, status)
        if status == "ringing":
            raise CallError("CALL_NOT_ANSWERED", f"call {call_id} is not answered yet")
        if control.transferring or call_id in self.active:
            raise CallError("TRANSFER_IN_PROGRESS", f"call {call_id} is already being transferred")
        if control.transferred:
            raise CallError("CALL_TRANSFERRED", f"call {call_id} was transferred already")
        if control.on_hold:
            raise CallError("CALL_ON_HOLD", "the caller is on hold; resume first")
        return call

    async def _start(self, call: TransferableCall, transfer: AnyTransfer) -> dict[str, Any]:
        call_id = call.call_id
        if call.control.transferring or call_id in self.active:
            raise CallError("TRANSFER_IN_PROGRESS", f"call {call_id} is already being transferred")
        call.control.transferring = True
        self.active[call_id] = transfer
        row = transfer.row()

        def store(session: Any) -> None:
            session.add(row)
            self.chains.link(session, row)  # after one that reached nobody: its next transfer

        await self.ctx.stored(store)
        transfer.event("requested")
        body = transfer.body()
        self.ctx.spawn(self._run(call_id, transfer))
        return body

    async def _run(self, call_id: str, transfer: TransferBase) -> None:
        try:
            await transfer.run()
        finally:
            self.active.pop(call_id, None)

    async def _call_trunk(self, call: TransferableCall) -> SipTrunk | None:
        trunk_id = call.trunk_id
        if not trunk_id:
            return None
        return await self.ctx.lookups.trunk(trunk_id)

    @staticmethod
    def _use_refer(call: TransferableCall, trunk: SipTrunk | None,
                   method: TransferMethod) -> bool:
        """Whether the transfer starts with a REFER (CallError when ``refer`` is asked for and
        not possible)."""
        if method == "bridge":
            return False
        sip_call = call.sip_call
        allowed = refer_allowed(sip_call, trunk)
        if method == "refer" and not allowed:
            why = "a web call has no SIP dialog" if sip_call is None else \
                "the call's trunk does not allow REFER" if trunk is not None and \
                not trunk.allow_refer else "the call has no established SIP dialog"
            raise CallError("REFER_NOT_ALLOWED", f"cannot transfer by REFER: {why}")
        return allowed

    @staticmethod
    def _target(to: str, trunk: SipTrunk | None) -> Target:
        if not is_phone_number(to):
            dest = parse_sip(to)
            return Target(dest.uri, Peer(dest.transport, dest.host, dest.port))
        if trunk is None:
            raise CallError("NO_TRUNK", "the call has no SIP trunk to dial a phone number "
                                        "through; give a sip: URI")
        credentials = Credentials(trunk.username, trunk.password or "", trunk.auth_realm) \
            if trunk.username else None
        return Target(f"sip:{to}@{trunk.host}:{trunk.port}",
                      Peer(trunk.transport.upper(), trunk.host, trunk.port), credentials,
                      trunk.caller_id or None, trunk.id)


__all__ = ["SIP_OFF", "AnyTransfer", "Transfers", "refer_allowed"]
