"""The Campaigns view: campaigns and their editor; start, pause, resume and cancel; the leads
with a CSV import; the campaign's progress as it dials; its scheduled callbacks; and the
do-not-call list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QGroupBox,
    QLabel,
    QPlainTextEdit,
    QProgressDialog,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console.context import ConsoleContext
from console.leads_csv import DEFAULT_REGION, LeadsFile, parse_leads
from console.models.campaign_leads import CampaignLeadsModel
from console.models.campaign_progress import ACTION_HINTS, action_blockers, plain_error
from console.models.records import Column
from console.views.base import View
from console.views.campaign_callbacks import CampaignCallbacksPanel
from console.views.campaign_progress import CampaignProgressPanel
from console.views.do_not_call import DoNotCallPanel
from console.views.editor import RecordEditor, options
from console.views.elide import fit_header_sections
from console.views.forms import new_form
from console.views.reflow import ReflowGrid
from console.views.widgets import button, confirm, hbox, heading, inform, section, table_view
from engine.client import Client, Collection, Record
from engine.events import CallbackChanged, CampaignLeadsImported, CampaignProgress, Event, RecordEvent

IMPORT_CHUNK = 100  # leads per bulk request: one progress step
STATS_DEBOUNCE_MS = 300  # a burst of campaign.progress events costs one stats request
PROGRESS_MIN_WIDTH = 380  # the progress panel: its bar, three counters a row, the chart
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
RETRY_ON = ("no_answer", "busy", "failed")
TIMEZONES = ("UTC", "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles",
             "Europe/London", "Europe/Paris", "Europe/Berlin", "Asia/Seoul", "Asia/Tokyo",
             "Australia/Sydney")


CHECKS_PER_ROW = 4  # a week's days in two rows: the form fits beside the softphone


class Checks(QWidget):
    """Check boxes in rows of a few that read and write a list of values."""

    def __init__(self, choices: list[tuple[str, Any]], per_row: int = CHECKS_PER_ROW) -> None:
        super().__init__()
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(10)
        layout.setVerticalSpacing(4)
        self.boxes: list[tuple[QCheckBox, Any]] = []
        for index, (text, value) in enumerate(choices):
            box = QCheckBox(text)
            layout.addWidget(box, *divmod(index, per_row))
            self.boxes.append((box, value))
        layout.setColumnStretch(per_row, 1)

    def values(self) -> list[Any]:
        return [value for box, value in self.boxes if box.isChecked()]

    def set_values(self, values: Any) -> None:
        chosen = set(values or [])
        for box, value in self.boxes:
            box.setChecked(value in chosen)


class CampaignEditor(RecordEditor):
    noun = "campaign"
    resource = "campaign"

    def collection(self, api: Client) -> Collection:
        return api.campaigns

    def columns(self) -> list[Column]:
        return [Column.key("Name", "name"), Column("Status", lambda r: fmt.label(r.get("status")))]

    def blank(self) -> Record:
        return {"timezone": "UTC", "calling_hours_start": "09:00", "calling_hours_end": "17:00",
                "calling_days": [0, 1, 2, 3, 4], "max_concurrent": 2, "max_attempts": 3,
                "retry_delay_minutes": 60, "retry_on": list(RETRY_ON)}

    def title_of(self, record: Record) -> str:
        return f"{record.get('name', 'Campaign')}  ·  {fmt.label(record.get('status'))}"

    def build_form(self) -> QWidget:
        f = self.form
        page = grid = ReflowGrid()
        what = new_form()
        f.line(what, "Name", "name", "Spring renewals")
        f.line(what, "Description", "description")
        self.agent = f.combo(what, "Agent", "agent_id", [("Choose an agent", None)])
        self.number = f.combo(what, "Caller number", "phone_number_id", [("None", None)])
        grid.add(_group("Campaign", what), 0, 0)
        when = new_form()
        timezone = f.combo(when, "Time zone", "timezone", [(tz, tz) for tz in TIMEZONES])
        timezone.setEditable(True)
        f.line(when, "Calls from", "calling_hours_start", "09:00")
        f.line(when, "Calls until", "calling_hours_end", "17:00")
        days = Checks([(day, index) for index, day in enumerate(DAYS)])
        f.custom(when, "Days", "calling_days", days, days.values, days.set_values)
        grid.add(_group("Calling hours", when), 0, 1)
        pace = new_form()
        f.spin(pace, "Max concurrent", "max_concurrent", 1, 100)
        f.spin(pace, "Max attempts", "max_attempts", 1, 20)
        f.spin(pace, "Retry after", "retry_delay_minutes", 1, 10080, " min")
        retry = Checks([(fmt.label(v), v) for v in RETRY_ON], per_row=2)
        f.custom(pace, "Retry on", "retry_on", retry, retry.values, retry.set_values)
        grid.add(_group("Pacing and retries", pace), 1, 0, 1, 2)
        return page

    def body(self, values: Record, original: Record | None) -> Record:
        values.pop("status", None)
        return values

    def set_choices(self, agents: list[Record], numbers: list[Record]) -> None:
        for combo, items, none in ((self.agent, options(agents), "Choose an agent"),
                                   (self.number, options(numbers, label="number"), "None")):
            current = combo.currentData()
            combo.blockSignals(True)
            combo.clear()
            combo.addItem(none, None)
            for text, value in items:
                combo.addItem(text, value)
            combo.setCurrentIndex(max(0, combo.findData(current)))
            combo.blockSignals(False)
        if self.current is not None and not self.is_dirty():
            self.form.load(self.current)
            self.mark_clean()


def _group(title: str, layout: Any) -> QGroupBox:
    box = QGroupBox(title)
    box.setLayout(layout)
    return box


class ImportReport(QDialog):
    """Which rows of the file cannot be imported (by line), and how many can."""

    def __init__(self, parent: QWidget, path: Path, parsed: LeadsFile) -> None:
        super().__init__(parent)
        self.setWindowTitle("Import leads")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        good, bad = len(parsed.leads), len(parsed.bad)
        summary = QLabel(f"<b>{path.name}</b>: {good} lead{'s' if good != 1 else ''} ready to import, "
                         f"{bad} row{'s' if bad != 1 else ''} with problems.")
        summary.setWordWrap(True)
        layout.addWidget(summary)
        self.problems = QPlainTextEdit()
        self.problems.setReadOnly(True)
        self.problems.setPlainText("\n".join(f"Line {row.line}: {row.reason}" for row in parsed.bad))
        self.problems.setVisible(bool(bad))
        layout.addWidget(self.problems)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.import_button = buttons.addButton(f"Import {good} leads", QDialogButtonBox.ButtonRole.AcceptRole)
        self.import_button.setEnabled(good > 0)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)


class CampaignsView(View):
    title = "Campaigns"
    import_finished = Signal(int, int)  # imported, rejected by the API

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__(ctx)
        top, self.subtitle = heading("Campaigns", "Outbound calling: who to call, when, and how often")
        self.start_button = button("Start", self.start, primary=True)
        self.pause_button = button("Pause", self.pause)
        self.resume_button = button("Resume", self.resume, primary=True)
        self.cancel_button = button("Cancel campaign", self.ask_cancel, danger=True)
        self.action_buttons = {"start": self.start_button, "pause": self.pause_button,
                               "resume": self.resume_button, "cancel": self.cancel_button}
        self.start_hint = QLabel()  # why Start cannot start, when it cannot
        self.start_hint.setObjectName("viewSubtitle")
        self.page.addLayout(hbox(top, None, self.start_hint, self.start_button, self.pause_button,
                                 self.resume_button, self.cancel_button))
        self.editor = CampaignEditor(self.bridge, "All campaigns")
        self.editor.splitter.setSizes([330, 1000])
        self.editor.selected.connect(self._campaign_selected)
        self.editor.cleared.connect(self._new_campaign)
        self.editor.count_changed.connect(self._show_count)
        self.bridge.event_received.connect(self._event)
        self.editor.saved.connect(lambda _: ctx.records_changed.emit("campaign"))
        self.editor.removed.connect(lambda _: ctx.records_changed.emit("campaign"))
        self.editor.loaded.connect(self._editor_loaded)

        leads_panel = QFrame()
        leads_panel.setObjectName("panel")
        leads_layout = QVBoxLayout(leads_panel)
        leads_layout.setContentsMargins(16, 12, 16, 12)
        self.leads_title = section("Leads")
        self.import_button = button("Import CSV…", self.choose_csv)
        self.delete_lead_button = button("Delete lead", self.ask_delete_lead, danger=True)
        self.delete_lead_button.setToolTip("Remove the selected lead from the campaign")
        leads_layout.addLayout(hbox(self.leads_title, None, self.delete_lead_button, self.import_button))
        self.leads = CampaignLeadsModel(self.bridge, self)
        self.leads_table = table_view(self.leads)
        for column, width in enumerate((130, 120, 90, 70, 170, 110)):
            self.leads_table.horizontalHeader().resizeSection(column, width)
        fit_header_sections(self.leads_table)
        leads_layout.addWidget(self.leads_table, 1)
        self.leads.loaded.connect(self._leads_loaded)
        self.leads_table.selectionModel().selectionChanged.connect(lambda *_: self._lead_chosen())
        self.leads_table.clicked.connect(self._lead_clicked)
        self.confirmation: QWidget | None = None
        self.progress_panel = CampaignProgressPanel()
        self.progress_panel.setMinimumWidth(PROGRESS_MIN_WIDTH)
        ctx.theme_changed.connect(lambda _: self.progress_panel.redraw())
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_DEBOUNCE_MS)
        self._stats_timer.timeout.connect(self.load_stats)
        self.stats_loads = 0  # stats answers shown so far

        below = QSplitter(Qt.Orientation.Horizontal)
        below.addWidget(leads_panel)
        below.addWidget(self.progress_panel)
        below.setSizes([760, 480])
        below.setChildrenCollapsible(False)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.editor)
        splitter.addWidget(below)
        splitter.setSizes([430, 420])
        splitter.setChildrenCollapsible(False)
        self.callbacks = CampaignCallbacksPanel(self.bridge)
        self.callbacks.open_call.connect(self.open_call)
        self.callbacks.model.loaded.connect(self._settle)
        self.do_not_call = DoNotCallPanel(self.bridge)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(splitter, "Campaigns")
        self.tabs.addTab(self.callbacks, "Callbacks")
        self.tabs.addTab(self.do_not_call, "Do not call")
        self.tabs.currentChanged.connect(self._tab_changed)
        self.page.addWidget(self.tabs, 1)
        self.report: ImportReport | None = None
        self.progress: QProgressDialog | None = None
        self._pending = 0
        ctx.records_changed.connect(self._records_changed)
        self._new_campaign()

    # -- loading ---------------------------------------------------------------------------------

    def refresh(self) -> None:
        self.is_loaded = False
        self._pending = 3  # the choices, the leads and the callbacks of the campaign shown
        self.editor.refresh()
        self._load_choices()
        self.do_not_call.refresh()

    def _load_choices(self) -> None:
        async def both(api: Client) -> tuple[list[Record], list[Record]]:
            return await api.agents.all(), await api.phone_numbers.all()

        self.bridge.call(both, self._got_choices, lambda exc: self._settle())

    def _records_changed(self, kind: str) -> None:
        if kind in ("agent", "phone_number") and self._started:
            self._load_choices()

    def _got_choices(self, choices: tuple[list[Record], list[Record]]) -> None:
        self.editor.set_choices(*choices)
        self._settle()

    def _show_count(self, count: int) -> None:
        self.subtitle.setText(f"{count} campaign{'s' if count != 1 else ''}")

    def _editor_loaded(self) -> None:
        self._show_count(self.editor.model.rowCount())
        if self.editor.current is None:
            self.leads.load(None)
            self.callbacks.show_campaign(None)

    def _leads_loaded(self) -> None:
        self._show_leads_total()
        self._update_actions()
        self._settle()

    def _show_leads_total(self) -> None:
        campaign = self.editor.current
        self.leads_title.setText(f"Leads · {self.leads.total:,}" if campaign else "Leads")

    def _settle(self) -> None:
        self._pending = max(0, self._pending - 1)
        if self._pending == 0:
            self.loaded.emit()

    def _tab_changed(self, index: int) -> None:
        on_campaigns = index == 0
        for widget in (self.start_hint, *self.action_buttons.values()):
            widget.setVisible(on_campaigns)

    def _campaign_selected(self, campaign: Record) -> None:
        ident = str(campaign["id"])
        self.leads.load(lambda api, page, limit: api.leads(ident).list(page=page, limit=limit,
                                                                        sort_order="asc"))
        self.callbacks.show_campaign(campaign)
        self._update_actions()
        self.load_stats()

    def _new_campaign(self) -> None:
        """A campaign being made has no leads yet: nothing to import into or start until saved."""
        self.leads.load(None)
        self.callbacks.show_campaign(None)
        self._show_leads_total()
        self._update_actions()
        self.progress_panel.clear()

    def _current_id(self) -> str:
        return str((self.editor.current or {}).get("id") or "")

    # -- the campaign's figures ------------------------------------------------------------------

    def load_stats(self) -> None:
        """The shown campaign's figures, fetched now."""
        ident = self._current_id()
        if not ident:
            self.progress_panel.clear()
            return

        def arrived(stats: Record) -> None:
            if stats.get("campaign_id") == self._current_id():
                self.progress_panel.show_stats(stats)
                self.stats_loads += 1

        self.bridge.call(lambda api: api.campaign_stats(ident), arrived, lambda exc: None,
                         context=self)

    def _stats_soon(self) -> None:
        """Fetch the figures once a burst of progress events has passed (at most one request per
        ``STATS_DEBOUNCE_MS``)."""
        if not self._stats_timer.isActive():
            self._stats_timer.start()

    # -- actions ---------------------------------------------------------------------------------

    def start_blocker(self) -> str:
        """Why Start cannot start the shown campaign ("" when it can)."""
        return self.blockers()["start"]

    def blockers(self) -> dict[str, str]:
        """Why each of start, pause, resume and cancel cannot be done now ("" when it can)."""
        known = self.editor.current is not None and not self.leads.loading
        return action_blockers(self.editor.current, leads_total=self.leads.total if known else None)

    def _update_actions(self) -> None:
        campaign = self.editor.current
        blockers = self.blockers()
        for action, widget in self.action_buttons.items():
            widget.setEnabled(not blockers[action])
            widget.setToolTip(blockers[action] or ACTION_HINTS[action])
        status = (campaign or {}).get("status")
        self.start_hint.setText(blockers["start"] if campaign is None or status == "draft" else "")
        self.import_button.setEnabled(campaign is not None)
        self.import_button.setToolTip("Add leads from a CSV file (phone_number, name, other columns)"
                                      if campaign is not None else "Save the campaign first")
        self._lead_chosen()

    def _lead_chosen(self) -> None:
        rows = self.leads_table.selectionModel().selectedRows()
        chosen = bool(rows) and self.leads.record(rows[0].row()) is not None
        self.delete_lead_button.setEnabled(self.editor.current is not None and chosen)

    def _lead_clicked(self, index: QModelIndex) -> None:
        call_id = self.leads.call_at(index)
        if call_id:
            self.open_call(call_id)

    def open_call(self, call_id: str) -> None:
        """A lead's call in the Calls view."""
        show_view = getattr(self.window(), "show_view", None)
        if show_view is not None:
            show_view("calls").open_call_when_loaded(call_id)

    def ask_delete_lead(self) -> None:
        campaign = self.editor.current
        rows = self.leads_table.selectionModel().selectedRows()
        lead = self.leads.record(rows[0].row()) if rows else None
        if campaign is None or lead is None:
            return
        who = " ".join(str(p) for p in (lead.get("name"), lead.get("phone_number")) if p)
        campaign_id, lead_id = str(campaign["id"]), str(lead["id"])
        self.confirmation = confirm(self, "Delete lead", f"Remove the lead {who} from the campaign?",
                                    lambda: self.delete_lead(campaign_id, lead_id))

    def delete_lead(self, campaign_id: str, lead_id: str) -> None:
        self.bridge.call(lambda api: api.delete_lead(campaign_id, lead_id),
                         lambda _: self._lead_deleted(lead_id),
                         lambda exc: inform(self, "Delete lead",
                                            f"The lead was not deleted. {plain_error(exc)}",
                                            error=True))

    def _lead_deleted(self, lead_id: str) -> None:
        if self.leads.row_of(lead_id) >= 0:
            self.leads.remove(lead_id)
            self.leads.total = max(0, self.leads.total - 1)
            self._stats_soon()
        self._show_leads_total()
        self._update_actions()

    def _event(self, event: Event) -> None:
        """Campaigns and their leads as the dialer, other windows and scripts change them."""
        self.editor.follow(event)
        current = self._current_id()
        if isinstance(event, CampaignProgress):
            if event.campaign_id == current:
                self.leads.apply_progress(event)
                self._stats_soon()
        elif isinstance(event, CallbackChanged):
            self.callbacks.follow(event)
        elif isinstance(event, CampaignLeadsImported) and event.campaign_id == current and not self.progress:
            self._campaign_selected(self.editor.current or {})
        elif isinstance(event, RecordEvent) and event.resource == "lead" and event.change == "deleted":
            self._lead_deleted(event.record_id)
        elif isinstance(event, RecordEvent) and event.resource == "campaign" and event.record_id == current:
            self._update_actions()
            self._stats_soon()

    def select(self, campaign_id: str) -> None:
        self.editor.select(campaign_id)

    # -- start / pause / resume / cancel ---------------------------------------------------------

    def start(self) -> None:
        self._lifecycle(lambda api, ident: api.start_campaign(ident))

    def pause(self) -> None:
        self._lifecycle(lambda api, ident: api.pause_campaign(ident))

    def resume(self) -> None:
        self._lifecycle(lambda api, ident: api.resume_campaign(ident))

    def ask_cancel(self) -> None:
        campaign = self.editor.current
        if campaign is None:
            return
        self.confirmation = confirm(
            self, "Cancel campaign",
            f"Cancel the campaign {campaign.get('name') or ''}? Its leads waiting to be called "
            "will not be called, and a canceled campaign cannot be started again. Calls under way "
            "go on until they end.", self.cancel, "Cancel campaign")

    def cancel(self) -> None:
        self._lifecycle(lambda api, ident: api.cancel_campaign(ident))

    def _lifecycle(self, action: Any) -> None:
        campaign = self.editor.current
        if campaign is None:
            return
        ident = str(campaign["id"])
        self.bridge.call(lambda api: action(api, ident), self._lifecycle_done,
                         lambda exc: self._lifecycle_failed(ident, exc))

    def _lifecycle_failed(self, ident: str, exc: Exception) -> None:
        """The engine refused (another window moved the campaign meanwhile, say): its reason in
        plain words, and the campaign as it is now."""
        self.confirmation = inform(self, "Campaign", plain_error(exc), error=True)
        self.bridge.call(lambda api: api.campaigns.get(ident), self._lifecycle_done,
                         lambda _: None, context=self)

    def _lifecycle_done(self, campaign: Record) -> None:
        if campaign.get("id"):
            self.editor.model.upsert(campaign)
            if not self.editor.is_dirty():
                self.editor.edit(campaign)
            elif self.editor.current is not None and self.editor.current.get("id") == campaign["id"]:
                self.editor.current = campaign
        self._update_actions()
        self._stats_soon()
        self.ctx.records_changed.emit("campaign")

    # -- CSV import ------------------------------------------------------------------------------

    def choose_csv(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import leads", str(Path.home()),
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.import_csv(Path(path))

    def import_csv(self, path: Path, region: str = DEFAULT_REGION) -> ImportReport | None:
        """Check the file; the report dialog lists bad rows by line and imports the good ones."""
        campaign = self.editor.current
        if campaign is None:
            inform(self, "Import leads", "Choose or save a campaign first.")
            return None
        try:
            parsed = parse_leads(path.read_text(encoding="utf-8-sig"), region)
        except (OSError, UnicodeDecodeError) as exc:
            inform(self, "Import leads", f"Cannot read {path}: {exc}", error=True)
            return None
        self.report = ImportReport(self, path, parsed)
        self.report.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        ident = str(campaign["id"])
        self.report.accepted.connect(lambda: self._import(ident, parsed))
        self.report.open()
        return self.report

    def _import(self, campaign_id: str, parsed: LeadsFile) -> None:
        chunks = [parsed.leads[i:i + IMPORT_CHUNK] for i in range(0, len(parsed.leads), IMPORT_CHUNK)]
        self.progress = QProgressDialog("Importing leads…", "Stop", 0, len(parsed.leads), self)
        self.progress.setWindowTitle("Import leads")
        self.progress.setMinimumDuration(0)
        self.progress.setAutoClose(False)
        self.progress.setValue(0)
        self.progress.open()
        self._import_chunk(campaign_id, chunks, 0, 0, [])

    def _import_chunk(self, campaign_id: str, chunks: list[list[Record]], index: int, imported: int,
                      rejected: list[str]) -> None:
        progress = self.progress
        if index >= len(chunks) or progress is None or progress.wasCanceled():
            self._import_done(campaign_id, imported, rejected)
            return
        chunk = chunks[index]

        def done(result: Record) -> None:
            count = int(result.get("imported", len(chunk)))
            errors = [f"{chunk[e['index']].get('phone_number')}: {e.get('error')}"
                      for e in result.get("errors", []) if 0 <= e.get("index", -1) < len(chunk)]
            if progress is not None:
                progress.setValue(progress.value() + len(chunk))
            self._import_chunk(campaign_id, chunks, index + 1, imported + count, rejected + errors)

        def failed(exc: Exception) -> None:
            self._import_chunk(campaign_id, chunks, len(chunks), imported, [*rejected, str(exc)])

        self.bridge.call(lambda api: api.import_leads(campaign_id, chunk), done, failed)

    def _import_done(self, campaign_id: str, imported: int, rejected: list[str]) -> None:
        if self.progress is not None:
            self.progress.close()
            self.progress.deleteLater()
            self.progress = None
        message = f"Imported {imported} lead{'s' if imported != 1 else ''}."
        if rejected:
            message += "\n\nThe engine refused:\n" + "\n".join(rejected[:20])
        self.window_message(message)
        if self.editor.current is not None and self.editor.current.get("id") == campaign_id:
            self._campaign_selected(self.editor.current)
        self.import_finished.emit(imported, len(rejected))

    def window_message(self, text: str) -> None:
        show = getattr(self.window(), "show_message", None)
        if show is not None:
            show(text.splitlines()[0])
