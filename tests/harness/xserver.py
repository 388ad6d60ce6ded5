"""A private X server for tests that need a real window: Xvfb on a free display number, real
pointer input through the XTEST extension, and screenshots of the root window.

Input and screenshots go through Xlib (``libX11.so.6``, ``libXtst.so.6``) with ctypes, so the test
process itself needs no toolkit on that display: the X server turns the fake events into the same
motion and button events a real mouse makes, and the client under test reads them from
its X connection like any others. Xvfb comes with Debian's ``xvfb`` package, the two libraries
with ``libx11-6`` and ``libxtst6`` (packaging/bootstrap.sh).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.processes import stop_popen

SCREEN_SIZE = (1400, 900)  # the console's default window size: it fills the screen
DEPTH = 24
DISPLAYS = range(90, 190)  # display numbers tried; a lock file /tmp/.X{n}-lock marks a taken one
READY_TIMEOUT_S = 20.0  # Xvfb accepts connections well within this, even on a loaded machine
ALL_PLANES = 0xFFFFFFFF  # XAllPlanes()
Z_PIXMAP = 2  # ZPixmap
LEFT_BUTTON = 1
CURRENT_TIME = 0  # the fake events' delay in ms: none

requires_xvfb = pytest.mark.skipif(shutil.which("Xvfb") is None,
                                   reason="Xvfb is not installed (Debian package xvfb)")


class XImage(ctypes.Structure):
    """The head of Xlib's ``XImage`` (X11/Xlib.h), up to the fields read here."""

    _fields_ = [("width", ctypes.c_int), ("height", ctypes.c_int), ("xoffset", ctypes.c_int),
                ("format", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_char)),
                ("byte_order", ctypes.c_int), ("bitmap_unit", ctypes.c_int),
                ("bitmap_bit_order", ctypes.c_int), ("bitmap_pad", ctypes.c_int),
                ("depth", ctypes.c_int), ("bytes_per_line", ctypes.c_int),
                ("bits_per_pixel", ctypes.c_int)]


def _library(name: str, soname: str) -> ctypes.CDLL:
    path = ctypes.util.find_library(name) or soname
    try:
        return ctypes.CDLL(path)
    except OSError:
        pytest.skip(f"{soname} is not installed")


@dataclass
class Screenshot:
    """The root window's pixels: 32-bit BGRX rows of ``stride`` bytes (Qt's ``Format_RGB32``)."""

    width: int
    height: int
    stride: int
    data: bytes

    def pixel(self, x: int, y: int) -> tuple[int, int, int]:
        """The (red, green, blue) of the pixel at ``x``, ``y``."""
        at = y * self.stride + x * 4
        blue, green, red = self.data[at], self.data[at + 1], self.data[at + 2]
        return red, green, blue

    def region_variance(self, left: int, top: int, width: int, height: int, step: int = 2) -> float:
        """The variance of the grey level over a region (every ``step``-th pixel each way): near
        0 for an empty area of one colour, high where there is text, frames or controls."""
        greys: list[float] = []
        for y in range(max(top, 0), min(top + height, self.height), step):
            for x in range(max(left, 0), min(left + width, self.width), step):
                red, green, blue = self.pixel(x, y)
                greys.append(0.299 * red + 0.587 * green + 0.114 * blue)
        if not greys:
            return 0.0
        mean = sum(greys) / len(greys)
        return sum((g - mean) ** 2 for g in greys) / len(greys)

    def region_differs(self, other: Screenshot, left: int, top: int, width: int,
                       height: int, step: int = 2) -> float:
        """The share of sampled pixels in the region that differ from ``other``'s."""
        changed = total = 0
        for y in range(max(top, 0), min(top + height, self.height), step):
            for x in range(max(left, 0), min(left + width, self.width), step):
                total += 1
                changed += self.pixel(x, y) != other.pixel(x, y)
        return changed / total if total else 0.0

    def save_png(self, path: Path) -> Path:
        """Writes the pixels to a PNG (Qt's image code needs no display)."""
        from PySide6.QtGui import QImage

        image = QImage(self.data, self.width, self.height, self.stride, QImage.Format.Format_RGB32)
        assert image.save(str(path), "PNG"), f"could not write {path}"
        return path


