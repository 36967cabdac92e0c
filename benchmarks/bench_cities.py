"""The city-map lab's speed targets: GD iterations per second, and L-BFGS against SciPy BFGS.

1. Plain gradient descent at n = 36 (lr 0.05 from ``random_start(36, 0)``, float64, one
   thread), in iterations per second, median of interleaved rounds:

   * ``run()`` (optilab.optim, recording every point) with torch and with our engine, each
     differentiating ``criterion`` (the composite, ten operations);
   * ``run()`` with our engine differentiating ``stress`` (one primitive whose derivative
     rule is the closed-form gradient: ``solve(..., engine="optilab", fused=True)``);
   * bare loops for comparison: torch (zero_grad / criterion / backward / step), our engine
     (the same with its GD), and numpy with the closed-form gradient (no engine at all).

   Target: at least 7,000 it/s with at least one engine (the public lab reports 725 on a GPU).

2. Iterations to f <= 2e-8 (normalised; the floor is f* = 1.2383e-8) from 20 seeds:
   ``solve("lbfgs")`` (torch L-BFGS, strong Wolfe, one iteration per step) against
   ``solve("bfgs")`` (SciPy BFGS given our engine's gradient; iterations = SciPy's ``nit``).
   Evaluations of f and the wall time to get there are re-measured by re-running each
   method for exactly that many iterations. Target: L-BFGS's median below BFGS's.

    python -m benchmarks.bench_cities                 # both parts (~1 minute)
    python -m benchmarks.bench_cities --rounds 9 --steps 3000 --seeds 20
    python -m benchmarks.bench_cities --quick         # a smoke run: not a measurement
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

import optilab.autograd as ag  # noqa: E402
from optilab.autograd.optim import GD  # noqa: E402
from optilab.cities import (  # noqa: E402
    criterion,
    gradient,
    load_cities,
    normalise,
    random_start,
    solve,
)
from optilab.cities.solve import _objective  # noqa: E402  (what solve() differentiates)
from optilab.optim import run  # noqa: E402

TARGET_IT_S = 7000
TARGET_F = 2e-8
LR = 0.05


# ------------------------------------------------------------------------------ GD speed

def gd_run_torch(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    Dt = torch.tensor(D)
    run(lambda p: criterion(p.reshape(-1, 2), Dt), X0.ravel(), "sgd", lr=LR, steps=steps,
        engine="torch", progress=False)


def gd_run_optilab(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    run(lambda p: criterion(p.reshape(-1, 2), D), X0.ravel(), "sgd", lr=LR, steps=steps,
        engine="optilab", progress=False)


def gd_run_optilab_fused(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    # what solve("gd", engine="optilab", fused=True) runs
    run(_objective("optilab", D, "cpu", fused=True), X0.ravel(), "sgd", lr=LR, steps=steps,
        engine="optilab", progress=False)


def gd_bare_torch(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    Dt = torch.tensor(D)
    x = torch.tensor(X0, requires_grad=True)
    opt = torch.optim.SGD([x], lr=LR)
    for _ in range(steps):
        opt.zero_grad()
        criterion(x, Dt).backward()
        opt.step()


def gd_bare_optilab(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    x = ag.Tensor(X0)
    opt = GD([x], lr=LR)
    for _ in range(steps):
        opt.zero_grad()
        criterion(x, D).backward()
        opt.step()


def gd_bare_numpy(X0: np.ndarray, D: np.ndarray, steps: int) -> None:
    X = X0.copy()
    for _ in range(steps):
        X -= LR * gradient(X, D)


GD_CASES = [
    ("run(), torch, criterion", gd_run_torch),
    ("run(), optilab, criterion", gd_run_optilab),
    ("run(), optilab, stress primitive (fused=True)", gd_run_optilab_fused),
    ("bare torch loop, criterion", gd_bare_torch),
    ("bare optilab loop, criterion", gd_bare_optilab),
    ("bare numpy loop, closed-form gradient (no engine)", gd_bare_numpy),
]


def gd_speed(steps: int, rounds: int) -> list[tuple[str, list[float]]]:
    D = normalise(load_cities().distances)
    X0 = random_start(36, seed=0)
    for _, fn in GD_CASES:                      # warm up (imports, first-call costs)
        fn(X0, D, 20)
    rates: dict[str, list[float]] = {name: [] for name, _ in GD_CASES}
    for _ in range(rounds):                     # interleaved: load changes hit every case
        for name, fn in GD_CASES:
            t0 = time.perf_counter()
            fn(X0, D, steps)
            rates[name].append(steps / (time.perf_counter() - t0))
    return list(rates.items())


# ------------------------------------------------------------------------------ L-BFGS vs BFGS

def first_below(values: np.ndarray, target: float) -> int | None:
    hit = np.flatnonzero(values <= target)
    return int(hit[0]) if len(hit) else None


def to_target(method: str, seed: int) -> dict[str, float]:
    """Iterations to f <= target; evaluations and seconds of a run of exactly that many."""
    t = solve(method, seed=seed, progress=False)
    k = first_below(t.values, TARGET_F)
    if k is None:
        return {"iterations": np.inf, "evaluations": np.inf, "seconds": np.inf,
                "floor": float(t.values.min())}
    t0 = time.perf_counter()
    again = solve(method, seed=seed, steps=max(k, 1), progress=False)
    seconds = time.perf_counter() - t0
    assert again.values[k] <= TARGET_F
    return {"iterations": k, "evaluations": again.evaluations, "seconds": seconds,
            "floor": float(t.values.min())}


def iterations(seeds: int) -> dict[str, list[dict[str, float]]]:
    solve("lbfgs", steps=2, progress=False)     # warm up
    solve("bfgs", steps=2, progress=False)
    return {m: [to_target(m, s) for s in range(seeds)] for m in ("lbfgs", "bfgs")}


# ------------------------------------------------------------------------------ report

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000, help="GD steps per timing")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved GD rounds")
    parser.add_argument("--seeds", type=int, default=20, help="starts for L-BFGS vs BFGS")
    parser.add_argument("--quick", action="store_true", help="smoke run, not a measurement")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.seeds = 50, 1, 2
    torch.set_num_threads(1)
    print(f"# city-map lab, n = 36, float64, 1 thread; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, numpy {np.__version__}, "
          f"Python {platform.python_version()}")
    if args.quick:
        print("# --quick: a smoke run, the numbers are not measurements")

    print(f"\n## Plain GD (lr {LR}), iterations per second: median of {args.rounds} "
          f"interleaved rounds of {args.steps} steps\n")
    print(f"| loop | median it/s | min | max | >= {TARGET_IT_S:,} |")
    print("|---|---:|---:|---:|---|")
    for name, rates in gd_speed(args.steps, args.rounds):
        median = statistics.median(rates)
        ok = "yes" if median >= TARGET_IT_S else "no"
        print(f"| {name} | {median:,.0f} | {min(rates):,.0f} | {max(rates):,.0f} | {ok} |")

    print(f"\n## Iterations to f <= {TARGET_F:g} (normalised), {args.seeds} seeds\n")
    results = iterations(args.seeds)
    print("| method | median iterations | min | max | median evaluations of f "
          "| median seconds | lowest f seen |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    medians = {}
    for method, runs in results.items():
        its = [r["iterations"] for r in runs]
        medians[method] = statistics.median(its)
        label = {"lbfgs": "torch L-BFGS (strong Wolfe, history 10)",
                 "bfgs": "SciPy BFGS (our engine's gradient), nit"}[method]
        print(f"| {label} | {medians[method]:g} | {min(its):g} | {max(its):g} | "
              f"{statistics.median(r['evaluations'] for r in runs):g} | "
              f"{statistics.median(r['seconds'] for r in runs):.3g} | "
              f"{min(r['floor'] for r in runs):.6g} |")
    verdict = "yes" if medians["lbfgs"] < medians["bfgs"] else "NO"
    print(f"\nL-BFGS needs fewer iterations than BFGS (median): {verdict} "
          f"({medians['lbfgs']:g} vs {medians['bfgs']:g})")


if __name__ == "__main__":
    main()
