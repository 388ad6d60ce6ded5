"""The softphone dock: a human agent signs in, takes or declines the transfers offered to them,
and talks on the call (mute, hold, keypad, hang up, levels, live transcript). It shows the
``SoftphoneModel``; every button is a model action."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFrame,
    QGridLayout,
    QLabel,
    QMainWindow,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.context import ConsoleContext
from console.models.softphone import (
    DECLINE_REASONS,
    PRESENCES,
    SIGNED_OUT,
    PhoneLike,
    SoftphoneModel,
    user_label,
)
from console.models.transcript import TranscriptModel
from console.views.ringer import Ringer
from console.views.transcript import TranscriptView
from console.views.widgets import bound, button, empty_state, hbox
from engine.events import Event, UserCreated, UserDeleted

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QAudioDevice

SHORTCUT = "F9"  # Ctrl+1..7 pick views; F9 is free in the window and in Qt's standard keys
DOCK_WIDTH = 380  # as first shown; the user may drag it
DOCK_MIN_WIDTH = 300
DTMF_KEYS = ("123", "456", "789", "*0#")
WEB_CALL_KEYPAD = "Keypad tones cannot be sent on a test call: it carries your voice only."
LAST_TURNS_SHOWN = 6
WHISPERS_SHOWN = 3  # the latest supervisor whispers on the banner
PHASE_LABELS = {"connecting": "Connecting…", "connected": "Connected", "ended": "Call ended",
                "failed": "Call failed"}


def _clear(layout: QGridLayout | QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.deleteLater()


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _meter() -> QProgressBar:
    bar = QProgressBar()
    bar.setObjectName("levelMeter")
    bar.setRange(0, 100)
    bar.setTextVisible(False)
    bar.setFixedHeight(8)
    return bar


def _wrapped(text: str = "", name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class OfferCard(QFrame):
    """An offered transfer: who calls, the briefing, what the agent collected, the last turns."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("offerCard")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(14, 12, 14, 12)
        layout.setSpacing(6)
        self.kicker = QLabel("Incoming transfer")
        self.kicker.setObjectName("offerKicker")
        self.countdown = QLabel("")
        self.countdown.setObjectName("offerCountdown")
        layout.addLayout(hbox(self.kicker, None, self.countdown))
        self.countdown_bar = QProgressBar()
        self.countdown_bar.setObjectName("countdownBar")
        self.countdown_bar.setTextVisible(False)
        self.countdown_bar.setFixedHeight(4)
        layout.addWidget(self.countdown_bar)
        self.caller = _wrapped("", "callHeadline")
        self.agent = _wrapped("", "viewSubtitle")
        layout.addWidget(self.caller)
        layout.addWidget(self.agent)
        self.summary_title = _subsection("Summary")
        self.summary = _wrapped()
        layout.addWidget(self.summary_title)
        layout.addWidget(self.summary)
        self.data_title = _subsection("Details")
        self.data_grid = QGridLayout()
        self.data_grid.setHorizontalSpacing(10)
        self.data_grid.setVerticalSpacing(3)
        self.data_grid.setColumnStretch(1, 1)
        layout.addWidget(self.data_title)
        layout.addLayout(self.data_grid)
        self.turns_title = _subsection("Last turns")
        self.turns = QVBoxLayout()
        self.turns.setSpacing(4)
        layout.addWidget(self.turns_title)
        layout.addLayout(self.turns)
        layout.addStretch(1)

    def show_offer(self, offer: dict[str, Any]) -> None:
        self.caller.setText(str(offer.get("caller") or "Unknown caller"))
        agent = offer.get("agent_name") or ""
        label = offer.get("label") or ""
        facts = [f"from {agent}" if agent else "", str(label)]
        self.agent.setText("  ·  ".join(f for f in facts if f))
        summary = str(offer.get("summary") or "")
        self.summary.setText(summary)
        self.summary_title.setVisible(bool(summary))
        self.summary.setVisible(bool(summary))

        _clear(self.data_grid)
        data = offer.get("data") if isinstance(offer.get("data"), dict) else {}
        assert isinstance(data, dict)
        for row, (key, value) in enumerate(data.items()):
            name = QLabel(fmt.label(str(key)))
            name.setObjectName("viewSubtitle")
            name.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
            self.data_grid.addWidget(name, row, 0)
            self.data_grid.addWidget(_wrapped(_value(value)), row, 1)
        self.data_title.setVisible(bool(data))

        _clear(self.turns)
        turns = [t for t in offer.get("last_turns") or [] if isinstance(t, dict)][-LAST_TURNS_SHOWN:]
        for turn in turns:
            role = str(turn.get("role") or "")
            speaker = fmt.SPEAKER_LABELS.get(role, fmt.label(role) or "?")
            line = _wrapped(f"<b>{speaker}:</b> {_escape(str(turn.get('text') or ''))}", "offerTurn")
            line.setTextFormat(Qt.TextFormat.RichText)
            line.setProperty("speaker", role)
            self.turns.addWidget(line)
        self.turns_title.setVisible(bool(turns))

    def show_countdown(self, left: int, total: int) -> None:
        self.countdown.setText(f"{left} s")
        self.countdown_bar.setRange(0, max(1, total))
        self.countdown_bar.setValue(left)


