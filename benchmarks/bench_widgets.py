"""How long a slider change takes in the explorer: re-run 100 steps and redraw the PNG.

Targets (in the kernel, this machine): 2D at most 100 ms, 3D at most 200 ms, 2D with the
"inside the optimizer" box on (record_state=True, the internals drawn) at most 150 ms.  Setting
``controls["lr"].value`` is exactly what the front end's slider message does in the kernel
(traitlets runs the observer synchronously); sending the PNG to the browser is not included.

    python -m benchmarks.bench_widgets              # 25 slider moves per row
    python -m benchmarks.bench_widgets --moves 51
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "agg")

import torch  # noqa: E402

from optilab.widgets import explore  # noqa: E402

CASES = [  # (function, optimizer, view, panels, target ms, internals)
    ("rosenbrock", "sgd", "contour", ("loss",), 100, False),
    ("rosenbrock", "adam", "contour", ("loss", "lr"), 100, False),
    ("rosenbrock", "adam", "contour", ("loss",), 150, True),
    ("himmelblau", "adam", "surface", ("loss",), 200, False),
    ("bumpy_1d", "sgd", "curve", ("loss",), 100, False),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=25)
    parser.add_argument("--steps", type=int, default=100)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"# explorer: one learning-rate slider move = run {args.steps} steps + redraw + PNG; "
          f"median of {args.moves} moves")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
          f"Python {platform.python_version()}\n")
    print("| function | optimizer | view | panels | internals | median | max | target | met? |")
    print("|---|---|---|---|:-:|--:|--:|--:|:-:|")
    for name, optimizer, view, panels, target, internals in CASES:
        ex = explore(name, optimizer=optimizer, lr=1e-3, steps=args.steps, view=view,
                     panels=panels, internals=internals)
        times = []
        for i in range(args.moves):
            t0 = time.perf_counter()
            ex.controls["lr"].value = 1e-3 * (1.0 if i % 2 else 1.1)   # a change every time
            times.append(time.perf_counter() - t0)
        median = statistics.median(times) * 1e3
        print(f"| {name} | {optimizer} | {view} | {', '.join(panels)} | "
              f"{'on' if internals else 'off'} | {median:.1f} ms | "
              f"{max(times) * 1e3:.1f} ms | {target} ms | {'yes' if median <= target else 'no'} |")


if __name__ == "__main__":
    main()
