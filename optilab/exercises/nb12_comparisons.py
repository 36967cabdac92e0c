r"""Exercises of notebook 12, "Fair comparisons": reading a learning-rate sweep.

* ``q1`` ``best_lr(lrs, finals)``: the rate with the lowest final value, a diverged run
  (inf or NaN) never chosen;
* ``q2`` ``good_decades(lrs, finals, tol)``: how wide the valley of good rates is, in
  factors of 10;
* ``q3`` ``evaluations_to(t, target)``: what a run paid, in evaluations of f, to first reach
  f <= target (L-BFGS makes several per step).

    >>> from optilab.exercises.nb12_comparisons import q1
    >>> import numpy as np
    >>> q1.check(lambda lrs, finals: lrs[np.nanargmin(finals)]).status
    'correct'
"""

from __future__ import annotations

import copy
import functools
import math
from typing import Any

import numpy as np

from ..functions import rosenbrock
from ..optim import run
from .base import Exercise, Mistake, call
from .diagnose import as_number

__all__ = ["q1", "q2", "q3"]

_LRS = np.geomspace(1e-4, 1.0, 9)
# final values of three made-up sweeps: a valley, a NaN where a run blew up, a tie
_CASES = [
    np.array([3.0, 1.0, 0.2, 0.01, 0.001, 0.05, np.inf, np.inf, np.inf]),
    np.array([np.nan, 2.0, 0.5, 0.3, 0.02, 0.4, 9.0, np.nan, np.inf]),
    np.array([5.0, 4.0, 0.1, 0.1, 0.3, 0.7, 1.0, 2.0, np.inf]),
]


def _clean(finals: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(finals), finals, np.inf)


# ----------------------------------------------------------------------------- q1

def _check_q1(best_lr: Any) -> str:
    for finals in _CASES:
        got = call(best_lr, _LRS, finals, name="best_lr")
        want = _LRS[int(np.argmin(_clean(finals)))]
        if isinstance(got, (int, np.integer)) and not isinstance(got, bool) \
                and 0 <= got < len(_LRS) and _LRS[got] == want:
            raise Mistake("index", f"you returned the position {got} of the best rate; return "
                          f"the rate itself, lrs[{got}] = {want:g}.")
        value = as_number(got, "best_lr(lrs, finals)")
        if value == want:
            continue
        shown = ", ".join(f"{v:g}" for v in finals)
        if np.isnan(finals).any() and value == _LRS[int(np.argmin(finals))]:
            raise Mistake("nan_argmin", f"with finals = [{shown}] you chose {value:g}, whose "
                          f"run ended in NaN: np.argmin returns the position of a NaN when "
                          f"there is one. Treat NaN as the worst value (np.nanargmin, or "
                          f"replace non-finite values by inf first).")
        if value == _LRS[int(np.argmax(np.where(np.isfinite(finals), finals, -np.inf)))]:
            raise Mistake("argmax", f"with finals = [{shown}] you chose {value:g}, the rate "
                          f"with the largest final value: the best has the lowest.")
        ties = _LRS[_clean(finals) == _clean(finals).min()]
        if len(ties) > 1 and value in ties:
            raise Mistake("tie", f"with finals = [{shown}] the rates {ties[0]:g} and "
                          f"{ties[1]:g} tie; you chose {value:g}. Take the smaller one (the "
                          f"first in the sorted grid), as np.argmin does.")
        raise Mistake("wrong", f"with finals = [{shown}] the best rate is {want:g}, you "
                      f"returned {value:g}.")
    return ("a diverged run (inf, or NaN) is never the best, and a tie goes to the smaller "
            "rate: the rule optilab.sweep uses.")


