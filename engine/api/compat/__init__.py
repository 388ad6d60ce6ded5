"""Drop-in endpoints for other platforms' clients, under ``/compat/<platform>``: Ovia's
``POST /api/v1/calls``, Callab's ``POST /v1/calls`` and Samva's ``GET /api/v1/voice/calls``,
each with the platform's key header, field names and response shape, over Switchboard's own
call logic. A client written for one of them changes only its base URL. The field-by-field
table is docs/compatibility.md."""

from fastapi import APIRouter

from engine.api.compat import callab, ovia, samva
from engine.api.compat.platform import COMPAT_KEY, Platform

router = APIRouter()
for _platform_router in (ovia.router, callab.router, samva.router):
    router.include_router(_platform_router)

__all__ = ["COMPAT_KEY", "Platform", "router"]
