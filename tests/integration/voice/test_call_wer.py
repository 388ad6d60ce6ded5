"""Real human telephone speech over a live SIP call: sipp plays Asterisk English prompts as G.711
A-law RTP to an agent with whisper tiny.en; its stored caller lines match the prompts' texts."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench.call_wer import play_prompts, select_prompts, setup_engine
from engine.app import Engine
from engine.speech.corpus import INSTALL_HINT
from engine.speech.wer import corpus_wer
from tests.harness.sipp import requires_sipp

os.environ["HF_HUB_OFFLINE"] = "1"
pytestmark = requires_sipp

PROMPTS = 8
PROMPT_MAX_S = 3.5  # short prompts keep the call near 15 s
CALL_WER_MAX = 0.15  # measured 5.6 % over 6 prompts on calls, 0 % direct (bench/call_wer.py)


@pytest.fixture
async def listener(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = setup_engine(tmp_path)
    await engine.start()
    assert engine.telephony is not None
    engine.telephony.agents.models.wait_warm(30)
    yield engine
    await engine.stop()
    engine.close()


async def test_asterisk_prompts_played_into_a_call_are_heard(listener: Engine,
                                                             tmp_path: Path) -> None:
    chosen = select_prompts(PROMPTS, max_s=PROMPT_MAX_S)
    if len(chosen) < PROMPTS:
        pytest.skip(f"the Asterisk prompts are not installed: {INSTALL_HINT}")
    heard = await play_prompts(listener, chosen, tmp_path)
    assert heard.sip_ok, heard.stderr
    assert all(text.strip() for _, text in heard.pairs), heard.pairs  # every prompt was heard
    error = corpus_wer(heard.pairs)
    print(f"\nwhisper tiny.en on {PROMPTS} Asterisk prompts over SIP: WER {error:.1%}")
    assert error <= CALL_WER_MAX, heard.pairs