q1 = Exercise(
    "12.1", "The best learning rate of a sweep",
    r"""Write `best_lr(lrs, finals)`: `lrs` is a sorted numpy array of learning rates and
`finals[i]` the final value of f of the run at `lrs[i]` (`inf` or `nan` when it diverged).
Return the learning rate (not its position) with the lowest final value. A diverged run must
never be chosen; on a tie, return the smaller rate.""",
    answers="best_lr",
    check=_check_q1,
    hints=["The lowest value, not the highest: `np.argmin` gives its position i, and "
           "`lrs[i]` the rate.",
           "`np.argmin([1.0, np.nan, 0.5])` is 1: numpy's minimum of an array with a NaN is "
           "NaN, so argmin points at the NaN. Diverged runs can end in NaN.",
           "`np.nanargmin(finals)` skips NaN; or first replace every non-finite value: "
           "`np.where(np.isfinite(finals), finals, np.inf)`. argmin returns the first of tied "
           "minima: the smaller rate of a sorted grid."],
    solution="""
import numpy as np

def best_lr(lrs, finals):
    scores = np.where(np.isfinite(finals), finals, np.inf)   # a diverged run: the worst
    return lrs[np.argmin(scores)]                             # ties: the first, the smaller
""",
    stub="""
def best_lr(lrs, finals):
    raise NotImplementedError("Exercise 12.1: the lr with the lowest final f (never a NaN)")
""",
)


# ----------------------------------------------------------------------------- q2

def _good_decades(lrs: np.ndarray, finals: np.ndarray, tol: float) -> float:
    good = lrs[_clean(finals) <= tol]
    return float(np.log10(good.max() / good.min())) if good.size else 0.0


def _check_q2(good_decades: Any) -> str:
    tols = (0.3, 0.1, 0.5)
    for finals, tol in zip(_CASES, tols):
        value = as_number(call(good_decades, _LRS, finals, tol, name="good_decades"),
                          "good_decades(lrs, finals, tol)")
        want = _good_decades(_LRS, finals, tol)
        if math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-12):
            continue
        good = _LRS[_clean(finals) <= tol]
        shown = f"finals = [{', '.join(f'{v:g}' for v in finals)}], tol = {tol:g}"
        if good.size and math.isclose(value, math.log(good.max() / good.min()), rel_tol=1e-9):
            raise Mistake("natural_log", f"with {shown} you gave {value:.4g}: the natural "
                          f"logarithm. Decades are factors of 10: np.log10.")
        if value == good.size or value == good.size - 1:
            raise Mistake("counted_rates", f"with {shown} you gave {value:g}, a number of "
                          f"rates; the width is the ratio of the largest good rate to the "
                          f"smallest, in decades: log10({good.max():g} / {good.min():g}).")
        strict = _LRS[_clean(finals) < tol]
        if strict.size and math.isclose(value, math.log10(strict.max() / strict.min())):
            raise Mistake("strict", f"with {shown} a run ending exactly at tol counts as good "
                          f"(f <= tol).")
        raise Mistake("wrong", f"with {shown} the good rates run from {good.min():g} to "
                      f"{good.max():g}: {want:.4g} decades; you gave {value:.4g}.")
    return ("the width of the valley, in decades, is how far off a guessed rate can be: an "
            "optimizer with a wide valley forgives a badly chosen learning rate.")


q2 = Exercise(
    "12.2", "How wide is the valley?",
    r"""Write `good_decades(lrs, finals, tol)`: among the rates whose run ended with
$f \le$ `tol` (diverged runs never count), the span from the smallest to the largest, in
decades: $\log_{10}(\eta_{max} / \eta_{min})$. Return 0.0 when no rate (or a single one) is
good. (For simplicity, the good rates are taken as one interval.)""",
    answers="good_decades",
    check=_check_q2,
    hints=["Select the good rates with a boolean mask: `lrs[finals <= tol]` (a NaN compares "
           "False, so diverged runs drop out; so does inf).",
           "A decade is a factor of 10: from 1e-3 to 1e-1 is 2 decades, log10(1e-1 / 1e-3).",
           "`good = lrs[finals <= tol]`; return `np.log10(good.max() / good.min())` when "
           "`good.size`, else 0.0."],
    solution="""
import numpy as np

def good_decades(lrs, finals, tol):
    good = lrs[np.nan_to_num(finals, nan=np.inf) <= tol]
    return float(np.log10(good.max() / good.min())) if good.size else 0.0
""",
    stub="""
def good_decades(lrs, finals, tol):
    raise NotImplementedError("Exercise 12.2: log10(largest good lr / smallest good lr)")
""",
)


