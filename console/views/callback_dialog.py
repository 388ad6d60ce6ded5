"""The "Call back…" dialog of the live call panel: a date and time (in this computer's time zone),
a reason and instructions for the agent who places the callback. The API's error shows on the
field it names (a time in the past on the date, a bad number on the number)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDateTime, Signal
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from console.bridge import ApiBridge
from engine.client import ApiError, Record

DEFAULT_DELAY_S = 60 * 60  # the time offered first: an hour from now
INSTRUCTIONS_HEIGHT = 80


class CallbackDialog(QDialog):
    """Schedule a callback for ``call_id``; ``scheduled(callback)`` once the API took it."""

    scheduled = Signal(dict)

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("callbackDialog")
        self.setWindowTitle("Call back")
        self.bridge = bridge
        self.call_id = call_id
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.when = QDateTimeEdit(QDateTime.currentDateTime().addSecs(DEFAULT_DELAY_S))
        self.when.setCalendarPopup(True)
        self.when.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.when.setMinimumDateTime(QDateTime.currentDateTime())
        form.addRow("Date and time", self.when)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Why the caller wants a call back")
        form.addRow("Reason", self.reason)
        self.instructions = QPlainTextEdit()
        self.instructions.setPlaceholderText("What the agent should do on the callback")
        self.instructions.setFixedHeight(INSTRUCTIONS_HEIGHT)
        form.addRow("Instructions", self.instructions)
        self.number = QLineEdit()
        self.number.setPlaceholderText("The caller's number (leave empty)")
        form.addRow("Number", self.number)
        layout.addLayout(form)
        self.error_label = QLabel("")
        self.error_label.setObjectName("errorText")
        self.error_label.setWordWrap(True)
        self.error_label.setVisible(False)
        layout.addWidget(self.error_label)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Schedule")
        self.buttons.accepted.connect(self.submit)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def scheduled_at(self) -> str:
        """The chosen time as ISO 8601 with this computer's offset."""
        moment = datetime.fromtimestamp(self.when.dateTime().toSecsSinceEpoch())
        return moment.astimezone().isoformat(timespec="seconds")

    def submit(self) -> None:
        self._show_error("")
        self.buttons.setEnabled(False)
        when, reason = self.scheduled_at(), self.reason.text().strip()
        instructions, number = self.instructions.toPlainText().strip(), self.number.text().strip()
        self.bridge.call(
            lambda api: api.schedule_callback(self.call_id, when, reason=reason,
                                              instructions=instructions, to_number=number or None),
            self._done, self._failed, context=self)

    def _done(self, callback: Record) -> None:
        self.scheduled.emit(callback)
        self.accept()

    def _failed(self, exc: BaseException) -> None:
        self.buttons.setEnabled(True)
        if isinstance(exc, ApiError):
            fields = {"scheduled_at": self.when, "to_number": self.number, "reason": self.reason,
                      "instructions": self.instructions}
            target = fields.get(exc.field or "")
            if target is not None:
                target.setFocus()
            self._show_error(exc.message)
        else:
            self._show_error(f"The callback could not be scheduled: {exc}")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))


__all__ = ["CallbackDialog"]