def _subsection(title: str) -> QLabel:
    label = QLabel(title)
    label.setObjectName("offerSection")
    return label


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SoftphoneDock(QDockWidget):
    """The softphone on the right of the main window; ``F9`` shows and hides it."""

    def __init__(self, ctx: ConsoleContext, window: QMainWindow,
                 phone: Callable[[], PhoneLike | None] | None = None,
                 settings: QSettings | None = None) -> None:
        super().__init__("Softphone", window)
        self.setObjectName("softphoneDock")
        self.ctx = ctx
        self.main_window = window
        find_phone = phone or (lambda: getattr(window, "phone", None) or getattr(ctx, "phone", None))
        self.model = SoftphoneModel(ctx.bridge, find_phone, settings, self)
        self.ringer = Ringer(window, self)
        self.setAllowedAreas(Qt.DockWidgetArea.RightDockWidgetArea | Qt.DockWidgetArea.LeftDockWidgetArea)
        self.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetClosable
                         | QDockWidget.DockWidgetFeature.DockWidgetMovable)
        self._users_requested = False
        self._offer_total = 0

        body = QWidget()
        body.setObjectName("softphone")
        body.setMinimumWidth(DOCK_MIN_WIDTH)
        outer = QVBoxLayout(body)
        outer.setContentsMargins(12, 10, 12, 12)
        outer.setSpacing(8)
        outer.addWidget(self._sign_in_box())
        self.error_label = QLabel("")
        self.error_label.setObjectName("fieldError")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        outer.addWidget(self.error_label)

        self.stack = QStackedWidget()
        self.waiting = empty_state("")
        self.stack.addWidget(self.waiting)
        self.stack.addWidget(self._offer_page())
        self.stack.addWidget(self._call_page())
        outer.addWidget(self.stack, 1)
        self.setWidget(body)

        action = self.toggleViewAction()
        action.setText("Softphone")
        action.setShortcut(QKeySequence(SHORTCUT))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        window.addAction(action)

        self.model.changed.connect(self.show_state)
        self.model.ticked.connect(self._show_clock)
        self.model.users_loaded.connect(self._fill_users)
        self.model.error.connect(self._show_error)
        self.model.levels.connect(self._show_levels)
        self.model.offer_arrived.connect(self._ring)
        self.model.offer_cleared.connect(self._offer_gone)
        self.model.call_started.connect(self._call_started)
        ctx.bridge.event_received.connect(self._event)
        ctx.engine_changed.connect(self._engine_changed)
        self.visibilityChanged.connect(self._visible)
        self.show_state()

    # -- layout --------------------------------------------------------------------------------------

    def _sign_in_box(self) -> QWidget:
        box = QFrame()
        box.setObjectName("signInBox")
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(6)
        self.user_combo = QComboBox()
        self.user_combo.setPlaceholderText("Choose who you are")
        self.user_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.user_combo.currentIndexChanged.connect(lambda _: self.show_state())
        self.sign_in_button = button("Sign in", self.sign_in, primary=True)
        layout.addLayout(hbox(self.user_combo, self.sign_in_button))
        self.presence_dot = QLabel("●")
        self.presence_dot.setObjectName("presenceDot")
        self.presence_label = QLabel("")
        self.presence_combo = QComboBox()
        for presence in PRESENCES:
            self.presence_combo.addItem(fmt.label(presence), presence)
        self.presence_combo.activated.connect(
            lambda index: self.model.set_presence(str(self.presence_combo.itemData(index))))
        self.sign_out_button = button("Sign out", self.model.sign_out)
        layout.addLayout(hbox(self.presence_dot, self.presence_label, None, self.presence_combo,
                              self.sign_out_button, spacing=6))
        return box

    def _offer_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.offer_card = OfferCard()
        scroll = QScrollArea()
        scroll.setObjectName("offerScroll")
        scroll.setWidget(self.offer_card)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout.addWidget(scroll, 1)
        self.decline_reason = QComboBox()
        self.decline_reason.setEditable(True)
        self.decline_reason.addItems(DECLINE_REASONS)
        self.decline_reason.setCurrentIndex(-1)
        line = self.decline_reason.lineEdit()
        assert line is not None
        line.setPlaceholderText("Reason to decline (optional)")
        layout.addWidget(self.decline_reason)
        self.decline_button = button("Decline", self.decline, danger=True)
        self.answer_button = button("Answer", self.model.answer, primary=True)
        for widget in (self.decline_button, self.answer_button):
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        layout.addLayout(hbox(self.decline_button, self.answer_button))
        return page

    def _call_page(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.call_title = _wrapped("", "callHeadline")
        self.call_timer = QLabel("")
        self.call_timer.setObjectName("callTimer")
        layout.addLayout(hbox(self.call_title, None, self.call_timer))
        self.call_subtitle = QLabel("")
        self.call_subtitle.setObjectName("viewSubtitle")
        self.call_subtitle.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.call_state = QLabel("")
        self.call_state.setObjectName("callState")
        state_row = hbox(self.call_subtitle, self.call_state)
        state_row.setStretch(0, 1)
        layout.addLayout(state_row)

        meters = QGridLayout()
        meters.setHorizontalSpacing(8)
        meters.setVerticalSpacing(4)
        self.mic_meter, self.speaker_meter = _meter(), _meter()
        for row, (name, meter) in enumerate((("Mic", self.mic_meter), ("Speaker", self.speaker_meter))):
            caption = QLabel(name)
            caption.setObjectName("viewSubtitle")
            meters.addWidget(caption, row, 0)
            meters.addWidget(meter, row, 1)
        meters.setColumnStretch(1, 1)
        layout.addLayout(meters)

        self.mute_button = QPushButton("Mute")
        self.mute_button.setCheckable(True)
        self.mute_button.clicked.connect(self.model.set_muted)
        self.hold_button = button("Hold", self.model.toggle_hold)
        self.keypad_button = QPushButton("Keypad")
        self.keypad_button.setCheckable(True)
        self.hang_up_button = button("Hang up", self.model.hang_up, danger=True)
        self.hang_up_button.setObjectName("hangUp")
        self.close_button = button("Close", self.model.dismiss)
        buttons = (self.mute_button, self.hold_button, self.keypad_button, self.hang_up_button,
                   self.close_button)
        for widget in buttons:
            widget.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            widget.setCursor(Qt.CursorShape.PointingHandCursor)
        layout.addLayout(hbox(*buttons[:3], spacing=6))
        layout.addLayout(hbox(*buttons[3:], spacing=6))

        self.keypad = QWidget()
        pad = QGridLayout(self.keypad)
        pad.setContentsMargins(0, 0, 0, 0)
        pad.setSpacing(6)
        self.dtmf_buttons: dict[str, QPushButton] = {}
        for row, keys in enumerate(DTMF_KEYS):
            for column, key in enumerate(keys):
                key_button = button(key, bound(self.model.dtmf, key))
                key_button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
                pad.addWidget(key_button, row, column)
                self.dtmf_buttons[key] = key_button
        self.keypad_note = _wrapped(WEB_CALL_KEYPAD, "viewSubtitle")
        pad.addWidget(self.keypad_note, len(DTMF_KEYS), 0, 1, 3)
        self.keypad.setVisible(False)
        self.keypad_button.toggled.connect(self.keypad.setVisible)
        layout.addWidget(self.keypad)

        self.whisper_banner = _wrapped("", "whisperBanner")
        self.whisper_banner.setTextFormat(Qt.TextFormat.RichText)
        self.whisper_banner.setToolTip("Only you see this; the caller does not hear it")
        self.whisper_banner.hide()
        layout.addWidget(self.whisper_banner)

        self.empty_transcript = TranscriptModel(self)
        self.transcript = TranscriptView(self.empty_transcript)
        layout.addWidget(self.transcript, 1)
        return page

    # -- actions ----------------------------------------------------------------------------------------

    def sign_in(self) -> None:
        user_id = self.user_combo.currentData()
        if user_id:
            self.model.sign_in(str(user_id))

    def decline(self) -> None:
        self.model.decline(self.decline_reason.currentText())

    def test_call(self, agent_id: str, agent_name: str = "") -> bool:
        """Call the agent from this console (the agent editor's Test call)."""
        self.show()
        self.raise_()
        return self.model.test_call(agent_id, agent_name)

    # -- showing the state ---------------------------------------------------------------------------

    def show_state(self) -> None:
        model = self.model
        signed_in = model.user is not None
        busy = bool(model.pending)
        self.user_combo.setEnabled(not signed_in and not busy)
        self.sign_in_button.setVisible(not signed_in)
        self.sign_in_button.setEnabled(not busy and self.user_combo.currentIndex() >= 0)
        self.sign_out_button.setVisible(signed_in)
        self.sign_out_button.setEnabled(not busy and not model.in_call)
        self.presence_combo.setVisible(signed_in)
        self.presence_combo.setEnabled(not busy and not model.in_call)
        if signed_in:
            assert model.user is not None
            index = self.user_combo.findData(model.user.get("id"))
            if index >= 0 and index != self.user_combo.currentIndex():
                self.user_combo.setCurrentIndex(index)
            chosen = self.presence_combo.findData(model.presence)
            if chosen >= 0:
                self.presence_combo.setCurrentIndex(chosen)
        presence = model.presence if signed_in else SIGNED_OUT
        self.presence_label.setText(fmt.label(presence) if signed_in else "Signed out")
        self.presence_dot.setProperty("presence", presence)
        self.presence_dot.style().unpolish(self.presence_dot)
        self.presence_dot.style().polish(self.presence_dot)

        if model.offer is not None:
            self.stack.setCurrentIndex(1)
        elif model.call_kind:
            self.stack.setCurrentIndex(2)
            self._show_call()
        else:
            self.stack.setCurrentIndex(0)
            if not signed_in:
                self.waiting.setText("Sign in to take transfers from AI agents.")
            else:
                assert model.user is not None
                name = model.user.get("display_name") or "you"
                self.waiting.setText(f"Waiting for transfers.\nCalls handed to {name} ring here.")
        self._show_clock()

    def _show_call(self) -> None:
        model = self.model
        self.call_title.setText(model.call_title)
        self.call_subtitle.setText(model.call_subtitle)
        state = PHASE_LABELS.get(model.phase, fmt.label(model.phase))
        if model.on_hold and model.phase == "connected":
            state = "On hold"
        self.call_state.setText(state)
        self.call_state.setProperty("phase", "hold" if model.on_hold else model.phase)
        self.call_state.style().unpolish(self.call_state)
        self.call_state.style().polish(self.call_state)
        connected = model.phase == "connected"
        live = model.in_call
        self.mute_button.setEnabled(live)
        self.mute_button.setChecked(model.muted)
        self.mute_button.setText("Unmute" if model.muted else "Mute")
        live_model = model.live
        hold_busy = live_model is not None and bool({"hold", "resume"} & live_model.busy)
        self.hold_button.setEnabled(connected and live_model is not None and not hold_busy)
        self.hold_button.setText("Resume" if model.on_hold else "Hold")
        # a test call is a web call: it carries voice only, no keypad tones (the keys show
        # greyed with a note in their own space, so nothing below them moves)
        tones = connected and model.call_kind != "web_call"
        self.keypad_button.setEnabled(connected)
        for key in self.dtmf_buttons.values():
            key.setEnabled(tones)
        self.keypad_note.setVisible(model.call_kind == "web_call")
        self.hang_up_button.setVisible(live)
        self.close_button.setVisible(not live)
        if not live:
            self.keypad_button.setChecked(False)
            self.mic_meter.setValue(0)
            self.speaker_meter.setValue(0)
        self._show_whispers()
        transcript = live_model.transcript if live_model is not None else self.empty_transcript
        if self.transcript.model() is not transcript:
            self.transcript.setModel(transcript)
            transcript.rowsInserted.connect(self._follow)
            transcript.dataChanged.connect(self._follow)
            transcript.modelReset.connect(self._follow)

    def _show_whispers(self) -> None:
        whispers = self.model.whispers[-WHISPERS_SHOWN:]
        lines = [f"<b>Supervisor:</b> {_escape(str(w.get('content') or ''))}" for w in whispers]
        colors = theme.colors()  # the theme's, as it is now (light or dark)
        self.whisper_banner.setStyleSheet(
            f"#whisperBanner {{ background: {colors.speakers['supervisor']}; "
            f"border-left: 3px solid {colors.accent}; border-radius: 4px; padding: 6px 8px; }}")
        self.whisper_banner.setText("<br>".join(lines))
        self.whisper_banner.setVisible(bool(lines))

    def _show_clock(self) -> None:
        model = self.model
        if model.offer is not None:
            if self._offer_total <= 0:
                self._offer_total = model.seconds_left()
            self.offer_card.show_countdown(model.seconds_left(), self._offer_total)
        if model.call_kind:
            seconds = model.call_seconds()
            shown = model.phase in ("connected", "ended", "failed") and model.connected_at is not None
            self.call_timer.setText(fmt.duration(seconds) if shown else "")

    def _show_levels(self, mic: float, speaker: float) -> None:
        self.mic_meter.setValue(int(max(0.0, min(1.0, mic)) * 100))
        self.speaker_meter.setValue(int(max(0.0, min(1.0, speaker)) * 100))

    def _show_error(self, text: str) -> None:
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))

    def _fill_users(self) -> None:
        current = self.model.user.get("id") if self.model.user else self.user_combo.currentData()
        wanted = current or self.model.remembered_user_id
        self.user_combo.blockSignals(True)
        self.user_combo.clear()
        for user in self.model.users:
            self.user_combo.addItem(user_label(user), user.get("id"))
            self.user_combo.setItemData(self.user_combo.count() - 1,
                                        f"{user.get('email') or ''} · {fmt.label(user.get('presence'))}",
                                        Qt.ItemDataRole.ToolTipRole)
        self.user_combo.setCurrentIndex(self.user_combo.findData(wanted) if wanted else -1)
        self.user_combo.blockSignals(False)
        self.show_state()

    def _follow(self) -> None:
        self.transcript.scrollToBottom()

    # -- ringing -----------------------------------------------------------------------------------------

    def _ring(self, offer: dict[str, Any]) -> None:
        self._offer_total = 0
        self.offer_card.show_offer(offer)
        self.decline_reason.setCurrentIndex(-1)
        self.decline_reason.setEditText("")
        self.show()
        self.raise_()
        caller = offer.get("caller") or "a caller"
        agent = offer.get("agent_name") or "an AI agent"
        self.ringer.start(self._ringer_device(), "Incoming transfer", f"{caller}, from {agent}")

    def _offer_gone(self, reason: str) -> None:
        self.ringer.stop()
        self._offer_total = 0
        if reason not in ("answered", "declined", "signed_out"):
            status = getattr(self.main_window, "show_message", None)
            if status is not None:
                status(f"Transfer offer ended: {fmt.label(reason)}")

    def _ringer_device(self) -> QAudioDevice | None:
        devices = getattr(self.ctx, "audio_devices", None)
        device = getattr(devices, "device", None)
        return device("ringer") if callable(device) else None

    def _call_started(self) -> None:
        self.show()
        self.raise_()

    # -- wiring -------------------------------------------------------------------------------------------

    def _event(self, event: Event) -> None:
        self.model.apply_event(event)
        if isinstance(event, UserCreated | UserDeleted) and self._users_requested:
            self.model.load_users()

    def _visible(self, visible: bool) -> None:
        if visible and not self._users_requested:
            self._users_requested = True
            self.main_window.resizeDocks([self], [DOCK_WIDTH], Qt.Orientation.Horizontal)
            self.model.load_users()

    def _engine_changed(self) -> None:
        if self._users_requested:
            self.model.load_users()

    def rail_button(self) -> QPushButton:
        """A button for the navigation rail that shows and hides the dock."""
        toggle = QPushButton("Softphone")
        toggle.setObjectName("railSoftphone")
        toggle.setCheckable(True)
        toggle.setToolTip(f"Softphone  ({SHORTCUT})")
        toggle.setCursor(Qt.CursorShape.PointingHandCursor)
        toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        toggle.clicked.connect(lambda checked: self.setVisible(bool(checked)))  # clicked(bool)
        self.visibilityChanged.connect(lambda _: toggle.setChecked(not self.isHidden()))
        return toggle

    def shutdown(self) -> None:
        self.ringer.stop()
        self.model.shutdown()

