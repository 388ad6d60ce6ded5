"""Real-time scheduling for the two things that keep the media's time: the media thread and the
RTP pacer process.

On a busy machine a thread woken at its deadline waits for a core behind every other runnable
thread, and a media thread waiting for the interpreter lock waits behind every other thread that
wants it too. Audio servers (PipeWire, JACK) ask for a real-time policy for this; so does the
engine, where the system allows it (root, ``CAP_SYS_NICE``, or an ``RLIMIT_RTPRIO`` above zero,
as ``/etc/security/limits.d`` grants the ``audio`` group on many distributions). Elsewhere the
request is refused and everything runs as before, at normal priority.

The policy is ``SCHED_RR`` at a low priority, so kernel threads and audio servers still come
first, with ``SCHED_RESET_ON_FORK``: threads and processes started from a real-time thread run
at normal priority. The kernel's real-time throttling (95 % of each core by default) bounds what
a runaway real-time thread could take.
"""

from __future__ import annotations

import logging
import os

log = logging.getLogger(__name__)

MEDIA_PRIORITY = 10  # the media thread: mixes and encodes every call's frame each tick
PACER_PRIORITY = 11  # the RTP pacer: sends the packets at their slot; it must preempt the mixer


def request_realtime(priority: int, pid: int = 0) -> bool:
    """Puts thread ``pid`` (0: the calling thread; a process's main thread has its pid) under
    ``SCHED_RR`` at ``priority``; whether the system allowed it."""
    if not hasattr(os, "sched_setscheduler") or not hasattr(os, "SCHED_RR"):
        return False
    policy = os.SCHED_RR | getattr(os, "SCHED_RESET_ON_FORK", 0)
    try:
        os.sched_setscheduler(pid, policy, os.sched_param(priority))
    except OSError as exc:
        log.debug("real-time scheduling refused for %d: %s", pid, exc)
        return False
    return True
