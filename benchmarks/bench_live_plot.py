"""Live plots: the cost of one added point inside a running kernel, front end included.

Each case runs in a real Jupyter kernel (nbclient, as the notebook tests do): a cell adds
``--points`` points to a live plot, one at a time.  Two timings per case:

* **kernel** -- the loop's wall time in the kernel divided by the points: drawing, PNG
  encoding, and publishing the ``display_data`` / ``update_display_data`` message;
* **front end** -- from the cell's ``execute_input`` message to the arrival of its last
  display message at the client, divided by the points: what a notebook front end waits
  for (message transport and decoding included).

The baseline ("rebuild") is what a plain implementation does per point: a new figure, the
function drawn again (from a precomputed grid), the path so far, ``savefig`` to PNG, and
``handle.update(Image(png))``.  It is timed over ``--baseline-points`` points (its cost per
point hardly depends on the path's length).  Finally a 100-frame GIF of a 2D race is
written and its size reported.

    python -m benchmarks.bench_live_plot                   # the Markdown table
    python -m benchmarks.bench_live_plot --points 50 --baseline-points 10   # quicker

Targets: 2D at most 15 ms per point, 2D with the optimizer's internals drawn (a student's
own torch loop: Adam's step, its state read, arrows and box blitted) at most 20 ms, 3D at
most 40 ms, each at least 5 times faster than
the rebuild, and the GIF under 1 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from nbrun import PatientClient  # noqa: E402

TARGETS = {"2D": 15.0, "2D internals": 20.0, "3D": 40.0}

SETUP = r"""
import json, time, io
import numpy as np
from matplotlib.figure import Figure
from matplotlib.backends.backend_agg import FigureCanvasAgg
from IPython.display import display, Image
from optilab import functions
from optilab.plot import LivePlot
from optilab.plot.static import draw_function, evaluate_grid
from optilab.live_plot import init_2dplot, add_point_2d, init_3dplot, add_point_3d
import mpl_toolkits.mplot3d

def descend(tf, x0, lr, n):
    # n points of gradient descent (finite differences: the plot is timed, not this)
    x, out, h = np.array(x0, float), [], 1e-6
    for _ in range(n):
        out.append(x.copy())
        g = np.array([(tf(*(x + h * e)) - tf(*(x - h * e))) / (2 * h)
                      for e in np.eye(len(x))])
        x = x - lr * g
    return np.array(out)

N = {points}
NB = {baseline_points}
bumpy1 = functions.get("bumpy_1d"); himmel = functions.get("himmelblau")
bumpy2 = functions.get("bumpy_2d")
path_1d = descend(bumpy1, [6.0], 0.5, max(N, NB))
path_2d = descend(himmel, [0.0, 0.0], 0.01, max(N, NB))
path_3d = descend(bumpy2, [4.0, 2.0], 0.05, max(N, NB))
grids = {{"curve": evaluate_grid(bumpy1, "curve", (-8, 8), n=200),
         "contour": evaluate_grid(himmel, "contour", n=200),
         "surface": evaluate_grid(bumpy2, "surface", n=50)}}
functions_of = {{"curve": bumpy1, "contour": himmel, "surface": bumpy2}}
paths_of = {{"curve": path_1d, "contour": path_2d, "surface": path_3d}}

def rebuild(view, k, handle):
    # the plain way: build and render the whole figure for every point
    fig = Figure(figsize=(6, 4.5), dpi=80)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(projection="3d" if view == "surface" else None)
    draw_function(ax, grids[view], view)
    pts = paths_of[view][:k + 1]
    tf = functions_of[view]
    vals = np.array([float(tf(*p)) for p in pts])
    if view == "curve":
        ax.plot(pts[:, 0], vals, "o-", color="r")
    elif view == "contour":
        ax.plot(pts[:, 0], pts[:, 1], "o-", color="r")
    else:
        ax.plot(pts[:, 0], pts[:, 1], vals, "o-", color="r")
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    if handle is None:
        return display(Image(data=buf.getvalue()), display_id=True)
    handle.update(Image(data=buf.getvalue()))
    return handle
"""

CASES: list[tuple[str, str, str, str]] = [
    # (name, dimension, setup (untimed), loop body over k, p)
    ("2D curve: add_point_2d", "2D",
     "init_2dplot(grids['curve'].x, bumpy1, 0)",
     "for p in path_1d[:N]: add_point_2d(p[0], bumpy1(p[0]))"),
    ("2D contour: LivePlot", "2D",
     "plot = LivePlot(himmel)",
     "for p in path_2d[:N]: plot.add_point(p)"),
    ("2D contour + loss panel: LivePlot", "2D",
     "plot = LivePlot(himmel, panels=('loss',))",
     "for p in path_2d[:N]: plot.add_point(p)"),
    ("2D contour + internals: LivePlot, own Adam loop", "2D internals",
     "import torch\n"
     "x = torch.tensor([0.0, 0.0], dtype=torch.float64, requires_grad=True)\n"
     "opt = torch.optim.Adam([x], lr=0.05)\n"
     "plot = LivePlot(himmel, internals=True)\nplot.add_point(x)",
     "for _ in range(N):\n"
     "    opt.zero_grad(); himmel(*x).backward(); opt.step()\n"
     "    plot.add_point(x, optimizer=opt)"),
    ("3D surface: add_point_3d", "3D",
     "init_3dplot(grids['surface'].x[0], grids['surface'].y[:, 0], bumpy2, 30, -60, 0)",
     "for p in path_3d[:N]: add_point_3d(p[0], p[1], bumpy2(p[0], p[1]))"),
    ("2D curve: rebuild per point", "baseline",
     "", "h = None\nfor k in range(NB): h = rebuild('curve', k, h)"),
    ("2D contour: rebuild per point", "baseline",
     "", "h = None\nfor k in range(NB): h = rebuild('contour', k, h)"),
    ("3D surface: rebuild per point", "baseline",
     "", "h = None\nfor k in range(NB): h = rebuild('surface', k, h)"),
]

GIF = r"""
from optilab.optim import race
from optilab.plot import animate
runs = race(functions.rosenbrock, [-1.2, 1.0], {"sgd": dict(lr=1e-3), "adam": dict(lr=0.05),
            "rmsprop": dict(lr=0.01)}, steps=200)
