"""Persona files: the shipped ones load; a malformed one names its path and field; an unknown
name lists the known ones; reactions match by keyword and regex; an install ships them."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
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
    find_personas,
    heard_pattern,
    installed_dirs,
    parse_persona,
    personas_dir,
)

SHIPPED = {"appointment_booking", "billing_dispute", "interrupter", "ivr_presser", "order_status",
           "silent_caller", "wants_human", "wrong_number"}
ROOT = Path(__file__).resolve().parents[3]

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
  outcome: {transfer_requested: false, tool_called: lookup_order, transcript: [hello],
            end_reason: caller_hangup, dtmf: 12, barge_ins: 1, max_duration_s: 30}
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
    outcome = persona.success.outcome
    assert (outcome.transfer_requested, outcome.tool_called, outcome.end_reason) == (
        False, "lookup_order", "caller_hangup")
    assert (outcome.transcript, outcome.dtmf, outcome.barge_ins, outcome.max_duration_s) == (
        ("hello",), "12", 1, 30.0)
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
    (GOOD.replace("dtmf: 12,", "dtmf: 1x,"), "success.outcome.dtmf"),
    (GOOD.replace("barge_ins: 1", "barge_ins: -1"), "success.outcome.barge_ins"),
    (GOOD.replace("max_duration_s: 30", "max_duration_s: long"), "success.outcome.max_duration_s"),
    (GOOD.replace("end_reason:", "ended_reason:"), "success.outcome.ended_reason"),
    (GOOD.replace("transfer_requested: false", "transfer_requested: maybe"),
     "success.outcome.transfer_requested"),
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


def test_the_source_trees_personas_come_first(tmp_path: Path) -> None:
    source, installed = tmp_path / "resources" / "personas", tmp_path / "share" / "personas"
    for folder in (source, installed):
        folder.mkdir(parents=True)
    assert find_personas(source, [installed]) == source


def test_without_a_source_tree_the_installed_personas_are_found(tmp_path: Path) -> None:
    # an install's layout: the package in site-packages, its data files under the prefix
    prefix = tmp_path / "venv"
    missing = prefix / "lib" / "python3.11" / "site-packages" / "resources" / "personas"
    user, data = tmp_path / "user" / "share" / "switchboard" / "personas", \
        prefix / "share" / "switchboard" / "personas"
    data.mkdir(parents=True)
    (data / "tester.yaml").write_text(GOOD)
    assert find_personas(missing, [user, data]) == data
    assert persona_names(find_personas(missing, [user, data])) == ["tester"]
    assert find_personas(missing, [user]) == missing  # none: the error names the source tree's


def test_the_installed_location_is_under_the_install_schemes_data_path() -> None:
    dirs = installed_dirs()
    assert dirs[0] == Path(sysconfig.get_path("data")) / "share" / "switchboard" / "personas"


@pytest.mark.timeout(180)
def test_a_wheel_ships_every_persona_where_the_lookup_finds_it(tmp_path: Path) -> None:
    # built from a copy: setuptools leaves build/ and an egg-info where it builds; the backend
    # comes from the package index pip is configured with (a local one offline)
    source = tmp_path / "source"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for folder in ("engine", "console", "switchboard", "resources"):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                            str(tmp_path / "dist"), str(source)], capture_output=True, text=True,
                           timeout=170, check=False)
    assert built.returncode == 0, built.stderr
    [wheel] = (tmp_path / "dist").glob("switchboard-*.whl")
    data = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.data/data/"
    with zipfile.ZipFile(wheel) as archive:
        shipped = {name.removeprefix(data) for name in archive.namelist()
                   if name.startswith(data)}
    expected = {f"share/switchboard/{p.relative_to(ROOT / 'resources').as_posix()}"
                for pattern in ("personas/*.yaml", "themes/*.qss", "icons/*.svg")
                for p in (ROOT / "resources").glob(pattern)}
    assert {"share/switchboard/themes/light.qss", "share/switchboard/icons/switchboard.svg"} \
        <= expected
    assert shipped == expected  # every shipped file, where resource_dir finds it
    assert installed_dirs()[0].relative_to(sysconfig.get_path("data")).as_posix() == \
        "share/switchboard/personas"
