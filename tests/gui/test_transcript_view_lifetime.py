"""A transcript view deleted while it still meant to scroll to its end (a line arrived, the panel
closed before the next turn of the event loop) does not touch the deleted view."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QApplication

from console.models.transcript import TranscriptModel
from console.views.transcript import TranscriptView


def test_a_line_then_deletion_before_the_scroll(qapp: QApplication) -> None:
    model = TranscriptModel()
    view = TranscriptView(model)
    view.follow = True
    view.resize(300, 200)
    view.show()
    qapp.processEvents()
    model.set_entries([])  # a reset: scroll to the end later
    model.upsert({"index": 0, "source": "user", "text": "Hello", "partial": False})  # a line
    shiboken6.delete(view)
    for _ in range(3):
        qapp.processEvents()  # pytest-qt fails the test on an exception raised in here
