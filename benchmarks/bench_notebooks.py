"""How long each course notebook takes to run top to bottom in a real kernel.

Every generated notebook (student version in ``notebooks/``, solution version in
``notebooks/solutions/``) runs with ``tests/nbrun.py`` (the notebook tests' runner: finite
timeouts, no nbclient stalls), ``--rounds`` times; the table shows the median wall time
of each, kernel start included.  Target: every notebook under 60 s on this 2-core machine.

    python -m benchmarks.bench_notebooks                       # all notebooks, 1 round
    python -m benchmarks.bench_notebooks --only 09,10 --rounds 3
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nbrun import run_notebook  # noqa: E402

TARGET = 60.0


def notebooks(only: list[str] | None) -> list[str]:
    stems = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    return [s for s in stems if not only or any(s.startswith(o) for o in only)]


def seconds(path: Path) -> float:
    start = time.perf_counter()
    run_notebook(path, cell_timeout=300)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--only", help="comma-separated name prefixes, e.g. 09,10")
    args = parser.parse_args(argv)
    stems = notebooks(args.only.split(",") if args.only else None)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs; median of "
          f"{args.rounds} round(s), kernel start included.\n")
    print("| notebook | student (s) | solution (s) | target |")
    print("|---|---:|---:|---|")
    for stem in stems:
        times = {}
        for version, folder in (("student", "notebooks"), ("solution", "notebooks/solutions")):
            path = ROOT / folder / f"{stem}.ipynb"
            times[version] = statistics.median(seconds(path) for _ in range(args.rounds)) \
                if path.exists() else float("nan")
        worst = max(times.values())
        verdict = f"<= {TARGET:g} s: {'met' if worst <= TARGET else 'MISSED'}"
        print(f"| {stem} | {times['student']:.1f} | {times['solution']:.1f} | {verdict} |",
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
