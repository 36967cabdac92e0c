r"""Exercises of notebook 11, "Line search and quasi-Newton" (with our engine).

* ``q1`` Armijo's sufficient-decrease test,
  :math:`f(x + t d) \le f(x) + c\, t\, \nabla f(x)^\top d`;
* ``q2`` backtracking: shrink t by rho until Armijo's test passes (and refuse a direction
  that does not descend);
* ``q3`` the strong Wolfe conditions: Armijo's test and
  :math:`|\nabla f(x + t d)^\top d| \le c_2\, |\nabla f(x)^\top d|`;
* ``q4`` classical MDS: :math:`B = -\frac12 J D^{(2)} J`, top two eigenvectors scaled by the
  square roots of their eigenvalues.

Each check runs the student's function on cases where the classic mistakes give different
answers (Armijo's test with the wrong sign, without the dot product, without t; a search that
never shrinks or shrinks without bound; the curvature condition reversed or weak; MDS without
double centring or without the square roots), and names the mistake it recognises.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .. import autograd as ag
from ..cities import classical_mds as _classical_mds
from ..cities import load_cities, normalise
from ..functions import himmelblau, rosenbrock
from .base import Exercise, Mistake, call
from .diagnose import to_array

__all__ = ["q1", "q2", "q3", "q4", "rosen", "himmel"]


def rosen(p: Any) -> Any:
    """Rosenbrock's function of one point p = (x, y): (1 - x)^2 + 100 (y - x^2)^2."""
    return rosenbrock(p[0], p[1])


def himmel(p: Any) -> Any:
    """Himmelblau's function of one point p = (x, y): (x^2 + y - 11)^2 + (x + y^2 - 7)^2."""
    return himmelblau(p[0], p[1])


# ----------------------------------------------------------------------------- shared

_X0 = np.array([-1.2, 1.0])          # Rosenbrock's classic start
_H0 = np.array([0.0, -1.0])          # on Himmelblau: phi(t) = f(12 t, -1), concave at first
_DH = np.array([12.0, 0.0])          # -grad himmel(0, -1): steepest descent


def _slope(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray) -> tuple[float, float]:
    """f(x) and the directional derivative phi'(0) = grad f(x) . d."""
    value, g = ag.value_and_grad(f)(x)
    return float(value), float(np.dot(g, d))


def _newton_direction(f: Callable[[Any], Any], x: np.ndarray) -> np.ndarray:
    return -np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))


def _case_text(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray, t: float,
               **constants: float) -> str:
    extra = "".join(f", {k}={v:g}" for k, v in constants.items())
    point = lambda v: "(" + ", ".join(f"{a:.4g}" for a in v) + ")"   # noqa: E731
    return f"{f.__name__} at x = {point(x)}, d = {point(d)}, t = {t:g}{extra}"


def _verdict(out: Any, name: str) -> bool:
    """The student's True/False, or a Mistake saying why it is not one."""
    arr = to_array(out, f"what `{name}` returned")
    if arr.size != 1:
        raise Mistake("not_one_verdict", f"`{name}` returned {arr.size} values (shape "
                      f"{arr.shape}) instead of one True/False: the test compares two numbers. "
                      f"The slope is one number, the dot product grad f(x) . d "
                      f"(`np.dot(g, d)`), not the vector g or c * t * g.")
    if np.asarray(out).dtype != bool and not isinstance(out, (bool, np.bool_)):
        raise Mistake("not_a_bool", f"`{name}` returned {arr.item():g}, a number: return the "
                      f"comparison itself (True or False), e.g. `return a <= b`.")
    return bool(arr.item())


def _match_verdicts(got: list[bool], want: list[bool], variants: dict[str, tuple[list[bool], str]],
                    cases: Sequence[str], name: str, rule: str) -> None:
    """Raise the named Mistake whose verdicts equal the student's, else a generic one."""
    if got == want:
        return
    for key, (verdicts, message) in variants.items():
        if got == verdicts:
            raise Mistake(key, message)
    i = next(k for k, (a, b) in enumerate(zip(got, want)) if a != b)
    raise Mistake("wrong", f"`{name}` answers {got[i]} for {cases[i]}, where {rule} is "
                  f"{want[i]}.")


