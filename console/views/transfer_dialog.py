"""The transfer dialog: blind or warm, the destinations (numbers, SIP URIs or console users with
their presence), the briefing for a warm transfer, the ringing timeout and the fallback. Errors
of the API show on the field they name (``destinations[0].to``)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from console import formatting as fmt
from console import theme
from console.bridge import ApiBridge
from console.models.transfer_timeline import (
    BLIND_METHODS,
    DEFAULT_RINGING_TIMEOUT,
    FALLBACKS,
    MAX_RINGING_TIMEOUT,
    Destination,
    TransferRequest,
    error_text,
)
from engine.client import ApiError, Record

PRESENCE_COLORS = {"available": "success", "busy": "danger", "away": "#f59e0b", "offline": "muted"}
KIND_NUMBER, KIND_USER = 0, 1


def presence_dot(presence: str, size: int = 10) -> QIcon:
    colors = theme.colors()
    name = PRESENCE_COLORS.get(presence, "muted")
    color = QColor(name if name.startswith("#") else getattr(colors, name))
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(0, 0, size, size)
    painter.end()
    return QIcon(pixmap)


def error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


def mark(widget: QWidget, invalid: bool) -> None:
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


USER_NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # a console user's name, the destination's label
BLIND_USER_HINT = ("A console user is reached by a warm transfer only: choose Warm, and they "
                   "are briefed in their softphone before they take the caller.")
CALL_ENDED = "This call has ended, so there is nothing left to transfer. Close this window."


class DestinationRow(QWidget):
    """One destination: a number or SIP URI, or a console user; its label; remove."""

    removed = Signal(object)

    def __init__(self, users: QStandardItemModel) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        row = QHBoxLayout()
        row.setSpacing(6)
        self.kind = QComboBox()
        self.kind.addItems(["Number / SIP URI", "Console user"])
        self.kind.setFixedWidth(150)
        self.to = QLineEdit()
        self.to.setPlaceholderText("+14155550123 or sip:desk@host")
        self.user = QComboBox()
        self.user.setModel(users)
        self.user.setIconSize(QSize(10, 10))
        self.target = QStackedWidget()
        self.target.addWidget(self.to)
        self.target.addWidget(self.user)
        self.target.setFixedHeight(self.to.sizeHint().height())
        self.label = QLineEdit()
        self.label.setPlaceholderText("Label (e.g. Billing)")
        self.label.setFixedWidth(150)
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove this destination")
        self.remove.clicked.connect(lambda: self.removed.emit(self))
        row.addWidget(self.kind)
        row.addWidget(self.target, 1)
        row.addWidget(self.label)
        row.addWidget(self.remove)
        layout.addLayout(row)
        self.blind_hint = QLabel(BLIND_USER_HINT)
        self.blind_hint.setObjectName("viewSubtitle")
        self.blind_hint.setWordWrap(True)
        self.blind_hint.hide()
        layout.addWidget(self.blind_hint)
        self.to_error = error_label()
        self.label_error = error_label()
        layout.addWidget(self.to_error)
        layout.addWidget(self.label_error)
        self.kind.currentIndexChanged.connect(self.target.setCurrentIndex)
        self._select_first_available()

    def _select_first_available(self) -> None:
        model = self.user.model()
        assert isinstance(model, QStandardItemModel)
        for row in range(model.rowCount()):
            item = model.item(row)
            if item is not None and item.isEnabled():
                self.user.setCurrentIndex(row)
                return

    def destination(self) -> Destination:
        if self.kind.currentIndex() == KIND_USER:
            user_id = self.user.currentData(Qt.ItemDataRole.UserRole)
            item = self.user.model().index(self.user.currentIndex(), 0)
            enabled = bool(item.flags() & Qt.ItemFlag.ItemIsEnabled) if item.isValid() else False
            name = str(self.user.currentData(USER_NAME_ROLE) or "")
            return Destination(f"user:{user_id}" if user_id and enabled else "",
                               self.label.text() or name)
        return Destination(self.to.text(), self.label.text())

    def set_blind(self, blind: bool) -> None:
        self.label.setVisible(not blind)
        users = self.kind.model()
        assert isinstance(users, QStandardItemModel)
        item = users.item(KIND_USER)
        if item is not None:
            item.setEnabled(not blind)
            item.setToolTip(BLIND_USER_HINT if blind else "")
        self.blind_hint.setVisible(blind)
        if blind:
            self.kind.setCurrentIndex(KIND_NUMBER)

    def show_error(self, part: str, message: str) -> None:
        label, widget = (self.label_error, self.label) if part == "label" else \
            (self.to_error, self.target.currentWidget())
        label.setText(message)
        label.setVisible(bool(message))
        if widget is not None:
            mark(widget, bool(message))

    def clear_errors(self) -> None:
        for part in ("to", "label"):
            self.show_error(part, "")


class TransferDialog(QDialog):
    """Start a transfer of ``call_id``; ``started(transfer)`` once the API took it."""

    started = Signal(dict)

    def __init__(self, bridge: ApiBridge, call_id: str, briefing: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transferDialog")
        self.setWindowTitle("Transfer call")
        self.bridge = bridge
        self.call_id = call_id
        self.ended = False  # the call ended while the dialog was open
        self.resize(680, 620)
        self.users = QStandardItemModel(self)
        self._no_users()
        outer = QVBoxLayout(self)
        outer.setSpacing(10)

        kinds = QHBoxLayout()
        self.blind = QRadioButton("Blind — hand the caller over now")
        self.warm = QRadioButton("Warm — brief the destination first")
        self.kind_group = QButtonGroup(self)
        self.kind_group.addButton(self.blind)
        self.kind_group.addButton(self.warm)
        self.blind.setChecked(True)
        kinds.addWidget(self.blind)
        kinds.addWidget(self.warm)
        kinds.addStretch(1)
        outer.addLayout(kinds)

        title = QLabel("Destinations")
        title.setObjectName("sectionTitle")
        outer.addWidget(title)
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(6)
        outer.addLayout(self.rows_box)
        self.destinations_error = error_label()
        outer.addWidget(self.destinations_error)
        self.add_button = QPushButton("+ Add destination")
        self.add_button.clicked.connect(self.add_destination)
        self.add_hint = QLabel("Tried in order until one accepts")
        self.add_hint.setObjectName("viewSubtitle")
        add_row = QHBoxLayout()
        add_row.addWidget(self.add_button)
        add_row.addWidget(self.add_hint)
        add_row.addStretch(1)
        outer.addLayout(add_row)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        form.setVerticalSpacing(8)
        self.errors: dict[str, tuple[QLabel, QWidget]] = {}
        self.summary = QPlainTextEdit(briefing)
        self.summary.setPlaceholderText("What the destination hears before accepting")
        self.summary.setFixedHeight(96)
        self._add_field(form, "Briefing", "summary", self.summary)
        self.ringing_timeout = QSpinBox()
        self.ringing_timeout.setRange(5, MAX_RINGING_TIMEOUT)
        self.ringing_timeout.setValue(DEFAULT_RINGING_TIMEOUT)
        self.ringing_timeout.setSuffix(" s")
        self._add_field(form, "Ringing timeout", "ringing_timeout", self.ringing_timeout)
        self.method = QComboBox()
        for value, text in BLIND_METHODS:
            self.method.addItem(text, value)
        self.play_dialtone = QCheckBox("Caller hears ringback while it rings")
        self._add_field(form, "Method", "method", self.method)
        self._add_field(form, "", "play_dialtone", self.play_dialtone)
        self.fallback = QComboBox()
        for value, text in FALLBACKS:
            self.fallback.addItem(text, value)
        self._add_field(form, "If nobody accepts", "fallback.strategy", self.fallback)
        self.fallback_message = QLineEdit()
        self.fallback_message.setPlaceholderText("What the agent tells the caller then (optional)")
        self._add_field(form, "Message", "fallback.message", self.fallback_message)
        self.form = form
        outer.addLayout(form)
        outer.addStretch(1)

        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setStyleSheet(f"color: {theme.colors().danger};")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        outer.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.submit_button = buttons.addButton("Transfer", QDialogButtonBox.ButtonRole.AcceptRole)
        self.submit_button.setProperty("primary", True)
        self.submit_button.setDefault(True)
        buttons.accepted.connect(self.submit)
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

        self.rows: list[DestinationRow] = []
        self.add_destination()
        self.kind_group.buttonToggled.connect(lambda *_: self._kind_changed())
        self._kind_changed()
        self.load_users()

    # -- building ----------------------------------------------------------------------------------

    def _add_field(self, form: QFormLayout, label: str, name: str, widget: QWidget) -> None:
        holder = QWidget()
        layout = QVBoxLayout(holder)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(widget)
        error = error_label()
        layout.addWidget(error)
        self.errors[name] = (error, widget)
        form.addRow(label, holder)

    def add_destination(self) -> DestinationRow:
        row = DestinationRow(self.users)
        row.removed.connect(self.remove_destination)
        row.set_blind(self.kind == "blind")
        self.rows.append(row)
        self.rows_box.addWidget(row)
        self._rows_changed()
        return row

    def remove_destination(self, row: DestinationRow) -> None:
        if len(self.rows) <= 1:
            return
        self.rows.remove(row)
        self.rows_box.removeWidget(row)
        row.hide()
        row.deleteLater()
        self._rows_changed()

    def _rows_changed(self) -> None:
        blind = self.kind == "blind"
        for row in self.rows:
            row.remove.setEnabled(len(self.rows) > 1)
        self.add_button.setVisible(not blind)
        self.add_hint.setVisible(not blind and len(self.rows) > 1)

    def _kind_changed(self) -> None:
        blind = self.kind == "blind"
        while blind and len(self.rows) > 1:
            self.remove_destination(self.rows[-1])
        for row in self.rows:
            row.set_blind(blind)
        for name, visible in (("summary", not blind), ("fallback.strategy", not blind),
                              ("fallback.message", not blind), ("method", blind),
                              ("play_dialtone", blind)):
            holder = self.errors[name][1].parentWidget()
            assert holder is not None
            holder.setVisible(visible)
            label = self.form.labelForField(holder)
            if label is not None:
                label.setVisible(visible)
        self._rows_changed()

    @property
    def kind(self) -> str:
        return "blind" if self.blind.isChecked() else "warm"

    # -- users -------------------------------------------------------------------------------------

    def _no_users(self) -> None:
        item = QStandardItem("No console users")
        item.setEnabled(False)
        self.users.appendRow(item)

    def load_users(self) -> None:
        self.bridge.call(lambda api: api.users.all(), self.set_users, lambda exc: None, context=self)

    def set_users(self, users: list[Record]) -> None:
        """Console users with their presence; only the available ones can be picked."""
        self.users.clear()
        order = {"available": 0, "away": 1, "busy": 2}
        for user in sorted(users, key=lambda u: (order.get(str(u.get("presence")), 3),
                                                  str(u.get("display_name") or ""))):
            presence = str(user.get("presence") or "offline")
            item = QStandardItem(presence_dot(presence), f"{user.get('display_name') or user.get('email')}"
                                                         f"  ·  {fmt.label(presence)}")
            item.setData(user.get("id"), Qt.ItemDataRole.UserRole)
            item.setData(user.get("display_name") or user.get("email") or "", USER_NAME_ROLE)
            item.setEnabled(presence == "available")
            item.setToolTip(str(user.get("email") or ""))
            self.users.appendRow(item)
        if not users:
            self._no_users()
        for row in self.rows:
            row._select_first_available()

    # -- submitting --------------------------------------------------------------------------------

    def request(self) -> TransferRequest:
        return TransferRequest(
            kind=self.kind, destinations=[row.destination() for row in self.rows],
            summary=self.summary.toPlainText(), ringing_timeout=self.ringing_timeout.value(),
            fallback=str(self.fallback.currentData()), fallback_message=self.fallback_message.text(),
            method=str(self.method.currentData()), play_dialtone=self.play_dialtone.isChecked())

    def clear_errors(self) -> None:
        for row in self.rows:
            row.clear_errors()
        for label, widget in self.errors.values():
            label.hide()
            mark(widget, False)
        self.destinations_error.hide()
        self.error_label.hide()

    def show_error(self, field: str, message: str) -> None:
        """The message on the field the API (or the request's own check) names."""
        prefix = f"{field}: "
        text = message[len(prefix):] if message.startswith(prefix) else message
        if field.startswith("destinations[") and "]" in field:
            number, _, rest = field.removeprefix("destinations[").partition("]")
            part = rest.lstrip(".") or "to"
            if number.isdigit() and int(number) < len(self.rows):
                self.rows[int(number)].show_error("label" if part == "label" else "to", text)
                return
        if field == "destinations":
            self.destinations_error.setText(text)
            self.destinations_error.show()
            return
        name = field if field in self.errors else field.partition(".")[0]
        if name == "fallback":
            name = "fallback.strategy"
        if name in self.errors:
            label, widget = self.errors[name]
            label.setText(text)
            label.show()
            mark(widget, True)
            return
        self.error_label.setText(message)
        self.error_label.show()

    def call_ended(self) -> None:
        """The call is over: nothing is left to transfer, and the dialog says so."""
        self.ended = True
        self.submit_button.setEnabled(False)
        self.submit_button.setText("Transfer")
        self.error_label.setText(CALL_ENDED)
        self.error_label.show()

    def submit(self) -> None:
        if self.ended:
            return
        self.clear_errors()
        request = self.request()
        errors = request.errors()
        for field, message in errors.items():
            self.show_error(field, message)
        if errors:
            return
        self.submit_button.setEnabled(False)
        self.submit_button.setText("Transferring…")
        request.send(self.bridge, self.call_id, self._sent, self._failed, context=self)

    def _sent(self, transfer: Record) -> None:
        self.submit_button.setEnabled(True)
        self.submit_button.setText("Transfer")
        self.started.emit(transfer)
        self.accept()

    def _failed(self, exc: Exception) -> None:
        self.submit_button.setEnabled(True)
        self.submit_button.setText("Transfer")
        if isinstance(exc, ApiError) and exc.code == "CONFLICT" and "is not live" in exc.message:
            self.call_ended()
            return
        field = TransferRequest.api_field(self.kind, exc.field if isinstance(exc, ApiError) else None)
        details = exc.details if isinstance(exc, ApiError) else []
        shown = False
        for detail in details:  # every field the API found at fault, not only the first
            name = TransferRequest.api_field(self.kind, str(detail.get("field") or ""))
            if name:
                self.show_error(name, str(detail.get("message") or ""))
                shown = True
        if field and not shown:
            self.show_error(field, error_text(exc))
        elif not field:
            self.error_label.setText(error_text(exc))
            self.error_label.show()
