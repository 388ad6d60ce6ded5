"""``switchboard simulate``: its bad input, the progress it shows, the summary table, and the
engine lookups (its SIP address, each call's row) against the engine's API in process (the
calls themselves: tests/integration/simulator/test_simulate_engine.py)."""

from __future__ import annotations

import io
import re
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from engine.api import create_app
from engine.app import Engine
from engine.client import Client
from engine.settings import Settings
from engine.simulator import CallResult, Turn
from engine.store import Call, session_scope
from switchboard.cli import main
from switchboard.simulate_engine import EngineError, RowFinder, engine_sip, local_ip_for
from switchboard.simulate_report import (
    CallRow,
    Outcome,
    Progress,
    bar,
    call_line,
    percentile,
    summary,
)

KEY = "sb_test_admin_key_0123456789abcdefghijklmnop"
NUMBER = "+14155550134"


def _rows(table: str) -> dict[str, str]:
    """The totals of a summary: name -> value."""
    totals = table.split("\n\n")[0]
    return dict(re.split(r"\s{2,}", line, maxsplit=1) for line in totals.splitlines())


def _calls(table: str) -> list[list[str]]:
    """The per-call rows of a summary, split at runs of two spaces or more (header first)."""
    return [re.split(r"\s{2,}", line.rstrip()) for line in table.split("\n\n")[1].splitlines()]


GOOD = CallResult("p", "sip:1@h", sip_status=200, answered=True, goal_reached=True,
                  sip_call_id="a", turns=[Turn("a", 300.0), Turn("b", 500.0), Turn("c", None)])
MISSED = CallResult("p", "sip:1@h", sip_status=200, answered=True, sip_call_id="b",
                    goal_missing=["heard 'order number'"], turns=[Turn("a", 400.0)])
REFUSED = CallResult("p", "sip:1@h", sip_status=404, sip_call_id="c",
                     goal_missing=["answered (SIP status 404)", "heard 'order number'"])


# -- the summary -------------------------------------------------------------------------------

def test_the_summary_counts_calls_completions_goals_and_latency_percentiles() -> None:
    outcomes = [Outcome(1, GOOD, CallRow("c1", "completed", "agent_hangup")),
                Outcome(2, MISSED, CallRow("c2", "failed", "error")),
                Outcome(3, REFUSED)]
    table = summary(outcomes, with_rows=True)
    rows = _rows(table)
    assert rows["calls"] == "3" and rows["answered"] == "2" and rows["goal reached"] == "1"
    assert rows["completed"] == "1"
    assert rows["voice-to-voice p50"] == "400 ms" and rows["voice-to-voice p95"] == "490 ms"
    assert rows["turns measured"] == "3"
    header, *calls = _calls(table)
    assert header == ["call", "SIP", "status", "end reason", "v2v p50", "misses"]
    assert calls[0] == ["1", "200", "completed", "agent_hangup", "400 ms", "-"]
    assert calls[1] == ["2", "200", "failed", "error", "400 ms", "heard 'order number'"]
    # a call nobody answered: its SIP status, and no list of what it did not hear
    assert calls[2] == ["3", "404", "-", "-", "-", "answered (SIP status 404)"]


def test_without_the_engine_completions_are_unknown_and_a_missing_row_is_a_miss() -> None:
    assert _rows(summary([Outcome(1, GOOD)], with_rows=False))["completed"] == "-"
    lost = Outcome(1, GOOD, None, "no row in the engine's calls")
    assert _calls(summary([lost], with_rows=True))[1][-1] == "no row in the engine's calls"
    assert _rows(summary([], with_rows=False))["calls"] == "0"
    assert percentile([], 0.5) is None and percentile([7.0], 0.95) == 7.0


def test_a_finished_call_in_a_line() -> None:
    line = call_line(Outcome(2, GOOD, CallRow("c1", "completed", "agent_hangup")), 5)
    assert line.startswith("call 2/5: SIP 200, completed (agent_hangup), ")
    assert line.endswith("goal reached")
    stuck = CallResult("p", "sip:1@h", sip_status=200, answered=True,
                       error="the call was still on after 5 s")
    assert call_line(Outcome(1, stuck), 1).endswith("missed: the call was still on after 5 s")
    assert call_line(Outcome(3, REFUSED), 3) == \
        "call 3/3: SIP 404, missed: answered (SIP status 404)"


