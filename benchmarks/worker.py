"""Time one (engine, case) in this process: ``python -m benchmarks.worker ENGINE CASE N``.

The driver (:mod:`benchmarks.bench_autograd`) starts one of these per measurement, so
each engine runs alone in a fresh interpreter.  The worker pins BLAS/OpenMP to one
thread *before* numpy or torch is imported, imports only the engine it measures,
checks the gradient against :mod:`benchmarks.cases`' reference, times the work
timeit-style (calls per repeat chosen so a repeat lasts at least ``--min-time``;
the median over repeats is reported) and prints one ``BENCH_RESULT {json}`` line.

The garbage collector stays on: reclaiming graph memory is part of an engine's cost.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import importlib.metadata  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from typing import Any  # noqa: E402

MARKER = "BENCH_RESULT "
DISTRIBUTIONS = {"optilab": None, "torch": "torch", "hips": "autograd", "micrograd": "micrograd"}
MAX_REPEATS = {"micrograd": 3}      # a scalar engine: each call is slow


def to_numpy(result: Any) -> Any:
    import numpy as np

    if isinstance(result, (list, tuple)):
        parts = [to_numpy(r) for r in result]
        return np.concatenate([p.ravel() for p in parts]) if parts else np.zeros(0)
    if hasattr(result, "detach"):                       # a torch tensor
        result = result.detach().cpu().numpy()
    return np.asarray(result, dtype=np.float64)


def _time(work: Any, number: int) -> float:
    start = time.perf_counter()
    for _ in range(number):
        work()
    return time.perf_counter() - start


def measure(work: Any, min_time: float, repeats: int, warmup: int,
            budget: float) -> dict[str, Any]:
    """Median seconds per call over ``repeats`` repeats of ``number`` calls each."""
    first = _time(work, 1)
    for _ in range(warmup - 1 if first < 0.5 else 0):
        work()
    number, t = 1, _time(work, 1)
    while t < min_time:                        # calibrate (these runs are discarded)
        number = max(number * 2, math.ceil(number * min_time / max(t, 1e-9) * 1.1))
        t = _time(work, number)
    if t * repeats > budget:                   # a slow call: fewer repeats, at least 3
        repeats = max(3, min(repeats, int(budget / t)))
    per_call = [_time(work, number) / number for _ in range(repeats)]
    return {"median_s": statistics.median(per_call), "min_s": min(per_call),
            "max_s": max(per_call), "number": number, "repeats": repeats,
            "times_s": per_call}


def version_of(engine: str) -> str | None:
    dist = DISTRIBUTIONS.get(engine)
    try:
        if dist is None:
            import optilab
            return getattr(optilab, "__version__", None)
        return importlib.metadata.version(dist)
    except Exception:  # noqa: BLE001 - a version is only informative
        return None


def run(engine: str, case: str, n: int, min_time: float, repeats: int, warmup: int,
        budget: float) -> dict[str, Any]:
    from . import cases, engines

    out: dict[str, Any] = {"engine": engine, "case": case, "n": n}
    spec = engines.ENGINES.get(engine)
    if spec is None:
        return {**out, "status": "error", "message": f"unknown engine {engine!r}"}
    if importlib.util.find_spec(spec["module"].split(".")[0]) is None:
        return {**out, "status": "not installed",
                "message": f"python module '{spec['module']}' not found"}
    try:
        work = spec[case](n)
    except engines.NotApplicable as why:
        return {**out, "status": "n/a", "message": str(why)}
    out["version"] = version_of(engine)
    if engine == "torch":
        import torch
        out["threads"] = torch.get_num_threads()

    ref = cases.reference(case, n)
    errors = [cases.relative_error(to_numpy(work()), ref)]   # the first call
    timing = measure(work, min_time, min(repeats, MAX_REPEATS.get(engine, repeats)),
                     warmup, budget)
    errors.append(cases.relative_error(to_numpy(work()), ref))  # after many calls
    rel_err = max(errors)
    ok = rel_err <= cases.RTOL
    out.update(timing)
    out.update(status="ok" if ok else "wrong", rel_err=rel_err,
               check="passed" if ok else "FAILED")
    if not ok:
        out["message"] = (f"gradient differs from the reference: max relative error "
                          f"{rel_err:.3g} > {cases.RTOL:g} (first call {errors[0]:.3g}, "
                          f"after timing {errors[1]:.3g})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("engine")
    parser.add_argument("case", choices=["a", "b", "c"])
    parser.add_argument("n", type=int)
    parser.add_argument("--min-time", type=float, default=0.2,
                        help="seconds each repeat must last at least (default 0.2)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--budget", type=float, default=30.0,
                        help="seconds of timed repeats before slow engines get fewer repeats")
    args = parser.parse_args(argv)
    try:
        result = run(args.engine, args.case, args.n, args.min_time, args.repeats,
                     args.warmup, args.budget)
    except Exception as err:  # noqa: BLE001 - report, do not crash the driver's table
        traceback.print_exc()
        result = {"engine": args.engine, "case": args.case, "n": args.n, "status": "error",
                  "message": f"{type(err).__name__}: {err}"}
    print(MARKER + json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
