"""Benchmark optilab.autograd against torch (CPU, eager), HIPS autograd and micrograd.

    python -m benchmarks.bench_autograd                 # everything (a few minutes)
    python -m benchmarks.bench_autograd --markdown      # a table for the README
    python -m benchmarks.bench_autograd --quick --cases a --engines optilab,torch

Rules: each (engine, case) runs in its own fresh process (``benchmarks.worker``) that
imports only that engine, with OMP/MKL/OpenBLAS pinned to one thread (and
``torch.set_num_threads(1)``), float64 everywhere; the number of calls per repeat is
chosen so a repeat lasts at least 0.2 s, and the table shows the median over 7 repeats
(3 for micrograd).  Each worker checks its gradient against a numpy reference
(1e-6 relative) before and after timing.  Exit status 1 if a check failed or a worker
crashed; unmet speed targets are reported, not failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import cases as cases_mod
from .engines import ENGINES
from .worker import MARKER

ROOT = Path(__file__).resolve().parent.parent
ENGINE_ORDER = ("optilab", "torch", "hips", "micrograd")
ALIASES = {"autograd": "hips", "hips-autograd": "hips", "pytorch": "torch"}
CASE_TITLES = {"a": "(a) f'(x), scalar", "b": "(b) MLP 2-16-16-1", "c": "(c) cities grad"}
DEFAULT_SIZES = (36, 200, 1000)
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
               "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


# ------------------------------------------------------------------------------ targets

def target(case: str, n: int) -> float | None:
    """The largest acceptable optilab/torch time ratio, or None where no target is set."""
    if case == "a":
        return 1 / 3
    if case == "b":
        return 1.0
    if case == "c" and n == 1000:
        return 1.0
    return None


# ------------------------------------------------------------------------------ machine

def machine() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()

    def version(dist: str) -> str:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    return [
        f"CPU: {cpu}, {os.cpu_count()} logical cores ({usable} usable); "
        f"benchmarks run on 1 thread",
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{platform.system()} {platform.release()}",
        f"numpy {version('numpy')}, torch {version('torch')}, "
        f"HIPS autograd {version('autograd')}, micrograd {version('micrograd')}",
    ]


# ------------------------------------------------------------------------------ running

def child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_VARS:
        env[var] = "1"
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    return env


def run_worker(engine: str, case: str, n: int, *, quick: bool, timeout: float,
               min_time: float | None, repeats: int | None) -> dict[str, Any]:
    cmd = [sys.executable, "-m", "benchmarks.worker", engine, case, str(n)]
    cmd += ["--min-time", str(min_time if min_time is not None else (0.02 if quick else 0.2))]
    cmd += ["--repeats", str(repeats if repeats is not None else (3 if quick else 7))]
    if quick:
        cmd += ["--warmup", "1", "--budget", "5"]
    base = {"engine": engine, "case": case, "n": n}
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env=child_env(), stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**base, "status": "error", "message": f"timed out after {timeout:g} s"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(MARKER):
            result = json.loads(line[len(MARKER):])
            if result.get("status") == "error" and proc.stderr.strip():
                result["stderr"] = proc.stderr.strip()[-2000:]
            return result
    return {**base, "status": "error",
            "message": f"worker exited with status {proc.returncode} and no result",
            "stderr": (proc.stderr or proc.stdout).strip()[-2000:]}


def merge(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Pool the repeats of two rounds of one measurement (the median is over all)."""
    if old is None or old["status"] not in ("ok", "wrong"):
        return new
    if new["status"] not in ("ok", "wrong"):
        return new                                       # an error in a later round shows
    times = old["times_s"] + new["times_s"]
    worse = new if new["rel_err"] > old["rel_err"] else old
    return {**old, "times_s": times, "median_s": statistics.median(times),
            "min_s": min(times), "max_s": max(times), "repeats": len(times),
            "number": min(old["number"], new["number"]),
            "round_medians_s": old.get("round_medians_s", [old["median_s"]]) + [new["median_s"]],
            "status": worse["status"], "rel_err": worse["rel_err"], "check": worse["check"],
            **({"message": worse["message"]} if "message" in worse else {})}


