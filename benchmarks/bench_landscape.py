"""How long a 41 x 41 loss landscape of notebook 7's network takes (target: <= 3 s).

Notebook 7's tanh network (sizes [1, 16, 16, 1], 321 parameters) on its 30 points, the mean
squared error as the loss, trained for 300 Adam steps; then ``loss_landscape`` on a
41 x 41 grid of filter-normalised directions (1,681 evaluations of the loss), for:

* our engine's Module (a loop over the grid points under ``no_grad``);
* the same network in torch, float64 (``torch.func.functional_call`` under ``vmap``,
  256 grid points per call);
* the same in torch with a loss that vmap cannot batch (a loop over the grid points);

and a 100-step learning-rate range test (SGD) with each engine.  One thread, the cases
interleaved round by round, medians (and the slowest round).

    python -m benchmarks.bench_landscape              # 7 rounds
    python -m benchmarks.bench_landscape --rounds 3 --n 21
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from optilab.autograd.nn import MSELoss  # noqa: E402
from optilab.autograd.optim import Adam  # noqa: E402
from optilab.exercises.nb13_landscape import MLP, sine_data, torch_copy  # noqa: E402
from optilab.landscape import loss_landscape, lr_range_test  # noqa: E402

TARGET = 3.0


def setup() -> dict[str, tuple]:
    """The trained network in both engines, with its loss."""
    xs, ys = sine_data()
    X, Y = xs.reshape(-1, 1, 1), ys.reshape(-1, 1, 1)
    mse = MSELoss()
    net = MLP([1, 16, 16, 1])
    opt = Adam(net.parameters(), lr=0.02)
    for _ in range(300):
        opt.zero_grad()
        mse(net(X), Y).backward()
        opt.step()
    tnet = torch_copy(net)
    tx, ty = torch.tensor(xs).reshape(-1, 1), torch.tensor(ys).reshape(-1, 1)
    torch_loss = lambda m: torch.nn.functional.mse_loss(m(tx), ty)       # noqa: E731
    unbatchable = lambda m: torch.tensor(torch_loss(m).item(), dtype=torch.float64)  # noqa: E731
    return {"optilab (loop)": (net, lambda m: mse(m(X), Y)),
            "torch (vmap)": (tnet, torch_loss),
            "torch (loop)": (tnet, unbatchable)}


def seconds(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=41, help="grid points per axis")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cases = setup()
    jobs = {f"{args.n} x {args.n} slice, {name}": (lambda m=m, f=f: loss_landscape(m, f, n=args.n))
            for name, (m, f) in cases.items()}
    for name in ("optilab (loop)", "torch (vmap)"):
        m, f = cases[name]
        jobs[f"lr range test, 100 SGD steps, {name.split()[0]}"] = (
            lambda m=m, f=f: lr_range_test(m, f, "sgd", lr_min=1e-4, lr_max=10, steps=100))
    first = {k: loss_landscape(*cases[k], n=5).losses for k in cases}    # the same numbers
    assert all(np.allclose(v, first["optilab (loop)"], rtol=1e-12) for v in first.values())
    for job in jobs.values():                  # warm-up: first imports (torch.optim, vmap)
        job()
    times: dict[str, list[float]] = {k: [] for k in jobs}
    for _ in range(args.rounds):
        for name, job in jobs.items():
            times[name].append(seconds(job))
    print(f"Python {platform.python_version()}, numpy {np.__version__}, torch "
          f"{torch.__version__}, {os.cpu_count()} cores, 1 thread, {args.rounds} rounds; "
          f"load average before: {os.getloadavg()[0]:.1f}\n")
    print("| what | median | slowest | target |")
    print("|---|---:|---:|---|")
    for name, ts in times.items():
        target = f"<= {TARGET:g} s" if "slice" in name and args.n == 41 else ""
        if target:
            target += " ok" if statistics.median(ts) <= TARGET else " MISSED"
        print(f"| {name} | {statistics.median(ts):.3f} s | {max(ts):.3f} s | {target} |")


if __name__ == "__main__":
    main()
