"""``/v1/voices``: the TTS voices installed on this machine (espeak-ng, listed through pyttsx3).

The catalogue is read once, on first request, under a lock (pyttsx3 is not thread-safe) and kept:
installed voices change only when packages do.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import io
import logging
import threading
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from engine.api.auth import Principal, principal_from
from engine.api.errors import ApiError

log = logging.getLogger(__name__)

router = APIRouter(tags=["voices"])

Auth = Annotated[Principal, Depends(principal_from)]

MISSING = ("the espeak-ng speech synthesizer is not installed; install the Debian packages "
           "espeak-ng and libespeak-ng1 (sudo apt-get install espeak-ng libespeak-ng1)")

_lock = threading.Lock()
_catalogue: list[dict[str, Any]] | None = None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lstrip("\x05").strip()
    return str(value)


def _load() -> list[dict[str, Any]]:
    """Every espeak-ng voice as ``{"id", "name", "language", "gender", "engine"}``."""
    if ctypes.util.find_library("espeak-ng") is None and ctypes.util.find_library("espeak") is None:
        raise LookupError(MISSING)
    import pyttsx3

    with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3's drivers print on some errors
        try:
            tts = pyttsx3.init("espeak")
            voices = tts.getProperty("voices")
        except (RuntimeError, OSError, ImportError) as exc:
            raise LookupError(f"{MISSING} ({exc})") from exc
    items = []
    for voice in voices or []:
        languages = [_text(lang) for lang in (voice.languages or [])]
        gender = (voice.gender or "").lower() or None
        items.append({
            "id": _text(voice.id),
            "name": _text(voice.name),
            "language": languages[0] if languages else None,
            "gender": gender if gender in ("male", "female") else None,
            "engine": "espeak-ng",
        })
    items.sort(key=lambda v: (v["language"] or "", v["name"]))
    return items


def catalogue() -> list[dict[str, Any]]:
    """The installed voices, loaded once; LookupError (saying what to install) when there are none."""
    global _catalogue
    with _lock:
        if _catalogue is None:
            _catalogue = _load()
            log.info("voice catalogue: %d espeak-ng voices", len(_catalogue))
        return _catalogue


@router.get("/v1/voices", summary="The installed TTS voices")
def list_voices(principal: Auth) -> dict[str, Any]:
    try:
        return {"items": catalogue()}
    except LookupError as exc:
        raise ApiError(503, str(exc.args[0]), "TTS_UNAVAILABLE") from None


__all__ = ["catalogue", "router"]
