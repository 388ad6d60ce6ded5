"""Editor forms bound to API records by field path (``brain.model``), with per-field errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from console.views.widgets import FieldErrors
from engine.client import Record

COMBO_MIN_CHARS = 8  # a choice field narrows no further than this many characters


class FormInvalid(Exception):
    """A value the form itself can tell is wrong (bad JSON...), before asking the API."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass
class Binding:
    widget: QWidget
    get: Callable[[], Any]
    set: Callable[[Any], None]


def get_path(record: Record, path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def set_path(record: Record, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        record = record.setdefault(part, {})
    record[parts[-1]] = value


def new_form() -> QFormLayout:
    form = QFormLayout()
    form.setHorizontalSpacing(14)
    form.setVerticalSpacing(8)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    return form


class Form:
    """Fields by API path. ``load(record)`` fills them; ``values()`` reads them back as a record."""

    def __init__(self) -> None:
        self.errors = FieldErrors()
        self.bindings: dict[str, Binding] = {}

    def _add(self, form: QFormLayout, label: str, path: str, binding: Binding) -> None:
        self.bindings[path] = binding
        self.errors.add_row(form, label, path, binding.widget)

    def widget(self, path: str) -> QWidget:
        return self.bindings[path].widget

    def line(self, form: QFormLayout, label: str, path: str, placeholder: str = "",
             *, empty_is_none: bool = False) -> QLineEdit:
        edit = QLineEdit()
        edit.setPlaceholderText(placeholder)

        def get() -> Any:
            text = edit.text().strip()
            return None if empty_is_none and not text else text

        def put(value: Any) -> None:
            edit.setText("" if value is None else str(value))
            edit.setCursorPosition(0)

        self._add(form, label, path, Binding(edit, get, put))
        return edit

    def text(self, form: QFormLayout, label: str, path: str, *, height: int = 70,
             placeholder: str = "") -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setFixedHeight(height)
        edit.setPlaceholderText(placeholder)
        self._add(form, label, path, Binding(edit, edit.toPlainText,
                                             lambda v: edit.setPlainText("" if v is None else str(v))))
        return edit

    def json(self, form: QFormLayout, label: str, path: str, *, height: int = 160) -> QPlainTextEdit:
        edit = QPlainTextEdit()
        edit.setFixedHeight(height)
        edit.setObjectName("jsonEdit")

        def get() -> Any:
            text = edit.toPlainText().strip()
            if not text:
                return {}
            try:
                return json.loads(text)
            except ValueError as exc:
                raise FormInvalid(path, f"not valid JSON: {exc}") from None

        def put(value: Any) -> None:
            edit.setPlainText(json.dumps(value if value is not None else {}, indent=2, ensure_ascii=False))

        self._add(form, label, path, Binding(edit, get, put))
        return edit

    def combo(self, form: QFormLayout, label: str, path: str, options: list[tuple[str, Any]]) -> QComboBox:
        combo = QComboBox()
        # the field may narrow below its longest option (shown whole in the open list)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(COMBO_MIN_CHARS)
        for text, value in options:
            combo.addItem(text, value)

        def put(value: Any) -> None:
            index = combo.findData(value)
            if index < 0 and value is not None:
                combo.addItem(str(value), value)
                index = combo.count() - 1
            combo.setCurrentIndex(max(index, 0))

        self._add(form, label, path, Binding(combo, combo.currentData, put))
        return combo

    def spin(self, form: QFormLayout, label: str, path: str, low: int, high: int,
             suffix: str = "") -> QSpinBox:
        spin = QSpinBox()
        spin.setRange(low, high)
        spin.setSuffix(suffix)
        self._add(form, label, path, Binding(spin, spin.value,
                                             lambda v: spin.setValue(int(v) if v is not None else low)))
        return spin

    def decimal(self, form: QFormLayout, label: str, path: str, low: float, high: float,
                step: float = 0.1, default: float | None = None) -> QDoubleSpinBox:
        spin = QDoubleSpinBox()
        spin.setRange(low, high)
        spin.setSingleStep(step)
        spin.setDecimals(2)
        self._add(form, label, path, Binding(spin, spin.value,
                                             lambda v: spin.setValue(float(v) if v is not None
                                                                     else default if default is not None
                                                                     else low)))
        return spin

    def check(self, form: QFormLayout, label: str, path: str, text: str = "") -> QCheckBox:
        box = QCheckBox(text)
        self._add(form, label, path, Binding(box, box.isChecked, lambda v: box.setChecked(bool(v))))
        return box

    def custom(self, form: QFormLayout, label: str, path: str, widget: QWidget,
               get: Callable[[], Any], put: Callable[[Any], None]) -> None:
        self._add(form, label, path, Binding(widget, get, put))

    def load(self, record: Record) -> None:
        self.errors.clear()
        for path, binding in self.bindings.items():
            binding.set(get_path(record, path))

    def values(self) -> Record:
        """The form as a nested record; raises ``FormInvalid`` for values it can reject itself."""
        out: Record = {}
        for path, binding in self.bindings.items():
            set_path(out, path, binding.get())
        return out

    def show_error(self, field: str | None, message: str) -> bool:
        return self.errors.show(field, message)
