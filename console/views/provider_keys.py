"""Provider keys (bring your own key) in Settings: the organization's LLM and speech provider
credentials with their last check, adding one (its key checked with the provider as it is
saved), checking one again, deleting one. The key is write-only: once saved it is never shown
again, and nothing here logs it."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.bridge import ApiBridge
from console.models.provider_keys import check_answer, check_state, field_label, provider_label
from console.models.records import Column, RecordTableModel
from console.views.forms import new_form
from console.views.widgets import FieldErrors, button, confirm, hbox, table_view
from engine.client import ApiError, Record

SAVED_KEY_PLACEHOLDER = "Saved (never shown again): type a new key to replace it"
STATE_CHARS = 160  # of an answer under the list (a provider's error page can be long); all of it
# is in the label's tooltip


def _tone(label: QLabel, ok: bool | None) -> None:
    """The answer's colour: green when the key works, red when it does not, muted otherwise."""
    colors = theme.colors()
    color = colors.success if ok is True else colors.danger if ok is False else colors.muted
    label.setStyleSheet(f"color: {color};")


class ProviderKeyDialog(QDialog):
    """Add a provider key: the provider from the catalogue, its fields as the catalogue lists
    them (secret ones as password fields). Save answers the check's result; while the dialog is
    open a second Save changes the same credential (the key only when typed again)."""

    def __init__(self, parent: QWidget, bridge: ApiBridge, catalogue: list[Record],
                 on_saved: Callable[[Record], None]) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a provider key")
        self.setMinimumWidth(560)
        self.bridge = bridge
        self.catalogue = catalogue
        self.on_saved = on_saved
        self.saved: Record | None = None  # the credential once saved
        self.fields: dict[str, QLineEdit] = {}
        self.errors = FieldErrors()

        layout = self.box = QVBoxLayout(self)
        layout.setSpacing(10)
        top = new_form()
        self.provider = QComboBox()
        for item in catalogue:
            self.provider.addItem(str(item.get("label") or item.get("provider")),
                                  str(item.get("provider")))
        top.addRow("Provider", self.provider)
        self.note = QLabel()
        self.note.setObjectName("viewSubtitle")
        self.note.setWordWrap(True)
        layout.addLayout(top)
        layout.addWidget(self.note)
        self.holder = QVBoxLayout()
        self.holder.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(self.holder)
        self.form_widget: QWidget | None = None
        self.answer = QLabel()
        self.answer.setObjectName("providerKeyAnswer")
        self.answer.setWordWrap(True)
        self.answer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.answer)
        layout.addStretch(1)  # what the fit leaves over goes under the answer
        self.save_button = button("Save", self.save, primary=True)
        self.close_button = button("Close", self.close)
        layout.addLayout(hbox(None, self.close_button, self.save_button))
        self.provider.currentIndexChanged.connect(lambda _: self._show_fields())
        self._show_fields()

    def chosen(self) -> Record:
        index = max(0, self.provider.currentIndex())
        return self.catalogue[index] if index < len(self.catalogue) else {}

    def choose(self, provider: str) -> None:
        self.provider.setCurrentIndex(max(0, self.provider.findData(provider)))

    def _show_fields(self) -> None:
        """The chosen provider's fields (what was typed in a field of the same name stays)."""
        typed = {name: edit.text() for name, edit in self.fields.items()}
        if self.form_widget is not None:
            self.holder.removeWidget(self.form_widget)
            self.form_widget.deleteLater()
        provider = self.chosen()
        self.note.setText(str(provider.get("note") or ""))
        self.note.setVisible(bool(provider.get("note")))
        self.form_widget = QWidget()
        form: QFormLayout = new_form()
        form.setContentsMargins(0, 0, 0, 0)
        self.form_widget.setLayout(form)
        self.fields, self.errors = {}, FieldErrors()
        for spec in provider.get("fields") or []:
            name = str(spec.get("name"))
            edit = QLineEdit(typed.get(name, ""))
            edit.setObjectName(f"providerKeyField_{name}")
            if spec.get("secret"):
                edit.setEchoMode(QLineEdit.EchoMode.Password)
            description = str(spec.get("description") or "")
            edit.setPlaceholderText(description[:1].upper() + description[1:])
            edit.setToolTip(description)
            label = field_label(name) + ("*" if spec.get("required") else "")
            self.errors.add_row(form, label, name, edit)
            self.fields[name] = edit
        if self.saved is not None:
            self._key_saved()
        self.holder.addWidget(self.form_widget)
        self._fit()

    def _fit(self) -> None:
        """Tall enough for what it says now (a wrapped note or answer is not squeezed)."""
        self.box.activate()
        self.resize(self.width(), max(self.height(), self.box.totalHeightForWidth(self.width())))

    def _secret_fields(self) -> list[QLineEdit]:
        specs = self.chosen().get("fields") or []
        return [self.fields[str(s["name"])] for s in specs
                if s.get("secret") and str(s.get("name")) in self.fields]

    def values(self) -> Record:
        """The fields as the API takes them: what is empty is left out (a base URL left out is
        the provider's default; a key left out on a change keeps the saved one)."""
        values: Record = {"provider": self.chosen().get("provider")}
        for name, edit in self.fields.items():
            text = edit.text().strip()
            if text:
                values[name] = text
        return values

    def save(self) -> None:
        self.errors.clear()
        values = self.values()
        provider = self.chosen()
        label = str(provider.get("label") or provider.get("provider"))
        checks = bool(provider.get("checked_on_save")) and (
            self.saved is None or "api_key" in values or "base_url" in values)
        self.answer.setText(f"Checking the key with {label}…" if checks else "Saving…")
        _tone(self.answer, None)
        self.save_button.setEnabled(False)
        saved = self.saved
        if saved is None:
            self.bridge.call(lambda api: api.provider_credentials.create(**values), self._saved,
                             self._refused, context=self)
        else:
            ident = str(saved["id"])
            self.bridge.call(lambda api: api.provider_credentials.update(ident, **values),
                             self._saved, self._refused, context=self)

    def _saved(self, record: Record) -> None:
        self.saved = record
        self._key_saved()
        self.setWindowTitle("Provider key saved")
        self.save_button.setText("Save changes")
        self.save_button.setEnabled(True)
        self.answer.setText(check_answer(record, provider_label(self.catalogue,
                                                                str(record.get("provider")))))
        _tone(self.answer, record.get("check_ok"))
        self._fit()
        self.on_saved(record)

    def _key_saved(self) -> None:
        """The key typed is gone from the dialog once saved."""
        for edit in self._secret_fields():
            edit.clear()
            edit.setPlaceholderText(SAVED_KEY_PLACEHOLDER)

    def _refused(self, exc: Exception) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, ApiError) and self.errors.show(exc.field, exc.message):
            self.answer.setText("Not saved: see the field marked above.")
        else:
            self.answer.setText(f"Not saved: {exc}")
        _tone(self.answer, False)
        self._fit()


