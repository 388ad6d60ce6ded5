"""``GET /v1/engine``: what this engine offers: its version, SIP (where it listens), WebRTC.
``GET/PUT /v1/engine/demo-callers``: the simulated callers kept in progress on its SIP port."""

# No ``from __future__ import annotations``: FastAPI reads the parameters from the signature.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from engine import __version__
from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError
from engine.api.host import ApiHost
from engine.api.routes.control import require_control
from engine.simulator.demo_callers import DemoCallers

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


# A demo on one machine: each caller also runs whisper, so more than a few saturate the CPU
MAX_DEMO_CALLERS = 20


class DemoCallersUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: StrictBool
    target: StrictInt | None = Field(default=None, ge=1, le=MAX_DEMO_CALLERS)


def _demo_callers(request: Request) -> DemoCallers:
    host: ApiHost = request.app.state.engine
    callers = host.demo_callers
    if callers is None:
        raise ApiError(409, "demo callers need SIP on (serve --sip-port)", "CONFLICT")
    return callers


@router.get("/v1/engine/demo-callers", summary="The demo's simulated callers",
            description="Whether new simulated calls start, how many are kept in progress "
                        "(target) and how many are now. 409 when SIP is off.")
async def demo_callers(request: Request, principal: Auth) -> dict[str, Any]:
    return _demo_callers(request).state()


@router.put("/v1/engine/demo-callers", summary="Start or stop the demo's simulated callers",
            description="enabled false: no new call starts (those in progress finish); true: "
                        "calls start again up to target. 409 when SIP is off.")
async def update_demo_callers(body: DemoCallersUpdate, request: Request,
                        principal: Auth) -> dict[str, Any]:
    require_control(principal, "switching demo callers")
    callers = _demo_callers(request)
    if body.target is not None:
        callers.target = body.target
    callers.enabled = body.enabled
    if body.enabled:
        callers.start()
    return callers.state()


__all__ = ["router"]