# ------------------------------------------------------------------------------ table

def fmt_time(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale or unit == "µs":
            value = seconds / scale
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:.0f} {unit}"
    raise AssertionError


def cell(result: dict[str, Any] | None) -> str:
    if result is None:
        return "not run"
    status = result["status"]
    if status == "ok":
        return fmt_time(result["median_s"])
    if status == "wrong":
        return f"{fmt_time(result['median_s'])} (WRONG GRADIENT)"
    if status == "n/a":
        return "n/a"
    if status == "not installed":
        return "not installed"
    return "error"


def rows(results: dict[tuple[str, int, str], dict[str, Any]], cases: list[tuple[str, int]],
         engines: list[str]) -> list[list[str]]:
    out = []
    for case, n in cases:
        mine = results.get((case, n, "optilab"))
        theirs = results.get((case, n, "torch"))
        ratio = None
        if mine and theirs and mine["status"] == "ok" and theirs["status"] == "ok":
            ratio = mine["median_s"] / theirs["median_s"]
        goal = target(case, n)
        if goal is None:
            goal_text, met = "—", "—"
        else:
            goal_text = f"≤ {goal:.2f}×" if goal < 1 else f"≤ {goal:g}×"
            met = "?" if ratio is None else ("yes" if ratio <= goal else "no")
        row = [CASE_TITLES[case], str(n)]
        for engine in ENGINE_ORDER:
            row.append(cell(results.get((case, n, engine))) if engine in engines else "not run")
        row += ["—" if ratio is None else f"{ratio:.2f}×", goal_text, met]
        out.append(row)
    return out


HEADER = ["case", "n", "optilab", "torch", "HIPS autograd", "micrograd", "optilab/torch",
          "target", "met?"]


def render(table: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(HEADER) + " |",
                 "|" + "|".join(["---", "--:"] + ["--:"] * 5 + [":-:", ":-:"]) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in table]
        return "\n".join(lines)
    widths = [max(len(r[i]) for r in [HEADER, *table]) for i in range(len(HEADER))]
    def line(r: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                         enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(HEADER), line(["-" * w for w in widths])] + [line(r) for r in table])


def notes(results: dict[tuple[str, int, str], dict[str, Any]]) -> list[str]:
    out = [
        "Times: median seconds per call (forward + backward from a fresh input), each engine in "
        "its own process, 1 thread, float64.",
        "(a) f(x) = ((x - 3)**(2/x) - 1)**(x - 1) at x = 10; (b) MSE of a 2-16-16-1 tanh MLP "
        "(linear output) on 100 points, gradient w.r.t. all 337 parameters; (c) gradient of "
        "sum_ij (|xi - xj|^2 - Dij^2)^2 / 2 for X of shape (n, 2).",
        "optilab: Tensor + backward() for (a) and (b), ag.grad for (c); torch: backward() for "
        "(a) and (b), torch.autograd.grad for (c); HIPS: autograd.grad.",
        "micrograd 0.1.0 has no tanh and no Value ** Value: the benchmark adds each as one "
        "micrograd-style node.",
    ]
    reasons = [f"{r['engine']} {CASE_TITLES[r['case']][:3]} n={r['n']}: {r['message']}"
               for r in results.values() if r["status"] == "n/a"]
    if reasons:
        out.append("n/a: " + "; ".join(reasons))
    return out


def details(results: dict[tuple[str, int, str], dict[str, Any]]) -> list[str]:
    out = []
    for (case, n, engine), r in results.items():
        head = f"{case} n={n:<5} {engine:<10}"
        if r["status"] not in ("ok", "wrong"):
            out.append(f"{head} {r['status']}: {r.get('message', '')}")
            continue
        text = (f"{head} median {fmt_time(r['median_s']):>9}  "
                f"[{fmt_time(r['min_s'])} .. {fmt_time(r['max_s'])}]  "
                f"{r['repeats']} repeats x {r['number']}+ calls  ")
        if "round_medians_s" in r:
            text += f"round medians {', '.join(fmt_time(t) for t in r['round_medians_s'])}  "
        out.append(text + f"gradient rel. error {r['rel_err']:.1e} (check {r['check']})")
    return out


