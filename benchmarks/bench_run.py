"""Overhead of ``optilab.optim.run`` over the bare torch loop (target: under 10%).

Both sides do the same arithmetic -- 1,000 steps of ``zero_grad(); f(x).backward();
step()`` on Rosenbrock's function written as ``f(x, y)`` -- and ``run`` also records
every point, value, gradient and learning rate and checks for divergence.  The two are
interleaved, one thread, and the table shows medians and their ratio.

    python -m benchmarks.bench_run                 # sgd and adam, 15 rounds
    python -m benchmarks.bench_run --rounds 31 --steps 1000 --optimizers sgd,adam,lbfgs
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from optilab.optim import OPTIMIZERS, run  # noqa: E402


def rosenbrock(x, y):
    return (1 - x) ** 2 + 100 * (y - x ** 2) ** 2


def bare_loop(optimizer: str, steps: int, lr: float) -> None:
    """The hand-written loop, recording nothing."""
    x = torch.tensor(-1.2, dtype=torch.float64, requires_grad=True)
    y = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    opt = OPTIMIZERS[optimizer]([x, y], lr=lr)

    def closure():
        opt.zero_grad()
        loss = rosenbrock(x, y)
        loss.backward()
        return loss

    for _ in range(steps):
        if optimizer == "lbfgs":
            opt.step(closure)
        else:
            closure()
            opt.step()


def through_run(optimizer: str, steps: int, lr: float, progress: bool | None) -> None:
    run(rosenbrock, [-1.2, 1.0], optimizer, lr=lr, steps=steps, progress=progress)


def seconds(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--optimizers", default="sgd,adam")
    args = parser.parse_args()
    torch.set_num_threads(1)
    lrs = {"sgd": 1e-4, "adam": 1e-3, "lbfgs": 0.1}
    print(f"# run() overhead, {args.steps} steps of Rosenbrock f(x, y), float64, 1 thread, "
          f"median of {args.rounds} interleaved rounds")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, Python {platform.python_version()}\n")
    print("| optimizer | bare torch loop | run(progress=False) | ratio | run() default | ratio |")
    print("|---|---|---|---|---|---|")
    for name in args.optimizers.split(","):
        lr = lrs.get(name, 1e-3)
        bare, quiet, default = [], [], []
        for _ in range(args.rounds):
            bare.append(seconds(bare_loop, name, args.steps, lr))
            quiet.append(seconds(through_run, name, args.steps, lr, False))
            default.append(seconds(through_run, name, args.steps, lr, None))
        b, q, d = (statistics.median(v) for v in (bare, quiet, default))
        print(f"| {name} | {b * 1e3:.1f} ms | {q * 1e3:.1f} ms | {q / b:.3f} | "
              f"{d * 1e3:.1f} ms | {d / b:.3f} |")


if __name__ == "__main__":
    main()
