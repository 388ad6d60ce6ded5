"""The organization's do-not-call list: the numbers no campaign dials. List, add a number with
a reason, remove one, import a CSV (a header row with number and, optionally, reason)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFileDialog, QFrame, QLabel, QLineEdit, QVBoxLayout, QWidget

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.campaign_progress import plain_error
from console.models.records import Column, PagedRecordModel
from console.views.widgets import button, confirm, hbox, inform, section, table_view
from engine.client import Record

IMPORT_ERRORS_SHOWN = 20  # rows with problems listed after an import; the rest are counted


class DoNotCallPanel(QFrame):
    """The do-not-call list with its add, delete and import actions."""

    changed = Signal()  # the list changed (added, removed, imported)

    def __init__(self, bridge: ApiBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.title = section("Do not call")
        intro = QLabel("Numbers no campaign dials. A lead whose number is added here is not called "
                       "again; callers who ask not to be called are added by the agent.")
        intro.setObjectName("viewSubtitle")
        intro.setWordWrap(True)
        self.number = QLineEdit()
        self.number.setPlaceholderText("+14155550123")
        self.number.setMaximumWidth(200)
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("Reason (optional)")
        self.add_button = button("Add number", self.add, primary=True)
        self.number.returnPressed.connect(self.add)
        self.reason.returnPressed.connect(self.add)
        self.delete_button = button("Remove", self.ask_delete, danger=True)
        self.delete_button.setToolTip("Remove the selected number from the list")
        self.import_button = button("Import CSV…", self.choose_csv)
        self.import_button.setToolTip("Add the numbers of a CSV file (columns: number, reason)")
        self.message = QLabel("")
        self.message.setObjectName("viewSubtitle")
        self.message.setWordWrap(True)
        layout.addLayout(hbox(self.title, None, self.delete_button, self.import_button))
        layout.addWidget(intro)
        layout.addLayout(hbox(QLabel("Number"), self.number, QLabel("Reason"), self.reason,
                              self.add_button))
        layout.addWidget(self.message)
        self.model = PagedRecordModel(bridge, [
            Column.key("Number", "number"), Column.key("Reason", "reason"),
            Column("Source", lambda r: fmt.label(r.get("source"))),
            Column(fmt.with_zone("Added"), lambda r: fmt.local_time(r.get("created_at"))),
        ], self)
        self.table = table_view(self.model)
        for column, width in enumerate((170, 320, 90)):
            self.table.horizontalHeader().resizeSection(column, width)
        layout.addWidget(self.table, 1)
        self.model.loaded.connect(self._loaded)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._chosen())
        self.confirmation: QWidget | None = None
        self._chosen()

    def refresh(self) -> None:
        self.model.load(lambda api, page, limit: api.do_not_call(page=page, limit=limit))

    def _loaded(self) -> None:
        total = self.model.total
        self.title.setText(f"Do not call · {total:,}" if total else "Do not call")
        self._chosen()

    def _chosen(self) -> None:
        self.delete_button.setEnabled(self.selected() is not None)

    def selected(self) -> Record | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def _say(self, text: str) -> None:
        self.message.setText(text)

    # -- add / remove ------------------------------------------------------------------------------

    def add(self) -> None:
        number, reason = self.number.text().strip(), self.reason.text().strip()
        if not number:
            self._say("Type the number to add, with its country code (+1…).")
            self.number.setFocus()
            return

        def added(entry: Record) -> None:
            self.number.clear()
            self.reason.clear()
            blocked = int(entry.get("leads_blocked") or 0)
            self._say(f"{entry.get('number')} added." + (
                f" {blocked} lead{'s' if blocked != 1 else ''} waiting to be called will not be."
                if blocked else ""))
            self.refresh()
            self.changed.emit()

        self.bridge.call(lambda api: api.add_do_not_call(number, reason), added,
                         lambda exc: self._say(plain_error(exc)), context=self)

    def ask_delete(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        ident, number = str(entry["id"]), str(entry.get("number") or "")
        self.confirmation = confirm(self, "Remove number",
                                    f"Remove {number} from the do-not-call list? Campaigns may "
                                    "call it again.", lambda: self.delete(ident, number), "Remove")

    def delete(self, ident: str, number: str) -> None:
        def removed(_: object) -> None:
            self._say(f"{number} removed.")
            self.refresh()
            self.changed.emit()

        self.bridge.call(lambda api: api.delete_do_not_call(ident), removed,
                         lambda exc: self._say(plain_error(exc)), context=self)

    # -- CSV import ------------------------------------------------------------------------------

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import do-not-call numbers", str(Path.home()),
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.import_csv(Path(path))

    def import_csv(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            inform(self, "Import do-not-call numbers", f"Cannot read {path}: {exc}", error=True)
            return

        def done(result: Record) -> None:
            imported = int(result.get("imported") or 0)
            listed = int(result.get("already_listed") or 0)
            blocked = int(result.get("leads_blocked") or 0)
            errors = result.get("errors") or []
            parts = [f"{path.name}: {imported} number{'s' if imported != 1 else ''} added"]
            if listed:
                parts.append(f"{listed} already listed")
            if blocked:
                parts.append(f"{blocked} waiting lead{'s' if blocked != 1 else ''} will not be called")
            if errors:
                parts.append(f"{len(errors)} row{'s' if len(errors) != 1 else ''} skipped")
            self._say(", ".join(parts) + ".")
            if errors:
                lines = [f"Row {e.get('row')}, {e.get('field')}: {e.get('error')}"
                         for e in errors[:IMPORT_ERRORS_SHOWN]]
                if len(errors) > IMPORT_ERRORS_SHOWN:
                    lines.append(f"… and {len(errors) - IMPORT_ERRORS_SHOWN} more")
                inform(self, "Import do-not-call numbers",
                       f"{', '.join(parts)}.\n\nRows not imported:\n" + "\n".join(lines))
            self.refresh()
            self.changed.emit()

        self.bridge.call(lambda api: api.import_do_not_call(text), done,
                         lambda exc: inform(self, "Import do-not-call numbers", plain_error(exc),
                                            error=True), context=self)


__all__ = ["DoNotCallPanel"]