class XDisplay:
    """A client connection to an X display: fake pointer input with XTEST, screenshots with
    XGetImage."""

    def __init__(self, name: str) -> None:
        self.x11 = _library("X11", "libX11.so.6")
        self.xtst = _library("Xtst", "libXtst.so.6")
        self.x11.XOpenDisplay.restype = ctypes.c_void_p
        self.x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self.x11.XDefaultRootWindow.restype = ctypes.c_ulong
        self.x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self.x11.XGetImage.restype = ctypes.POINTER(XImage)
        self.x11.XGetImage.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_int,
                                       ctypes.c_uint, ctypes.c_uint, ctypes.c_ulong, ctypes.c_int]
        self.x11.XFree.argtypes = [ctypes.c_void_p]
        self.x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
        self.x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self.xtst.XTestQueryExtension.argtypes = [ctypes.c_void_p] + [ctypes.POINTER(ctypes.c_int)] * 4
        self.xtst.XTestFakeMotionEvent.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
                                                   ctypes.c_int, ctypes.c_ulong]
        self.xtst.XTestFakeButtonEvent.argtypes = [ctypes.c_void_p, ctypes.c_uint, ctypes.c_int,
                                                   ctypes.c_ulong]
        self.display = self.x11.XOpenDisplay(name.encode())
        if not self.display:
            raise RuntimeError(f"cannot open X display {name}")
        self.root = self.x11.XDefaultRootWindow(self.display)
        numbers = [ctypes.c_int() for _ in range(4)]
        if not self.xtst.XTestQueryExtension(self.display, *[ctypes.byref(n) for n in numbers]):
            raise RuntimeError(f"X display {name} has no XTEST extension")

    def close(self) -> None:
        if self.display:
            self.x11.XCloseDisplay(self.display)
            self.display = None

    def _sync(self) -> None:
        self.x11.XSync(self.display, 0)

    def move(self, x: int, y: int) -> None:
        self.xtst.XTestFakeMotionEvent(self.display, -1, x, y, CURRENT_TIME)
        self._sync()

    def click(self, x: int, y: int, *, button: int = LEFT_BUTTON, double: bool = False,
              settle_s: float = 0.05) -> None:
        """Moves the pointer to ``x``, ``y`` and presses and releases ``button`` there (twice
        for ``double``); ``settle_s`` between the motion and the press lets the client see the
        pointer enter its widget first, as a hand moving a mouse would."""
        self.move(x, y)
        time.sleep(settle_s)
        for _ in range(2 if double else 1):
            self.xtst.XTestFakeButtonEvent(self.display, button, 1, CURRENT_TIME)
            self.xtst.XTestFakeButtonEvent(self.display, button, 0, CURRENT_TIME)
            self._sync()

    def screenshot(self) -> Screenshot:
        """The whole root window, as the X server draws it."""
        width, height = SCREEN_SIZE
        image = self.x11.XGetImage(self.display, self.root, 0, 0, width, height, ALL_PLANES,
                                   Z_PIXMAP)
        if not image:
            raise RuntimeError("XGetImage failed")
        try:
            head = image.contents
            if head.bits_per_pixel != 32:
                raise RuntimeError(f"unexpected {head.bits_per_pixel} bits per pixel")
            data = ctypes.string_at(head.data, head.bytes_per_line * head.height)
            return Screenshot(head.width, head.height, head.bytes_per_line, data)
        finally:
            self.x11.XFree(image.contents.data)
            self.x11.XFree(image)


@dataclass
class Xvfb:
    """A running Xvfb: its display name (``:N``) and process."""

    display: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        stop_popen(self.process, 10)


def _taken(number: int) -> bool:
    return Path(f"/tmp/.X{number}-lock").exists() or Path(f"/tmp/.X11-unix/X{number}").exists()


def start_xvfb(log_dir: Path) -> Xvfb:
    """Xvfb on the first free display number of ``DISPLAYS``, a 1400x900x24 screen, no access
    control beyond the local user's; returns once a client can connect. Xvfb itself refuses a
    number whose lock file another server holds, so a race with another test run retries."""
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (Debian package xvfb)")
    width, height = SCREEN_SIZE
    for number in DISPLAYS:
        if _taken(number):
            continue
        log = log_dir / f"xvfb-{number}.log"
        with log.open("wb") as out:
            # -displayfd would pick the number itself, but not on every Xvfb; -nolisten tcp keeps
            # the server to its unix socket
            process = subprocess.Popen(
                ["Xvfb", f":{number}", "-screen", "0", f"{width}x{height}x{DEPTH}",
                 "-nolisten", "tcp", "-noreset"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                break  # the number was taken after all: try the next
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                try:
                    XDisplay(f":{number}").close()
                except RuntimeError:
                    time.sleep(0.1)
                    continue
                return Xvfb(f":{number}", process, log)
            time.sleep(0.1)
        stop_popen(process, 5)
    raise RuntimeError(f"no free X display in {DISPLAYS.start}-{DISPLAYS.stop - 1}")


def display_env(display: str) -> dict[str, str]:
    """The environment of a Qt client on ``display`` through the xcb platform."""
    env = {**os.environ, "DISPLAY": display, "QT_QPA_PLATFORM": "xcb"}
    env.pop("WAYLAND_DISPLAY", None)
    return env
