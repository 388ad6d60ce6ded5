"""The Callbacks tab of the Campaigns view: the shown campaign's scheduled callbacks (asked for
by the people it called, or by a supervisor), live as the engine's ``callback.changed`` events
arrive, with Cancel for one still waiting for its time."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QTimer, Signal
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.campaign_callbacks import CampaignCallbacksModel, cancelable
from console.models.campaign_progress import plain_error
from console.views.elide import fit_header_sections
from console.views.widgets import button, confirm, hbox, section, table_view
from engine.client import Record
from engine.events import CallbackChanged

RELOAD_DEBOUNCE_MS = 300  # a burst of new callbacks costs one reload of the list
COLUMN_WIDTHS = (190, 130, 130, 110, 160, 260)
EMPTY_TEXT = ("No callbacks yet. One is added when a person the campaign calls asks to be "
              "called back (its agent's schedule_callback tool), or when a supervisor clicks "
              "Call back… on one of its calls.")


class CampaignCallbacksPanel(QFrame):
    """One campaign's callbacks; ``open_call(call_id)`` when a From call cell is clicked."""

    open_call = Signal(str)

    def __init__(self, bridge: ApiBridge, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.campaign_id = ""
        self.setObjectName("panel")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(10)
        self.title = section("Callbacks")
        self.intro = QLabel()
        self.intro.setObjectName("viewSubtitle")
        self.intro.setWordWrap(True)
        self.cancel_button = button("Cancel callback", self.ask_cancel, danger=True)
        self.cancel_button.setToolTip("Cancel the selected callback before it is placed")
        self.message = QLabel("")  # what became of a cancel; hidden while it has nothing to say
        self.message.setObjectName("viewSubtitle")
        self.message.setWordWrap(True)
        self.message.setVisible(False)
        layout.addLayout(hbox(self.title, None, self.cancel_button))
        layout.addWidget(self.intro)
        layout.addWidget(self.message)
        self.empty = QLabel("")  # said above an empty table
        self.empty.setObjectName("viewSubtitle")
        self.empty.setWordWrap(True)
        self.empty.setVisible(False)
        layout.addWidget(self.empty)
        self.model = CampaignCallbacksModel(bridge, self)
        self.table = table_view(self.model)
        for column, width in enumerate(COLUMN_WIDTHS):
            self.table.horizontalHeader().resizeSection(column, width)
        fit_header_sections(self.table)
        layout.addWidget(self.table, 1)
        self.model.loaded.connect(self._loaded)
        self.model.dataChanged.connect(lambda *_: self._chosen())
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._chosen())
        self.table.clicked.connect(self._clicked)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_DEBOUNCE_MS)
        self._reload_timer.timeout.connect(self.model.reload)
        self.confirmation: QWidget | None = None
        self.show_campaign(None)

    # -- loading ---------------------------------------------------------------------------------

    def show_campaign(self, campaign: Record | None) -> None:
        """The campaign's callbacks (none for a campaign not saved yet)."""
        self.campaign_id = str((campaign or {}).get("id") or "")
        self._say("")
        name = str((campaign or {}).get("name") or "")
        self.intro.setText(
            f"Callbacks of {name}: asked for by the people it called, or scheduled by a "
            "supervisor. Each is placed within the campaign's calling hours; times are in this "
            "computer's time zone."
            if self.campaign_id else "Choose a saved campaign to see its callbacks.")
        ident = self.campaign_id
        self.model.load((lambda api, page, limit: api.campaign_callbacks(ident, page=page, limit=limit))
                        if ident else None)

    def _loaded(self) -> None:
        total = self.model.total
        self.title.setText(f"Callbacks · {total:,}" if self.campaign_id else "Callbacks")
        self.empty.setText(EMPTY_TEXT if self.campaign_id and not total else "")
        self.empty.setVisible(bool(self.empty.text()))
        self._chosen()

    def follow(self, event: CallbackChanged) -> None:
        """A callback of the shown campaign changed: its row changes; a new one reloads the list
        (soonest first, with its lead's name)."""
        if not self.campaign_id or event.campaign_id != self.campaign_id:
            return
        if not self.model.apply_change(event) and not self._reload_timer.isActive():
            self._reload_timer.start()

    # -- selection -------------------------------------------------------------------------------

    def selected(self) -> Record | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.record(rows[0].row()) if rows else None

    def _chosen(self) -> None:
        chosen = self.selected()
        self.cancel_button.setEnabled(cancelable(chosen))
        if chosen is not None and not cancelable(chosen):
            self.cancel_button.setToolTip(f"The callback is {fmt.label(chosen.get('status')).lower()}; "
                                          "only a scheduled one can be canceled")
        else:
            self.cancel_button.setToolTip("Cancel the selected callback before it is placed")

    def _clicked(self, index: QModelIndex) -> None:
        call_id = self.model.call_at(index)
        if call_id:
            self.open_call.emit(call_id)

    # -- cancel ----------------------------------------------------------------------------------

    def ask_cancel(self) -> None:
        callback = self.selected()
        if not cancelable(callback):
            return
        assert callback is not None
        ident = str(callback["id"])
        who = " ".join(str(p) for p in (callback.get("lead_name"), callback.get("to_number")) if p)
        when = fmt.local_time(callback.get("dial_at"), zone=True)
        self.confirmation = confirm(self, "Cancel callback",
                                    f"Cancel the callback to {who} due {when}? It will not be "
                                    "placed.", lambda: self.cancel(ident), "Cancel callback")

    def cancel(self, ident: str) -> None:
        """DELETE /v1/callbacks/{id}; the row shows the canceled callback."""
        def done(callback: Record) -> None:
            if self.model.row_of(ident) >= 0:
                self.model.upsert({**(self.model.record(self.model.row_of(ident)) or {}), **callback})
            self._say("The callback was canceled.")
            self._chosen()

        self.bridge.call(lambda api: api.cancel_callback(ident), done,
                         lambda exc: self._say(plain_error(exc)), context=self)

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))


__all__ = ["CampaignCallbacksPanel"]
