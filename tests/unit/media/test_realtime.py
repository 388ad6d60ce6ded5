"""The media thread and the RTP pacer ask for real-time scheduling: granted where the system
allows it, and then only for themselves (threads they start run at normal priority); refused
quietly elsewhere."""

from __future__ import annotations

import os
import threading

import pytest

from engine.media.loop import MediaLoop
from engine.media.realtime import request_realtime
from engine.sip.rtp_pacer import RtpPacer

pytestmark = pytest.mark.skipif(not hasattr(os, "sched_getscheduler"),
                                reason="POSIX scheduling policies (Linux)")
RESET_ON_FORK = getattr(os, "SCHED_RESET_ON_FORK", 0)


def _policy(tid: int) -> int:
    return os.sched_getscheduler(tid) & ~RESET_ON_FORK


def _started_thread_policy() -> int:
    """The policy of a thread started from the calling thread."""
    seen: list[int] = []
    child = threading.Thread(target=lambda: seen.append(_policy(0)))
    child.start()
    child.join()
    return seen[0]


@pytest.mark.parametrize("realtime", [True, False])
async def test_the_media_thread_runs_real_time_where_allowed(realtime: bool) -> None:
    loop = MediaLoop(realtime=realtime)
    loop.start()
    try:
        thread = loop._thread
        assert thread is not None and thread.native_id is not None
        policy = _policy(thread.native_id)
        assert loop.realtime_granted == (policy == os.SCHED_RR)
        if not realtime:
            assert policy == os.SCHED_OTHER and not loop.realtime_granted
        # its helper threads (e.g. an executor's) do not inherit it
        assert await loop.call_soon_wait(_started_thread_policy) == os.SCHED_OTHER
    finally:
        await loop.stop()


def test_the_pacer_runs_real_time_where_allowed() -> None:
    pacer = RtpPacer.start(realtime=True)
    if pacer is None:
        pytest.skip("no RTP pacer on this platform")
    try:
        assert pacer.realtime == (_policy(pacer.process.pid) == os.SCHED_RR)
    finally:
        pacer.stop()
    plain = RtpPacer.start()
    assert plain is not None
    try:
        assert not plain.realtime and _policy(plain.process.pid) == os.SCHED_OTHER
    finally:
        plain.stop()


def test_a_refused_request_changes_nothing() -> None:
    before = _policy(0)
    assert request_realtime(0) is False  # not a SCHED_RR priority: refused, as EPERM would be
    assert _policy(0) == before
