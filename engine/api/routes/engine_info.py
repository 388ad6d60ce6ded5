"""``GET /v1/engine``: what this engine offers: its version, SIP (where it listens), WebRTC."""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signature.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from engine import __version__
from engine.api.auth import Principal, principal_from

router = APIRouter(tags=["engine"])

Auth = Annotated[Principal, Depends(principal_from)]


@router.get("/v1/engine", summary="The engine's version and what it listens on",
            description="SIP: enabled, and the host and port it listens on (UDP and TCP) when it "
                        "does. WebRTC (web calls, joins) is always on.")
def engine_info(request: Request, principal: Auth) -> dict[str, Any]:
    engine = request.app.state.engine
    port = engine.sip_port
    return {
        "version": __version__,
        "sip": {"enabled": port is not None,
                "host": engine.settings.sip_host if port is not None else None,
                "port": port},
        "webrtc": {"enabled": True},
    }


__all__ = ["router"]
