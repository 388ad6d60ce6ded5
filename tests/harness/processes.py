"""Ending the child processes the harness starts (engines, PulseAudio, baresip, kamailio):
politely first, by force when they do not exit in time."""

from __future__ import annotations

import asyncio
import subprocess
from typing import Any


def stop_popen(process: subprocess.Popen[Any], timeout: float = 10.0) -> int:
    """Terminates ``process`` if it runs, waits ``timeout`` seconds, then kills it; its exit
    code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


async def stop_process(process: asyncio.subprocess.Process, within: float) -> None:
    """The same for a process started by asyncio, waiting ``within`` seconds."""
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), within)
        except TimeoutError:
            process.kill()
            await process.wait()
