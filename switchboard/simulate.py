"""``switchboard simulate``: simulated callers playing a persona against an engine (its SIP
address read from its API, each call's row read back) or any SIP address, up to N at once, with
a progress bar on stderr and a summary table at the end."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime

from engine.client import Client
from engine.settings import Settings
from engine.simulator import CallResult, Persona, PersonaError, SimulatedCaller, load_persona
from engine.simulator.caller import Line, render
from engine.speech.models import SpeechModels
from engine.speech.stt import SttEngine
from switchboard.simulate_engine import (
    EngineError,
    RowFinder,
    check_url,
    engine_sip,
    local_ip_for,
)
from switchboard.simulate_report import CallRow, Outcome, Progress, misses, summary

EXIT_OK = 0  # every call answered and reached its goal
EXIT_MISSED = 1  # some call was not answered, missed its goal, or has no row in the engine
EXIT_USAGE = 2  # bad input, or an engine that cannot be used
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)
# (the --help text, switchboard.cli.SIMULATE_EXIT_CODES, lists them)
SIP_ADDRESS = re.compile(r"(?:sip:)?(?P<host>[^@\s:/]+)(?::(?P<port>\d{1,5}))?")
NUMBER = re.compile(r"\+?[0-9]{1,20}")
DEFAULT_SIP_PORT = 5060  # RFC 3261's, when --sip names none
TICK_S = 1.0  # the terminal bar's clock is redrawn this often


class UsageError(Exception):
    """Bad input on the command line: one line naming the option."""


@dataclass(frozen=True)
class Target:
    """Where the calls go: the SIP host and port, and (``--engine``) its API."""

    host: str
    port: int
    api: Client | None = None

    def uri(self, number: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"sip:{number.lstrip('+')}@{host}:{self.port}"


def check_args(args: argparse.Namespace) -> None:
    """UsageError for the options argparse lets through."""
    if not NUMBER.fullmatch(args.number):
        raise UsageError(f"--number {args.number!r} is not a phone number (digits, + first)")
    if args.count < 1:
        raise UsageError(f"--count {args.count} must be at least 1")
    if args.concurrency < 1:
        raise UsageError(f"--concurrency {args.concurrency} must be at least 1")
    if not args.limit > 0:
        raise UsageError(f"--limit {args.limit:g} must be more than 0 seconds")
    if args.sim_sip is not None:
        match = SIP_ADDRESS.fullmatch(args.sim_sip)
        if match is None or (match["port"] is not None and not 0 < int(match["port"]) < 65536):
            raise UsageError(f"--sip {args.sim_sip!r} is not sip:HOST[:PORT]")
    elif not args.sim_api_key:
        raise UsageError("--engine needs --api-key (the engine's API key)")


async def _target(args: argparse.Namespace) -> Target:
    if args.sim_sip is not None:
        match = SIP_ADDRESS.fullmatch(args.sim_sip)
        assert match is not None
        return Target(match["host"], int(match["port"] or DEFAULT_SIP_PORT))
    url = check_url(args.sim_engine)
    api = Client(url, args.sim_api_key, timeout=10.0)
    try:
        host, port = await engine_sip(api, url)
    except BaseException:
        await api.aclose()
        raise
    return Target(host, port, api)


async def _whisper(models: SpeechModels) -> SttEngine:
    """The recogniser every call shares (whisper tiny.en, loaded before the first call; its
    decodes run on its own worker threads, as the engine's calls share it)."""
    stt = await asyncio.to_thread(models.whisper)
    load = getattr(stt, "load", None)
    if load is not None:
        await asyncio.to_thread(load)
    return stt


async def _one(index: int, persona: Persona, lines: dict[str, Line], stt: SttEngine,
               uri: str, local_ip: str, limit_s: float, rows: RowFinder | None) -> Outcome:
    try:
        result = await SimulatedCaller(persona, stt, local_ip=local_ip, lines=lines).call(
            uri, limit_s=limit_s)
    except OSError as exc:  # no RTP port or socket for the caller
        result = CallResult(persona.name, uri, error=f"{type(exc).__name__}: {exc}")
    if rows is None:
        return Outcome(index, result)
    found = await rows.find(result)
    if isinstance(found, CallRow):
        return Outcome(index, result, found)
    return Outcome(index, result, None, found)


async def run_calls(args: argparse.Namespace, persona: Persona) -> list[Outcome]:
    """``args.count`` calls of ``persona``, up to ``args.concurrency`` at once."""
    target = await _target(args)
    models = SpeechModels(Settings.from_env(args.data_dir).data_dir)
    progress = Progress(args.count, sys.stderr)
    ticker: asyncio.Task[None] | None = None
    try:
        try:
            local_ip = local_ip_for(target.host, target.port)
        except OSError as exc:
            raise EngineError(f"no route to the SIP address {target.host}:{target.port}: "
                              f"{exc}") from None
        lines, stt = await asyncio.gather(render(persona), _whisper(models))
        rows = RowFinder(target.api, args.number, datetime.now(UTC)) \
            if target.api is not None else None
        uri = target.uri(args.number)
        gate = asyncio.Semaphore(min(args.concurrency, args.count))

        async def call(index: int) -> Outcome:
            async with gate:
                progress.call_started()
                outcome = await _one(index, persona, lines, stt, uri, local_ip, args.limit, rows)
                progress.call_finished(outcome)
                return outcome

        if progress.tty:
            ticker = asyncio.create_task(_tick(progress))
        return list(await asyncio.gather(*(call(i) for i in range(1, args.count + 1))))
    finally:
        if ticker is not None:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
        progress.close()
        await models.aclose()
        if target.api is not None:
            await target.api.aclose()


async def _tick(progress: Progress) -> None:
    while True:
        await asyncio.sleep(TICK_S)
        progress.tick()


def run_simulate(args: argparse.Namespace) -> int:
    try:
        check_args(args)
        persona = load_persona(args.persona)
        outcomes = asyncio.run(run_calls(args, persona))
    except (UsageError, PersonaError, EngineError) as exc:
        print(f"switchboard simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("switchboard simulate: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    print(summary(outcomes, with_rows=args.sim_engine is not None))
    good = all(o.result.answered and o.result.goal_reached and not misses(o) for o in outcomes)
    return EXIT_OK if good else EXIT_MISSED


__all__ = ["Target", "UsageError", "check_args", "run_calls", "run_simulate"]