# ----------------------------------------------------------------------------- q1

def _armijo(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray, t: float,
            c: float = 1e-4, form: str = "right") -> bool:
    """Armijo's test, and the classic wrong forms of it (for the check's named mistakes)."""
    fx, g = ag.value_and_grad(f)(x)
    slope = float(np.dot(g, d))
    ft = float(f(x + t * d))
    return {
        "right": ft <= fx + c * t * slope,
        "wrong_sign": ft <= fx - c * t * slope,
        "gradient_squared": ft <= fx - c * t * float(np.dot(g, g)),
        "plain_decrease": ft < fx,
        "forgot_t": ft <= fx + c * slope,
        "reversed": ft >= fx + c * t * slope,
        "point_without_t": float(f(x + d)) <= fx + c * t * slope,
    }[form]


def _q1_cases() -> list[tuple[Any, np.ndarray, np.ndarray, float, float]]:
    g0 = ag.grad(rosen)(_X0)
    unit = -g0 / np.linalg.norm(g0)                  # a descent direction that is not -g
    newton = _newton_direction(rosen, np.array([-1.1752809, 1.38067416]))
    return [
        (rosen, _X0, -g0, 1e-3, 1e-4), (rosen, _X0, -g0, 1.0, 1e-4),
        (rosen, _X0, unit, 0.05, 0.5), (rosen, _X0, unit, 0.2, 0.5),
        (rosen, np.array([-1.1752809, 1.38067416]), newton, 0.125, 1e-4),
        (rosen, np.array([-1.1752809, 1.38067416]), newton, 0.15, 0.5),
        (himmel, _H0, _DH, 0.25, 1e-4), (himmel, _H0, _DH, 0.42, 0.5),
        (himmel, _H0, _DH, 0.419, 1e-4), (himmel, _H0, _DH, 0.5, 1e-4),
        (rosen, _X0, -g0, 1e-4, 0.5),                 # tells a forgotten t from -c t |g|^2
        (himmel, _H0, np.array([3.5, 0.0]), 1.5, 1e-4),   # f(x + d) low, f(x + t d) high
    ]


_Q1_MISTAKES = {
    "wrong_sign": "your test is f(x + t d) <= f(x) - c t grad f(x).d: the sign of the last "
                  "term is flipped. For a descent direction grad f(x).d < 0, so the right side "
                  "f(x) + c t grad f(x).d lies BELOW f(x): Armijo asks for a real decrease, "
                  "yours accepts points where f went up.",
    "gradient_squared": "your test uses -c t |grad f(x)|^2, which is c t grad f(x).d only for "
                        "d = -grad f(x). The test must hold for any direction d (a Newton or "
                        "quasi-Newton one): use the dot product grad f(x).d.",
    "plain_decrease": "your test is f(x + t d) < f(x): any decrease, however small. Armijo "
                      "asks for at least the fraction c of the decrease the slope promises: "
                      "f(x + t d) <= f(x) + c t grad f(x).d (c is an argument: use it).",
    "forgot_t": "your right side is f(x) + c grad f(x).d, without t: the promised decrease "
                "grows with the step, c t grad f(x).d.",
    "reversed": "your inequality is reversed (>=): Armijo accepts t when f(x + t d) is at most "
                "f(x) + c t grad f(x).d, i.e. low enough.",
    "point_without_t": "you evaluated f at x + d instead of x + t d: the trial point moves by "
                       "the step t along d.",
}


def _check_q1(armijo: Any) -> str:
    cases = _q1_cases()
    texts = [_case_text(f, x, d, t, c=c) for f, x, d, t, c in cases]
    got = [_verdict(call(armijo, f, x, d, t, c, name="armijo"), "armijo")
           for f, x, d, t, c in cases]
    want = [_armijo(f, x, d, t, c) for f, x, d, t, c in cases]
    variants = {key: ([_armijo(f, x, d, t, c, key) for f, x, d, t, c in cases], message)
                for key, message in _Q1_MISTAKES.items()}
    _match_verdicts(got, want, variants, texts, "armijo",
                    "f(x + t d) <= f(x) + c t grad f(x).d")
    return (f"right on all {len(cases)} cases (Rosenbrock and Himmelblau, steepest-descent and "
            f"Newton directions, c = 1e-4 and 0.5).")


