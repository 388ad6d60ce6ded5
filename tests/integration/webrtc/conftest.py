"""Fixtures for the WebRTC tests: an in-process engine with SIP on loopback and the demo
order-status agent, its API on an in-process transport (``tests.harness.webrtc_engine``)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest_asyncio

from tests.harness.webrtc_engine import WebRtcEngine, open_webrtc_engine

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def rtc_engine(tmp_path_factory: Any) -> AsyncIterator[WebRtcEngine]:
    voice = {"engine": "espeak-ng", "voice": "en-us+f3", "rate": 170, "pitch": 55}
    async with open_webrtc_engine(tmp_path_factory.mktemp("webrtc"), tts=voice,
                                  idle_timeout_seconds=30, interruptible=False) as rtc:
        yield rtc
