"""The console as ``switchboard`` runs it, with one addition for a test driving it from outside:
a reader of its accessibility tree, the one a screen reader walks, that answers where the
controls named by a test are on the screen.

``python -m tests.harness.console_probe ARGS`` runs ``switchboard ARGS`` (``switchboard.cli``,
unchanged); a JSON line on its stdin such as ``{"role": "ListItem", "name": "Calls"}`` is answered
by a line ``PROBE {"found": [{"role": ..., "name": ..., "rect": [x, y, width, height]}, ...]}``
on its stdout: the visible accessible objects of the shown windows with that role (a
``QAccessible.Role`` name) and name (exact, or contained in it with ``"contains": true``), their
rectangles in screen coordinates. It only reads: the test clicks with real X input and the
console handles it like any other.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from PySide6.QtCore import QRect, QSocketNotifier
from PySide6.QtGui import QAccessible, QAccessibleInterface
from PySide6.QtWidgets import QApplication

PREFIX = "PROBE "
MAX_DEPTH = 40  # deeper than any widget tree of the console
CONTAINERS = {QAccessible.Role.Table, QAccessible.Role.List, QAccessible.Role.Tree}


def _matches(node: QAccessibleInterface, role: str | None, name: str | None,
             contains: bool) -> bool:
    if role is not None and node.role().name != role:
        return False
    if name is None:
        return True
    text = node.text(QAccessible.Text.Name) or ""
    return name in text if contains else text == name


def _walk(node: QAccessibleInterface, clip: QRect, depth: int, query: dict[str, Any],
          found: list[dict[str, Any]]) -> None:
    state = node.state()
    rect = node.rect()
    if state.invisible or rect.isEmpty() or not rect.intersects(clip) or depth > MAX_DEPTH:
        return
    if _matches(node, query.get("role"), query.get("name"), bool(query.get("contains"))):
        found.append({"role": node.role().name, "name": node.text(QAccessible.Text.Name),
                      "rect": [rect.x(), rect.y(), rect.width(), rect.height()],
                      "enabled": not state.disabled, "selected": bool(state.selected),
                      "checked": bool(state.checked)})
    # the cells of a table or list outside its viewport are not on the screen
    inner = rect.intersected(clip) if node.role() in CONTAINERS else clip
    for index in range(node.childCount()):
        child = node.child(index)
        if child is not None and child.isValid():
            _walk(child, inner, depth + 1, query, found)


def find(app: QApplication, query: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for window in app.topLevelWidgets():
        if not window.isVisible():
            continue
        node = QAccessible.queryAccessibleInterface(window)
        if node is not None:
            _walk(node, window.frameGeometry(), 0, query, found)
    return found


class Probe:
    """Answers the queries arriving on stdin, on the GUI thread between the console's events."""

    def __init__(self, app: QApplication) -> None:
        self.app = app
        self.notifier = QSocketNotifier(sys.stdin.fileno(), QSocketNotifier.Type.Read)
        self.notifier.activated.connect(self.answer)

    def answer(self) -> None:
        line = sys.stdin.readline()
        if not line:
            self.notifier.setEnabled(False)
            return
        try:
            reply: dict[str, Any] = {"found": find(self.app, json.loads(line))}
        except Exception as exc:  # a bad query is the test's problem: say it, go on
            reply = {"error": repr(exc)}
        sys.stdout.write(PREFIX + json.dumps(reply) + "\n")
        sys.stdout.flush()


def main(argv: list[str]) -> int:
    app = QApplication(sys.argv[:1])
    probe = Probe(app)
    from switchboard.cli import main as switchboard

    code = switchboard(argv)
    probe.notifier.setEnabled(False)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