# ----------------------------------------------------------------------------- q3

def _evaluations_to(t: Any, target: float) -> float:
    reached = np.flatnonzero(t.values <= target)
    return float(t.evaluations_at[reached[0]]) if reached.size else math.inf


@functools.lru_cache(maxsize=1)
def _runs() -> list[tuple[Any, float]]:
    """Two real runs (made once) and targets: reached in a few steps of many evaluations,
    reached by Adam, never reached, reached at the start."""
    lbfgs = run(rosenbrock, [-1.2, 1.0], "lbfgs", lr=1.0, steps=30, progress=False)
    adam = run(rosenbrock, [-1.2, 1.0], "adam", lr=0.1, steps=300, progress=False)
    return [(lbfgs, 1e-6), (adam, 1.0), (adam, 1e-30), (lbfgs, 30.0)]


def _check_q3(evaluations_to: Any) -> str:
    for t, target in _runs():
        value = as_number(call(evaluations_to, copy.deepcopy(t), target, name="evaluations_to"),
                          "evaluations_to(t, target)")
        want = _evaluations_to(t, target)
        if value == want:
            continue
        reached = np.flatnonzero(t.values <= target)
        case = f"the {t.label} run with target {target:g}"
        if not reached.size:
            raise Mistake("never", f"{case} never gets there (its lowest f is "
                          f"{t.values.min():.3g}): return math.inf, not {value:g}.")
        k = int(reached[0])
        if value == k:
            raise Mistake("steps_not_evaluations", f"for {case} you returned {value:g}, the "
                          f"step where f first fell to the target; the question is the "
                          f"evaluations of f made by then: t.evaluations_at[{k}] = {want:g} "
                          f"(L-BFGS evaluates f several times per step).")
        if value == t.evaluations:
            raise Mistake("all_evaluations", f"for {case} you returned every evaluation of "
                          f"the run ({value:g}); count only those made until f first reached "
                          f"the target: {want:g}.")
        if k + 1 < len(t.evaluations_at) and value == t.evaluations_at[k + 1] or \
                k > 0 and value == t.evaluations_at[k - 1]:
            raise Mistake("off_by_one", f"for {case} you are one point off: f first reaches "
                          f"the target at point {k}, when t.evaluations_at[{k}] = {want:g}.")
        raise Mistake("wrong", f"for {case} the answer is {want:g}, you returned {value:g}.")
    return ("steps flatter L-BFGS: per evaluation of f (and per second) the race can change "
            "order.")


q3 = Exercise(
    "12.3", "Evaluations, not steps",
    r"""Write `evaluations_to(t, target)`: for a Trajectory `t`, the number of evaluations of
f the run had made when f first reached `target` (`t.values[k] <= target` for the first time
at point k; `t.evaluations_at[k]` counts the evaluations made by then). Return `math.inf`
when the run never reaches the target.""",
    answers="evaluations_to",
    check=_check_q3,
    hints=["Two parts: first find k, the first point where f has reached the target; then "
           "read how many evaluations had been made by that point (the answer is not k).",
           "`np.flatnonzero(t.values <= target)` lists, in order, the points where f is at or "
           "below the target; for L-BFGS a step calls f up to 25 times, and "
           "`t.evaluations_at[k]` is the count when point k was recorded.",
           "`hits = np.flatnonzero(t.values <= target)`; return "
           "`t.evaluations_at[hits[0]]` if `hits.size` else `math.inf`."],
    solution="""
import math

import numpy as np

def evaluations_to(t, target):
    hits = np.flatnonzero(t.values <= target)
    return t.evaluations_at[hits[0]] if hits.size else math.inf
""",
    stub="""
def evaluations_to(t, target):
    raise NotImplementedError("Exercise 12.3: t.evaluations_at at the first f <= target")
""",
)
