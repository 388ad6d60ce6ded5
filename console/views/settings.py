"""Settings: the engine connection (and attaching to a remote one), the data dir, API keys, the
provider keys agents use (``console.views.provider_keys``), theme, and the phone's audio devices."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.context import ConsoleContext
from console.models.records import Column, RecordTableModel
from console.phone.audio import AudioDevices, AudioIO, TonePlayer
from console.phone.ring import FRAME_BYTES, RingBuffer
from console.views.base import View
from console.views.join_bar import LevelMeter
from console.views.provider_keys import ProviderKeysBox
from console.views.widgets import button, confirm, hbox, heading, inform, table_view
from engine.client import ApiError, Client, Record


class NewKeyDialog(QDialog):
    """Shows a new API key, this once."""

    def __init__(self, parent: QWidget, record: Record) -> None:
        super().__init__(parent)
        self.setWindowTitle("New API key")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"The key <b>{record.get('name', '')}</b> is shown only now. Copy it."))
        self.key = QLineEdit(str(record.get("key", "")))
        self.key.setReadOnly(True)
        self.key.selectAll()
        layout.addWidget(self.key)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class SettingsView(View):
    title = "Settings"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, _ = heading("Settings", "The engine this console talks to, its keys, the providers' keys its "
                                        "agents use, how the console looks and the phone's audio "
                                        "devices")
        self.page.addWidget(top)
        grid = QGridLayout()
        grid.setHorizontalSpacing(14)
        grid.setVerticalSpacing(14)

        engine = QFormLayout()
        engine.setHorizontalSpacing(14)
        engine.setVerticalSpacing(8)
        self.url = QLabel()
        self.url.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.state = QLabel()
        self.mode = QLabel()
        self.version = QLabel()
        self.data_dir = QLabel()
        self.data_dir.setWordWrap(True)
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.organization = QLabel()
        for text, widget in (("URL", self.url), ("State", self.state), ("Runs as", self.mode),
                             ("Version", self.version), ("Data directory", self.data_dir),
                             ("Organization", self.organization)):
            engine.addRow(text, widget)
        self.demo_callers = QCheckBox("Simulated callers call the agents")
        self.demo_callers.setEnabled(False)
        self.demo_callers.clicked.connect(self._switch_demo_callers)
        self.demo_callers_state = QLabel()
        engine.addRow("Demo callers", _row(self.demo_callers, self.demo_callers_state))
        grid.addWidget(_group("Engine", engine), 0, 0)

        remote = QFormLayout()
        remote.setHorizontalSpacing(14)
        remote.setVerticalSpacing(8)
        self.remote_url = QLineEdit()
        self.remote_url.setPlaceholderText("http://engine.example.com:8040")
        self.remote_key = QLineEdit()
        self.remote_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.remote_key.setPlaceholderText("API key of that engine")
        self.attach_state = QLabel()
        self.attach_state.setObjectName("viewSubtitle")
        self.attach_state.setWordWrap(True)
        remote.addRow("Engine URL", self.remote_url)
        remote.addRow("API key", self.remote_key)
        remote.addRow("", _row(self.attach_state, button("Attach", self.attach, primary=True)))
        right = QVBoxLayout()
        right.setSpacing(14)
        right.addWidget(_group("Attach to a remote engine", remote))

        appearance = QFormLayout()
        self.theme = QComboBox()
        for name in theme.THEMES:
            self.theme.addItem(name.capitalize(), name)
        self.theme.setCurrentIndex(self.theme.findData(theme.current()))
        self.theme.currentIndexChanged.connect(lambda _: ctx.set_theme(self.theme.currentData()))
        appearance.addRow("Theme", self.theme)
        right.addWidget(_group("Appearance", appearance))
        right.addWidget(_group("Audio", self._audio_form(ctx.audio_devices)))
        right.addStretch(1)
        grid.addLayout(right, 0, 1, 3, 1)

        keys_box = QVBoxLayout()
        keys_box.setSpacing(8)
        self.keys = RecordTableModel([
            Column.key("Name", "name"), Column.key("Prefix", "prefix"),
            Column("State", self._key_state),
            Column("Scopes", lambda r: ", ".join(r.get("scopes") or []) or "all"),
            Column(fmt.with_zone("Created"), lambda r: fmt.local_time(r.get("created_at"))),
            Column(fmt.with_zone("Last used"), lambda r: fmt.local_time(r.get("last_used_at")) or "Never"),
        ], self)
        self.keys_table = table_view(self.keys)
        for column, width in enumerate((150, 100, 110, 70, 130)):
            self.keys_table.horizontalHeader().resizeSection(column, width)
        self.key_name = QLineEdit()
        self.key_name.setPlaceholderText("Name of a new key, e.g. CRM sync")
        self.key_name.setMinimumWidth(240)
        self.revoke_button = button("Revoke", self.ask_revoke, danger=True)
        keys_box.addWidget(self.keys_table, 1)
        keys_box.addLayout(hbox(self.key_name, button("Create key", self.create_key, primary=True), None,
                                self.revoke_button))
        grid.addWidget(_group("API keys", keys_box), 1, 0)
        self.provider_keys = ProviderKeysBox(self.bridge)
        self.provider_keys.loaded.connect(self._settle)
        grid.addWidget(self.provider_keys, 2, 0)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(1, 1)
        grid.setRowStretch(2, 1)
        self.page.addLayout(grid, 1)
        self.new_key_dialog: NewKeyDialog | None = None
        self.confirmation: QWidget | None = None
        self._pending = 0
        ctx.engine_changed.connect(self._show_engine)
        ctx.theme_changed.connect(self._theme_changed)

    # -- audio ---------------------------------------------------------------------------------

    def _audio_form(self, devices: AudioDevices) -> QFormLayout:
        self.devices = devices
        form = QFormLayout()
        form.setHorizontalSpacing(14)
        form.setVerticalSpacing(8)
        self.audio_message = QLabel("")
        self.audio_message.setObjectName("audioMessage")
        self.audio_message.setWordWrap(True)
        self.audio_message.setStyleSheet(f"color: {theme.colors().danger};")
        self.input_combo, self.output_combo, self.ringer_combo = QComboBox(), QComboBox(), QComboBox()
        for combo, kind in ((self.input_combo, "input"), (self.output_combo, "output"),
                            (self.ringer_combo, "ringer")):
            combo.setMinimumWidth(200)
            combo.currentIndexChanged.connect(lambda _, c=combo, k=kind: self._device_chosen(c, k))
        self.mic_meter = LevelMeter("Microphone level")
        self.tones = TonePlayer(devices, self)
        self.tones.finished.connect(self._show_devices)
        self.test_speaker_button = button("Test speaker", self.test_speaker)
        form.addRow(self.audio_message)
        form.addRow("Input", self.input_combo)
        form.addRow("Mic level", self.mic_meter)
        form.addRow("Output", self.output_combo)
        form.addRow("Ringer", self.ringer_combo)
        test_row = QWidget()
        test_row.setLayout(hbox(self.test_speaker_button, None))
        form.addRow("", test_row)
        self.monitor = AudioIO(devices, RingBuffer(FRAME_BYTES * 10), RingBuffer(FRAME_BYTES), self)
        self._meter_timer = QTimer(self)
        self._meter_timer.setInterval(100)
        self._meter_timer.timeout.connect(self._show_mic_level)
        devices.changed.connect(self._show_devices)
        self._show_devices()
        return form

    def _show_devices(self) -> None:
        devices = self.devices
        lists = {"input": devices.inputs(), "output": devices.outputs()}
        lists["ringer"] = lists["output"]
        for combo, kind in ((self.input_combo, "input"), (self.output_combo, "output"),
                            (self.ringer_combo, "ringer")):
            options = lists[kind]
            chosen = devices.chosen(kind)
            combo.blockSignals(True)
            combo.clear()
            if options:
                in_use = dict(options).get(devices.in_use(kind), "")
                combo.addItem(f"System default ({in_use})" if in_use else "System default", "")
                for ident, description in options:
                    combo.addItem(description, ident)
                if chosen and combo.findData(chosen) < 0:
                    combo.addItem(f"{chosen} (not connected)", chosen)
                combo.setCurrentIndex(max(0, combo.findData(chosen)))
            else:
                combo.addItem("No device", "")
            combo.setEnabled(bool(options))
            combo.blockSignals(False)
        message = devices.message()
        self.audio_message.setText(message or "")
        self.audio_message.setVisible(bool(message))
        self.mic_meter.setEnabled(bool(lists["input"]))
        self.test_speaker_button.setEnabled(bool(lists["output"]))
        self.test_speaker_button.setText("Playing…" if self.tones.playing else "Test speaker")

    def _device_chosen(self, combo: QComboBox, kind: str) -> None:
        self.devices.choose(kind, str(combo.currentData() or ""))

    def test_speaker(self) -> None:
        if self.tones.play("output"):
            self._show_devices()
        else:
            self.audio_message.setText(self.devices.message() or "The output device could not play")
            self.audio_message.show()

    def _show_mic_level(self) -> None:
        mic = self.monitor.mic
        self.mic_meter.set_level(mic.level())
        mic.read(len(mic))  # only the level matters here

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self.monitor.active:
            self.monitor.start(capture=True, play=False)
            self._meter_timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        self.monitor.stop()
        self._meter_timer.stop()
        self.mic_meter.set_level(0.0)
        super().hideEvent(event)

    def _theme_changed(self, name: str) -> None:
        self.theme.blockSignals(True)
        self.theme.setCurrentIndex(self.theme.findData(name))
        self.theme.blockSignals(False)

    def _show_engine(self) -> None:
        info = self.ctx.engine
        self.url.setText(info.url)
        self.mode.setText({"embedded": "Embedded: started by this console, stops with it",
                           "demo": "Embedded demo engine (a fresh data dir each time)",
                           "remote": "Remote: attached by URL and API key"}.get(info.mode, info.mode))
        self.data_dir.setText(str(info.data_dir) if info.data_dir else "On the remote machine")
        window = self.window()
        self.state.setText(fmt.label(getattr(window, "connection_state", "")) or "—")

    def refresh(self) -> None:
        self.is_loaded = False
        self._show_engine()
        self._pending = 5
        self.bridge.call(lambda api: api.health(), self._got_health, self._health_failed)
        self.bridge.call(lambda api: api.demo_callers(), self._got_demo_callers,
                         self._no_demo_callers)
        self.bridge.call(lambda api: api.organization(), self._got_org, lambda exc: self._settle())
        self._load_keys()
        self.provider_keys.refresh()

    def _load_keys(self) -> None:
        self.bridge.call(lambda api: api.list_api_keys(), self._got_keys, self._keys_failed)

    def _got_health(self, body: Record) -> None:
        self.state.setText("Connected" + ("" if body.get("ready", True) else " (starting)"))
        self.version.setText(str(body.get("version", "")))
        self._settle()

    def _health_failed(self, exc: Exception) -> None:
        self.state.setText(f"Disconnected: {exc}")
        self._settle()

    def _got_org(self, org: Record) -> None:
        self.organization.setText(str(org.get("name", "")))
        self._settle()

    def _got_keys(self, keys: list[Record]) -> None:
        chosen = self.keys.record(self.keys_table.currentIndex().row())
        self.keys.set_records(keys)
        if chosen is not None and (row := self.keys.row_of(str(chosen.get("id")))) >= 0:
            self.keys_table.selectRow(row)
        self._settle()

    def _keys_failed(self, exc: Exception) -> None:
        """The keys as they were stay listed: a failed reload is not an empty list."""
        self.show_error(exc)
        self._settle()

    def is_own_key(self, record: Record) -> bool:
        """The key this console is authenticated with (the engine marks it ``current``; an
        engine that does not is matched by the key's prefix)."""
        if "current" in record:
            return bool(record["current"])
        prefix = str(record.get("prefix") or "")
        return bool(prefix) and self.bridge.api_key.startswith(prefix)

    def _key_state(self, record: Record) -> str:
        if record.get("revoked"):
            return "Revoked"
        return "In use here" if self.is_own_key(record) else "Active"

    def _got_demo_callers(self, state: Record) -> None:
        self._show_demo_callers(state)
        self._settle()

    def _show_demo_callers(self, state: Record) -> None:
        self.demo_callers.setEnabled(True)
        self.demo_callers.setChecked(bool(state.get("enabled")))
        self.demo_callers_state.setText(
            f"{state.get('in_progress', 0)} of {state.get('target', 0)} in progress")

    def _no_demo_callers(self, exc: Exception) -> None:
        self._demo_callers_failed(exc)
        self._settle()

    def _demo_callers_failed(self, exc: Exception) -> None:
        self.demo_callers.setEnabled(False)
        self.demo_callers.setChecked(False)
        unavailable = isinstance(exc, ApiError) and exc.status == 409
        self.demo_callers_state.setText("Needs the engine's SIP on" if unavailable else str(exc))

    def _switch_demo_callers(self, enabled: bool) -> None:
        self.demo_callers.setEnabled(False)  # until the engine answered
        self.bridge.call(lambda api: api.set_demo_callers(enabled), self._show_demo_callers,
                         self._demo_callers_failed)

    def _settle(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self.loaded.emit()

    # -- actions ---------------------------------------------------------------------------------

    def attach(self) -> None:
        url, key = self.remote_url.text().strip(), self.remote_key.text().strip()
        if not url or not key:
            self.attach_state.setText("Give the engine's URL and an API key.")
            return
        self.attach_state.setText("Checking…")

        async def probe(api: Client) -> Record:
            async with Client(url, key, timeout=5.0) as other:
                await other.health()
                return await other.organization()

        self.bridge.call(probe, lambda org: self._attached(url, key, org),
                         lambda exc: self.attach_state.setText(f"Cannot attach: {exc}"))

    def _attached(self, url: str, key: str, org: Record) -> None:
        self.attach_state.setText(f"Attached to {org.get('name', url)}")
        self.remote_key.clear()
        self.ctx.attach(url, key)

    def create_key(self) -> None:
        name = self.key_name.text().strip() or "Console key"
        self.bridge.call(lambda api: api.create_api_key(name), self._key_created,
                         lambda exc: self.show_error(exc))

    def _key_created(self, record: Record) -> None:
        self.key_name.clear()
        self.new_key_dialog = NewKeyDialog(self, record)
        self.new_key_dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.new_key_dialog.open()
        self._load_keys()

    def ask_revoke(self) -> None:
        row = self.keys_table.currentIndex().row()
        record = self.keys.record(row)
        if record is None:
            return
        ident = str(record["id"])
        name = f"“{record.get('name') or ident}” ({record.get('prefix', '')}…)"
        if self.is_own_key(record):
            self.confirmation = inform(
                self, "Revoke API key",
                f"This console is connected with the key {name}, so it cannot revoke it: the "
                "console would be locked out of the engine at once. Revoke it from another console "
                "or a script that uses a different admin key.", error=True)
            return
        if record.get("revoked"):
            self.confirmation = inform(self, "Revoke API key", f"The key {name} is already revoked.")
            return
        self.confirmation = confirm(
            self, "Revoke API key",
            f"Revoke the key {name}? Scripts and consoles using it are refused from now on. "
            "This cannot be undone.",
            lambda: self.bridge.call(lambda api: api.revoke_api_key(ident),
                                     lambda _: self._load_keys(), self._revoke_failed),
            yes_text="Revoke")

    def _revoke_failed(self, exc: Exception) -> None:
        self.show_error(exc)
        self._load_keys()


def _group(title: str, layout: QFormLayout | QVBoxLayout) -> QGroupBox:
    box = QGroupBox(title)
    box.setLayout(layout)
    return box


def _row(*widgets: QWidget) -> QWidget:
    holder = QWidget()
    holder.setLayout(hbox(*widgets))
    return holder
