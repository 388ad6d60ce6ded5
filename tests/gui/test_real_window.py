"""The console in a real window on a real X server, driven with real X input: the smoke test a
new user's first minutes make.

The module starts a private Xvfb (``tests.harness.xserver``) and ``switchboard demo`` on it as
its own process, on Qt's xcb platform like on a desktop, with a fresh demo data dir and its own
config and data homes. The tests then click, as a mouse would, through every rail entry, the
Softphone button, and a SIP call from sipp: opened from the live board, ended from its panel. A
screenshot of the X server's screen is taken at each step and kept under the pytest temp dir
(the path is printed); each is checked for what the step should show.

Input is the X server's own: XTEST fake motion and button events (``XTestFakeMotionEvent``,
``XTestFakeButtonEvent``, through ctypes on libXtst, so no xdotool is needed), which reach the
console through its X connection exactly as a physical mouse's do, to be hit-tested by Qt like
any click.

Where to click: the controls are found by their role and text in the console's accessibility
tree, the one a screen reader walks. The console runs under ``tests.harness.console_probe``, which
is ``switchboard`` unchanged plus a reader of that tree answering on a pipe where a control
(``ListItem "Calls"``, ``Button "End call"``...) is on the screen. This holds when fonts, the
theme, the layout or the window's placement change, which coordinates computed from the known
window geometry and rail layout would not; and it also tells whether a rail entry is selected or
a button enabled, as a screen reader would say. Without a window manager, Qt places the main
window at the screen's origin and the screen's size (1400x900) is the window's default size.

Any traceback on the console's stderr (an exception in a slot, which PySide prints, or in its
engine, whose stderr is the console's) fails the step during which it was printed.
"""

from __future__ import annotations

import asyncio
import json
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from console.embedded import KEY_FILE_NAME
from engine.client import Client
from tests.harness.callers import PlainCaller
from tests.harness.console_probe import PREFIX
from tests.harness.processes import stop_popen
from tests.harness.sip_server import SipServer
from tests.harness.sipp import SippResult, requires_sipp
from tests.harness.xserver import (
    Screenshot,
    XDisplay,
    Xvfb,
    display_env,
    requires_xvfb,
    start_xvfb,
)

pytestmark = [requires_xvfb, requires_sipp]

ROOT = Path(__file__).resolve().parents[2]
RAIL = ("Live", "Calls", "Agents", "Campaigns", "Numbers & trunks", "Usage", "Settings")
NUMBER = "+14155550134"  # the demo's main line: the order-status agent answers it
CALLER = "caller"  # sipp's From user (tests.harness.sipp_steps), the board's Caller column
START_TIMEOUT_S = 240.0  # the demo seeds its data dir and loads whisper on a loaded 2-core machine
STEP_TIMEOUT_S = 60.0  # a click's effect is on the screen well within this
PROBE_TIMEOUT_S = 30.0  # the probe answers between two of the console's events
POLL_S = 0.25
OPEN_TRIES = 3  # double clicks on the call's row before giving up
OPEN_WAIT_S = 8.0  # the live panel opens within this after a double click
SUPERVISOR_HANGUP = "supervisor_hangup"  # engine.calls.control: the call's disconnect reason
EMPTY_VARIANCE = 25.0  # grey-level variance of an area with nothing drawn in it is ~0; text ≫ 100
# what Python prints for an exception: a traceback, or for one raised by a Qt slot that PySide
# calls from C++ (a signal connected to a bound C++ method), the bare "TypeError: ..." line
EXCEPTION = re.compile(r"^(Traceback \(most recent call last\)|[A-Za-z_][\w.]*(Error|Exception): )",
                       re.MULTILINE)


