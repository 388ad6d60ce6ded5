"""A collection's records in a table beside the form that edits the selected one.

Subclasses say which collection (``collection``), what the table shows (``columns``), how the
form looks (``build_form``) and, when needed, how form values become an API body (``body``).
Every button is one API call; validation messages land on the field the API names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.bridge import ApiBridge
from console.models.records import Column, RecordTableModel
from console.views.base import ask_unsaved
from console.views.elide import elided_section
from console.views.forms import Form, FormInvalid
from console.views.reflow import TitleBar
from console.views.widgets import button, confirm, hbox, table_view
from engine.client import ApiError, Client, Collection, Record
from engine.events import Event, RecordEvent

COMMON_FIELDS = ("id", "organization_id", "created_at", "updated_at")


class RecordEditor(QWidget):
    loaded = Signal()
    saved = Signal(dict)
    removed = Signal(str)
    selected = Signal(dict)
    cleared = Signal()  # the form shows a new, unsaved record
    count_changed = Signal(int)  # the table's rows, after a load, a save, a deletion or an event

    noun = "record"
    resource = ""  # the records' kind in the events stream (``agent``...): the table follows it
    duplicable = False
    orientation = Qt.Orientation.Horizontal

    def __init__(self, bridge: ApiBridge, title: str) -> None:
        super().__init__()
        self.bridge = bridge
        self.current: Record | None = None
        self.form = Form()
        self.model = RecordTableModel(self.columns(), self)
        self.table: QTableView = table_view(self.model)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in range(1, self.model.columnCount()):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.table.selectionModel().currentRowChanged.connect(
            lambda current, _: self._row_selected(current.row()))
        self.confirmation: QWidget | None = None
        self._clean: Record | None = None  # the form's values as loaded: edits differ from them
        self._after_save: Callable[[], None] | None = None
        for signal in (self.model.rowsInserted, self.model.rowsRemoved, self.model.modelReset):
            signal.connect(lambda *_: self.count_changed.emit(self.model.rowCount()))

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(8)
        self.new_button = button(f"New {self.noun}", lambda: self.unless_unsaved(self.new_record))
        self.duplicate_button = button("Duplicate", self.duplicate)
        self.duplicate_button.setVisible(self.duplicable)
        self.delete_button = button("Delete", self.ask_delete, danger=True)
        self.save_button = button("Save", self.save, primary=True)
        self.state = QLabel()
        self.state.setObjectName("viewSubtitle")
        self.state.setWordWrap(True)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.setSpacing(8)
        left_layout.addLayout(hbox(elided_section(title), None, self.new_button))
        left_layout.addWidget(self.table, 1)

        right = QFrame()
        right.setObjectName("panel")
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(16, 12, 16, 12)
        right_layout.setSpacing(8)
        self.form_title = elided_section(f"New {self.noun}")
        self.actions_row = hbox(None, self.duplicate_button, self.delete_button)
        right_layout.addWidget(TitleBar(self.form_title, self.actions_row))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setObjectName("formScroll")
        page = self.build_form()
        page.setObjectName("formPage")
        scroll.setWidget(page)
        # the panel keeps room for the form's narrowest layout: fields are never cut sideways
        scroll.setMinimumWidth(page.minimumSizeHint().width()
                               + scroll.verticalScrollBar().sizeHint().width())
        right_layout.addWidget(scroll, 1)
        right_layout.addLayout(hbox(self.state, None, self.save_button))

        self.splitter = QSplitter(self.orientation)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setChildrenCollapsible(False)
        layout.addWidget(self.splitter, 1)
        self._select_after_load: str | None = None
        self.new_record()

    # -- what subclasses describe ----------------------------------------------------------------

    def collection(self, api: Client) -> Collection:
        raise NotImplementedError

    def columns(self) -> list[Column]:
        return [Column.key("Name", "name")]

    def build_form(self) -> QWidget:
        raise NotImplementedError

    def blank(self) -> Record:
        return {}

    def body(self, values: Record, original: Record | None) -> Record:
        """Form values as the API body (merge nested dicts with the original by default)."""
        if original is None:
            return values
        out = dict(values)
        for key, value in values.items():
            if isinstance(value, dict) and isinstance(original.get(key), dict) and key != "script":
                out[key] = {**original[key], **value}
        return out

    def title_of(self, record: Record) -> str:
        return str(record.get("name") or self.noun)

    # -- loading ---------------------------------------------------------------------------------

    def refresh(self, select_id: str | None = None) -> None:
        keep = select_id or (self.current or {}).get("id")
        self.bridge.call(lambda api: self.collection(api).all(), lambda rows: self._got_records(rows, keep),
                         self._load_failed)

    def select(self, ident: str) -> None:
        row = self.model.row_of(ident)
        if row >= 0:
            self.table.selectRow(row)
        else:
            self._select_after_load = ident

    def _got_records(self, records: list[Record], keep: str | None) -> None:
        self.model.set_records(records)
        wanted = self._select_after_load or keep
        self._select_after_load = None
        row = self.model.row_of(wanted) if wanted else -1
        if self.is_dirty():  # the edits stay; the table shows what is being edited
            current = str((self.current or {}).get("id"))
            self._show_row(self.model.row_of(current) if self.current is not None else -1)
        elif row >= 0 or records:
            row = max(row, 0)
            self._show_row(row)
            self.edit(records[row])
        else:
            self.new_record()
        self.loaded.emit()

    def _load_failed(self, exc: Exception) -> None:
        self.state.setText(f"Could not load: {exc}")
        self.loaded.emit()

    def _row_selected(self, row: int) -> None:
        record = self.model.record(row)
        if record is None or (self.current is not None and record.get("id") == self.current.get("id")):
            return
        if self.is_dirty():
            # the highlight stays on the edited record until the user says (once the view has
            # finished acting on the click, which selects after it moves the current row)
            QTimer.singleShot(0, self, self._show_current_row)
            self.ask_unsaved(lambda: self._open(str(record["id"])))
            return
        self.edit(record)

    def _open(self, ident: str) -> None:
        """Show the record in the form and highlight its row."""
        row = self.model.row_of(ident)
        record = self.model.record(row)
        if record is not None:
            self.edit(record)
            self._show_row(row)

    def _show_current_row(self) -> None:
        self._show_row(self.model.row_of(str(self.current["id"])) if self.current is not None else -1)

    def _show_row(self, row: int) -> None:
        """Highlight ``row`` (-1: none) without acting on the change."""
        selection = self.table.selectionModel()
        selection.blockSignals(True)
        if row >= 0:
            self.table.selectRow(row)
        else:
            self.table.clearSelection()
            selection.clearCurrentIndex()
        selection.blockSignals(False)
        self.table.viewport().update()

    def edit(self, record: Record) -> None:
        self.current = record
        self.form.load(record)
        self.form_title.setText(self.title_of(record))
        self.form_title.set_tip(self.title_of(record))
        self.delete_button.setEnabled(True)
        self.duplicate_button.setEnabled(True)
        self.state.clear()
        self.mark_clean()
        self.selected.emit(record)

    def new_record(self) -> None:
        self.current = None
        self._show_row(-1)
        self.form.load(self.blank())
        self.form_title.setText(f"New {self.noun}")
        self.form_title.set_tip("")
        self.delete_button.setEnabled(False)
        self.duplicate_button.setEnabled(False)
        self.state.clear()
        self.mark_clean()
        self.cleared.emit()

    # -- unsaved edits ---------------------------------------------------------------------------

    def _form_values(self) -> Record | None:
        try:
            return self.form.values()
        except FormInvalid:
            return None  # text the form cannot read is an edit too

    def mark_clean(self) -> None:
        """The form as it is now counts as unchanged (after a load, or choices filled in)."""
        self._clean = self._form_values()

    def is_dirty(self) -> bool:
        """True when the form holds edits that are not saved."""
        return self._form_values() != self._clean

    def unless_unsaved(self, then: Callable[[], None]) -> None:
        """Run ``then`` now, or once the user saved or discarded the form's edits."""
        if self.is_dirty():
            self.ask_unsaved(then)
        else:
            then()

    def ask_unsaved(self, then: Callable[[], None]) -> None:
        """Save, discard or keep editing; ``then`` runs after a save or a discard."""
        what = f"“{self.title_of(self.current)}”" if self.current is not None else f"the new {self.noun}"

        def save() -> None:
            self._after_save = then
            if not self.save():
                self._after_save = None

        def discard() -> None:
            if self.current is not None:
                self.edit(self.current)  # the form shows the saved record again
            else:
                self.mark_clean()
            then()

        self.confirmation = ask_unsaved(self, f"Unsaved {self.noun}",
                                        f"Save your changes to {what}?", save, discard)

    # -- actions ---------------------------------------------------------------------------------

    def check(self, values: Record) -> None:
        """Raise ``FormInvalid`` for a value the form can tell is wrong before asking the API."""

    def save(self) -> bool:
        """Send the form; False when the form itself found a field to fix."""
        self.form.errors.clear()
        try:
            values = self.form.values()
            self.check(values)
        except FormInvalid as exc:
            self.form.show_error(exc.field, exc.message)
            self.state.setText("Fix the marked field.")
            return False
        original = self.current
        body = self.body(values, original)
        self.save_button.setEnabled(False)
        self.state.setText("Saving…")
        if original is None:
            request = lambda api: self.collection(api).create(**body)  # noqa: E731
        else:
            ident = str(original["id"])
            request = lambda api: self.collection(api).update(ident, **body)  # noqa: E731
        self.bridge.call(request, self._saved, self._save_failed)
        return True

    def _saved(self, record: Record) -> None:
        self.save_button.setEnabled(True)
        self.model.upsert(record)
        self.edit(record)
        self._show_row(self.model.row_of(str(record["id"])))
        self.state.setText("Saved")
        self.saved.emit(record)
        then, self._after_save = self._after_save, None
        if then is not None:
            then()

    def _save_failed(self, exc: Exception) -> None:
        self._after_save = None
        self.save_button.setEnabled(True)
        if isinstance(exc, ApiError):
            shown = self.form.show_error(exc.field, exc.message)
            self.state.setText("Fix the marked field." if shown else exc.message)
        else:
            self.state.setText(f"Not saved: {exc}")

    def duplicate(self) -> None:
        if self.current is None:
            return
        body = {k: v for k, v in self.current.items() if k not in COMMON_FIELDS and not k.startswith("has_")}
        body = self.duplicate_body(body)
        self.bridge.call(lambda api: self.collection(api).create(**body), self._saved, self._save_failed)

    def duplicate_body(self, body: Record) -> Record:
        body["name"] = f"{body.get('name', '')} (copy)"
        return body

    def ask_delete(self) -> None:
        record = self.current
        if record is None:
            return
        self.confirmation = confirm(self, f"Delete {self.noun}",
                                    f"Delete {self.noun} “{self.title_of(record)}”? This cannot be undone.",
                                    lambda: self.delete(str(record["id"])))

    def delete(self, ident: str) -> None:
        self.bridge.call(lambda api: self.collection(api).delete(ident), lambda _: self._deleted(ident),
                         self._save_failed)

    def _deleted(self, ident: str) -> None:
        self.model.remove(ident)
        self.removed.emit(ident)
        self.mark_clean()
        if self.model.rowCount():
            self.table.selectRow(0)
        else:
            self.new_record()
        self.state.setText("Deleted")

    # -- the events stream -----------------------------------------------------------------------

    def follow(self, event: Event) -> None:
        """Another window or script changed one of the records: the table shows it at once (the
        form keeps its edits; an unchanged form shows the record as it is now)."""
        if not self.resource or not isinstance(event, RecordEvent) or event.resource != self.resource:
            return
        ident = event.record_id
        showing = self.current is not None and self.current.get("id") == ident
        if event.change == "deleted":
            if self.model.row_of(ident) < 0:
                return
            self.model.remove(ident)
            if showing and not self.is_dirty():
                self.current = None
                if self.model.rowCount():
                    self.table.selectRow(0)
                else:
                    self.new_record()
            return
        if not self.accepts(event.record):
            return
        self.model.upsert(event.record)
        if ident == self._select_after_load:  # asked for before it arrived
            self._select_after_load = None
            self.select(ident)
            return
        if showing and not self.is_dirty() and event.record != self.current:
            self.edit(event.record)
        if self.current is not None:
            self._show_row(self.model.row_of(str(self.current.get("id"))))

    def accepts(self, record: Record) -> bool:
        """Whether a record from the events stream belongs in this table."""
        return bool(record.get("id"))


def options(records: list[Record], *, none: str | None = None, label: str = "name") -> list[tuple[str, Any]]:
    """Combo options from records (id as the value), optionally led by a "none" choice."""
    items: list[tuple[str, Any]] = [(none, None)] if none is not None else []
    return items + [(str(r.get(label) or r.get("id")), r.get("id")) for r in records]
