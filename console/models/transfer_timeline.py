"""A call's transfers as a timeline: one row per step (dialing, screening, accepted or declined,
next destination, bridging, completed, failed, canceled, fallback) from the live transfer events
and the call's recorded event log, plus the requests that start, complete and cancel a transfer.

A step is described from its name and data (``describe``), the shape both sources share: a live
event gives its ``step`` and ``payload()``, a recorded one its ``event_type`` and ``payload``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, Qt, Signal

from console import formatting as fmt
from console.bridge import ApiBridge
from console.models.records import Index
from engine.client import ApiError, Client, Record
from engine.events import Event, TransferEvent

RUNNING = frozenset({"requested", "dialing", "screening", "consulting", "bridging"})
FALLBACKS = (("return_to_agent", "Return to the agent"), ("take_message", "Take a message"),
             ("end_call", "End the call"))
BLIND_METHODS = (("auto", "Auto (REFER, else dial and bridge)"), ("refer", "REFER only"),
                 ("bridge", "Dial and bridge"))
DEFAULT_RINGING_TIMEOUT = 30
MAX_RINGING_TIMEOUT = 300

TONE_ROLE = Qt.ItemDataRole.UserRole + 30  # "ok" | "bad" | "" (neutral)
DETAIL_ROLE = Qt.ItemDataRole.UserRole + 31
TIME_ROLE = Qt.ItemDataRole.UserRole + 32
STEP_ROLE = Qt.ItemDataRole.UserRole + 33


@dataclass
class Step:
    """One row of the timeline."""

    event: str  # the event name without ``transfer.``
    transfer_id: str
    title: str
    detail: str = ""
    tone: str = ""
    at: str | None = None
    code: int | None = None
    key: tuple[Any, ...] = field(default_factory=tuple)


ORDER = ("requested", "dialing", "screening", "consulting", "bridging")


def _rank(status: Any) -> int:
    if status in ("completed", "failed", "canceled"):
        return len(ORDER)
    return ORDER.index(status) if status in ORDER else -1


def _code(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _cause(data: Record) -> str:
    parts = [fmt.label(str(data.get("failure_cause") or data.get("reason") or ""))]
    code = _code(data.get("sip_status_code") or data.get("code"))
    if code:
        parts.append(f"SIP {code}")
    return " · ".join(p for p in parts if p)


def describe(name: str, data: Record) -> tuple[str, str, str]:
    """The title, detail and tone of the step ``transfer.<name>`` with its data."""
    label, target = str(data.get("label") or ""), str(data.get("to") or "")
    if target.startswith("user:"):  # a console user: their name (the label), never their id
        target = "" if label else "a console user"
    to = f"{label} ({target})" if label and target and label != target else (label or target)
    kind = str(data.get("kind") or "")
    code = _code(data.get("sip_status_code") or data.get("code"))
    sip = f"SIP {code}" if code else ""
    if name == "requested":
        return f"{fmt.label(kind) or 'Transfer'} transfer requested", to, ""
    if name == "dialing":
        method = {"refer": "by REFER", "bridge": "dial and bridge"}.get(str(data.get("method")), "")
        return f"Dialing {to}".strip(), method, ""
    if name == "refer_accepted":
        return "REFER accepted", sip, ""
    if name == "refer_progress":
        return "REFER progress", str(data.get("sipfrag") or sip), ""
    if name.startswith("refer_"):
        return f"REFER {name.removeprefix('refer_')}", " · ".join(
            p for p in (sip, "dialing instead" if data.get("fallback") == "bridge" else "") if p), "bad"
    if name == "screening":
        return f"Screening {to}".strip(), "briefing the destination", ""
    if name == "offered":
        return f"Offered to {to}".strip(), "", ""
    if name == "offer_ended":
        return "Offer ended", _cause(data) or str(data.get("outcome") or ""), ""
    if name == "attempt_failed":
        if data.get("failure_cause") == "declined":
            return f"Declined by {to}".strip(), _cause(data), "bad"
        return f"No answer from {to}".strip() if data.get("failure_cause") == "no_answer" \
            else f"{to}: {fmt.label(str(data.get('failure_cause') or 'failed'))}", _cause(data), "bad"
    if name == "accepted":
        return f"Accepted by {to}".strip(), sip, "ok"
    if name == "declined":
        return f"Declined by {to}".strip(), _cause(data), "bad"
    if name == "next_destination":
        previous = _cause(data)
        return f"Next destination: {to}".strip(), previous, ""
    if name == "bridging":
        return f"Bridging caller to {to}".strip(), "", ""
    if name == "completed":
        return "Completed", " · ".join(p for p in (to, sip) if p), "ok"
    if name == "failed":
        return "Failed", _cause(data) or sip, "bad"
    if name == "canceled":
        return "Canceled", _cause(data), "bad"
    if name == "fallback":
        strategy = str(data.get("strategy") or data.get("fallback") or "")
        return "Fallback", dict(FALLBACKS).get(strategy, fmt.label(strategy)), ""
    if name == "recipient_hangup":
        return "Recipient hung up", "", ""
    return fmt.label(name), _cause(data), ""


def fallback_step(data: Record) -> str:
    """The fallback a failed or canceled transfer carried in its data, if any."""
    value = data.get("fallback")
    if isinstance(value, dict):
        value = value.get("strategy")
    return str(value) if value and value != "bridge" else ""


class TransferTimelineModel(QAbstractListModel):
    """Steps of the call's transfers, oldest first; ``running`` is the transfer in progress."""

    changed = Signal()  # the running transfer (or its status) changed

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.steps: list[Step] = []
        self.transfers: dict[str, Record] = {}  # by id: at least status and kind
        self._seen: set[tuple[Any, ...]] = set()
        self._history_loaded = False
        self._early: list[tuple[str, Record, str | None]] = []  # live events before the history

    # -- what is running ------------------------------------------------------------------------

    @property
    def running(self) -> Record | None:
        live = [t for t in self.transfers.values() if t.get("status") in RUNNING]
        return live[-1] if live else None

    # -- feeding ----------------------------------------------------------------------------------

    def load(self, transfers: list[Record], events: list[Record]) -> None:
        """The call's transfers (``GET /transfers``) and its recorded events (``GET /events``)."""
        self.beginResetModel()
        self.steps = []
        self._seen = set()
        for row in transfers:
            if row.get("id"):
                self._merge(row)
        for event in events:
            name = str(event.get("event_type") or "")
            payload = event.get("payload") if isinstance(event.get("payload"), dict) else {}
            assert isinstance(payload, dict)
            data = {**payload, "failure_cause": event.get("failure_cause") or payload.get("failure_cause"),
                    "sip_status_code": event.get("sip_status_code") or payload.get("sip_status_code"),
                    "reason": event.get("sip_status")}
            if name.startswith("transfer."):
                self._add(name.removeprefix("transfer."), data, event.get("occurred_at"), track=False)
        self._history_loaded = True
        early, self._early = self._early, []
        for name, data, at in early:
            self._add(name, data, at, track=True)
        self.endResetModel()
        self.changed.emit()

    def update_transfer(self, row: Record) -> None:
        """A transfer row as an API call answered it (started, completed or canceled)."""
        if row.get("id"):
            self._merge(row)
            self.changed.emit()

    def _merge(self, row: Record) -> None:
        ident = str(row["id"])
        known = self.transfers.get(ident, {})
        merged = {**known, **row}
        if _rank(known.get("status")) > _rank(row.get("status")):
            merged["status"] = known["status"]  # the events got further than this row
        self.transfers[ident] = merged

    def apply_event(self, event: Event) -> None:
        """A live transfer event of the call (others are ignored)."""
        if not isinstance(event, TransferEvent):
            return
        name, data = event.step, event.payload()
        if not self._history_loaded:
            self._early.append((name, data, event.at))
            self._track(name, data)
            self.changed.emit()
            return
        self._add(name, data, event.at, track=True, notify=True)
        self.changed.emit()

    def _track(self, name: str, data: Record) -> None:
        ident = str(data.get("transfer_id") or "")
        if not ident:
            return
        row = self.transfers.setdefault(ident, {"id": ident})
        for key in ("kind", "to"):
            if data.get(key):
                row[key] = data[key]
        status = name if name in ("completed", "failed", "canceled") else data.get("status")
        if status and _rank(status) >= _rank(row.get("status")):
            row["status"] = status

    def _add(self, name: str, data: Record, at: Any, *, track: bool, notify: bool = False) -> None:
        ident = str(data.get("transfer_id") or "")
        if not ident:
            return  # an agent's tool call asking for a transfer, before any transfer exists
        if track:
            self._track(name, data)
        elif ident not in self.transfers:
            self.transfers[ident] = {"id": ident, "kind": data.get("kind"), "status": data.get("status")}
        key = (ident, name, data.get("status"), _code(data.get("sip_status_code") or data.get("code")),
               data.get("to"), data.get("sipfrag"))
        if key in self._seen:
            return
        self._seen.add(key)
        title, detail, tone = describe(name, data)
        new = [Step(name, ident, title, detail, tone, str(at) if at else None,
                    _code(data.get("sip_status_code") or data.get("code")), key)]
        strategy = fallback_step(data) if name in ("failed", "canceled") else ""
        if strategy:
            new.append(Step("fallback", ident, "Fallback", dict(FALLBACKS).get(strategy, fmt.label(strategy)),
                            "", str(at) if at else None, None, (*key, "fallback")))
        if notify:
            self.beginInsertRows(QModelIndex(), len(self.steps), len(self.steps) + len(new) - 1)
        self.steps.extend(new)
        if notify:
            self.endInsertRows()

    # -- the list model ---------------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.steps)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self.steps):
            return None
        step = self.steps[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return step.title
        if role == DETAIL_ROLE:
            return step.detail
        if role == TONE_ROLE:
            return step.tone
        if role == TIME_ROLE:
            return fmt.clock(step.at) if step.at else ""
        if role == STEP_ROLE:
            return step
        if role == Qt.ItemDataRole.ToolTipRole:
            return " · ".join(p for p in (step.title, step.detail) if p)
        return None

    def titles(self) -> list[str]:
        return [s.title for s in self.steps]


# -- starting a transfer ------------------------------------------------------------------------


@dataclass
class Destination:
    to: str
    label: str = ""


@dataclass
class TransferRequest:
    """What the transfer dialog asks for; ``errors()`` checks it before it is sent."""

    kind: str  # blind | warm
    destinations: list[Destination]
    summary: str = ""
    ringing_timeout: int = DEFAULT_RINGING_TIMEOUT
    fallback: str = "return_to_agent"
    fallback_message: str = ""
    method: str = "auto"
    play_dialtone: bool = False

    def errors(self) -> dict[str, str]:
        """Field name (as the API names it) → message, for what can be told without asking."""
        out: dict[str, str] = {}
        if not self.destinations:
            out["destinations"] = "add a destination"
        for i, dest in enumerate(self.destinations):
            if not dest.to.strip():
                out[f"destinations[{i}].to"] = "a phone number, a sip: URI or a console user"
            elif self.kind == "blind" and dest.to.startswith("user:"):
                out[f"destinations[{i}].to"] = "a blind transfer goes to a phone number or a sip: URI"
        if self.kind == "blind" and len(self.destinations) > 1:
            out["destinations"] = "a blind transfer has one destination"
        return out

    def body(self) -> Record:
        if self.kind == "blind":
            return {"to": self.destinations[0].to.strip(), "ringing_timeout": self.ringing_timeout,
                    "play_dialtone": self.play_dialtone, "method": self.method}
        destinations = []
        for dest in self.destinations:
            item: Record = {"to": dest.to.strip()}
            if dest.label.strip():
                item["label"] = dest.label.strip()
            destinations.append(item)
        fallback: Record = {"strategy": self.fallback}
        if self.fallback_message.strip():
            fallback["message"] = self.fallback_message.strip()
        body: Record = {"destinations": destinations, "ringing_timeout": self.ringing_timeout,
                        "fallback": fallback}
        if self.summary.strip():
            body["summary"] = self.summary.strip()
        return body

    @staticmethod
    def api_field(kind: str, name: str | None) -> str:
        """The dialog's name for a field an API error names (a blind transfer's ``to`` is the
        first destination's)."""
        if not name:
            return ""
        if kind == "blind" and name == "to":
            return "destinations[0].to"
        return name

    def send(self, bridge: ApiBridge, call_id: str, on_ok: Callable[[Record], None],
             on_error: Callable[[Exception], None], context: QObject | None = None) -> None:
        body = self.body()

        async def request(api: Client) -> Record:
            if self.kind == "blind":
                to = body.pop("to")
                return await api.blind_transfer(call_id, to, **body)
            destinations = body.pop("destinations")
            return await api.warm_transfer(call_id, destinations, **body)

        bridge.call(request, on_ok, on_error, context=context)


def error_text(exc: Exception) -> str:
    return exc.message if isinstance(exc, ApiError) else (str(exc) or type(exc).__name__)
