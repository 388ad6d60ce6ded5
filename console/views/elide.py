"""Texts that do not fit: cut with "…" where they end, the whole text in a tooltip; table headers
at least as wide as their titles."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSize,
    Qt,
)
from PySide6.QtGui import QHelpEvent, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableView,
    QToolTip,
    QWidget,
)

ELLIPSIS = "…"
MIN_LABEL_CHARS = 6  # an eliding label never shrinks below a few characters and the "…"


class ElidedLabel(QLabel):
    """A one-line label that cuts its text with "…" to the width it is given; while cut, its
    tooltip is the whole text (a tooltip set with ``set_tip`` otherwise)."""

    def __init__(self, text: str = "", parent: QWidget | None = None,
                 mode: Qt.TextElideMode = Qt.TextElideMode.ElideRight) -> None:
        super().__init__(parent)
        self._full = ""
        self._tip = ""
        self._mode = mode
        self.setText(text)

    def setText(self, text: str) -> None:
        self._full = text
        self._elide()

    def text(self) -> str:
        """The whole text, not the part on screen."""
        return self._full

    def shown_text(self) -> str:
        """What the label paints: the text, or its start and "…"."""
        return super().text()

    def is_elided(self) -> bool:
        return super().text() != self._full

    def set_tip(self, tip: str) -> None:
        """The tooltip while the text fits."""
        self._tip = tip
        self._elide()

    def sizeHint(self) -> QSize:
        hint = super().sizeHint()
        return QSize(self.fontMetrics().horizontalAdvance(self._full) + self._padding(), hint.height())

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        metrics = self.fontMetrics()
        width = (metrics.averageCharWidth() * MIN_LABEL_CHARS + metrics.horizontalAdvance(ELLIPSIS)
                 + self._padding())
        return QSize(min(width, self.sizeHint().width()), hint.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._elide()

    def _padding(self) -> int:
        margins = self.contentsMargins()
        return margins.left() + margins.right() + 2 * self.margin()

    def _elide(self) -> None:
        room = self.contentsRect().width() - 2 * self.margin()
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(room, 0))
        if shown != super().text():
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else self._tip)


def elided_section(title: str) -> ElidedLabel:
    """A section title that cuts itself with "…" when its column is narrow."""
    label = ElidedLabel(title)
    label.setObjectName("sectionTitle")
    return label


def displayed_text(index: QModelIndex | QPersistentModelIndex) -> str:
    value = index.data(Qt.ItemDataRole.DisplayRole)
    return "" if value is None else str(value)


class ElidingDelegate(QStyledItemDelegate):
    """Paints cells as usual (cut with "…" when too long) and shows a cut cell's whole text as
    its tooltip, unless the model gives the cell a tooltip of its own."""

    def elided_tip(self, option: QStyleOptionViewItem,
                   index: QModelIndex | QPersistentModelIndex) -> str:
        """The whole text when the cell cannot show it all, else ""."""
        text = displayed_text(index)
        if not text:
            return ""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else None
        if style is None:
            return ""
        rect = style.subElementRect(QStyle.SubElement.SE_ItemViewItemText, opt, widget)
        margin = style.pixelMetric(QStyle.PixelMetric.PM_FocusFrameHMargin, None, widget) + 1
        room = rect.width() - 2 * margin
        return text if opt.fontMetrics.horizontalAdvance(text) > room else ""

    def helpEvent(self, event: QHelpEvent, view: QAbstractItemView, option: QStyleOptionViewItem,
                  index: QModelIndex | QPersistentModelIndex) -> bool:
        if event.type() == QEvent.Type.ToolTip and index.isValid() \
                and not index.data(Qt.ItemDataRole.ToolTipRole):
            tip = self.elided_tip(option, index)
            if tip:
                QToolTip.showText(event.globalPos(), tip, view.viewport(), view.visualRect(index))
                return True
            QToolTip.hideText()
        return super().helpEvent(event, view, option, index)


def header_title_width(header: QHeaderView, section: int) -> int:
    """How wide the section must be to show its title whole (padding and sort arrow included)."""
    return header.sectionSizeFromContents(section).width()


def fit_header_sections(view: QTableView) -> None:
    """Widen every section narrower than its title, now and whenever the header's font or
    style changes (the theme's padding arrives when the header is first polished). Stretched
    and content-sized sections are left to their resize mode."""
    header = view.horizontalHeader()
    if header.findChild(HeaderFitter) is None:
        header.installEventFilter(HeaderFitter(header))
    _fit(header)


class HeaderFitter(QObject):
    """Keeps a header's sections at least as wide as their titles."""

    EVENTS = (QEvent.Type.Show, QEvent.Type.Polish, QEvent.Type.StyleChange, QEvent.Type.FontChange)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in self.EVENTS and isinstance(watched, QHeaderView):
            _fit(watched)
        return False


def _fit(header: QHeaderView) -> None:
    model: QAbstractItemModel | None = header.model()
    if model is None:
        return
    for section in range(model.columnCount()):
        if header.sectionResizeMode(section) != QHeaderView.ResizeMode.Interactive:
            continue
        needed = header_title_width(header, section)
        if header.sectionSize(section) < needed:
            header.resizeSection(section, needed)


__all__ = [
    "ELLIPSIS",
    "ElidedLabel",
    "ElidingDelegate",
    "HeaderFitter",
    "displayed_text",
    "elided_section",
    "fit_header_sections",
    "header_title_width",
]
