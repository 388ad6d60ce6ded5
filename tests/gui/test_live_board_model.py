"""The live board's model repaints only what moved: the duration column every second, and a row's
background once when its new-call highlight fades."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QModelIndex, Qt

from console.models import live
from console.models.live import LiveCallsModel


def _created(call_id: str) -> dict[str, Any]:
    return {"type": "call.created", "call_id": call_id,
            "data": {"id": call_id, "status": "in_progress", "direction": "inbound",
                     "from_number": "+14155550100"}}


def test_tick_repaints_the_duration_column_and_fading_rows_only(monkeypatch: Any) -> None:
    model = LiveCallsModel()
    for call_id in ("a", "b", "c"):
        model.apply_event(_created(call_id))
    assert model.flush()
    changes: list[tuple[int, int, int, int, list[int]]] = []

    def seen(top: QModelIndex, bottom: QModelIndex, roles: list[int]) -> None:
        changes.append((top.row(), top.column(), bottom.row(), bottom.column(), list(roles)))

    model.dataChanged.connect(seen)
    assert model.headerData(LiveCallsModel.DURATION_COLUMN, Qt.Orientation.Horizontal) == "Duration"

    model.tick()  # all three are new: only durations move
    display = int(Qt.ItemDataRole.DisplayRole)
    assert changes == [(0, 4, 2, 4, [display])]

    changes.clear()
    monkeypatch.setattr(live, "NEW_CALL_HIGHLIGHT_S", 0.0)  # the highlights have faded
    model.tick()
    background = int(Qt.ItemDataRole.BackgroundRole)
    last = len(model.columns) - 1
    assert changes[0] == (0, 4, 2, 4, [display])
    assert sorted(changes[1:]) == [(row, 0, row, last, [background]) for row in range(3)]

    changes.clear()
    model.tick()  # nothing is fading any more
    assert changes == [(0, 4, 2, 4, [display])]