# ------------------------------------------------------------------------------ main

def parse_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Benchmark optilab.autograd against torch, HIPS autograd and micrograd.")
    parser.add_argument("--quick", action="store_true",
                        help="short repeats (0.02 s x 3): a smoke run, not a measurement")
    parser.add_argument("--cases", default="a,b,c", help="comma-separated: a,b,c")
    parser.add_argument("--engines", default=",".join(ENGINE_ORDER),
                        help="comma-separated: optilab,torch,hips,micrograd")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)),
                        help="n for case (c), comma-separated (default 36,200,1000)")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table")
    parser.add_argument("--json", metavar="PATH", help="also write all results as JSON")
    parser.add_argument("--min-time", type=float, help="seconds per repeat (default 0.2)")
    parser.add_argument("--repeats", type=int, help="repeats per measurement (default 7)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="run every measurement this many times, interleaved, and take "
                             "the median over all repeats (evens out load bursts on a "
                             "shared machine; default 1)")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds allowed per worker (default 120 quick, 900 full)")
    args = parser.parse_args(argv)

    wanted_cases = parse_list(args.cases)
    engines = [ALIASES.get(e.lower(), e.lower()) for e in parse_list(args.engines)]
    bad = [c for c in wanted_cases if c not in CASE_TITLES] + \
          [e for e in engines if e not in ENGINES]
    if bad:
        parser.error(f"unknown case or engine {bad}: cases are a,b,c; engines are "
                     f"{','.join(ENGINE_ORDER)}")
    sizes = [int(s) for s in parse_list(args.sizes)]
    cases = [(c, n) for c in "abc" if c in wanted_cases
             for n in ({"a": [1], "b": [cases_mod.MLP_POINTS], "c": sizes}[c])]
    timeout = args.timeout or (120.0 if args.quick else 900.0)

    header = machine()
    print("\n".join(("- " if args.markdown else "") + h for h in header), flush=True)
    print(flush=True)
    results: dict[tuple[str, int, str], dict[str, Any]] = {}
    start = time.perf_counter()
    for round_ in range(args.rounds):
        for case, n in cases:
            for engine in [e for e in ENGINE_ORDER if e in engines]:
                key = (case, n, engine)
                if key in results and results[key]["status"] not in ("ok", "wrong"):
                    continue                      # n/a, not installed, error: ask once
                tag = f" (round {round_ + 1}/{args.rounds})" if args.rounds > 1 else ""
                print(f"  {CASE_TITLES[case]} n={n} {engine}{tag} ...", end=" ",
                      file=sys.stderr, flush=True)
                r = run_worker(engine, case, n, quick=args.quick, timeout=timeout,
                               min_time=args.min_time, repeats=args.repeats)
                print(cell(r), file=sys.stderr, flush=True)
                results[key] = merge(results.get(key), r)
    elapsed = time.perf_counter() - start

    print(render(rows(results, cases, engines), args.markdown))
    print()
    for line in notes(results):
        print(("- " if args.markdown else "") + line)
    print()
    if args.markdown:
        print("<details><summary>Per-measurement details</summary>\n\n```")
    print("\n".join(details(results)))
    if args.markdown:
        print("```\n</details>")
    failed = [r for r in results.values() if r["status"] in ("wrong", "error")]
    checks = [r for r in results.values() if r["status"] in ("ok", "wrong")]
    print()
    if failed:
        for r in failed:
            print(f"ERROR: {r['engine']} case {r['case']} n={r['n']}: "
                  f"{r['status']}: {r.get('message', '')}", file=sys.stderr)
            if r.get("stderr"):
                print(r["stderr"], file=sys.stderr)
        print(f"correctness: {len(failed)} of {len(results)} measurements FAILED")
    else:
        print(f"correctness: all {len(checks)} gradient checks passed "
              f"(relative error <= 1e-6 vs numpy reference)")
    print(f"total {elapsed:.0f} s" + (" (--quick: not a measurement)" if args.quick else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(
            {"machine": header, "quick": args.quick,
             "results": [r for r in results.values()]}, indent=1))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
