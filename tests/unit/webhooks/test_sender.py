"""The sender over an in-memory HTTP transport, in virtual time: retries, backoff waits, the
delivery log's states, deadlines. Nothing here waits for real except one short deadline test."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from engine.webhooks import MemoryDeliveryLog, Sender, Target, backoff_delays, verify
from engine.webhooks.signing import EVENT_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER

SECRET = "whsec_unit_0123456789"
TARGET = Target("hook-1", "org-1", "http://127.0.0.1:9/hook", SECRET, {"X-Custom": "yes"}, 2.0)
MESSAGE = {"message": {"type": "end-of-call-report", "call": {"id": "call-1"}}}


@dataclass
class VirtualTime:
    """A sleep that advances a virtual clock instead of waiting."""

    now: float = 1_700_000_000.0
    waits: list[float] = field(default_factory=list)

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@dataclass
class Receiver:
    """Answers each request with the next scripted status (the last one repeats)."""

    codes: list[int]
    body: Any = None
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        code = self.codes[min(len(self.requests) - 1, len(self.codes) - 1)]
        if self.body is not None:
            return httpx.Response(code, json=self.body)
        return httpx.Response(code, text="" if code < 400 else "boom")


@pytest.fixture
def vt() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
async def make_sender(vt: VirtualTime) -> AsyncIterator[Callable[[Any], tuple[Sender, MemoryDeliveryLog]]]:
    clients: list[httpx.AsyncClient] = []

    def make(handler: Any) -> tuple[Sender, MemoryDeliveryLog]:
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        clients.append(client)
        log = MemoryDeliveryLog()
        return Sender(client, log, backoff_base_s=1.0, sleep=vt.sleep, clock=vt.clock), log

    yield make
    for client in clients:
        await client.aclose()


async def test_report_retried_after_two_500s_then_delivered(make_sender: Any, vt: VirtualTime) -> None:
    receiver = Receiver([500, 500, 200])
    sender, log = make_sender(receiver)
    delivery = await sender.deliver(TARGET, "end-of-call-report", MESSAGE, call_id="call-1")
    assert delivery.status == "delivered" and delivery.ok
    assert delivery.attempts == 3
    assert delivery.response_code == 200
    assert delivery.last_error is None
    assert vt.waits == [1.0, 4.0]
    assert [(s["status"], s["attempts"], s["response_code"]) for s in log.saved] == [
        ("pending", 0, None), ("pending", 1, 500), ("pending", 2, 500), ("delivered", 3, 200)]
    assert log.saved[1]["last_error"] == "HTTP 500: boom"
    bodies = {r.content for r in receiver.requests}
    assert len(bodies) == 1  # every attempt sends the same bytes
    for request in receiver.requests:
        assert verify(SECRET, request.content, request.headers[SIGNATURE_HEADER])
        assert request.headers[EVENT_HEADER] == "end-of-call-report"
        assert request.headers["X-Custom"] == "yes"
    stamps = [int(r.headers[TIMESTAMP_HEADER]) for r in receiver.requests]
    assert stamps == [1_700_000_000, 1_700_000_001, 1_700_000_005]  # virtual time moved on


async def test_report_gives_up_after_max_attempts(make_sender: Any, vt: VirtualTime) -> None:
    sender, log = make_sender(Receiver([503]))
    delivery = await sender.deliver(TARGET, "end-of-call-report", MESSAGE)
    assert delivery.status == "failed"
    assert delivery.attempts == 5
    assert delivery.response_code == 503
    assert vt.waits == backoff_delays() == [1.0, 4.0, 16.0, 64.0]
    assert log.saved[-1]["status"] == "failed"


async def test_client_errors_are_not_retried(make_sender: Any, vt: VirtualTime) -> None:
    sender, _ = make_sender(Receiver([404]))
    delivery = await sender.deliver(TARGET, "end-of-call-report", MESSAGE)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("failed", 1, 404)
    assert vt.waits == []


async def test_other_events_get_one_attempt_and_one_row(make_sender: Any, vt: VirtualTime) -> None:
    receiver = Receiver([500])
    sender, log = make_sender(receiver)
    delivery = await sender.deliver(TARGET, "status-update", {"message": {"type": "status-update"}})
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert len(receiver.requests) == 1
    assert vt.waits == []
    assert [s["status"] for s in log.saved] == ["failed"]


async def test_connection_errors_are_retried(make_sender: Any, vt: VirtualTime) -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(204)

    sender, _ = make_sender(handler)
    delivery = await sender.deliver(TARGET, "end-of-call-report", MESSAGE)
    assert (delivery.status, delivery.attempts, delivery.response_code) == ("delivered", 2, 204)
    assert vt.waits == [1.0]


async def test_answer_json_is_kept(make_sender: Any) -> None:
    sender, _ = make_sender(Receiver([200], body={"agent_id": "a-2"}))
    delivery = await sender.deliver(TARGET, "assistant-request", {"message": {}})
    assert delivery.answer == {"agent_id": "a-2"}


async def test_deadline_cuts_a_slow_receiver_short(make_sender: Any) -> None:
    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(30)
        return httpx.Response(200)

    sender, log = make_sender(slow)
    loop = asyncio.get_running_loop()
    started = loop.time()
    delivery = await sender.deliver(TARGET, "assistant-request", {"message": {}}, deadline_s=0.05,
                                    log_later=True)
    assert loop.time() - started < 1.0
    assert delivery.status == "failed"
    assert delivery.last_error == "no answer within 0.05 s"
    await sender.drain(1.0)
    assert log.saved[-1]["status"] == "failed"


async def test_the_secret_is_never_logged(make_sender: Any) -> None:
    sender, log = make_sender(Receiver([500, 200]))
    await sender.deliver(TARGET, "end-of-call-report", MESSAGE)
    assert SECRET not in json.dumps(log.saved, default=str)
    assert SECRET not in repr(TARGET)
