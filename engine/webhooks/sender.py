"""Sends one event to one receiver: a signed POST, retried with backoff when asked, every state
of the delivery saved to the delivery log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from engine.store import utcnow
from engine.webhooks.backoff import (
    BACKOFF_BASE_S,
    MAX_ATTEMPTS,
    RETRIED_EVENTS,
    backoff_delays,
    retryable,
)
from engine.webhooks.deliveries import DELIVERED, FAILED, Delivery, DeliveryLog
from engine.webhooks.signing import encode, request_headers
from engine.webhooks.targets import Target

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[object]]

ERROR_TEXT_LIMIT = 300  # characters of a receiver's error answer kept in last_error


class Sender:
    """Delivers messages over one shared httpx client."""

    def __init__(self, client: httpx.AsyncClient, deliveries: DeliveryLog, *,
                 backoff_base_s: float = BACKOFF_BASE_S, max_attempts: int = MAX_ATTEMPTS,
                 sleep: Sleep = asyncio.sleep, clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.deliveries = deliveries
        self.backoff_base_s = backoff_base_s
        self.max_attempts = max_attempts
        self.sleep = sleep
        self.clock = clock
        self._background: set[asyncio.Task[None]] = set()

    async def deliver(self, target: Target, event: str, message: dict[str, Any], *,
                      call_id: str | None = None, retry: bool | None = None,
                      deadline_s: float | None = None, log_later: bool = False) -> Delivery:
        """POST ``message`` to ``target``; returns the finished delivery (never raises on HTTP
        failures). ``retry`` defaults to the event being a report; ``deadline_s`` bounds a
        single attempt; with ``log_later`` the final row is written after returning."""
        attempts = self.max_attempts if (event in RETRIED_EVENTS if retry is None else retry) else 1
        delays = backoff_delays(attempts, self.backoff_base_s)
        delivery = Delivery(target.organization_id, target.id, event, message, call_id)
        body = encode(message)
        if attempts > 1:
            await self.deliveries.save(delivery)  # visible as pending while it is retried
        try:
            for attempt in range(1, attempts + 1):
                code, error, answer = await self._post(target, event, body, delivery.id, deadline_s)
                delivery.attempts = attempt
                delivery.response_code = code
                delivery.last_error = error
                delivery.answer = answer
                if error is None:
                    delivery.status = DELIVERED
                    delivery.delivered_at = utcnow()
                    break
                if attempt == attempts or not retryable(code):
                    delivery.status = FAILED
                    break
                await self.deliveries.save(delivery)
                log.info("webhook %s: %s attempt %d failed (%s); next in %g s", target.id, event,
                         attempt, error, delays[attempt - 1])
                await self.sleep(delays[attempt - 1])
        except asyncio.CancelledError:
            delivery.status = FAILED
            delivery.last_error = "the engine stopped before the delivery finished"
            with contextlib.suppress(Exception):
                await self.deliveries.save(delivery)
            raise
        if delivery.status == FAILED:
            log.warning("webhook %s: %s not delivered after %d attempt(s): %s", target.id, event,
                        delivery.attempts, delivery.last_error)
        if log_later:
            task = asyncio.get_running_loop().create_task(self._save_quietly(delivery))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        else:
            await self.deliveries.save(delivery)
        return delivery

    async def _save_quietly(self, delivery: Delivery) -> None:
        try:
            await self.deliveries.save(delivery)
        except Exception:
            log.exception("webhook delivery %s: could not write its log row", delivery.id)

    async def _post(self, target: Target, event: str, body: bytes, delivery_id: str,
                    deadline_s: float | None) -> tuple[int | None, str | None, Any]:
        """One attempt: (response code, error or None on 2xx, parsed JSON answer or None)."""
        headers = request_headers(target.headers, target.secret, body, event, delivery_id,
                                  int(self.clock()))
        limit = target.timeout_s if deadline_s is None else max(0.001, min(target.timeout_s, deadline_s))
        try:
            async with asyncio.timeout(limit):
                response = await self.client.post(target.url, content=body, headers=headers,
                                                  timeout=limit)
        except (TimeoutError, httpx.TimeoutException):
            return None, f"no answer within {limit:g} s", None
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"[:ERROR_TEXT_LIMIT], None
        answer: Any = None
        if response.content:
            try:
                answer = response.json()
            except ValueError:
                answer = None
        code = response.status_code
        if 200 <= code < 300:
            return code, None, answer
        text = response.text.strip()
        error = f"HTTP {code}" + (f": {text}" if text else "")
        return code, error[:ERROR_TEXT_LIMIT], answer

    async def drain(self, within_s: float) -> None:
        """Wait for the log rows still being written."""
        if self._background:
            await asyncio.wait(set(self._background), timeout=within_s)


__all__ = ["Sender", "Sleep"]
