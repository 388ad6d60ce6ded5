"""``/v1/voices``: the TTS voices installed on this machine (espeak-ng, listed through pyttsx3).

pyttsx3 reads the catalogue in a child process (engine.speech.voice_catalogue): inside the engine
its espeak driver would take over libespeak-ng, which speaks the live calls. The catalogue is read
once, on first request, under a lock, and kept: installed voices change only when packages do.
"""

from __future__ import annotations

import ctypes.util
import json
import logging
import subprocess
import sys
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError
from engine.api.query import known_query

log = logging.getLogger(__name__)

router = APIRouter(tags=["voices"])

Auth = Annotated[Principal, Depends(principal_from)]

MISSING = ("the espeak-ng speech synthesizer is not installed; install the Debian packages "
           "espeak-ng and libespeak-ng1 (sudo apt-get install espeak-ng libespeak-ng1)")
CATALOGUE_TIMEOUT_S = 30.0

_lock = threading.Lock()
_catalogue: list[dict[str, Any]] | None = None


def _load() -> list[dict[str, Any]]:
    """Every espeak-ng voice as ``{"id", "name", "language", "gender", "engine"}``."""
    if ctypes.util.find_library("espeak-ng") is None and ctypes.util.find_library("espeak") is None:
        raise LookupError(MISSING)
    try:
        done = subprocess.run([sys.executable, "-m", "engine.speech.voice_catalogue"],
                              capture_output=True, text=True, timeout=CATALOGUE_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LookupError(f"{MISSING} ({exc})") from exc
    if done.returncode != 0:
        raise LookupError(f"{MISSING} ({done.stderr.strip()[-300:]})")
    items: list[dict[str, Any]] = json.loads(done.stdout)
    return items


def catalogue() -> list[dict[str, Any]]:
    """The installed voices, loaded once; LookupError (saying what to install) when there are none."""
    global _catalogue
    with _lock:
        if _catalogue is None:
            _catalogue = _load()
            log.info("voice catalogue: %d espeak-ng voices", len(_catalogue))
        return _catalogue


@router.get("/v1/voices", summary="The installed TTS voices", dependencies=[Depends(known_query)])
def list_voices(principal: Auth) -> dict[str, Any]:
    try:
        return {"items": catalogue()}
    except LookupError as exc:
        raise ApiError(503, str(exc.args[0]), "TTS_UNAVAILABLE") from None


__all__ = ["catalogue", "router"]
