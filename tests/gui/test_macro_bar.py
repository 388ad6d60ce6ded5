"""The macro bar's buttons run their own macro: a click is Ctrl+n for the n-th button."""

from __future__ import annotations

from typing import Any, cast

from PySide6.QtWidgets import QApplication

from console.bridge import ApiBridge
from console.models.macros import Macro, MacrosModel
from console.views.macros import MacroBar


def test_a_click_runs_the_buttons_macro(qapp: QApplication) -> None:
    model = MacrosModel(cast(ApiBridge, None))
    model.macros = [Macro("Refund", "say", "Your refund is on its way."),
                    Macro("Discount", "whisper", "Offer a discount.")]
    ran: list[Any] = []
    bar = MacroBar(model, ran.append)
    try:
        bar.buttons[1].click()
        bar.buttons[0].click()
        assert ran == [2, 1]
    finally:
        bar.deleteLater()
