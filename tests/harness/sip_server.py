"""An engine process with SIP on a free loopback port and a number routed to the demo
order-status agent, for the console's live tests (a sipp caller rings it; the console watches and
steers the call through the engine's API)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from engine.client import Client
from tests.harness.engine_host import RunningEngine, run_api, start_engine
from tests.harness.ports import free_udp_port
from tests.harness.sip_engine import order_status_agent


@dataclass
class SipServer:
    engine: RunningEngine
    sip_port: int
    agent_id: str
    number: str  # routed to the agent; the callers dial it
    user_id: str = ""  # a console user (a human agent) to transfer calls to, when asked for


def serve_order_status(data_dir: Path, number: str, *, idle_timeout_seconds: int,
                       user: dict[str, Any] | None = None) -> Iterator[SipServer]:
    """The engine, ``number`` routed to the order-status agent (hanging up after
    ``idle_timeout_seconds`` of silence), and a console user made of ``user``'s fields when
    given; the engine stops when the iterator is closed."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    port = free_udp_port()
    engine = start_engine(data_dir, extra_args=("--sip-host", "127.0.0.1", "--sip-port", str(port)))
    try:
        async def setup(api: Client) -> tuple[str, str]:
            agent = await api.agents.create(
                **order_status_agent(idle_timeout_seconds=idle_timeout_seconds))
            await api.phone_numbers.create(number=number, label="main", agent_id=agent["id"])
            user_id = str((await api.users.create(**user))["id"]) if user is not None else ""
            return str(agent["id"]), user_id

        agent_id, user_id = run_api(engine, setup)
        yield SipServer(engine, port, agent_id, number, user_id)
    finally:
        engine.stop()


def sip_server_fixture(name: str, number: str, *, idle_timeout_seconds: int,
                       user: dict[str, Any] | None = None) -> Callable[..., Iterator[SipServer]]:
    """A module-scoped fixture serving ``serve_order_status`` from a data directory named after
    ``name``; assign it to ``sip_server`` in the test module."""

    @pytest.fixture(scope="module")
    def sip_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SipServer]:
        """An engine process with SIP on loopback and a number routed to the order-status agent."""
        yield from serve_order_status(tmp_path_factory.mktemp(name), number,
                                      idle_timeout_seconds=idle_timeout_seconds, user=user)

    return sip_server
