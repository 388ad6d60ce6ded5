"""Persona files: the shipped ones load; a malformed one names its path and field; an unknown
name lists the known ones; reactions match by keyword and regex."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.media import FRAME_BYTES
from engine.simulator import PersonaError, load_persona, persona_names
from engine.simulator.caller import parse_target, split_frames
from engine.simulator.personas import (
    BargeIn,
    Dtmf,
    Hangup,
    React,
    Say,
    Silence,
    WaitAgent,
    heard_pattern,
    parse_persona,
    personas_dir,
)

SHIPPED = {"appointment_booking", "interrupter", "ivr_presser", "order_status", "silent_caller",
           "wants_human"}

GOOD = """
name: tester
description: Tries every step.
goal: Hear the word done.
voice: {language: en, voice: en-gb, rate: 140}
steps:
  - wait: {timeout: 5}
  - say: Hello there.
  - react:
      when:
        - keywords: [order number, number]
          say: It is 1 2 3.
        - regex: "good ?bye"
          hangup: true
        - keywords: [menu]
      otherwise: Sorry?
  - dtmf: 12#
  - silence: 2.5
  - barge_in: {say: Wait a moment., after: 0.5}
  - hangup: {}
success:
  heard: [done|finished]
  ended_by: caller
  outcome: {transfer_requested: false, tool_called: lookup_order, transcript: [hello]}
"""


def test_the_shipped_personas_load() -> None:
    assert SHIPPED <= set(persona_names())
    for name in persona_names():
        persona = load_persona(name)
        assert persona.name == name and persona.goal and persona.steps
        assert persona.path == personas_dir() / f"{name}.yaml"
        assert persona.voice.voice == "en-gb"  # no demo agent speaks in it


def test_every_step_parses(tmp_path: Path) -> None:
    persona = parse_persona(GOOD, tmp_path / "tester.yaml")
    kinds = [type(step) for step in persona.steps]
    assert kinds == [WaitAgent, Say, React, Dtmf, Silence, BargeIn, Hangup]
    assert persona.voice.rate == 140
    assert persona.success.ended_by == "caller"
    assert persona.success.outcome.tool_called == "lookup_order"
    assert persona.lines == ["Hello there.", "It is 1 2 3.", "Sorry?", "Wait a moment."]
    step = persona.steps[3]
    assert isinstance(step, Dtmf) and step.digits == "12#"


def test_reactions_match_by_keyword_and_regex(tmp_path: Path) -> None:
    react = parse_persona(GOOD, tmp_path / "tester.yaml").steps[2]
    assert isinstance(react, React)
    numbered = react.choose("sure what's your order number")
    assert numbered is not None and numbered.say == "It is 1 2 3."
    ending = react.choose("thanks for calling goodbye")
    assert ending is not None and ending.hangup
    menu = react.choose("use the menu")
    assert menu is not None and menu.say is None and not menu.hangup
    assert react.choose("numbers") is None  # whole words only
    assert react.choose("how can i help") is None
    assert react.otherwise == "Sorry?"


def test_heard_entries_take_alternatives() -> None:
    assert heard_pattern("press 1|keypad").search("you can also use your keypad")
    assert not heard_pattern("press 1|keypad").search("press 10")


@pytest.mark.parametrize(("broken", "field"), [
    (GOOD.replace("goal: Hear the word done.\n", ""), "goal"),
    (GOOD.replace("rate: 140", "rate: fast"), "voice.rate"),
    (GOOD.replace("  - dtmf: 12#", "  - dtmf: 12x"), "steps[3].dtmf"),
    (GOOD.replace("  - silence: 2.5", "  - shout: loud"), "steps[4].shout"),
    (GOOD.replace("regex: \"good ?bye\"", "regex: \"(\""), "steps[2].react.when[1].regex"),
    (GOOD.replace("ended_by: caller", "ended_by: nobody"), "success.ended_by"),
    (GOOD.replace("steps:", "steps: 3\nunused:"), "steps"),
])
def test_a_malformed_file_names_its_path_and_field(tmp_path: Path, broken: str,
                                                  field: str) -> None:
    path = tmp_path / "tester.yaml"
    path.write_text(broken)
    (tmp_path / "other.yaml").write_text(GOOD.replace("name: tester", "name: other"))
    with pytest.raises(PersonaError) as caught:
        load_persona("tester", tmp_path)
    assert str(caught.value).startswith(f"{path}: {field}:"), caught.value


def test_an_unknown_persona_lists_the_known_ones() -> None:
    with pytest.raises(PersonaError, match=r"unknown persona 'nobody'; known: .*order_status"):
        load_persona("nobody")


def test_the_personas_folder_can_be_named(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tester.yaml").write_text(GOOD)
    monkeypatch.setenv("SWITCHBOARD_PERSONAS", str(tmp_path))
    assert persona_names() == ["tester"]
    assert load_persona("tester").path == tmp_path / "tester.yaml"


def test_a_target_uri_names_the_peer() -> None:
    peer = parse_target("sip:14155550134@127.0.0.1:5070")
    assert (peer.transport, peer.host, peer.port) == ("UDP", "127.0.0.1", 5070)
    assert parse_target("sip:100@pbx.example").port == 5060
    with pytest.raises(ValueError, match="not a SIP URI"):
        parse_target("tel:+1555")


def test_a_line_is_cut_into_frames_with_its_last_voiced_one() -> None:
    voiced = b"\x01" * FRAME_BYTES
    frames, last = split_frames(voiced * 3 + bytes(FRAME_BYTES * 2 + 10), lambda f: f == voiced)
    assert len(frames) == 6 and all(len(f) == FRAME_BYTES for f in frames)
    assert last == 2