t0 = time.perf_counter()
gif = animate("rosenbrock", runs, frames=100).to_gif()
print(json.dumps({"gif_bytes": len(gif), "gif_seconds": time.perf_counter() - t0}))
"""


class TimingClient(PatientClient):
    """Notes when each cell's execute_input and display messages arrive."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrivals: dict[int, list[tuple[str, float, int]]] = {}

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        kind = msg["msg_type"]
        if kind in ("execute_input", "display_data", "update_display_data"):
            size = len((msg["content"].get("data") or {}).get("image/png", ""))
            self.arrivals.setdefault(cell_index, []).append((kind, time.perf_counter(), size))
        return super().process_message(msg, cell, cell_index)


def timed_cell(loop: str) -> str:
    return ("_t0 = time.perf_counter()\n" + loop +
            "\nprint(json.dumps({'kernel_seconds': time.perf_counter() - _t0}))")


def run_benchmark(points: int, baseline_points: int, timeout: int) -> dict[str, Any]:
    cells = [SETUP.format(points=points, baseline_points=baseline_points)]
    index: dict[str, int] = {}
    for name, _, setup, loop in CASES:
        cells.append(setup or "pass")
        index[name] = len(cells)
        cells.append(timed_cell(loop))
    cells.append(GIF)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.ipynb"
        nbformat.write(nb, path)
        client = TimingClient(nb, timeout=timeout, startup_timeout=120, kernel_name="python3",
                              resources={"metadata": {"path": tmp}})
        client.execute()
    results: dict[str, Any] = {"cases": {}}
    for name, dim, _, _ in CASES:
        i = index[name]
        out = json.loads(next(o.text for o in nb.cells[i].outputs if o.get("name") == "stdout"))
        n = baseline_points if dim == "baseline" else points
        arrivals = client.arrivals.get(i, [])
        start = next(t for kind, t, _ in arrivals if kind == "execute_input")
        shown = [(t, size) for kind, t, size in arrivals if kind != "execute_input"]
        results["cases"][name] = {
            "dim": dim, "points": n, "frames": len(shown),
            "kernel_ms": 1000 * out["kernel_seconds"] / n,
            "front_end_ms": 1000 * (shown[-1][0] - start) / n if shown else float("nan"),
            "png_kb": (sum(s for _, s in shown) / len(shown)) * 3 / 4 / 1024 if shown else 0,
        }
    gif = json.loads(next(o.text for o in nb.cells[-1].outputs if o.get("name") == "stdout"))
    results.update(gif)
    return results


def table(results: dict[str, Any]) -> str:
    cases = results["cases"]
    baseline = {"2D curve": "2D curve: rebuild per point",
                "2D contour": "2D contour: rebuild per point",
                "3D surface": "3D surface: rebuild per point"}
    lines = ["| case | points | frames | kernel ms/point | front end ms/point | PNG KiB/frame "
             "| target | x faster than rebuild |",
             "|---|---:|---:|---:|---:|---:|---|---:|"]
    for name, r in cases.items():
        target = TARGETS.get(r["dim"])
        ok = "" if target is None else \
            f"<= {target:g} ms: {'met' if r['front_end_ms'] <= target else 'MISSED'}"
        base = next((cases[b] for k, b in baseline.items() if name.startswith(k)), None)
        speedup = "" if base is None or r["dim"] == "baseline" else \
            f"{base['front_end_ms'] / r['front_end_ms']:.1f}"
        lines.append(f"| {name} | {r['points']} | {r['frames']} | {r['kernel_ms']:.1f} | "
                     f"{r['front_end_ms']:.1f} | {r['png_kb']:.0f} | {ok} | {speedup} |")
    size = results["gif_bytes"]
    lines.append("")
    lines.append(f"100-frame GIF of a 3-optimizer race on Rosenbrock (2D, 480x360): "
                 f"{size / 1024:.0f} KiB ({'under' if size < 1024 ** 2 else 'OVER'} 1 MB), "
                 f"written in {results['gif_seconds']:.1f} s.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=200)
    parser.add_argument("--baseline-points", type=int, default=30)
    parser.add_argument("--timeout", type=int, default=600, help="per cell, seconds")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    results = run_benchmark(args.points, args.baseline_points, args.timeout)
    print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
          f"{platform.machine()}; front end = nbclient in this process.\n")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
