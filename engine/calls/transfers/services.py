"""The engine's side of a :class:`~engine.calls.transfers.context.TransferContext`: INVITEs and
REFERs through the user agent, RTP on the media loop, and store look-ups in worker threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine as SqlEngine

from engine.calls.media_context import MediaContext
from engine.calls.transfers.context import Target
from engine.calls.transfers.refer import TransferRefer
from engine.sip import sdp
from engine.sip.dialog import Dialog
from engine.sip.refer import ReferResult
from engine.sip.rtp_leg import RtpLeg
from engine.sip.ua import UserAgent
from engine.sip.uac import OutgoingCall
from engine.speech.stt import SttEngine
from engine.store import SipTrunk, User, session_scope

log = logging.getLogger(__name__)


class UaDialer:
    """INVITEs and REFERs of transfers through the engine's user agent."""

    def __init__(self, ua: UserAgent) -> None:
        self.ua = ua

    def invite(self, target: Target, offer: bytes, caller: str,
               ringing_timeout_s: float) -> OutgoingCall:
        return OutgoingCall(self.ua, target.uri, target.peer, offer,
                            from_uri=f"sip:{caller.replace(' ', '')}@{self.ua.endpoint.host}",
                            credentials=target.credentials, ringing_timeout_s=ringing_timeout_s)

    def refer(self, dialog: Dialog, target_uri: str, on_result: Callable[[ReferResult], None], *,
              on_progress: Callable[[int, str], None], on_accepted: Callable[[int], None],
              notify_wait_s: float) -> TransferRefer:
        return TransferRefer(self.ua, dialog, target_uri, on_result, on_progress=on_progress,
                             on_accepted=on_accepted, notify_wait_s=notify_wait_s)


class MediaRtp:
    """RTP legs of transfers on the engine's media loop and ports."""

    def __init__(self, media: MediaContext) -> None:
        self.media = media

    async def reserve(self) -> int:
        allocator = self.media.allocator
        if allocator is None:
            return 0
        port, _ = await self.media.loop.run(allocator.allocate())
        return int(port)

    async def open(self, answer: bytes, port: int) -> tuple[RtpLeg, sdp.MediaParams]:
        media = self.media
        params = sdp.negotiate(sdp.parse(answer))
        leg = await media.loop.run(RtpLeg.open(media.local_ip, params, media.allocator,
                                               media.loop.clock, media.batch, port=port))
        return leg, params

    async def release(self, port: int) -> None:
        if port and self.media.allocator is not None:
            await self.media.loop.run(self.media.allocator.release(port))

    async def close(self, leg: RtpLeg) -> None:
        await self.media.loop.run(leg.close())


def _trunk(db: SqlEngine, trunk_id: str) -> SipTrunk | None:
    with session_scope(db) as session:
        trunk = session.get(SipTrunk, trunk_id)
        if trunk is not None:
            session.expunge(trunk)
        return trunk


def _user(db: SqlEngine, user_id: str, organization_id: str) -> dict[str, Any] | None:
    with session_scope(db) as session:
        user = session.get(User, user_id)
        if user is None or user.organization_id != organization_id:
            return None
        return {"id": user.id, "display_name": user.display_name, "presence": user.presence,
                "email": user.email, "role": user.role}


def _user_name(db: SqlEngine, user_id: str) -> str | None:
    with session_scope(db) as session:
        user = session.get(User, user_id)
        return user.display_name if user is not None else None


class StoreLookups:
    """Transfers' look-ups in the engine's store, each in a worker thread."""

    def __init__(self, db: SqlEngine) -> None:
        self.db = db

    async def trunk(self, trunk_id: str) -> SipTrunk | None:
        return await asyncio.to_thread(_trunk, self.db, trunk_id)

    async def user(self, user_id: str, organization_id: str) -> dict[str, Any] | None:
        return await asyncio.to_thread(_user, self.db, user_id, organization_id)

    async def user_name(self, user_id: str) -> str | None:
        return await asyncio.to_thread(_user_name, self.db, user_id)


def english_recogniser(media: MediaContext) -> SttEngine | None:
    """The engine's shared English whisper recogniser, or None (keys only) when the engine does
    not speak or has no model."""
    if not media.speak or media.agents is None:
        return None
    try:
        return media.agents.models.whisper()
    except Exception as exc:
        log.warning("a transfer's recipient is not heard: %s", exc)
        return None


__all__ = ["MediaRtp", "StoreLookups", "UaDialer", "english_recogniser"]
