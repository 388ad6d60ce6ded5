"""Waiting in async tests for what a real peer or engine does in its own time: poll a check until
it holds, with a deadline that fails the test saying what did not happen."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

POLL_S = 0.05  # how often a check is looked at again: cheap checks, engines that take 10s of ms


async def wait_for(check: Callable[[], Any], within: float = 15.0, what: str = "", *,
                   every_s: float = POLL_S) -> Any:
    """Polls ``check`` every ``every_s`` until it returns something truthy, and returns that; fails
    after ``within`` seconds, saying ``what``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(every_s)
