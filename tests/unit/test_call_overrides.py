"""What an assistant-request answer does to an agent's record, and ``serve --sip-port``."""

from __future__ import annotations

import argparse

import pytest

from engine.calls.agent_leg import with_overrides
from switchboard.cli import AUTO, _sip_port


def test_overrides_replace_fields_and_merge_mappings() -> None:
    agent = {"first_message": "Hello", "tts": {"voice": "en-us", "rate": 170},
             "metadata_": {"team": "day"}, "name": "Day desk"}
    out = with_overrides(agent, {"first_message": "Night line", "tts": {"voice": "en-gb"},
                                 "metadata": {"shift": "night"}})
    assert out == {"first_message": "Night line", "tts": {"voice": "en-gb", "rate": 170},
                   "metadata_": {"team": "day", "shift": "night"}, "name": "Day desk"}
    assert agent["first_message"] == "Hello" and agent["tts"] == {"voice": "en-us", "rate": 170}


def test_sip_port_argument() -> None:
    assert _sip_port("auto") == AUTO
    assert _sip_port("0") == 0 and _sip_port("5062") == 5062
    for bad in ("x", "70000", "-1"):
        with pytest.raises(argparse.ArgumentTypeError):
            _sip_port(bad)
