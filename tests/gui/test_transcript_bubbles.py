"""Transcript bubbles keep their text inside: a SIP URI wider than the bubble wraps anywhere."""

from __future__ import annotations

from PySide6.QtWidgets import QApplication

from console.models.transcript import TranscriptModel
from console.views.transcript import BUBBLE_PADDING, BubbleDelegate, TranscriptView


def test_a_word_wider_than_the_bubble_wraps_inside_it(qapp: QApplication) -> None:
    model = TranscriptModel()
    view = TranscriptView(model)
    view.resize(300, 400)
    delegate = view.itemDelegate()
    assert isinstance(delegate, BubbleDelegate)
    font = view.font()
    inside = delegate._bubble_width() - 2 * BUBBLE_PADDING
    long_uri = "Transfer to Billing desk (sip:billing-desk-second-floor@127.0.0.1:38730): busy."
    assert delegate._wrap(long_uri, font)[0].width() <= inside
    words = "Caller connected to Marcus."  # ordinary words still wrap at their boundaries
    assert delegate._wrap(words, font)[0].width() <= inside
    view.deleteLater()
