"""Numbers & trunks: phone numbers (which agent answers) and SIP trunks (how calls get out)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QSplitter, QWidget

from console import formatting as fmt
from console.context import ConsoleContext
from console.models.records import Column
from console.views.base import View
from console.views.campaigns import Checks
from console.views.editor import RecordEditor, options
from console.views.forms import new_form
from console.views.widgets import heading
from engine.client import Client, Collection, Record

CODECS = ("PCMU", "PCMA", "G722", "opus", "telephone-event")


def _form_page(form: Any) -> QWidget:
    page = QWidget()
    page.setLayout(form)
    return page


class NumberEditor(RecordEditor):
    noun = "number"
    resource = "phone_number"

    def __init__(self, *args: Any) -> None:
        self.agent_names: dict[str, str] = {}
        self.trunk_names: dict[str, str] = {}
        super().__init__(*args)

    def collection(self, api: Client) -> Collection:
        return api.phone_numbers

    def columns(self) -> list[Column]:
        return [Column.key("Number", "number"), Column.key("Label", "label"),
                Column("Agent", lambda r: self.agent_names.get(r.get("agent_id") or "", "")),
                Column("Trunk", lambda r: self.trunk_names.get(r.get("sip_trunk_id") or "", ""))]

    def title_of(self, record: Record) -> str:
        return str(record.get("number") or "Number")

    def build_form(self) -> QWidget:
        form = new_form()
        self.form.line(form, "Number", "number", "+14155550123")
        self.form.line(form, "Label", "label", "Support line")
        self.agent = self.form.combo(form, "Answered by", "agent_id", [("Nobody", None)])
        self.trunk = self.form.combo(form, "SIP trunk", "sip_trunk_id", [("None", None)])
        return _form_page(form)

    def set_choices(self, agents: list[Record], trunks: list[Record]) -> None:
        self.agent_names = {a["id"]: a.get("name", "") for a in agents}
        self.trunk_names = {t["id"]: t.get("name", "") for t in trunks}
        choices = ((self.agent, options(agents), "Nobody"), (self.trunk, options(trunks), "None"))
        for combo, items, none in choices:
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(none, None)
            for text, value in items:
                combo.addItem(text, value)
            combo.blockSignals(False)
        if self.current is not None and not self.is_dirty():
            self.form.load(self.current)
            self.mark_clean()
        self.model.layoutChanged.emit()


class TrunkEditor(RecordEditor):
    noun = "trunk"
    resource = "sip_trunk"

    def collection(self, api: Client) -> Collection:
        return api.sip_trunks

    def columns(self) -> list[Column]:
        return [Column.key("Name", "name"),
                Column("Host", lambda r: f"{r.get('host', '')}:{r.get('port', 5060)}"),
                Column("Transport", lambda r: str(r.get("transport", "")).upper()),
                Column("Registration", lambda r: fmt.label(r.get("registration_status")))]

    def blank(self) -> Record:
        return {"port": 5060, "transport": "udp", "codecs": ["PCMU", "PCMA", "G722"],
                "register_expires_seconds": 3600, "allow_refer": True}

    def build_form(self) -> QWidget:
        f = self.form
        form = new_form()
        f.line(form, "Name", "name", "Carrier")
        f.line(form, "Host", "host", "sip.example.com")
        f.spin(form, "Port", "port", 1, 65535)
        f.combo(form, "Transport", "transport", [("UDP", "udp"), ("TCP", "tcp")])
        f.line(form, "Username", "username", empty_is_none=True)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        f.custom(form, "Password", "password", self.password, self._password, self._show_password_state)
        f.line(form, "Realm", "auth_realm", empty_is_none=True)
        f.check(form, "Register", "register_enabled", "Send REGISTER and keep it refreshed")
        f.spin(form, "Register every", "register_expires_seconds", 60, 86400, " s")
        codecs = Checks([(c, c) for c in CODECS])
        f.custom(form, "Codecs", "codecs", codecs, codecs.values, codecs.set_values)
        f.line(form, "Caller ID", "caller_id", "+14155550100", empty_is_none=True)
        f.check(form, "Transfers", "allow_refer", "Allow SIP REFER")
        return _form_page(form)

    def _password(self) -> str | None:
        return self.password.text() or None

    def _show_password_state(self, _: Any) -> None:
        """The password is write-only: the form only says whether one is set."""
        self.password.clear()
        has = bool(self.current and self.current.get("has_password"))
        self.password.setPlaceholderText("set — type to replace" if has else "not set")

    def body(self, values: Record, original: Record | None) -> Record:
        body = super().body(values, original)
        if body.get("password") is None:
            body.pop("password", None)
        return body

    def duplicate_body(self, body: Record) -> Record:
        body = super().duplicate_body(body)
        body.pop("registration_status", None)
        return body


class NumbersView(View):
    title = "Numbers & trunks"

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.subtitle = heading("Numbers & trunks", "Where calls come in and how they go out")
        self.page.addWidget(top)
        self.sip_hint = QLabel()  # how a SIP phone calls the numbers, when the engine has SIP
        self.sip_hint.setObjectName("sipHint")
        self.sip_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sip_hint.hide()
        self.page.addWidget(self.sip_hint)
        self.numbers = NumberEditor(self.bridge, "Phone numbers")
        self.trunks = TrunkEditor(self.bridge, "SIP trunks")
        for editor in (self.numbers, self.trunks):
            editor.splitter.setSizes([620, 560])
            editor.loaded.connect(self._settle)
            editor.count_changed.connect(lambda _: self._show_counts())
            self.bridge.event_received.connect(editor.follow)
        self.numbers.saved.connect(lambda _: ctx.records_changed.emit("phone_number"))
        self.numbers.removed.connect(lambda _: ctx.records_changed.emit("phone_number"))
        self.trunks.saved.connect(lambda _: self._trunks_changed())
        self.trunks.removed.connect(lambda _: self._trunks_changed())
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.numbers)
        splitter.addWidget(self.trunks)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([380, 460])
        self.page.addWidget(splitter, 1)
        self._pending = 0
        ctx.records_changed.connect(lambda kind: self._load_choices() if kind == "agent" and self._started
                                    else None)

    def refresh(self) -> None:
        self.is_loaded = False
        self._pending = 3
        self.numbers.refresh()
        self.trunks.refresh()
        self._load_choices()
        self.bridge.call(lambda api: api.engine_info(), self._show_sip, lambda exc: None)

    def _show_sip(self, info: Record) -> None:
        sip = info.get("sip") or {}
        enabled = bool(sip.get("enabled"))
        if enabled:
            self.sip_hint.setText(f"Call a number: sip:<number>@{sip.get('host')}:{sip.get('port')}")
        self.sip_hint.setVisible(enabled)

    def _load_choices(self) -> None:
        async def both(api: Client) -> tuple[list[Record], list[Record]]:
            return await api.agents.all(), await api.sip_trunks.all()

        self.bridge.call(both, self._got_choices, lambda exc: self._settle())

    def _got_choices(self, choices: tuple[list[Record], list[Record]]) -> None:
        self.numbers.set_choices(*choices)
        self._settle()

    def _trunks_changed(self) -> None:
        self.ctx.records_changed.emit("sip_trunk")
        self._load_choices()

    def _settle(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self._show_counts()
            self.loaded.emit()

    def _show_counts(self) -> None:
        n, t = self.numbers.model.rowCount(), self.trunks.model.rowCount()
        self.subtitle.setText(f"{n} number{'s' if n != 1 else ''} · {t} trunk{'s' if t != 1 else ''}")
