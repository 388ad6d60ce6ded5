"""The live call panel: the transcript as it is spoken beside the supervisor's controls (say,
whisper, hold, mute, DTMF, end). Every control is a ``LiveCallModel`` command (an API call)."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.live import live_seconds
from console.models.live_call import LiveCallModel
from console.views.transcript import TranscriptView
from console.views.widgets import button, confirm, hbox, section

CONTROLS_WIDTH = 340
DTMF_KEYS = ("123", "456", "789", "*0#")
STATE_LABELS = {"listening": "Listening", "thinking": "Thinking…", "speaking": "Speaking"}


class SendBox(QPlainTextEdit):
    """A short text box: Enter sends, Shift+Enter starts a new line."""

    submitted = Signal()

    def __init__(self, placeholder: str) -> None:
        super().__init__()
        self.setPlaceholderText(placeholder)
        self.setTabChangesFocus(True)
        self.setFixedHeight(64)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) \
                and not event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            self.submitted.emit()
            return
        super().keyPressEvent(event)


class LiveCallPanel(QWidget):
    """One live call; ``close_requested`` asks the board to show itself again."""

    close_requested = Signal()

    def __init__(self, bridge: ApiBridge, call_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("liveCallPanel")
        self.model = LiveCallModel(bridge, call_id, self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(10)

        self.title = QLabel(f"Call {call_id[:8]}")
        self.title.setObjectName("viewTitle")
        self.facts = QLabel("")
        self.facts.setObjectName("viewSubtitle")
        self.state_badge = QLabel("")
        self.state_badge.setObjectName("agentState")
        self.duration = QLabel("")
        self.duration.setObjectName("viewSubtitle")
        back = button("← Board", self.close_requested.emit)
        titles = QVBoxLayout()
        titles.setSpacing(2)
        titles.addWidget(self.title)
        titles.addWidget(self.facts)
        head = hbox(back, 12, None, self.state_badge, 12, self.duration)
        head.insertLayout(2, titles)
        outer.addLayout(head)

        self.error_label = QLabel("")
        self.error_label.setObjectName("inlineError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(f"color: {theme.colors().danger};")
        self.error_label.hide()
        outer.addWidget(self.error_label)

        self.transcript = TranscriptView(self.model.transcript)
        self.transcript.model().rowsInserted.connect(self._follow)
        self.transcript.model().dataChanged.connect(self._follow)
        self.transcript.model().modelReset.connect(self._follow)
        controls = self._controls()
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFixedWidth(CONTROLS_WIDTH + 16)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = hbox(self.transcript, scroll, spacing=14)
        outer.addLayout(body, 1)

        self.model.changed.connect(self._show_state)
        self.model.error.connect(self._show_error)
        self.model.sent.connect(self._sent)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._show_duration)
        self._clock.start()
        self._show_state()

    # -- layout -----------------------------------------------------------------------------------

    def _controls(self) -> QWidget:
        box = QWidget()
        box.setMaximumWidth(CONTROLS_WIDTH)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        layout.addWidget(section("Say"))
        self.say_box = SendBox("Text the agent speaks to the caller (Enter sends)")
        self.say_box.submitted.connect(self.send_say)
        self.say_when = QComboBox()
        self.say_when.addItems(["Interrupt now", "After current speech"])
        self.say_uninterruptible = QCheckBox("Uninterruptible")
        self.say_end_after = QCheckBox("End call after")
        self.say_button = button("Say", self.send_say, primary=True)
        layout.addWidget(self.say_box)
        layout.addLayout(hbox(self.say_when, None, self.say_button))
        layout.addLayout(hbox(self.say_uninterruptible, self.say_end_after, None))

        layout.addWidget(section("Whisper"))
        self.whisper_box = SendBox("A hidden instruction for the AI agent (Enter sends)")
        self.whisper_box.submitted.connect(self.send_whisper)
        self.whisper_reply = QCheckBox("Reply now")
        self.whisper_button = button("Whisper", self.send_whisper)
        layout.addWidget(self.whisper_box)
        layout.addLayout(hbox(self.whisper_reply, None, self.whisper_button))

        layout.addWidget(section("Call"))
        self.hold_button = button("Hold", self.model.toggle_hold)
        self.mute_button = QPushButton("Mute agent")
        self.mute_button.setCheckable(True)
        self.mute_button.clicked.connect(self.model.set_agent_muted)
        self.end_button = button("End call", self.ask_end_call, danger=True)
        layout.addLayout(hbox(self.hold_button, self.mute_button, None, self.end_button))

        layout.addWidget(section("Keypad"))
        pad = QGridLayout()
        pad.setSpacing(6)
        self.dtmf_buttons: dict[str, QPushButton] = {}
        for row, keys in enumerate(DTMF_KEYS):
            for column, key in enumerate(keys):
                key_button = button(key, lambda k=key: self.model.dtmf(k))
                key_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                pad.addWidget(key_button, row, column)
                self.dtmf_buttons[key] = key_button
        layout.addLayout(pad)
        layout.addStretch(1)
        return box

    # -- actions ----------------------------------------------------------------------------------

    def send_say(self) -> None:
        if self.model.say(self.say_box.toPlainText(), interrupt=self.say_when.currentIndex() == 0,
                          interruptible=not self.say_uninterruptible.isChecked(),
                          end_after=self.say_end_after.isChecked()):
            self.say_box.clear()

    def send_whisper(self) -> None:
        if self.model.whisper(self.whisper_box.toPlainText(), reply_now=self.whisper_reply.isChecked()):
            self.whisper_box.clear()

    def ask_end_call(self) -> None:
        confirm(self, "End call", "Hang up this call for everyone on it?", self.model.end_call,
                yes_text="End call")

    # -- showing the state ------------------------------------------------------------------------

    def _show_state(self) -> None:
        call = self.model.call
        agent = call.get("agent_name") or (call.get("agent") or {}).get("name") or ""
        if call.get("direction") == "outbound":
            self.title.setText(f"Call to {call.get('to_number') or 'unknown number'}")
        else:
            self.title.setText(f"Call from {call.get('from_number') or 'unknown caller'}")
        facts = [fmt.label(call.get("direction")), fmt.label(self.model.status) or "Connecting…"]
        if agent:
            facts.append(f"Agent: {agent}")
        if call.get("direction") != "outbound" and call.get("to_number"):
            facts.append(f"on {call['to_number']}")
        if self.model.agent_muted:
            facts.append("agent muted")
        self.facts.setText("  ·  ".join(f for f in facts if f))
        state = self.model.agent_state
        self.state_badge.setText(f"Agent: {STATE_LABELS.get(state, fmt.label(state))}" if state else "")
        live = self.model.live or not self.model.is_loaded
        self.hold_button.setText("Resume" if self.model.on_hold else "Hold")
        self.mute_button.setChecked(self.model.agent_muted)
        self.mute_button.setText("Unmute agent" if self.model.agent_muted else "Mute agent")
        for widget in (self.say_button, self.whisper_button, self.hold_button, self.mute_button,
                       self.end_button, *self.dtmf_buttons.values()):
            widget.setEnabled(live)
        self.hold_button.setEnabled(live and not {"hold", "resume"} & self.model.busy)
        self._show_duration()

    def _show_duration(self) -> None:
        if self.model.live:
            self.duration.setText(fmt.duration(live_seconds(self.model.call)))
        elif self.model.is_loaded:
            self.duration.setText(f"Ended · {fmt.duration(self.model.call.get('duration_seconds'))}")

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _sent(self, type_: str) -> None:
        window = self.window()
        status = getattr(window, "show_message", None)
        if status is not None:
            status(f"{fmt.label(type_)} sent")

    def _follow(self) -> None:
        QTimer.singleShot(0, self.transcript.scrollToBottom)

    # -- lifetime ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.model.start()

    def stop(self) -> None:
        self._clock.stop()
        self.model.stop()
