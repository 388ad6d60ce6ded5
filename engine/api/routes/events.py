"""``WS /v1/events``: a snapshot, then every change event of the caller's organization.

Authentication is the ``Authorization: Bearer`` header, or the ``api_key`` query parameter for
browsers (which cannot set WebSocket headers); a bad key closes the socket with code 4401.
Without ``call_id`` the snapshot lists the organization's live calls; with it, the snapshot is that
call's detail (transcript so far) and only that call's events follow.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from sqlalchemy import select
from sqlmodel import Session

from engine.api.auth import KeyVerifier, Principal, bearer
from engine.api.errors import ApiError
from engine.api.routes.calls import call_detail, owned_call
from engine.calls import listing
from engine.events import EventBus, Snapshot
from engine.store import LIVE_STATUSES
from engine.store.writer import BatchWriter

log = logging.getLogger(__name__)

router = APIRouter(tags=["events"])

CLOSE_UNAUTHORIZED = 4401
CLOSE_NOT_FOUND = 4404
SNAPSHOT_LIVE_LIMIT = 500  # live calls in one snapshot; a single engine carries far fewer


def _snapshot(db: Any, principal: Principal, call_id: str | None,
              writer: BatchWriter | None = None) -> Snapshot:
    if call_id is not None:
        if writer is not None:  # transcript lines queued for the next batch are in it too
            writer.flush()
        with Session(db) as session:
            call = call_detail(session, owned_call(session, principal, call_id))
        return Snapshot(organization_id=principal.organization_id, call_id=call_id, call=call)
    with db.connect() as conn:
        ids = [row[0] for row in conn.execute(
            select(listing.CALL.c.id).where(
                listing.CALL.c.organization_id == principal.organization_id,
                listing.CALL.c.status.in_(LIVE_STATUSES),
            ).order_by(listing.CALL.c.initiated_at.desc()).limit(SNAPSHOT_LIVE_LIMIT)
        )]
        calls = listing.summaries(conn, ids)
    return Snapshot(organization_id=principal.organization_id, calls=calls)


@router.websocket("/v1/events")
async def events(websocket: WebSocket) -> None:
    token = bearer(websocket.headers.get("authorization")) or websocket.query_params.get("api_key")
    verifier: KeyVerifier = websocket.app.state.verifier
    principal = await asyncio.to_thread(verifier.verify, token) if token else None
    if principal is None:
        # Accept first: a close before accepting reaches the client as a bare HTTP 403.
        await websocket.accept()
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid or missing API key")
        return
    call_id = websocket.query_params.get("call_id") or None
    bus: EventBus = websocket.app.state.bus
    # Subscribe before reading the snapshot, so nothing that happens in between is lost.
    subscription = bus.subscribe(principal.organization_id, call_id)
    try:
        try:
            snapshot = await asyncio.to_thread(_snapshot, websocket.app.state.db, principal,
                                               call_id, websocket.app.state.engine.writer)
        except ApiError as exc:
            await websocket.accept()
            await websocket.close(code=CLOSE_NOT_FOUND, reason=exc.message[:120])
            return
        await websocket.accept()
        await websocket.send_json(snapshot.to_wire())
        receiver = asyncio.create_task(_drain(websocket))
        try:
            while not receiver.done():
                getter = asyncio.ensure_future(subscription.queue.get())
                done, _ = await asyncio.wait({getter, receiver}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                await websocket.send_json(getter.result())
        finally:
            receiver.cancel()
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client went away
    finally:
        bus.unsubscribe(subscription)


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) client messages until the client disconnects."""
    while True:
        message = await websocket.receive()
        if message.get("type") == "websocket.disconnect":
            return


__all__ = ["router"]