q1 = Exercise(
    "11.1", "Armijo's sufficient decrease",
    r"""Write `armijo(f, x, d, t, c=1e-4)` returning True when the step $t$ along the
direction $d$ decreases $f$ enough:
$$f(x + t d) \le f(x) + c\, t\, \nabla f(x)^\top d.$$
`x` and `d` are numpy arrays; get $f(x)$ and $\nabla f(x)$ from `ag.value_and_grad(f)(x)`.""",
    answers="armijo",
    check=_check_q1,
    hints=["Two numbers to compare: f at the trial point, and a straight line through f(x) "
           "whose slope is a fraction c of f's slope along d.",
           "f's slope along d at t = 0 is phi'(0) = grad f(x) . d, one number (a dot product; "
           "negative for a descent direction). The line is f(x) + c t phi'(0).",
           "fx, g = ag.value_and_grad(f)(x); then compare f(x + t * d) with "
           "fx + c * t * np.dot(g, d) using <=."],
    solution="""
import numpy as np
import optilab.autograd as ag


def armijo(f, x, d, t, c=1e-4):
    fx, g = ag.value_and_grad(f)(x)
    return f(x + t * d) <= fx + c * t * np.dot(g, d)
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def armijo(f, x, d, t, c=1e-4):
    raise NotImplementedError("Exercise 11.1: return f(x + t d) <= f(x) + c t grad f(x).d")
""",
)


# ----------------------------------------------------------------------------- q2

_MAX_CALLS = 3000       # f evaluations one search may make in the check (the reference: <= 12)


class _Runaway(BaseException):
    """Raised inside the student's search when it evaluates f too often (not an Exception:
    a bare ``except Exception`` in the student's loop cannot swallow it)."""


def _counted(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray,
             steps: list[float]) -> Callable[[Any], Any]:
    """f that records the step t of every point x + t d (other than x) it is called at, and
    stops the search after _MAX_CALLS calls."""
    calls = 0

    def counted(p: Any) -> Any:
        nonlocal calls
        calls += 1
        point = to_array(p)
        if point.shape == x.shape and not np.array_equal(point, x):
            steps.append(float(np.dot(point - x, d) / np.dot(d, d)))
        if calls > _MAX_CALLS:
            raise _Runaway
        return f(p)

    counted.__name__ = f.__name__
    return counted


def _backtracking(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray, t: float = 1.0,
                  rho: float = 0.5, c: float = 1e-4, form: str = "right",
                  shrink: Callable[[float, float], float] = lambda t, rho: rho * t) -> list[float]:
    """The reference search (and its variants): the trial steps, the last one accepted."""
    trials = [t]
    while not _armijo(f, x, d, t, c, form) and len(trials) < 200:
        t = shrink(t, rho)
        trials.append(t)
    return trials


def _q2_cases() -> list[tuple[Any, np.ndarray, np.ndarray, float, float, float]]:
    g0 = ag.grad(rosen)(_X0)
    x1 = np.array([-1.1752809, 1.38067416])
    return [(rosen, _X0, -g0, 1.0, 0.5, 1e-4),          # 11 trials, down to t = 2^-10
            (himmel, _H0, _DH, 1.0, 0.3, 0.5),          # 1, 0.3 (rho = 0.3 shows how t shrinks)
            (himmel, _H0, _DH, 0.25, 0.5, 1e-4),        # accepted at once
            (rosen, x1, _newton_direction(rosen, x1), 1.0, 0.5, 1e-4),
            (rosen, _X0, -g0 / np.linalg.norm(g0), 1.0, 0.5, 0.5),    # d is not -g
            (himmel, _H0, _DH, 0.84, 0.5, 0.5),         # 0.42: f barely below f(x)
            (himmel, _H0, _DH, 0.415, 0.5, 0.5),        # f lower, not enough lower
            (himmel, _H0, _DH, 0.4, 0.5, 0.5)]          # passes with t, not without