# -- progress ----------------------------------------------------------------------------------

def test_the_bar_shows_finished_calls_and_those_on() -> None:
    assert bar(0, 0, 4, 0.0, width=8) == "[........] 0/4 done, 0 on, 0 s"
    assert bar(2, 1, 4, 12.4, width=8) == "[####>>..] 2/4 done, 1 on, 12 s"
    assert bar(1, 1, 3, 1.0, width=8) == "[##>>>...] 1/3 done, 1 on, 1 s"
    assert bar(4, 0, 4, 30.0, width=8) == "[########] 4/4 done, 0 on, 30 s"


def test_off_a_terminal_each_finished_call_is_a_line() -> None:
    out = io.StringIO()
    progress = Progress(2, out, tty=False)
    progress.call_started()
    progress.call_started()
    assert out.getvalue() == ""
    progress.call_finished(Outcome(2, REFUSED))
    progress.call_finished(Outcome(1, GOOD))
    progress.tick()
    progress.close()
    assert out.getvalue().splitlines() == [
        "call 2/2: SIP 404, missed: answered (SIP status 404)",
        "call 1/2: SIP 200, 0 lines said, 0 heard, ended by -, goal reached"]
    assert "\r" not in out.getvalue()


def test_on_a_terminal_one_bar_is_redrawn_in_place() -> None:
    now = [100.0]
    out = io.StringIO()
    progress = Progress(2, out, tty=True, clock=lambda: now[0])
    progress.call_started()
    now[0] += 3
    progress.tick()
    progress.call_finished(Outcome(1, REFUSED))
    progress.close()
    text = out.getvalue()
    assert "\n" not in text.rstrip("\n") and text.endswith("\n")
    frames = text.rstrip("\n").split("\r")[1:]
    assert frames[0].startswith("[") and frames[0].endswith("0/2 done, 1 on, 0 s")
    assert frames[1].endswith("0/2 done, 1 on, 3 s")
    assert frames[2].rstrip().endswith("1/2 done, 0 on, 3 s, 1 missed")


def test_a_shorter_bar_blanks_what_the_longer_one_left() -> None:
    out = io.StringIO()
    progress = Progress(20, out, tty=True, clock=lambda: 0.0)
    for _ in range(10):
        progress.call_started()
    progress.call_finished(Outcome(1, GOOD))  # "10 on" becomes "9 on"
    longer, shorter = out.getvalue().split("\r")[-2:]
    assert longer.endswith("0/20 done, 10 on, 0 s")
    assert shorter == "[#>>>>>>>>>>>............] 1/20 done, 9 on, 0 s "


# -- bad input ---------------------------------------------------------------------------------

def _simulate(*args: str) -> list[str]:
    return ["simulate", "--persona", "order_status", "--number", NUMBER, *args]


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["simulate", "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    codes = re.findall(r"^  (\d+) ", text.split("exit codes:")[1], re.MULTILINE)
    assert codes == ["0", "1", "2", "130"]
    assert "--concurrency" in text and "--engine" in text and "--sip" in text


def test_an_unknown_persona_names_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--persona", "nobody", "--number", "100", "--sip",
                 "sip:127.0.0.1:5999"])
    assert code == 2
    err = capsys.readouterr().err
    assert "unknown persona 'nobody'; known:" in err and "order_status" in err
    assert len(err.strip().splitlines()) == 1


def test_a_malformed_persona_file_names_its_path_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("name: broken\ndescription: d\ngoal: g\nsteps:\n  - dtmf: xyz\n")
    monkeypatch.setenv("SWITCHBOARD_PERSONAS", str(tmp_path))
    code = main(["simulate", "--persona", "broken", "--number", "100", "--sip",
                 "sip:127.0.0.1:5999"])
    assert code == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "steps[0].dtmf" in err


