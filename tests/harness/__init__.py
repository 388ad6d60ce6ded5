"""The test harness: real peers and engines on loopback, shared by the tests, the benchmarks
(``bench``) and the live screenshots (``docs/screenshots/make_live_shots.py``).

- ``engine_host``: an engine process on a loopback port, and API calls to it from sync code
- ``sip_engine``, ``webrtc_engine``: in-process engines with SIP (or WebRTC only) on loopback
- ``sip_server``: an engine process with SIP and the order-status agent, for the console
- ``sipp``, ``sipp_steps``: sipp as caller (UAC) and callee (UAS), and its scenario text
- ``callers``: sipp callers as a task, or on threads for code outside an event loop
- ``rtp``, ``tones``: the caller's media socket, A-law voices, tone sources and meters
- ``ports``: free loopback ports; ``receivers``: HTTP receivers for what the engine sends
- ``baresip``, ``kamailio``, ``pulse``: those programs started on loopback for a test
- ``tenants``, ``stores``: data for the API tests, a migrated store in a file
- ``live_console``: the console in a Qt test (imports Qt)

This package's face names the pieces most tests take; the heavier modules (engines, the console)
are imported from their own module.
"""

from tests.harness.engine_host import TEST_KEY, RunningEngine, run_api, start_engine
from tests.harness.ports import free_media_port, free_udp_port
from tests.harness.sipp import SippResult, SippUas, requires_sipp, run_sipp, write_scenario

__all__ = [
    "TEST_KEY",
    "RunningEngine",
    "SippResult",
    "SippUas",
    "free_media_port",
    "free_udp_port",
    "requires_sipp",
    "run_api",
    "run_sipp",
    "start_engine",
    "write_scenario",
]
