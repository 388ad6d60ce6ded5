"""Joining a live call from its panel: Listen, Whisper (heard by the human agent only, so only
while a human has the call), Barge, Take over, and Leave / Hand back, with what the phone is
doing and its level meters. The buttons drive the window's ``Phone``."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QGridLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from console.models.live_call import LiveCallModel
from console.views.widgets import button, hbox, section

if TYPE_CHECKING:
    from console.phone import Phone

METER_FLOOR_DB = -60.0  # the meters show -60..0 dBFS: speech sits around -30..-10
ROLE_STATES = {"listen": "Listening…", "whisper": "Whispering", "barge": "Barged in",
               "takeover": "You have the call", "agent": "On the call"}


def meter_value(rms: float) -> int:
    """An RMS level (0..1) as a meter position 0..100 on a dB scale."""
    if rms <= 0.0:
        return 0
    db = 20.0 * math.log10(min(1.0, rms))
    return max(0, min(100, round((db - METER_FLOOR_DB) / -METER_FLOOR_DB * 100)))


class LevelMeter(QProgressBar):
    """A thin level bar for an RMS level."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.setObjectName("levelMeter")
        self.setRange(0, 100)
        self.setValue(0)
        self.setTextVisible(False)
        self.setFixedHeight(6)
        self.setAccessibleName(name)
        self.rms = 0.0

    def set_level(self, rms: float) -> None:
        self.rms = rms
        self.setValue(meter_value(rms))


class JoinBar(QWidget):
    """The panel's line into the call through the window's phone (found through the window's
    context, or given)."""

    def __init__(self, model: LiveCallModel, phone: Phone | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("joinBar")
        self.model = model
        self._phone: Phone | None = None
        self._error_text = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        layout.addWidget(section("Join"))
        self.listen_button = button("Listen", lambda: self.join("listen"))
        self.whisper_button = button("Whisper", lambda: self.join("whisper"))
        self.barge_button = button("Barge", lambda: self.join("barge"))
        self.takeover_button = button("Take over", lambda: self.join("takeover"))
        for widget, tip in ((self.listen_button, "Hear the call; nobody hears you"),
                            (self.whisper_button, "Talk to the human agent only: the caller "
                                                  "does not hear you"),
                            (self.barge_button, "Talk in the call: the caller and the agent hear you"),
                            (self.takeover_button, "Pause the AI agent and talk to the caller yourself")):
            widget.setToolTip(tip)
        layout.addLayout(hbox(self.listen_button, self.whisper_button, self.barge_button,
                              self.takeover_button, None, spacing=6))
        self.state_label = QLabel("")
        self.state_label.setObjectName("joinState")
        self.state_label.setWordWrap(True)
        self.leave_button = button("Leave", self.leave, danger=True)
        layout.addLayout(hbox(self.state_label, None, self.leave_button))
        self.meters = QWidget()
        grid = QGridLayout(self.meters)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(4)
        self.mic_meter, self.speaker_meter = LevelMeter("Microphone level"), LevelMeter("Speaker level")
        for row, (caption, meter) in enumerate((("Mic", self.mic_meter), ("Speaker", self.speaker_meter))):
            label = QLabel(caption)
            label.setObjectName("viewSubtitle")
            grid.addWidget(label, row, 0)
            grid.addWidget(meter, row, 1)
        grid.setColumnStretch(1, 1)
        layout.addWidget(self.meters)
        if phone is not None:
            self._attach(phone)
        model.changed.connect(self._show)
        model.transfers.changed.connect(self._show)
        self._show()

    # -- the phone -------------------------------------------------------------------------------

    def phone(self, create: bool = False) -> Phone | None:
        """The window's phone; made when ``create`` (a button was pressed) and not made yet."""
        if self._phone is None:
            ctx = getattr(self.window(), "ctx", None)
            found = None
            if ctx is not None:
                found = ctx.phone if create else getattr(ctx, "phone_if_made", None)
            if found is not None:
                self._attach(found)
        return self._phone

    def _attach(self, phone: Phone) -> None:
        self._phone = phone
        phone.state_changed.connect(self._show)
        phone.answered.connect(self._show)
        phone.error.connect(self._error)
        phone.levels.connect(self._levels)
        self._show()

    @property
    def joined(self) -> bool:
        """This phone is on this call (connecting or connected)."""
        phone = self._phone
        return phone is not None and phone.active and phone.call_id == self.model.call_id

    @property
    def role(self) -> str | None:
        return self._phone.role if self.joined and self._phone is not None else None

    # -- actions ---------------------------------------------------------------------------------

    def join(self, role: str) -> None:
        phone = self.phone(create=True)
        if phone is None or (self.joined and phone.role == role):
            return
        self._error_text = ""
        phone.join(self.model.call_id, role)

    def leave(self) -> None:
        phone = self._phone
        if phone is not None and self.joined:
            phone.hang_up()

    # -- showing the state -----------------------------------------------------------------------

    def _error(self, text: str) -> None:
        self._error_text = text
        self._show()

    def _levels(self, mic: float, speaker: float) -> None:
        if self.joined:
            self.mic_meter.set_level(mic)
            self.speaker_meter.set_level(speaker)

    def _show(self, *_: object) -> None:
        phone = self._phone
        joined = self.joined
        live = self.model.live or not self.model.is_loaded
        role = phone.role if joined and phone is not None else None
        for widget, own in ((self.listen_button, "listen"), (self.whisper_button, "whisper"),
                            (self.barge_button, "barge"), (self.takeover_button, "takeover")):
            widget.setEnabled(live and role != own)
            widget.setProperty("primary", role == own)
            widget.style().unpolish(widget)
            widget.style().polish(widget)
        # a voice whisper needs a human to hear it (not the supervisor's own takeover)
        self.whisper_button.setEnabled(live and role not in ("whisper", "takeover")
                                       and self.model.human_on_call)
        self.leave_button.setVisible(joined)
        self.leave_button.setText("Hand back" if role == "takeover" else "Leave")
        self.leave_button.setToolTip("Give the call back to the AI agent" if role == "takeover"
                                     else "Leave the call")
        self.meters.setVisible(joined)
        if joined and phone is not None:
            text = "Connecting…" if phone.state == "connecting" else ROLE_STATES.get(role or "", "")
            if phone.muted and role != "listen":
                text += " (muted)"
        elif self._error_text and phone is not None and phone.state == "failed" \
                and phone.call_id == self.model.call_id:
            text = f"Could not join: {self._error_text}"
        else:
            text = "" if live else "The call is over"
            self.mic_meter.set_level(0.0)
            self.speaker_meter.set_level(0.0)
        self.state_label.setText(text)
        self.state_label.setVisible(bool(text))

    def showEvent(self, event: QShowEvent) -> None:
        self.phone()  # an existing phone already on this call shows its state
        self._show()
        super().showEvent(event)


__all__ = ["JoinBar", "LevelMeter", "meter_value"]
