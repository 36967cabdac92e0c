"""Smoke test of the benchmark suite (benchmarks/): it runs, times, and checks gradients.

This is not a timed test: ``--quick`` makes each measurement a few tens of milliseconds,
and only the shape of the output is asserted (a numeric optilab time, checks passed).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:          # benchmarks/ is a folder of the repo, not installed
    sys.path.insert(0, str(ROOT))
TIME = r"\d+(?:\.\d+)? (?:µs|ms|s)"


def test_quick_run_of_case_a_prints_a_table_with_checked_gradients(tmp_path):
    out_json = tmp_path / "results.json"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_autograd", "--quick", "--cases", "a",
         "--engines", "optilab,torch", "--markdown", "--json", str(out_json)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "CPU:" in out and "numpy" in out                 # the machine is described
    row = next(line for line in out.splitlines() if line.startswith("| (a)"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert re.fullmatch(TIME, cells[2]), row                # optilab: a number with a unit
    assert re.fullmatch(TIME, cells[3]) or cells[3] == "not installed", row   # torch
    assert cells[4] == cells[5] == "not run"                # engines not asked for
    assert "correctness: all" in out and "checks passed" in out
    results = json.loads(out_json.read_text())["results"]
    mine = next(r for r in results if r["engine"] == "optilab")
    assert mine["status"] == "ok" and mine["check"] == "passed"
    assert mine["rel_err"] <= 1e-6 and mine["median_s"] > 0


def test_a_missing_engine_is_reported_not_installed(monkeypatch):
    from benchmarks import bench_autograd, engines, worker

    monkeypatch.setitem(engines.ENGINES, "micrograd",
                        {**engines.ENGINES["micrograd"], "module": "no_such_engine_xyz"})
    result = worker.run("micrograd", "a", 1, min_time=0.01, repeats=1, warmup=1, budget=1)
    assert result["status"] == "not installed"
    assert bench_autograd.cell(result) == "not installed"


@pytest.mark.parametrize("seconds, text", [(2.5e-5, "25 µs"), (0.00304, "3.04 ms"),
                                           (1.5, "1.5 s")])
def test_times_carry_units(seconds, text):
    from benchmarks.bench_autograd import fmt_time

    assert fmt_time(seconds) == text


def test_run_overhead_benchmark_prints_its_table():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_run", "--rounds", "1", "--steps", "20"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("| sgd", "| adam"))]
    assert len(rows) == 2 and all(re.search(r"\| \d+\.\d{3} \|", row) for row in rows)


def test_widget_benchmark_prints_its_table():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_widgets", "--moves", "1", "--steps", "5"],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines()
            if line.startswith(("| rosenbrock", "| himmelblau", "| bumpy"))]
    assert len(rows) == 5 and all(re.search(r"\| \d+\.\d ms \|", row) for row in rows)
