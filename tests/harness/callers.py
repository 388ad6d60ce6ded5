"""sipp callers: one dialling an in-process engine as a task on the test's event loop, and callers
on threads of their own for code outside an event loop (the console's Qt tests), with a media
socket nobody reads or a voice that answers the engine's RTP."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from tests.harness.rtp import AlawVoice, MediaSocket, bound_media_socket
from tests.harness.sip_engine import SipEngine
from tests.harness.sip_server import SipServer
from tests.harness.sipp import SippResult, run_sipp, write_scenario
from tests.harness.sipp_steps import recv_bye


def start_caller(engine: SipEngine, tmp_path: Path, media: MediaSocket,
                 scenario: Path | None = None) -> asyncio.Task[Any]:
    """sipp dialling the engine's number with ``scenario`` (by default: the call, then the
    engine's BYE within 50 s), its SDP pointing at ``media``; the task's result is sipp's."""
    xml = scenario or write_scenario(tmp_path / "caller.xml", recv_bye(50000))
    return asyncio.ensure_future(run_sipp(xml, engine.port, engine.number.lstrip("+"),
                                          limit_s=55, extra=["-key", "rtp_port", str(media.port)]))


class SippCaller:
    """A sipp caller on its own thread dialling ``server``'s number: after the call is set up it
    follows the class's ``steps``, then those it is given, then waits ``bye_within_ms`` for the
    engine's BYE. Its RTP port is ``media``, a socket nobody reads unless a subclass does.
    ``result`` is sipp's once ``close`` returned."""

    steps: tuple[str, ...] = ()
    bye_within_ms = 40_000
    limit_s: float | None = None  # sipp's own time limit; by default 5 s past the BYE's
    join_s = 60.0  # how long ``close`` waits for sipp
    scenario_name = "caller.xml"

    def __init__(self, server: SipServer, tmp: Path, *steps: str) -> None:
        self.media, media_port = bound_media_socket()
        self._media_bound()
        xml = write_scenario(tmp / self.scenario_name, *self.steps, *steps,
                             recv_bye(self.bye_within_ms))
        limit_s = self.limit_s or self.bye_within_ms / 1000 + 5
        self.result: SippResult | BaseException | None = None

        def run() -> None:
            try:
                self.result = asyncio.run(run_sipp(xml, server.sip_port, server.number.lstrip("+"),
                                                   limit_s=limit_s,
                                                   extra=["-key", "rtp_port", str(media_port)]))
            except BaseException as exc:  # handed to the test
                self.result = exc

        self.thread = threading.Thread(target=run, name="sipp-caller", daemon=True)
        self.thread.start()

    def _media_bound(self) -> None:
        """Runs once ``media`` is bound, before sipp dials."""

    def _media_done(self) -> None:
        """Runs once sipp has ended, before ``media`` is closed."""

    def close(self) -> None:
        self.thread.join(timeout=self.join_s)
        self._media_done()
        self.media.close()

    def check(self) -> None:
        assert isinstance(self.result, SippResult), self.result
        assert self.result.returncode == 0, self.result.stderr


class PlainCaller(SippCaller):
    """A sipp caller that talks to the number's agent and waits for the engine's BYE. Its media
    socket answers the engine's RTP with A-law silence every 20 ms (an answered call without RTP
    times out), or with espeak-ng speech queued by ``say``."""

    bye_within_ms = 100_000
    join_s = 120.0
    scenario_name = "plain_caller.xml"

    def _media_bound(self) -> None:
        self.voice = AlawVoice(self.media)

    def say(self, text: str) -> None:
        """Queue ``text`` as espeak-ng speech, 8 kHz A-law in 20 ms frames."""
        self.voice.say(text)

    def _media_done(self) -> None:
        self.voice.stop()
