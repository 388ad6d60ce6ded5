"""The live call panel: the transcript as it is spoken beside the supervisor's controls (say,
whisper, macros, transfer, hold, mute, call back later, DTMF, end), with the call's events and
per-turn latency below it. Every control is a ``LiveCallModel`` command (an API call).

Ctrl+1…9 run the agent's macros while the focus is inside the panel; elsewhere Ctrl+1…7 keep
switching the window's views."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFrame,
    QGridLayout,
    QLabel,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.live import live_seconds
from console.models.live_call import SENT_TEXTS, LiveCallModel
from console.models.macros import MacrosModel
from console.views.callback_dialog import CallbackDialog
from console.views.latency import LatencyWaterfall
from console.views.macros import MacroBar, MacroEditor
from console.views.transcript import TranscriptView
from console.views.transfer_dialog import TransferDialog
from console.views.transfer_timeline import TransferTimelineView
from console.views.widgets import bound, button, confirm, hbox, section
from engine.events import AgentUpdated, Event

CONTROLS_WIDTH = 340
DTMF_KEYS = ("123", "456", "789", "*0#")
STATE_LABELS = {"listening": "Listening", "thinking": "Thinking…", "speaking": "Speaking"}
DETAILS_HEIGHT = 190  # the events / latency tabs under the transcript
MACRO_KEYS = {getattr(Qt.Key, f"Key_{n}"): n for n in range(1, 10)}
# the whisper box by where its text goes (LiveCallModel.whisper_target): title, placeholder
WHISPER_TEXTS = {
    "ai": ("Whisper", "A hidden instruction for the AI agent (Enter sends)"),
    "human": ("Whisper to the human agent",
              "A note only the human agent sees on their screen (Enter sends)"),
    "phone": ("Whisper", "The call went to a phone, which shows no text: use Join → Whisper "
                         "to talk to them by voice"),
}


def macro_number(event: QKeyEvent) -> int:
    """1-9 for Ctrl+1…9 (keypad digits too), else 0."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
    if modifiers != Qt.KeyboardModifier.ControlModifier:
        return 0
    return MACRO_KEYS.get(Qt.Key(event.key()), 0)


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
        self.bridge = bridge
        self.macros = MacrosModel(bridge, self)
        self.transfer_dialog: TransferDialog | None = None
        self.macro_editor: MacroEditor | None = None
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
        self.transcript.follow = True
        self.details = self._details()
        left = QVBoxLayout()
        left.setSpacing(10)
        left.addWidget(self.transcript, 1)
        left.addWidget(self.details)
        controls = self._controls()
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setFixedWidth(CONTROLS_WIDTH + 16)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = hbox(scroll, spacing=14)
        body.insertLayout(0, left, 1)
        outer.addLayout(body, 1)

        self.model.changed.connect(self._show_state)
        self.model.error.connect(self._show_error)
        self.model.sent.connect(self._sent)
        self.model.transfers.changed.connect(self._show_state)
        self.macros.changed.connect(self._show_state)
        self.macros.error.connect(self._show_error)
        bridge.event_received.connect(self._global_event)
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._show_duration)
        self._clock.start()
        self._show_state()

    # -- layout -----------------------------------------------------------------------------------

    def _details(self) -> QTabWidget:
        tabs = QTabWidget()
        tabs.setObjectName("liveDetails")
        tabs.setDocumentMode(True)
        tabs.setFixedHeight(DETAILS_HEIGHT)
        self.events_list = QListView()
        self.events_list.setObjectName("callEvents")
        self.events_list.setModel(self.model.events)
        self.events_list.setUniformItemSizes(True)
        self.events_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.events_list.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.events_list.setFrameShape(QFrame.Shape.NoFrame)
        self.model.events.rowsInserted.connect(self._events_to_end)
        self.model.events.modelReset.connect(self._events_to_end)
        self.waterfall = LatencyWaterfall(self.model.latency)
        latency = QWidget()
        latency_layout = QVBoxLayout(latency)
        latency_layout.setContentsMargins(8, 6, 8, 6)
        latency_layout.addWidget(self.waterfall)
        tabs.addTab(latency, "Latency")
        tabs.addTab(self.events_list, "Events")
        return tabs

    def _controls(self) -> QWidget:
        box = QWidget()
        box.setMaximumWidth(CONTROLS_WIDTH)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)

        from console.views.join_bar import JoinBar

        self.join_bar = JoinBar(self.model)
        layout.addWidget(self.join_bar)

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

        self.whisper_title = section(WHISPER_TEXTS["ai"][0])
        layout.addWidget(self.whisper_title)
        self.whisper_box = SendBox(WHISPER_TEXTS["ai"][1])
        self.whisper_box.submitted.connect(self.send_whisper)
        self.whisper_reply = QCheckBox("Reply now")
        self.whisper_button = button("Whisper", self.send_whisper)
        layout.addWidget(self.whisper_box)
        layout.addLayout(hbox(self.whisper_reply, None, self.whisper_button))

        self.macros_title = section("Macros")
        self.macro_edit_button = button("Edit…", self.edit_macros)
        self.macro_edit_button.setObjectName("linkButton")
        layout.addLayout(hbox(self.macros_title, None, self.macro_edit_button))
        self.macro_bar = MacroBar(self.macros, self.run_macro)
        layout.addWidget(self.macro_bar)

        layout.addWidget(section("Transfer"))
        self.transfer_button = button("Transfer…", self.open_transfer)
        self.transfer_status = QLabel("")
        self.transfer_status.setObjectName("viewSubtitle")
        layout.addLayout(hbox(self.transfer_button, self.transfer_status, None))
        self.timeline = TransferTimelineView(self.model.transfers)
        layout.addWidget(self.timeline)
        self.complete_transfer_button = button("Complete", self.model.complete_transfer, primary=True)
        self.cancel_transfer_button = button("Cancel transfer", self.model.cancel_transfer, danger=True)
        self.transfer_actions = QWidget()
        self.transfer_actions.setLayout(hbox(self.complete_transfer_button, self.cancel_transfer_button,
                                             None))
        layout.addWidget(self.transfer_actions)

        layout.addWidget(section("Call"))
        self.hold_button = button("Hold", self.model.toggle_hold)
        self.mute_button = QPushButton("Mute agent")
        self.mute_button.setCheckable(True)
        self.mute_button.clicked.connect(self.model.set_agent_muted)
        self.end_button = button("End call", self.ask_end_call, danger=True)
        layout.addLayout(hbox(self.hold_button, self.mute_button, None, self.end_button))
        self.callback_button = button("Call back…", self.open_callback)
        self.callback_button.setToolTip("Schedule a call back to this caller later, with "
                                        "instructions for the agent")
        layout.addLayout(hbox(self.callback_button, None))

        layout.addWidget(section("Keypad"))
        pad = QGridLayout()
        pad.setSpacing(6)
        self.dtmf_buttons: dict[str, QPushButton] = {}
        for row, keys in enumerate(DTMF_KEYS):
            for column, key in enumerate(keys):
                key_button = button(key, bound(self.model.dtmf, key))
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

    def _show_whisper(self, live: bool) -> None:
        target = self.model.whisper_target
        title, placeholder = WHISPER_TEXTS[target]
        self.whisper_title.setText(title)
        self.whisper_box.setPlaceholderText(placeholder)
        self.whisper_box.setEnabled(live and target != "phone")
        self.whisper_reply.setVisible(target == "ai")
        self.whisper_button.setEnabled(live and target != "phone")

    def send_whisper(self) -> None:
        if self.model.whisper(self.whisper_box.toPlainText(), reply_now=self.whisper_reply.isChecked()):
            self.whisper_box.clear()

    def run_macro(self, number: int) -> bool:
        """Say or whisper the agent's macro of Ctrl+``number``; False when there is none."""
        macro = self.macros.macro(number)
        if macro is None or not (self.model.live or not self.model.is_loaded):
            self._notify(f"No macro on Ctrl+{number}" if macro is None else "The call is over")
            return False
        if macro.kind == "whisper":
            return self.model.whisper(macro.text)
        return self.model.say(macro.text)

    def edit_macros(self) -> MacroEditor | None:
        if not self.macros.agent_id:
            self._show_error("This call has no agent to keep macros on")
            return None
        if self.macro_editor is None:
            self.macro_editor = MacroEditor(self.macros, self)
            self.macro_editor.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.macro_editor.finished.connect(lambda _: setattr(self, "macro_editor", None))
        self.macro_editor.open()
        return self.macro_editor

    def open_transfer(self) -> TransferDialog:
        if self.transfer_dialog is None:
            dialog = TransferDialog(self.bridge, self.model.call_id, self.model.transcript.briefing(), self)
            if self.model.is_loaded and not self.model.live:
                dialog.call_ended()
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.started.connect(self.model.transfers.update_transfer)
            dialog.finished.connect(lambda _: setattr(self, "transfer_dialog", None))
            self.transfer_dialog = dialog
        self.transfer_dialog.open()
        return self.transfer_dialog

    def open_callback(self) -> CallbackDialog:
        """The "Call back…" dialog: a date and time, a reason and instructions."""
        dialog = CallbackDialog(self.bridge, self.model.call_id, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.scheduled.connect(self._callback_scheduled)
        dialog.open()
        return dialog

    def _callback_scheduled(self, callback: dict[str, object]) -> None:
        at = callback.get("scheduled_at")
        when = fmt.local_time(at if isinstance(at, str) else None, zone=True)
        self._notify(f"Callback scheduled for {when}")

    def event(self, event: QEvent) -> bool:
        # Ctrl+1…9 belong to the macros while the focus is in the panel (the window's view
        # shortcuts would otherwise be ambiguous with them and neither would run)
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent) \
                and macro_number(event):
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        number = macro_number(event)
        if number:
            self.run_macro(number)
            event.accept()
            return
        super().keyPressEvent(event)

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
        if self.model.barge_in_count:
            count = self.model.barge_in_count
            facts.append(f"{count} barge-in{'s' if count != 1 else ''}")
        self.facts.setText("  ·  ".join(f for f in facts if f))
        state = self.model.agent_state
        self.state_badge.setText(f"Agent: {STATE_LABELS.get(state, fmt.label(state))}" if state else "")
        live = self.model.live or not self.model.is_loaded
        self.hold_button.setText("Resume" if self.model.on_hold else "Hold")
        self.mute_button.setChecked(self.model.agent_muted)
        self.mute_button.setText("Unmute agent" if self.model.agent_muted else "Mute agent")
        for widget in (self.say_button, self.whisper_button, self.hold_button, self.mute_button,
                       self.end_button, self.say_box, self.say_when, self.say_uninterruptible,
                       self.say_end_after, self.whisper_reply, *self.dtmf_buttons.values()):
            widget.setEnabled(live)
        self.hold_button.setEnabled(live and not {"hold", "resume"} & self.model.busy)
        self._show_whisper(live)
        if not live and self.transfer_dialog is not None and shiboken6.isValid(self.transfer_dialog):
            self.transfer_dialog.call_ended()
        if self.model.agent_id:
            self.macros.load(self.model.agent_id)
        self.macro_bar.set_enabled(live)
        self.macro_edit_button.setEnabled(bool(self.model.agent_id))
        running = self.model.transfers.running if live else None
        self.transfer_button.setEnabled(live and running is None and self.model.status != "transferring")
        self.transfer_actions.setVisible(running is not None)
        if running is not None:
            self.transfer_status.setText(f"{fmt.label(str(running.get('kind') or ''))} · "
                                         f"{fmt.label(str(running.get('status') or ''))}")
            self.complete_transfer_button.setVisible(running.get("kind") == "warm")
            self.complete_transfer_button.setEnabled("complete_transfer" not in self.model.busy)
            self.cancel_transfer_button.setEnabled("cancel_transfer" not in self.model.busy)
        else:
            self.transfer_status.setText("")
        self._show_duration()

    def _show_duration(self) -> None:
        if self.model.live:
            self.duration.setText(fmt.duration(live_seconds(self.model.call)))
        elif self.model.is_loaded:
            self.duration.setText(f"Ended · {fmt.duration(self.model.call.get('duration_seconds'))}")

    def _events_to_end(self) -> None:
        """The events list scrolls to its end on the next turn of the loop (unless deleted by then)."""
        QTimer.singleShot(0, self.events_list, self.events_list.scrollToBottom)

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _sent(self, type_: str) -> None:
        self._notify(SENT_TEXTS.get(type_, f"{fmt.label(type_)} sent"))

    def _notify(self, text: str) -> None:
        status = getattr(self.window(), "show_message", None)
        if status is not None:
            status(text)

    def _global_event(self, event: Event) -> None:
        if isinstance(event, AgentUpdated):
            self.macros.agent_changed(event.record)

    # -- lifetime ---------------------------------------------------------------------------------

    def start(self) -> None:
        self.model.start()

    def stop(self) -> None:
        self._clock.stop()
        self.model.stop()
