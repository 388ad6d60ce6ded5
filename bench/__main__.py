"""Run every benchmark script in bench/, one after another: ``python -m bench [NAME ...]``.

A benchmark script is a module of this folder with a ``if __name__ == "__main__":`` guard;
helper modules (the shared big store) are not run on their own. Each runs in its own process
from the project root, so one crashing benchmark does not stop the others. Each reports its
headline figures (bench.results) into a file named by an environment variable; the run ends
with one table of them all, headed by the machine's cores and CPU model.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.results import RESULTS_ENV, machine, read_figures, table

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
HELPERS = frozenset({"__init__", "__main__", "bigstore", "live_feed", "engine_child", "results",
                     "voice_calls", "campaign_child"})
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
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-results-") as tmp:
        results = Path(tmp) / "figures.jsonl"
        env = {**os.environ, RESULTS_ENV: str(results)}
        for name in names:
            print(f"\n=== bench/{name}.py ===", flush=True)
            started = time.perf_counter()
            code = subprocess.call([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, env=env)
            print(f"=== {name}: exit {code}, {time.perf_counter() - started:.0f} s ===", flush=True)
            if code != 0:
                failed.append(name)
        figures = read_figures(results)
    reported = {figure.bench for figure in figures}
    print()
    print(table(figures, machine(), [name for name in names if name not in reported]), flush=True)
    if failed:
        print(f"\nbenchmarks that did not finish: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
