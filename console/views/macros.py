"""Macros in the live panel: a button per saved snippet (Ctrl+1…9 while the panel has focus) and
a small editor to add, change and remove them."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from console import theme
from console.models.macros import KINDS, MAX_MACROS, Macro, MacrosModel, macro_errors
from console.views.widgets import bound, button

COLUMNS = 2


class MacroBar(QWidget):
    """The agent's macros as buttons, three a row; ``triggered(number)`` runs one."""

    def __init__(self, model: MacrosModel, trigger: Callable[[int], object],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = model
        self.trigger = trigger
        self.grid = QGridLayout(self)
        self.grid.setContentsMargins(0, 0, 0, 0)
        self.grid.setSpacing(6)
        self.buttons: list[QPushButton] = []
        self.empty = QLabel("No macros for this agent yet")
        self.empty.setObjectName("viewSubtitle")
        model.changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        for widget in self.buttons:
            self.grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self.buttons = []
        self.grid.removeWidget(self.empty)
        self.empty.setVisible(not self.model.macros)
        if not self.model.macros:
            self.grid.addWidget(self.empty, 0, 0, 1, COLUMNS)
        for number, macro in enumerate(self.model.macros, start=1):
            mark = "🗣" if macro.kind == "say" else "✎"
            widget = button(f"{number}  {macro.label}", bound(self.trigger, number))
            widget.setObjectName("macroButton")
            widget.setProperty("kind", macro.kind)
            widget.setToolTip(f"Ctrl+{number}: {'Say' if macro.kind == 'say' else 'Whisper'} {mark}\n"
                              f"{macro.text}")
            widget.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            self.grid.addWidget(widget, (number - 1) // COLUMNS, (number - 1) % COLUMNS)
            self.buttons.append(widget)

    def set_enabled(self, enabled: bool) -> None:
        for widget in self.buttons:
            widget.setEnabled(enabled)


class MacroRow:
    def __init__(self, macro: Macro) -> None:
        self.label = QLineEdit(macro.label)
        self.label.setPlaceholderText("Label")
        self.kind = QComboBox()
        self.kind.addItems([k.capitalize() for k in KINDS])
        self.kind.setCurrentIndex(KINDS.index(macro.kind) if macro.kind in KINDS else 0)
        self.text = QLineEdit(macro.text)
        self.text.setPlaceholderText("What the agent says, or the hidden instruction")
        self.remove = QPushButton("Remove")
        self.remove.setToolTip("Remove this macro")
        self.error = QLabel()
        self.error.setObjectName("fieldError")
        self.error.hide()
        self.number = QLabel()
        self.number.setObjectName("viewSubtitle")

    def macro(self) -> Macro:
        return Macro(self.label.text().strip() or self.text.text().strip()[:24],
                     KINDS[self.kind.currentIndex()], self.text.text().strip())

    def widgets(self) -> list[QWidget]:
        return [self.number, self.label, self.kind, self.text, self.remove, self.error]


class MacroEditor(QDialog):
    """Add, change and remove the agent's macros; Save writes them to the agent."""

    def __init__(self, model: MacrosModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("macroEditor")
        self.setWindowTitle("Macros")
        self.model = model
        self.resize(640, 360)
        layout = QVBoxLayout(self)
        hint = QLabel("Saved on the agent. Ctrl+1 to Ctrl+9 run them while the live panel has focus.")
        hint.setObjectName("viewSubtitle")
        hint.setWordWrap(True)
        layout.addWidget(hint)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(6)
        self.grid.setVerticalSpacing(4)
        self.grid.setColumnStretch(3, 1)
        layout.addLayout(self.grid)
        self.add_button = button("+ Add macro", lambda: self.add_row(Macro("", "say", "")))
        layout.addWidget(self.add_button)
        layout.addStretch(1)
        self.error_label = QLabel()
        self.error_label.setObjectName("inlineError")
        self.error_label.setStyleSheet(f"color: {theme.colors().danger};")
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        layout.addWidget(self.error_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                   | QDialogButtonBox.StandardButton.Cancel)
        self.save_button = buttons.button(QDialogButtonBox.StandardButton.Save)
        self.save_button.setProperty("primary", True)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.rows: list[MacroRow] = []
        for macro in model.macros:
            self.add_row(macro)
        if not self.rows:
            self.add_row(Macro("", "say", ""))
        model.saved.connect(self.accept)
        model.error.connect(self._failed)

    def add_row(self, macro: Macro) -> MacroRow:
        row = MacroRow(macro)
        row.remove.clicked.connect(lambda: self.remove_row(row))
        self.rows.append(row)
        self._layout_rows()
        return row

    def remove_row(self, row: MacroRow) -> None:
        self.rows.remove(row)
        for widget in row.widgets():
            self.grid.removeWidget(widget)
            widget.hide()
            widget.deleteLater()
        self._layout_rows()

    def _layout_rows(self) -> None:
        for row in self.rows:
            for widget in row.widgets():
                self.grid.removeWidget(widget)
        for i, row in enumerate(self.rows):
            row.number.setText(f"Ctrl+{i + 1}")
            self.grid.addWidget(row.number, 2 * i, 0)
            self.grid.addWidget(row.label, 2 * i, 1)
            self.grid.addWidget(row.kind, 2 * i, 2)
            self.grid.addWidget(row.text, 2 * i, 3)
            self.grid.addWidget(row.remove, 2 * i, 4)
            self.grid.addWidget(row.error, 2 * i + 1, 1, 1, 4)
        self.add_button.setEnabled(len(self.rows) < MAX_MACROS)

    def macros(self) -> list[Macro]:
        return [row.macro() for row in self.rows]

    def save(self) -> None:
        macros = self.macros()
        errors = macro_errors(macros)
        for i, row in enumerate(self.rows):
            row.error.setText(errors.get(i, ""))
            row.error.setVisible(i in errors)
        self.error_label.hide()
        if errors:
            return
        if self.model.save(macros):
            self.save_button.setEnabled(False)

    def _failed(self, message: str) -> None:
        self.save_button.setEnabled(True)
        self.error_label.setText(message)
        self.error_label.setVisible(bool(message))