@dataclass
class Node:
    """An accessible object on the screen, as the probe reports it."""

    role: str
    name: str
    rect: tuple[int, int, int, int]
    enabled: bool
    selected: bool
    checked: bool

    @property
    def center(self) -> tuple[int, int]:
        x, y, width, height = self.rect
        return x + width // 2, y + height // 2

    def inside(self, other: Node) -> bool:
        x, y, width, height = self.rect
        ox, oy, owidth, oheight = other.rect
        return ox <= x and oy <= y and x + width <= ox + owidth and y + height <= oy + oheight


@dataclass
class SipAddress:
    """What a ``PlainCaller`` dials: the engine's SIP port and a number."""

    sip_port: int
    number: str


class RealConsole:
    """``switchboard demo`` in a real window on ``xvfb``: clicks, the accessibility probe,
    screenshots, and what the process printed to its stderr."""

    def __init__(self, xvfb: Xvfb, home: Path, shots: Path) -> None:
        self.xvfb = xvfb
        self.home = home
        self.shots = shots
        self.stderr_path = home / "console.stderr"
        self.x = XDisplay(xvfb.display)
        env = display_env(xvfb.display)
        env.update(XDG_CONFIG_HOME=str(home / "config"), XDG_DATA_HOME=str(home / "data"),
                   PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        self._stderr = self.stderr_path.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.console_probe", "demo", "--data-dir",
             str(home / "demo")],
            cwd=ROOT, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True)
        self._answers: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, name="probe-reader", daemon=True)
        self._reader.start()
        self.errors_from = 0  # where in stderr the current step began
        self.step = 0

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(PREFIX):
                self._answers.put(json.loads(line[len(PREFIX):]))

    def close(self) -> None:
        stop_popen(self.process, 20)  # SIGTERM; the embedded engine dies with its parent
        self.x.close()
        self._stderr.close()

    # -- what the console prints -----------------------------------------------------------------

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def begin_step(self) -> None:
        """Tracebacks count from here on for the current step."""
        self.errors_from = len(self.stderr())

    def check_no_traceback(self) -> None:
        text = self.stderr()[self.errors_from:]
        found = EXCEPTION.search(text)
        if found:
            start = found.start()
            pytest.fail(f"the console printed an exception:\n{text[start:start + 3000]}")

    # -- finding controls ------------------------------------------------------------------------

    def find(self, role: str | None = None, name: str | None = None, *,
             contains: bool = False) -> list[Node]:
        if self.process.poll() is not None:
            pytest.fail(f"the console exited with {self.process.returncode}:\n{self.stderr()[-3000:]}")
        assert self.process.stdin is not None
        query = {"role": role, "name": name, "contains": contains}
        self.process.stdin.write(json.dumps(query) + "\n")
        self.process.stdin.flush()
        answer = self._answers.get(timeout=PROBE_TIMEOUT_S)
        assert "error" not in answer, answer
        return [Node(n["role"], n["name"], tuple(n["rect"]), n["enabled"], n["selected"],
                     n["checked"]) for n in answer["found"]]

    def wait_for(self, what: str, check: Callable[[], Any],
                 timeout: float = STEP_TIMEOUT_S) -> Any:
        """``check``'s first truthy result, polled until ``timeout``; a traceback on stderr
        meanwhile fails at once."""
        deadline = time.monotonic() + timeout
        while True:
            self.check_no_traceback()
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                self.shot(f"timeout-{what}")
                pytest.fail(f"{what}: not within {timeout:.0f} s")
            time.sleep(POLL_S)

    def one(self, role: str, name: str, *, contains: bool = False,
            timeout: float = STEP_TIMEOUT_S) -> Node:
        """The control of ``role`` named ``name``, once it is on the screen."""
        nodes = self.wait_for(f"{role} {name!r} on the screen",
                              lambda: self.find(role, name, contains=contains), timeout)
        return cast(Node, nodes[0])

    # -- input and screenshots -------------------------------------------------------------------

    def click(self, node: Node, *, double: bool = False) -> None:
        self.x.click(*node.center, double=double)

    def shot(self, name: str) -> Screenshot:
        """The screen now, kept as ``NN-name.png``."""
        self.step += 1
        image = self.x.screenshot()
        image.save_png(self.shots / f"{self.step:02d}-{name}.png")
        return image


