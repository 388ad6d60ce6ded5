"""``/v1/models``: the speech recognition models installed on this machine (whisper and vosk)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from engine.api.auth import Principal, principal_from
from engine.api.query import known_query
from engine.speech.models import list_models

router = APIRouter(tags=["models"])

Auth = Annotated[Principal, Depends(principal_from)]


@router.get("/v1/models", summary="The installed speech recognition models",
            dependencies=[Depends(known_query)])
async def get_models(request: Request, principal: Auth) -> dict[str, Any]:
    data_dir = request.app.state.engine.settings.data_dir
    models = await asyncio.to_thread(list_models, data_dir)
    return {"items": [m.as_dict() for m in models]}


__all__ = ["router"]
