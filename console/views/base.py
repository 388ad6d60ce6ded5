"""The base of every view: a page with a ``loaded`` signal and lazy first load."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QMessageBox, QVBoxLayout, QWidget

from console.context import ConsoleContext

PAGE_MARGINS = (20, 16, 20, 16)


class View(QWidget):
    """A navigation page. ``refresh()`` (re)loads its data; ``loaded`` fires when it is in."""

    loaded = Signal()
    title = ""

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        self.bridge = ctx.bridge
        self.is_loaded = False
        self._started = False
        self.setObjectName("viewPage")
        self.page = QVBoxLayout(self)
        self.page.setContentsMargins(*PAGE_MARGINS)
        self.page.setSpacing(14)
        self.loaded.connect(self._mark_loaded)

    def _mark_loaded(self) -> None:
        self.is_loaded = True

    def activate(self) -> None:
        """Called when the view is shown: loads its data the first time."""
        if not self._started:
            self._started = True
            self.refresh()

    def refresh(self) -> None:
        """Fetch the view's data; emit ``loaded`` when it is shown."""
        self.loaded.emit()

    def show_error(self, exc: Exception) -> None:
        window = self.window()
        status = getattr(window, "show_message", None)
        if status is not None:
            status(f"Error: {exc}")


def ask_unsaved(parent: QWidget, title: str, text: str, on_save: Callable[[], None],
                on_discard: Callable[[], None]) -> QMessageBox:
    """Save, Discard or Cancel, without blocking (Qt's usual unsaved-changes question); Cancel
    does nothing, so the edits stay where they are. Returns the open box."""
    buttons = (QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
               | QMessageBox.StandardButton.Cancel)
    box = QMessageBox(QMessageBox.Icon.Question, title, text, buttons, parent)
    box.setInformativeText("Your changes are lost if you discard them.")
    box.setDefaultButton(QMessageBox.StandardButton.Save)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def finished() -> None:
        clicked = box.standardButton(box.clickedButton())
        if clicked == QMessageBox.StandardButton.Save:
            on_save()
        elif clicked == QMessageBox.StandardButton.Discard:
            on_discard()

    box.finished.connect(finished)
    box.open()
    return box
