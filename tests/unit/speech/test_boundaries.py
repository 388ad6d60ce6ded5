"""Speech owns its interfaces: nothing under engine/speech imports engine.agents (agents → speech)."""

from __future__ import annotations

import ast
from pathlib import Path

import engine.speech

SPEECH = Path(engine.speech.__file__).parent


def imported_modules(path: Path) -> set[str]:
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def test_speech_never_imports_agents() -> None:
    offenders = {}
    for path in SPEECH.rglob("*.py"):
        found = sorted(m for m in imported_modules(path) if m.startswith("engine.agents"))
        if found:
            offenders[str(path.relative_to(SPEECH))] = found
    assert offenders == {}


def test_the_agents_brain_module_is_the_speech_interface() -> None:
    from engine.agents import brain as agents_brain
    from engine.speech import brain as speech_brain

    assert agents_brain.Brain is speech_brain.Brain
    assert agents_brain.BrainOutput is speech_brain.BrainOutput