def _as_trials(out: Any, reference: list[float]) -> list[float]:
    arr = to_array(out, "what `backtracking` returned")
    if arr.ndim == 0:
        if np.isclose(arr.item(), reference[-1], rtol=1e-9):
            raise Mistake("returned_t", f"you returned the accepted step t = {arr.item():g}; "
                          f"return the list of every trial step, the accepted one last "
                          f"({len(reference)} trials here), so that we can draw the search.")
        raise Mistake("returned_t", f"you returned one number ({arr.item():g}); return the "
                      f"list of the trial steps, the accepted one last.")
    if arr.ndim != 1:
        raise Mistake("shape", f"return a flat list of trial steps (numbers), got an array of "
                      f"shape {arr.shape}.")
    return [float(v) for v in arr]


def _same(a: list[float], b: list[float]) -> bool:
    return len(a) == len(b) and bool(np.allclose(a, b, rtol=1e-9, atol=0))


def _check_ascent(backtracking: Any) -> None:
    """An ascent direction must be refused (ValueError), not searched forever."""
    g0 = ag.grad(rosen)(_X0)
    steps: list[float] = []
    f = _counted(rosen, _X0, g0, steps)
    slope = float(np.dot(g0, g0))
    try:
        out = call(backtracking, f, _X0, g0, 1.0, 0.5, 1e-4, name="backtracking")
    except ValueError:
        return
    except _Runaway:
        raise Mistake("unbounded", f"with an ascent direction (grad f(x).d = {slope:.4g} > 0) "
                      f"your search evaluated f more than {_MAX_CALLS} times without stopping "
                      f"(t went down to {min(steps, default=np.nan):.3g}). No step passes "
                      f"Armijo's test when f rises along d: check the slope first and "
                      f"`raise ValueError(...)` when grad f(x).d >= 0.") from None
    except Mistake:
        raise
    except Exception as e:
        raise Mistake("wrong_exception", f"with an ascent direction your function raised "
                      f"{type(e).__name__} ({e}); raise ValueError (a bad argument), saying "
                      f"that grad f(x).d = {slope:.4g} >= 0.") from None
    trials = to_array(out).ravel()
    last = f"{trials[-1]:.3g}" if trials.size else "nothing"
    raise Mistake("unbounded", f"with an ascent direction (grad f(x).d = {slope:.4g} > 0) your "
                  f"search returned {trials.size} trial(s), ending at t = {last}, after "
                  f"{len(steps)} trial points: it shrinks t without bound until x + t d "
                  f"rounds to x (or t to 0) and the test passes by accident. No step passes "
                  f"Armijo's test when f rises along d: check the slope first and "
                  f"`raise ValueError(...)` when grad f(x).d >= 0.")


def _student_trials(backtracking: Any, case: tuple[Any, ...]) -> list[float]:
    """The student's trial steps on one case (a runaway search is named)."""
    f, x, d, t, rho, c = case
    steps: list[float] = []
    try:
        out = call(backtracking, _counted(f, x, d, steps), x, d, t, rho, c, name="backtracking")
    except _Runaway:
        grew = len(steps) > 2 and steps[-1] > steps[0]
        if not grew and len(_backtracking(*case, form="forgot_t")) == 200:
            raise Mistake("forgot_t", f"on {_case_text(f, x, d, t, rho=rho, c=c)} your search "
                          f"shrank t to {min(steps, default=0.0):.3g} and never passed its "
                          f"test, which the right test cannot do: for tiny t, f(x + t d) is "
                          f"about f(x) + t grad f(x).d, below f(x) + c t grad f(x).d. "
                          f"{_Q1_MISTAKES['forgot_t'][0].upper()}"
                          f"{_Q1_MISTAKES['forgot_t'][1:]}") from None
        raise Mistake("t_grows" if grew else "never_stops",
                      f"on {_case_text(f, x, d, t, rho=rho, c=c)} your search evaluated f more "
                      f"than {_MAX_CALLS} times; the right one needs "
                      f"{len(_backtracking(*case))}. " + (
                          f"t grew (up to {max(steps):.3g}): shrink it, t = rho * t with "
                          f"rho < 1." if grew else
                          "Does your loop evaluate f at x + t d with the new t each time?")
                      ) from None
    return _as_trials(out, _backtracking(*case))


_Q2_SHRINKS = {
    "wrong_shrink": (lambda t, rho: (1 - rho) * t,
                     "you shrank t by 1 - rho; the new step is rho * t"),
    "subtracted_rho": (lambda t, rho: t - rho,
                       "you subtracted rho; the new step is rho * t (a fraction of the old one)"),
}


