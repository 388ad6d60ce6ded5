"""SortHeader: a table header whose sort arrow points the way the list runs.

Qt draws ``AscendingOrder`` as a downward arrow and ``DescendingOrder`` as an upward one (its
``SortDown``/``SortUp`` name where the largest value is); desktop file managers and mail clients
point the arrow up for ascending (A to Z, oldest first) and down for descending. This header
swaps the two as each section is drawn, and leaves the order itself as Qt has it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QStyleOptionHeader, QWidget

SORT = QStyleOptionHeader.SortIndicator
SWAPPED = {SORT.SortUp: SORT.SortDown, SORT.SortDown: SORT.SortUp}


class SortHeader(QHeaderView):
    """A horizontal header with ascending ▲ / descending ▼."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)

    def initStyleOptionForIndex(self, option: QStyleOptionHeader, logicalIndex: int) -> None:
        super().initStyleOptionForIndex(option, logicalIndex)
        option.sortIndicator = SWAPPED.get(option.sortIndicator, option.sortIndicator)

    def arrow_points_up(self, section: int) -> bool | None:
        """Whether the section's arrow points up (None when it shows none), as drawn."""
        option = QStyleOptionHeader()
        self.initStyleOptionForIndex(option, section)
        if option.sortIndicator == SORT.None_:
            return None
        return option.sortIndicator == SORT.SortUp
