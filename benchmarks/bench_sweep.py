"""A sweep of 7 optimizers x 25 learning rates x 500 Rosenbrock steps (target: <= 5 s), beside
the same 175 runs made one by one with ``run()``.

Both give the same trajectories bit for bit (tests/test_sweep.py); the sweep batches each
optimizer's 25 rates into one tensor.  The two are interleaved, one thread, after a warm-up
(the first torch.optim step of a process imports torch's compiler: seconds, paid once), and
the table shows medians.  L-BFGS cannot be batched (a line search over all coordinates at
once) and runs one by one inside the sweep too: ``--optimizers`` with ``lbfgs`` shows it.

    python -m benchmarks.bench_sweep                       # 7 batched configurations, 3 rounds
    python -m benchmarks.bench_sweep --optimizers sgd,adam,lbfgs --rounds 1
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from optilab.functions import rosenbrock  # noqa: E402
from optilab.optim import run  # noqa: E402
from optilab.sweep import log_grid, sweep  # noqa: E402

CONFIGS = {
    "sgd": {}, "momentum": dict(optimizer="sgd", momentum=0.9),
    "nesterov": dict(optimizer="sgd", momentum=0.9, nesterov=True), "adam": {},
    "rmsprop": {}, "adagrad": {}, "adadelta": {}, "adamw": {}, "lbfgs": {},
}
X0 = [-1.2, 1.0]


def one_by_one(configs: dict, lrs, steps: int) -> None:
    for label, settings in configs.items():
        settings = dict(settings)
        name = settings.pop("optimizer", label)
        for lr in lrs:
            run(rosenbrock, X0, name, lr=float(lr), steps=steps, progress=False, **settings)


def seconds(fn, *args, **kwargs) -> float:
    t0 = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizers", default="sgd,momentum,nesterov,adam,rmsprop,adagrad,"
                                                "adadelta")
    parser.add_argument("--lrs", type=int, default=25, help="rates from 1e-5 to 10")
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    configs = {name: CONFIGS[name] for name in args.optimizers.split(",")}
    lrs = log_grid(1e-5, 10.0, args.lrs)
    sweep(rosenbrock, X0, configs, lrs=lrs[:2], steps=5)            # warm-up
    one_by_one(configs, lrs[:2], 5)
    batched, single = [], []
    for _ in range(args.rounds):
        batched.append(seconds(sweep, rosenbrock, X0, configs, lrs=lrs, steps=args.steps))
        single.append(seconds(one_by_one, configs, lrs, args.steps))
    b, s = statistics.median(batched), statistics.median(single)
    n = len(configs) * len(lrs)
    print(f"# sweep: {len(configs)} optimizers x {len(lrs)} learning rates x {args.steps} "
          f"Rosenbrock steps = {n} runs, float64, 1 thread, median of {args.rounds} "
          f"interleaved rounds")
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"torch {torch.__version__}, Python {platform.python_version()}, load average "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| optimizers | runs | sweep() | one by one with run() | speed-up | target |")
    print("|---|---:|---:|---:|---:|---|")
    print(f"| {', '.join(configs)} | {n} | {b:.2f} s | {s:.2f} s | {s / b:.1f}x | "
          f"{'met' if b <= 5 else 'missed'} (<= 5 s) |")


if __name__ == "__main__":
    main()