def _check_q2(backtracking: Any) -> str:
    cases = _q2_cases()
    got = [_student_trials(backtracking, case) for case in cases]
    want = [_backtracking(*case) for case in cases]
    if not all(_same(a, b) for a, b in zip(got, want)):
        i = next(k for k, (a, b) in enumerate(zip(got, want)) if not _same(a, b))
        f, x, d, t, rho, c = cases[i]
        where = (f"On {_case_text(f, x, d, t, rho=rho, c=c)}, your trial steps are "
                 f"{_short_list(got[i])}; the search should try {_short_list(want[i])}.")
        structural = {
            "never_shrinks": ([[case[3]] for case in cases],
                              "Your search stops at the first t even when it fails Armijo's "
                              "test: shrink t (t = rho * t) and test again, until it passes."),
            "first_trial_missing": ([w[1:] for w in want],
                                    "The first trial is t itself: test it before shrinking."),
            "accepted_missing": ([w[:-1] for w in want],
                                 "The list ends with the step that passed the test: keep "
                                 "every t you tried, the accepted one too."),
        }
        forms = {key: ([_backtracking(*case, form=key) for case in cases],
                       f"Your Armijo test is off: {message}")
                 for key, message in _Q1_MISTAKES.items() if key != "point_without_t"}
        shrinks = {key: ([_backtracking(*case, shrink=shrink) for case in cases],
                         message[0].upper() + message[1:] + ".")
                   for key, (shrink, message) in _Q2_SHRINKS.items()}
        for key, (lists, message) in {**structural, **forms, **shrinks}.items():
            if all(_same(a, b) for a, b in zip(got, lists)):
                raise Mistake(key, f"{where} {message}")
        raise Mistake("wrong", where)
    _check_ascent(backtracking)
    return (f"the right trial steps on {len(cases)} searches (11 trials from Rosenbrock's start "
            f"along -grad f), and an ascent direction is refused.")


def _short_list(values: Sequence[float], most: int = 6) -> str:
    shown = ", ".join(f"{v:.4g}" for v in values[:most])
    return f"[{shown}{', ...' if len(values) > most else ''}] ({len(values)} trials)"


q2 = Exercise(
    "11.2", "Backtracking",
    r"""Write `backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4)`: try the step `t`; while it
fails Armijo's test, shrink it, $t \leftarrow \rho\, t$, and try again. Return the list of
every step tried, the accepted one last. If $d$ is not a descent direction
($\nabla f(x)^\top d \ge 0$) no step can pass: `raise ValueError` with a message instead of
searching.""",
    answers="backtracking",
    check=_check_q2,
    hints=["A while loop: its condition is 'the test fails'. Keep a list of the steps tried; "
           "check the direction once, before the loop.",
           "f(x) and the slope grad f(x).d do not change during the search: compute them once "
           "(ag.value_and_grad), then compare f(x + t d) with f(x) + c t slope in the loop, "
           "multiplying t by rho after each failure.",
           "trials = [t]; while f(x + t * d) > fx + c * t * slope: t = rho * t; "
           "trials.append(t). Before it: if slope >= 0: raise ValueError(...)."],
    solution="""
import numpy as np
import optilab.autograd as ag


def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
    fx, g = ag.value_and_grad(f)(x)
    slope = np.dot(g, d)                        # phi'(0) = grad f(x) . d
    if slope >= 0:
        raise ValueError(f"d is not a descent direction: grad f(x).d = {slope:.3g} >= 0")
    trials = [t]
    while f(x + t * d) > fx + c * t * slope:    # Armijo's test fails: shrink
        t = rho * t
        trials.append(t)
    return trials
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
    raise NotImplementedError("Exercise 11.2: return the list of trial steps, the last accepted")
""",
)


# ----------------------------------------------------------------------------- q3

