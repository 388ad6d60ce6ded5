"""The platforms' forms of Switchboard's call fields: IVR menu matches as live calls and demo
history store them, costs in dollars."""

from __future__ import annotations

from engine.api.compat.fields import final_selection, menu_match, usd


def test_a_live_key_press_match_is_exact_and_keeps_its_label() -> None:
    live = {"digit": "2", "label": "Billing", "intent": "billing", "action": None}
    assert menu_match(live) == {"menuItemId": "2", "menuItemLabel": "Billing", "confidence": 1.0,
                                "matchedText": "2"}


def test_a_demo_match_names_its_option() -> None:
    assert menu_match({"digit": "1", "option": "Orders"})["menuItemLabel"] == "Orders"


def test_a_spoken_match_keeps_its_confidence_and_text() -> None:
    spoken = {"menu_item_id": "billing", "label": "Billing", "confidence": 0.82,
              "matched_text": "a question about my bill"}
    assert menu_match(spoken) == {"menuItemId": "billing", "menuItemLabel": "Billing",
                                  "confidence": 0.82, "matchedText": "a question about my bill"}


def test_the_final_selection_stored_as_a_label_is_its_match() -> None:
    matches = [menu_match({"digit": "1", "option": "Orders"}),
               menu_match({"digit": "2", "option": "Billing"})]
    assert final_selection("Billing", matches) == matches[1]
    assert final_selection({"label": "Billing", "digit": "2"}, matches) == matches[1]
    assert final_selection("Returns", matches) == {"menuItemId": None, "menuItemLabel": "Returns",
                                                   "confidence": None, "matchedText": None}
    assert final_selection(None, matches) is None


def test_costs_in_dollars() -> None:
    assert usd(1_234_500) == 1.2345
    assert usd(None) is None