@pytest.mark.parametrize(("args", "message"), [
    (["--number", "sales", "--sip", "sip:127.0.0.1"], "--number 'sales' is not a phone number"),
    (["--sip", "http://x/"], "--sip 'http://x/' is not sip:HOST[:PORT]"),
    (["--sip", "sip:host:70000"], "--sip 'sip:host:70000' is not sip:HOST[:PORT]"),
    (["--sip", "sip:h", "--count", "0"], "--count 0 must be at least 1"),
    (["--sip", "sip:h", "--concurrency", "0"], "--concurrency 0 must be at least 1"),
    (["--sip", "sip:h", "--limit", "0"], "--limit 0 must be more than 0 seconds"),
    (["--engine", "http://127.0.0.1:1"], "--engine needs --api-key"),
    (["--engine", "ftp://x", "--api-key", "k"], "--engine 'ftp://x' is not an http(s)://"),
])
def test_bad_options_are_refused_in_one_line(args: list[str], message: str,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--persona", "order_status", "--number", NUMBER, *args]
    if "--number" in args:
        argv = ["simulate", "--persona", "order_status", *args]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("where", [[], ["--sip", "sip:h", "--engine", "http://h:1"]])
def test_exactly_one_of_engine_and_sip(where: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        main(_simulate(*where))
    assert refused.value.code == 2
    assert "--engine" in capsys.readouterr().err


def test_an_engine_nobody_listens_on_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as closed:  # a loopback port just freed: nothing listens there
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    assert main(_simulate("--engine", f"http://127.0.0.1:{port}", "--api-key", KEY)) == 2
    err = capsys.readouterr().err
    assert f"cannot reach the engine at http://127.0.0.1:{port}" in err
    assert len(err.strip().splitlines()) == 1 and KEY not in err


# -- the engine's API --------------------------------------------------------------------------

@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    engine = Engine(Settings(data_dir=tmp_path, api_key=KEY))
    engine.setup()
    yield engine
    engine.close()


def _client(engine: Engine, key: str = KEY) -> Client:
    return Client("http://engine", key, transport=httpx.ASGITransport(app=create_app(engine)))


async def test_a_refused_key_and_sip_off_are_engine_errors(engine: Engine) -> None:
    async with _client(engine, "sb_wrong_key_0123456789abcdefghijklmnopqrs") as api:
        with pytest.raises(EngineError) as refused:
            await engine_sip(api, "http://engine")
    assert str(refused.value) == "the engine at http://engine refused the API key (401 UNAUTHORIZED)"
    async with _client(engine) as api:
        with pytest.raises(EngineError) as off:
            await engine_sip(api, "http://engine")
    assert "has SIP off" in str(off.value)


async def test_each_call_s_row_is_found_by_its_sip_call_id(engine: Engine) -> None:
    now = datetime.now(UTC)
    with session_scope(engine.db) as session:
        for call_id, status, reason, ended in (("x@h", "completed", "agent_hangup", now),
                                               ("y@h", "in_progress", None, None)):
            session.add(Call(organization_id=engine.organization_id, from_number="simulated",
                             to_number=NUMBER, sip_call_id=call_id, status=status,
                             disconnect_reason=reason, initiated_at=now, ended_at=ended))
        session.add(Call(organization_id=engine.organization_id, to_number="+12125550142",
                         sip_call_id="z@h", status="completed", initiated_at=now, ended_at=now))
    async with _client(engine) as api:
        rows = RowFinder(api, NUMBER, now)
        answered = CallResult("p", "sip:1@h", sip_status=200, answered=True)
        found = await rows.find(CallResult(**{**vars(answered), "sip_call_id": "x@h"}))
        assert isinstance(found, CallRow)
        assert (found.status, found.end_reason) == ("completed", "agent_hangup")
        # still on when the wait is over: shown as it is
        live = await rows.find(CallResult(**{**vars(answered), "sip_call_id": "y@h"}), wait_s=0)
        assert isinstance(live, CallRow) and live.status == "in_progress"
        # another number's call is not a candidate
        assert await rows.find(CallResult(**{**vars(answered), "sip_call_id": "z@h"}),
                               wait_s=0) == "no row in the engine's calls"
        refused = CallResult("p", "sip:1@h", sip_status=404, sip_call_id="w@h")
        assert await rows.find(refused) is None


def test_the_caller_speaks_from_loopback_to_a_loopback_engine() -> None:
    assert local_ip_for("127.0.0.1", 5060) == "127.0.0.1"
    assert local_ip_for("localhost", 5060) == "127.0.0.1"