def _wolfe(f: Callable[[Any], Any], x: np.ndarray, d: np.ndarray, t: float, c1: float = 1e-4,
           c2: float = 0.9, form: str = "right") -> bool:
    """The strong Wolfe test, and its classic wrong forms."""
    fx, g = ag.value_and_grad(f)(x)
    ft, gt = ag.value_and_grad(f)(x + t * d)
    slope, slope_t = float(np.dot(g, d)), float(np.dot(gt, d))
    armijo = float(ft) <= float(fx) + c1 * t * slope
    return {
        "right": armijo and abs(slope_t) <= c2 * abs(slope),
        "curvature_reversed": armijo and abs(slope_t) >= c2 * abs(slope),
        "weak_wolfe": armijo and slope_t >= c2 * slope,
        "weak_reversed": armijo and slope_t <= c2 * slope,
        "no_armijo": abs(slope_t) <= c2 * abs(slope),
        "armijo_only": armijo,
        "constants_swapped": (float(ft) <= float(fx) + c2 * t * slope
                              and abs(slope_t) <= c1 * abs(slope)),
        "never_true": False,
    }[form]


_Q3_MISTAKES = {
    "curvature_reversed": "your curvature test is reversed: it accepts t where the slope at "
                          "x + t d is still steep. Strong Wolfe asks the slope to have "
                          "flattened: |grad f(x + t d).d| <= c2 |grad f(x).d|.",
    "weak_wolfe": "that is the weak Wolfe condition, grad f(x + t d).d >= c2 grad f(x).d: it "
                  "also accepts steps far past the minimum along d, where the slope is large "
                  "and positive. The strong one bounds its size: |grad f(x + t d).d| <= "
                  "c2 |grad f(x).d|.",
    "weak_reversed": "your curvature test, grad f(x + t d).d <= c2 grad f(x).d, accepts steps "
                     "where f still falls steeply (it is reversed). Ask the slope to have "
                     "flattened: |grad f(x + t d).d| <= c2 |grad f(x).d|.",
    "no_armijo": "you test the curvature only: the strong Wolfe conditions are Armijo's "
                 "sufficient decrease (with c1) AND the curvature condition (with c2).",
    "armijo_only": "that is Armijo's test alone: add the curvature condition "
                   "|grad f(x + t d).d| <= c2 |grad f(x).d|, evaluated at x + t d.",
    "constants_swapped": "c1 and c2 are swapped: c1 (small, 1e-4) goes in the sufficient "
                         "decrease, c2 (0.9) in the curvature condition.",
    "never_true": "your test answers False everywhere, even where both conditions hold. "
                  "Two usual causes: the right side c2 grad f(x).d without the absolute value "
                  "(it is negative, so |...| <= it never holds), or the slope at x instead of "
                  "at x + t d on the left (then the test is |s| <= 0.9 |s|).",
}


def _q3_cases() -> list[tuple[Any, np.ndarray, np.ndarray, float, float, float]]:
    x1 = np.array([-1.1752809, 1.38067416])
    newton = _newton_direction(rosen, x1)
    x2 = np.array([3.5, 2.0])                      # past a bump: flat again, but f is higher
    down = -ag.grad(himmel)(x2) / np.linalg.norm(ag.grad(himmel)(x2))
    return [(himmel, _H0, _DH, t, 1e-4, 0.9) for t in (0.1, 0.25, 0.29, 0.35, 0.45)] + \
        [(rosen, x1, newton, t, 1e-4, 0.9) for t in (0.02, 0.1, 0.16, 0.5)] + \
        [(himmel, _H0, _DH, 0.29, 0.5, 0.6), (himmel, _H0, _DH, 0.3, 1e-4, 0.1),
         (himmel, x2, down, 1.1, 1e-4, 0.9)]


def _check_q3(strong_wolfe: Any) -> str:
    cases = _q3_cases()
    texts = [_case_text(f, x, d, t, c1=c1, c2=c2) for f, x, d, t, c1, c2 in cases]
    got = [_verdict(call(strong_wolfe, f, x, d, t, c1, c2, name="strong_wolfe"),
                    "strong_wolfe") for f, x, d, t, c1, c2 in cases]
    want = [_wolfe(f, x, d, t, c1, c2) for f, x, d, t, c1, c2 in cases]
    variants = {key: ([_wolfe(f, x, d, t, c1, c2, key) for f, x, d, t, c1, c2 in cases],
                      message) for key, message in _Q3_MISTAKES.items()}
    _match_verdicts(got, want, variants, texts, "strong_wolfe",
                    "f(x + t d) <= f(x) + c1 t grad f(x).d and |grad f(x + t d).d| <= "
                    "c2 |grad f(x).d|")
    return (f"right on all {len(cases)} cases. On Himmelblau's line from (0, -1), Armijo "
            f"accepts every t up to 0.42, strong Wolfe only t in [0.284, 0.301], around the "
            f"minimum along the line.")


