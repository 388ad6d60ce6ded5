"""The test harness's public face is pinned, and the tests, benchmarks and screenshot script
take shared helpers from it, never from a conftest module."""

from __future__ import annotations

import re
from pathlib import Path

import tests.harness as harness

ROOT = Path(__file__).resolve().parents[2]
PUBLIC = """RunningEngine SippResult SippUas TEST_KEY free_media_port free_udp_port requires_sipp
            run_api run_sipp start_engine write_scenario"""
CONFTEST_IMPORT = re.compile(r"^\s*(from|import) tests\.(\S+\.)?conftest\b", re.M)


def test_the_public_names_are_pinned() -> None:
    assert sorted(harness.__all__) == sorted(PUBLIC.split())
    assert all(getattr(harness, name, None) is not None for name in harness.__all__)


def test_nothing_imports_from_a_conftest_module() -> None:
    sources = [*ROOT.joinpath("tests").rglob("*.py"), *ROOT.joinpath("bench").rglob("*.py"),
               *ROOT.joinpath("docs").rglob("*.py")]
    importing = [str(p.relative_to(ROOT)) for p in sources if CONFTEST_IMPORT.search(p.read_text())]
    assert importing == []
