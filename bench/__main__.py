"""Run every benchmark script in bench/, one after another: ``python -m bench [NAME ...]``.

A benchmark script is a module of this folder with a ``if __name__ == "__main__":`` guard;
helper modules (the shared big store) are not run on their own. Each runs in its own process
from the project root, so one crashing benchmark does not stop the others.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HELPERS = frozenset({"__init__", "__main__", "bigstore", "live_feed"})
MAIN_GUARD = 'if __name__ == "__main__":'


def scripts() -> list[str]:
    """The benchmark module names, alphabetically."""
    return sorted(
        path.stem for path in BENCH_DIR.glob("*.py")
        if path.stem not in HELPERS and MAIN_GUARD in path.read_text(encoding="utf-8")
    )


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or scripts()
    unknown = [name for name in names if name not in scripts()]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(scripts())}",
              file=sys.stderr)
        return 2
    failed: list[str] = []
    for name in names:
        print(f"\n=== bench/{name}.py ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT)
        print(f"=== {name}: exit {code}, {time.perf_counter() - started:.0f} s ===", flush=True)
        if code != 0:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