q3 = Exercise(
    "11.3", "The strong Wolfe conditions",
    r"""Write `strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9)` returning True when the step $t$
satisfies both
$$f(x + t d) \le f(x) + c_1 t\, \nabla f(x)^\top d \quad\text{and}\quad
|\nabla f(x + t d)^\top d| \le c_2\, |\nabla f(x)^\top d|.$$""",
    answers="strong_wolfe",
    check=_check_q3,
    hints=["You need f and its gradient at two points, x and x + t d; the slope along d is a "
           "dot product with d at both.",
           "The first condition is Armijo's (11.1, with c1). The second says the slope along "
           "d at x + t d is small in size compared with the slope at x: compare absolute "
           "values, with the factor c2.",
           "fx, g = ag.value_and_grad(f)(x); ft, gt = ag.value_and_grad(f)(x + t * d); "
           "return ft <= fx + c1 * t * (g . d) and abs(gt . d) <= c2 * abs(g . d)."],
    solution="""
import numpy as np
import optilab.autograd as ag


def strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9):
    fx, g = ag.value_and_grad(f)(x)
    ft, gt = ag.value_and_grad(f)(x + t * d)
    slope, slope_t = np.dot(g, d), np.dot(gt, d)
    return bool(ft <= fx + c1 * t * slope and abs(slope_t) <= c2 * abs(slope))
""",
    stub="""
import numpy as np
import optilab.autograd as ag


def strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9):
    raise NotImplementedError("Exercise 11.3: return Armijo's test and the curvature test")
""",
)


# ----------------------------------------------------------------------------- q4

def _mds_variant(D: np.ndarray, form: str) -> np.ndarray:
    """Classical MDS with one classic mistake (the check's named mistakes)."""
    n = len(D)
    J = np.eye(n) - np.ones((n, n)) / n
    B = {"no_double_centring": -D ** 2 / 2,
         "one_sided_centring": -J @ D ** 2 / 2,
         "distances_not_squared": -J @ D @ J / 2,
         "forgot_half": -J @ D ** 2 @ J}.get(form, -J @ D ** 2 @ J / 2)
    w, V = np.linalg.eigh(B)                      # ascending (eigh reads the lower triangle)
    top = [0, 1] if form == "smallest_eigenvalues" else [n - 1, n - 2]
    scale = {"no_sqrt": np.ones(2), "eigenvalues_not_sqrt": w[top]}.get(
        form, np.sqrt(np.abs(w[top])))
    return V[:, top] * scale


_Q4_MISTAKES = {
    "no_double_centring": "you took the eigenvectors of -D^2 / 2 without double centring. The "
                          "Gram matrix of centred points is B = -J D^2 J / 2 with "
                          "J = I - ones((n, n)) / n: J removes the row and column means.",
    "one_sided_centring": "you centred on one side only (-J D^2 / 2): B = -J D^2 J / 2 needs J "
                          "on both sides (and is then symmetric, as eigh assumes).",
    "distances_not_squared": "B is built from the squared distances, D ** 2 (elementwise), "
                             "not D.",
    "forgot_half": "your map is sqrt(2) times too large: B = -J D^2 J / 2 (the 1/2 comes from "
                   "d_ij^2 = b_ii + b_jj - 2 b_ij).",
    "no_sqrt": "you returned the eigenvectors themselves: each has length 1. Scale column k by "
               "the square root of its eigenvalue, X = V_2 sqrt(Lambda_2), so that X X^T = B.",
    "eigenvalues_not_sqrt": "you scaled the eigenvectors by their eigenvalues; scale them by the "
                            "square roots, so that X X^T = V Lambda V^T = B.",
    "smallest_eigenvalues": "you took the two smallest eigenvalues: np.linalg.eigh sorts them "
                            "in ascending order, so the largest two are the last two "
                            "(w[-1], w[-2] and V[:, -1], V[:, -2]).",
}