@pytest.fixture(scope="module")
def real_console(tmp_path_factory: pytest.TempPathFactory,
                 pytestconfig: pytest.Config) -> Iterator[RealConsole]:
    home = tmp_path_factory.mktemp("real-window")
    shots = home / "screenshots"
    shots.mkdir()
    xvfb = start_xvfb(home)
    console = RealConsole(xvfb, home, shots)
    try:
        # the window is up with its rail, and the console reached its engine
        console.one("ListItem", "Calls", timeout=START_TIMEOUT_S)
        console.one("StaticText", "Connected to", contains=True, timeout=START_TIMEOUT_S)
        console.check_no_traceback()
        yield console
    finally:
        console.close()
        xvfb.stop()
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        with capture.global_and_fixture_disabled() if capture is not None else nullcontext():
            print(f"\nreal-window screenshots: {shots}")


def rail_width(console: RealConsole) -> int:
    lists = [n for n in console.find("List") if n.rect[0] == 0]
    assert lists, "the navigation rail is not on the screen"
    return lists[0].rect[2]


@pytest.mark.timeout(600)
def test_every_rail_entry_opens_its_view(real_console: RealConsole) -> None:
    console = real_console
    console.begin_step()
    rail = rail_width(console)
    width, height = console.x.screenshot().width, console.x.screenshot().height
    previous = console.shot("start")
    for title in (*RAIL[2:], *RAIL[:2]):  # Calls is shown first: every click changes the view
        console.begin_step()
        entry = console.one("ListItem", title)
        console.click(entry)
        # the entry is selected and its view's title is shown right of the rail
        console.wait_for(f"{title} selected",
                         lambda t=title: any(n.selected for n in console.find("ListItem", t)))
        console.wait_for(f"{title} view's title",
                         lambda t=title: any(n.rect[0] > rail for n in console.find("StaticText", t)))
        time.sleep(1.0)  # the view's first data arrive and are painted
        console.check_no_traceback()
        shot = console.shot(f"view-{title.split()[0].lower()}")
        # what the X server shows changed right of the rail, and is no empty page
        assert shot.region_differs(previous, rail, 0, width - rail, height, step=4) > 0.01, title
        assert shot.region_variance(rail, 0, width - rail, height, step=4) > EMPTY_VARIANCE, title
        # the selected entry's row is drawn highlighted: it differs from an unselected row's
        x, y, w, h = entry.rect
        assert shot.pixel(x + w - 8, y + h // 2) != shot.pixel(x + w - 8, y + h + h // 2), \
            f"{title}'s rail row is not highlighted"
        previous = shot


@pytest.mark.timeout(300)
def test_softphone_button_opens_the_dock(real_console: RealConsole) -> None:
    console = real_console
    console.begin_step()
    before = console.shot("softphone-closed")
    button = console.one("CheckBox", "Softphone")
    console.click(button)
    # the dock opens right of the views: a dock window titled Softphone, with its sign-in
    dock = console.wait_for("the softphone dock", lambda: [
        n for n in console.find(None, "Softphone") if n.rect[0] > button.rect[2]
        and n.rect[2] > 100 and n.rect[3] > 200], timeout=15.0)[0]
    time.sleep(1.0)
    console.check_no_traceback()
    shot = console.shot("softphone-open")
    x, y, w, h = dock.rect
    assert shot.region_variance(x, y, w, h) > EMPTY_VARIANCE, "the softphone dock's area is empty"
    assert shot.region_differs(before, x, y, w, h) > 0.05, "the dock's area did not change"
    # a second click closes it again
    console.click(console.one("CheckBox", "Softphone"))
    console.wait_for("the dock closed", lambda: not [
        n for n in console.find(None, "Softphone") if n.rect[0] > button.rect[2]], timeout=15.0)
    console.check_no_traceback()


def engine_call(console: RealConsole, *, caller_number: str) -> dict[str, Any]:
    """The engine's newest call from ``caller_number`` (``{}`` when there is none), asked of
    the engine's API at the address the status bar shows, with the console's own key."""
    status = console.one("StaticText", "Connected to", contains=True).name
    url = status.split(" at ", 1)[1].split()[0]
    key = (console.home / "config" / "switchboard" / KEY_FILE_NAME).read_text().strip()

    async def newest() -> dict[str, Any]:
        async with Client(url, key) as api:
            calls = (await api.list_calls(number=caller_number, limit=1)).items
            return dict(calls[0]) if calls else {}

    return asyncio.run(newest())


def caller_row(console: RealConsole, caller: PlainCaller) -> Node | None:
    """The board's cell showing sipp's call, once it is there; sipp ending first fails."""
    if not caller.thread.is_alive():
        pytest.fail(f"sipp ended before its call showed on the board: {caller.result}")
    cells = console.find("Cell", CALLER)
    return cells[0] if cells else None


@pytest.mark.timeout(400)
def test_a_sip_call_opened_live_and_ended(real_console: RealConsole, tmp_path: Path) -> None:
    console = real_console
    console.begin_step()
    # the engine's SIP address, from the status bar
    sip = console.one("StaticText", "SIP ", contains=True).name
    port = int(sip.split(":")[-1].strip())
    console.click(console.one("ListItem", "Live"))
    console.wait_for("the Live view", lambda: any(
        n.rect[0] > rail_width(console) for n in console.find("StaticText", "Live")))
    time.sleep(1.0)  # the board has its first rows
    caller = PlainCaller(cast(SipServer, SipAddress(port, NUMBER)), tmp_path)
    try:
        # the board shows the call; a double click on its row opens the live panel (again if
        # the board reloaded its rows under the pointer, as a user clicks again)
        end = None
        for attempt in range(OPEN_TRIES):
            row = console.wait_for("the call on the board", lambda: caller_row(console, caller))
            if attempt == 0:
                console.shot("live-board")
            console.click(row, double=True)
            try:
                end = console.one("Button", "End call", timeout=OPEN_WAIT_S)
                break
            except pytest.fail.Exception:
                continue
        assert end is not None, "a double click on the call's row did not open it"
        console.wait_for("End call enabled", lambda: any(n.enabled for n in
                                                          console.find("Button", "End call")))
        time.sleep(1.0)
        panel_shot = console.shot("live-call")
        x, y, w, h = end.rect
        rail = rail_width(console)
        assert panel_shot.region_variance(rail, 0, x + w - rail, y + h) > EMPTY_VARIANCE

        # End call asks first; the dialog's own End call hangs up
        console.click(end)
        confirm = console.wait_for("the dialog's End call", lambda: [
            n for n in console.find("Button", "End call") if n.rect != end.rect])[0]
        console.wait_for("the dialog drawn", lambda: console.x.screenshot().region_variance(
            *confirm.rect) > EMPTY_VARIANCE)
        console.shot("end-call-asked")
        console.click(confirm)
        # the engine hung up for the supervisor, and the board lets the call go
        console.wait_for("the call ended by the supervisor",
                         lambda: engine_call(console, caller_number=CALLER).get("disconnect_reason")
                         == SUPERVISOR_HANGUP)
        console.click(console.one("Button", "Board", contains=True))
        console.one("ColumnHeader", "Caller")
        console.wait_for("the call's row leaves the board", lambda: not console.find("Cell", CALLER))
        console.shot("call-ended")
    finally:
        caller.close()
    # the engine hung up on sipp, which got the BYE it waited for
    assert isinstance(caller.result, SippResult), caller.result
    assert caller.result.returncode == 0, caller.result.stderr
    console.check_no_traceback()

