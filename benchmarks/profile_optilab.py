"""Where optilab.autograd spends its time: cProfile over the benchmark's own work functions.

    python -m benchmarks.profile_optilab                 # cases a and b, top 12 by own time
    python -m benchmarks.profile_optilab --cases c --n 1000 --sort cumulative

Runs in this process (one thread), on exactly the callables that
``benchmarks.bench_autograd`` times, for about ``--seconds`` per case.  cProfile adds
overhead per Python call, so read the shares, not the absolute times.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import cProfile  # noqa: E402
import io  # noqa: E402
import pstats  # noqa: E402
import time  # noqa: E402

from . import engines  # noqa: E402


def profile(case: str, n: int, seconds: float, top: int, sort: str) -> str:
    work = engines.ENGINES["optilab"][case](n)
    for _ in range(3):
        work()
    start, calls = time.perf_counter(), 0
    while time.perf_counter() - start < seconds / 4:   # count calls for ~seconds profiled
        work()
        calls += 1
    calls = max(1, calls * 2)
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        work()
    prof.disable()
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(sort).print_stats(top)
    return f"=== optilab case ({case}) n={n}: {calls} calls, sorted by {sort}\n{buf.getvalue()}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default="a,b")
    parser.add_argument("--n", type=int, default=1000, help="n for case (c)")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--sort", default="tottime", help="tottime, cumulative, ncalls, ...")
    args = parser.parse_args(argv)
    for case in [c.strip() for c in args.cases.split(",") if c.strip()]:
        n = {"a": 1, "b": 100}.get(case, args.n)
        print(profile(case, n, args.seconds, args.top, args.sort))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