def _pairwise(X: np.ndarray) -> np.ndarray:
    return np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)


def _q4_problems() -> list[tuple[str, np.ndarray]]:
    points = np.random.default_rng(11).uniform(-1, 1, size=(7, 2)) * [3.0, 1.0]
    cities = normalise(load_cities().distances[:10, :10])
    return [("7 points of the plane", _pairwise(points)), ("the first 10 cities", cities)]


def _check_q4(classical_mds: Any) -> str:
    for what, D in _q4_problems():
        n = len(D)
        X = to_array(call(classical_mds, D, name="classical_mds"), "your map")
        if X.shape == (2, n):
            raise Mistake("transposed", f"your map has shape (2, {n}): one row per point, "
                          f"please, shape ({n}, 2) (return X.T).")
        if X.shape != (n, 2):
            raise Mistake("shape", f"for {what} your map has shape {X.shape}; expected one row "
                          f"of two coordinates per point, shape ({n}, 2).")
        if not np.all(np.isfinite(X)):
            raise Mistake("smallest_eigenvalues", f"for {what} your map contains NaN or inf. "
                          f"Likely cause: the square root of a negative eigenvalue, from "
                          f"taking the smallest ones: np.linalg.eigh sorts the eigenvalues in "
                          f"ascending order, so the two largest are the last two.")
        got, want = _pairwise(X), _pairwise(_classical_mds(D))
        if np.allclose(got, want, rtol=1e-7, atol=1e-10):
            continue
        for key, message in _Q4_MISTAKES.items():
            if np.allclose(got, _pairwise(_mds_variant(D, key)), rtol=1e-7, atol=1e-10):
                raise Mistake(key, f"For {what}: {message}")
        error = np.abs(got - want).max()
        raise Mistake("wrong", f"for {what} the distances of your map differ from classical "
                      f"MDS's by up to {error:.3g} (the largest distance is {want.max():.3g}). "
                      f"Check the steps: J = I - 1/n, B = -J D^2 J / 2, the two largest "
                      f"eigenpairs, X = V sqrt(lambda).")
    return ("on 7 points of the plane your map has exactly their distances (classical MDS is "
            "exact for planar points), and on 10 cities it matches optilab.cities.classical_mds "
            "up to an isometry.")


q4 = Exercise(
    "11.4", "Classical MDS",
    r"""Write `classical_mds(D)` returning the (n, 2) map of classical MDS for an (n, n)
distance matrix `D` (numpy): double-centre the squared distances,
$B = -\tfrac12 J D^{(2)} J$ with $J = I - \tfrac1n \mathbf 1 \mathbf 1^\top$ and
$D^{(2)}_{ij} = d_{ij}^2$, take the two largest eigenvalues $\lambda_1 \ge \lambda_2$ of $B$
and their eigenvectors $v_1, v_2$, and return the columns
$\sqrt{\lambda_1}\, v_1, \sqrt{\lambda_2}\, v_2$.""",
    answers="classical_mds",
    check=_check_q4,
    hints=["Three steps: build a matrix from D, eigen-decompose it (it is symmetric: "
           "np.linalg.eigh), keep two eigenpairs and scale.",
           "J = np.eye(n) - np.ones((n, n)) / n; B = -J @ (D ** 2) @ J / 2. np.linalg.eigh(B) "
           "returns the eigenvalues in ascending order and the eigenvectors as columns.",
           "w, V = np.linalg.eigh(B); the two largest are w[-1], w[-2] with V[:, -1], V[:, -2]; "
           "return V[:, [-1, -2]] * np.sqrt(w[[-1, -2]])."],
    solution="""
import numpy as np


def classical_mds(D):
    n = len(D)
    J = np.eye(n) - np.ones((n, n)) / n        # removes the means
    B = -J @ (D ** 2) @ J / 2                  # the Gram matrix X X^T of a centred map
    w, V = np.linalg.eigh(B)                   # eigenvalues in ascending order
    top = [-1, -2]                             # the two largest
    return V[:, top] * np.sqrt(w[top])
""",
    stub="""
import numpy as np


def classical_mds(D):
    raise NotImplementedError("Exercise 11.4: return the (n, 2) map of classical MDS")
""",
)
