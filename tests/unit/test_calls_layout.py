"""The shape of the calls core, checked: only the telephony service's own module imports
``Telephony``; no module of engine/calls or engine/speech is over 500 lines; and no module of
engine/calls imports another in a cycle when it runs, not even through an import inside a
function."""

from __future__ import annotations

import ast
from pathlib import Path

import engine

ROOT = Path(engine.__file__).parent
MAX_LINES = 500  # STYLE.md: small modules, named after what they are


def modules(folder: str) -> dict[str, Path]:
    """The modules under ``engine/<folder>`` by dotted name."""
    found = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` but those under ``if TYPE_CHECKING:`` (never run)."""
    found: list[ast.AST] = []
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        found.append(node)
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test) == "TYPE_CHECKING":
                todo.extend(child.orelse)
            else:
                todo.append(child)
    return found


def imports(path: Path, package: str) -> set[str]:
    """Every engine module ``path`` imports when it runs, at any depth of its code (functions
    included, type-checking imports left out)."""
    names: set[str] = set()
    for node in run_time_nodes(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            module = node.module
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return {n for n in names if n.startswith("engine.")}


def test_only_the_service_imports_telephony() -> None:
    importers = []
    for name, path in modules("calls").items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and any(a.name == "Telephony" for a in node.names):
                importers.append(name)
    assert importers == []  # engine.calls.telephony defines it; engine.app owns it


def test_no_module_of_calls_or_speech_is_over_500_lines() -> None:
    long = {name: n for folder in ("calls", "speech") for name, path in modules(folder).items()
            if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_the_calls_modules_import_each_other_without_cycles() -> None:
    calls = modules("calls")
    graph = {name: {m for m in imports(path, name) if m in calls and m != name}
             for name, path in calls.items()}
    # a package's __init__ re-exports its parts: an edge into it from one of its own parts is
    # an edge to the part, not a cycle
    graph = {name: {m for m in deps if not name.startswith(m + ".")} for name, deps in graph.items()}
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt):], nxt] if nxt in path else [node, nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert cycles == []