class ProviderKeysBox(QGroupBox):
    """The organization's provider credentials with Add…, Check again and Delete. ``refresh``
    loads the catalogue (once) and the list; ``loaded`` fires when they are in."""

    loaded = Signal()

    def __init__(self, bridge: ApiBridge, parent: QWidget | None = None) -> None:
        super().__init__("Provider keys", parent)
        self.bridge = bridge
        self.catalogue: list[Record] = []
        self.model = RecordTableModel([
            Column.key("Name", "name"),
            Column("Provider", lambda r: provider_label(self.catalogue, str(r.get("provider")))),
            Column("Base URL", lambda r: r.get("base_url") or "The agent's brain URL"),
            Column("Last check", check_state),
        ], self)
        self.table = table_view(self.model)
        for column, width in enumerate((120, 130, 170)):  # the last check takes the rest
            self.table.horizontalHeader().resizeSection(column, width)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._enable())
        self.state = QLabel("LLM and speech provider API keys, checked with the provider as "
                            "they are saved. A saved key is never shown again.")
        self.state.setObjectName("providerKeysState")
        self.state.setWordWrap(True)
        _tone(self.state, None)
        self.add_button = button("Add…", self.add, primary=True)
        self.check_button = button("Check again", self.check_again)
        self.delete_button = button("Delete", self.ask_delete, danger=True)
        layout = QVBoxLayout(self)
        layout.setSpacing(8)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.state)
        layout.addLayout(hbox(self.add_button, None, self.check_button, self.delete_button))
        self.dialog: ProviderKeyDialog | None = None
        self.confirmation: QWidget | None = None
        self._pending = 0
        self._enable()

    def selected(self) -> Record | None:
        return self.model.record(self.table.currentIndex().row())

    def _enable(self) -> None:
        chosen = self.selected() is not None and self.table.selectionModel().hasSelection()
        self.check_button.setEnabled(chosen)
        self.delete_button.setEnabled(chosen)

    def _say(self, text: str, ok: bool | None = None) -> None:
        short = text if len(text) <= STATE_CHARS else text[:STATE_CHARS - 1].rstrip() + "…"
        self.state.setText(short)
        self.state.setToolTip(text if short != text else "")
        _tone(self.state, ok)

    # -- loading ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        self._pending = 2
        self.bridge.call(lambda api: api.provider_catalogue(), self._got_catalogue,
                         self._load_failed, context=self)
        self.reload()

    def reload(self) -> None:
        self.bridge.call(lambda api: api.provider_credentials.all(), self._got_credentials,
                         self._load_failed, context=self)

    def _got_catalogue(self, catalogue: list[Record]) -> None:
        self.catalogue = catalogue
        self.model.set_records(self.model.records)  # the providers' names now
        self._settle()

    def _got_credentials(self, credentials: list[Record]) -> None:
        chosen = self.selected()
        self.model.set_records(credentials)
        if chosen is not None and (row := self.model.row_of(str(chosen.get("id")))) >= 0:
            self.table.selectRow(row)
        self._enable()
        self._settle()

    def _load_failed(self, exc: Exception) -> None:
        """The keys as they were stay listed: a failed reload is not an empty list."""
        self._say(f"Cannot load the provider keys: {exc}", False)
        self._settle()

    def _settle(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self.loaded.emit()

    # -- actions ---------------------------------------------------------------------------------

    def add(self) -> None:
        if not self.catalogue:
            self._say("Loading the providers…")
            self.bridge.call(lambda api: api.provider_catalogue(), self._open_dialog,
                             self._load_failed, context=self)
            return
        self._open_dialog(self.catalogue)

    def _open_dialog(self, catalogue: list[Record]) -> None:
        self.catalogue = catalogue
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return
        dialog = ProviderKeyDialog(self, self.bridge, catalogue, self._added)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.destroyed.connect(lambda *_: self._dialog_gone(dialog))
        dialog.finished.connect(lambda _: self.reload())  # a save it no longer waits for shows too
        self.dialog = dialog
        dialog.open()

    def _dialog_gone(self, dialog: ProviderKeyDialog) -> None:
        if self.dialog is dialog:  # not a newer one opened since
            self.dialog = None

    def _added(self, record: Record) -> None:
        self._say(check_answer(record, provider_label(self.catalogue, str(record.get("provider")))),
                  record.get("check_ok"))
        self.reload()

    def check_again(self) -> None:
        record = self.selected()
        if record is None:
            return
        ident = str(record["id"])
        self.check_button.setEnabled(False)
        self._say(f"Checking “{record.get('name') or ident}” with "
                  f"{provider_label(self.catalogue, str(record.get('provider')))}…")
        self.bridge.call(lambda api: api.check_provider_credential(ident), self._checked,
                         self._action_failed, context=self)

    def _checked(self, record: Record) -> None:
        self._say(check_answer(record, provider_label(self.catalogue, str(record.get("provider")))),
                  record.get("check_ok"))
        self.reload()

    def ask_delete(self) -> None:
        record = self.selected()
        if record is None:
            return
        ident = str(record["id"])
        name = f"“{record.get('name') or ident}” " if record.get("name") else ""
        label = provider_label(self.catalogue, str(record.get("provider")))
        self.confirmation = confirm(
            self, "Delete provider key",
            f"Delete the {label} key {name}? Agents whose brain uses it can no longer reach "
            "the provider with it. This cannot be undone.",
            lambda: self.bridge.call(lambda api: api.provider_credentials.delete(ident),
                                     lambda _: self._deleted(label), self._action_failed,
                                     context=self))

    def _deleted(self, label: str) -> None:
        self._say(f"The {label} key is deleted.")
        self.reload()

    def _action_failed(self, exc: Exception) -> None:
        self._say(f"Error: {exc}", False)
        self.reload()


__all__ = ["ProviderKeyDialog", "ProviderKeysBox"]
