"""The espeak-ng voice catalogue as pyttsx3 lists it, printed as JSON by a child process.

pyttsx3's espeak driver initialises libespeak-ng in its own mode and installs its own synthesis
callback. Inside the engine that would take the library from :class:`engine.speech.espeak.Espeak`,
which speaks every live call, and silence it; so the catalogue is read in a process of its own:

    python -m engine.speech.voice_catalogue   # [{"id", "name", "language", "gender", "engine"}]
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from typing import Any


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").lstrip("\x05").strip()
    return str(value)


def voices() -> list[dict[str, Any]]:
    """Every voice pyttsx3's espeak driver lists (in this process: call it in a child)."""
    import pyttsx3

    with contextlib.redirect_stdout(io.StringIO()):  # pyttsx3's drivers print on some errors
        tts = pyttsx3.init("espeak")
        listed = tts.getProperty("voices")
    items = []
    for voice in listed or []:
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


def main() -> int:
    try:
        items = voices()
    except (RuntimeError, OSError, ImportError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    json.dump(items, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
