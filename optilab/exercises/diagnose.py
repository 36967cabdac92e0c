r"""Diagnosis: compare a student's answer with the truth, and name the likely mistake.

Each helper returns ``None`` when the answer agrees, or a :class:`~.base.Mistake` (not raised:
the check raises it, ``if (m := compare(...)): raise m``) whose message says what is wrong.
The idea throughout: a wrong answer is rarely random.  We recompute the answer under each
classic mistake (a hypothesis) and report the one the student's answer matches.

* :func:`compare` -- numbers and arrays: shape, NaN, sign, a constant factor, swapped or
  transposed entries, or any named alternative.
* :func:`numerical_gradient` / :func:`check_gradient` -- a gradient function against central
  finite differences, :math:`\partial_i f(x) \approx (f(x + h e_i) - f(x - h e_i)) / 2h`
  (error :math:`O(h^2)`).
* :func:`check_gd_path` -- a gradient-descent path, verified one step at a time from the
  student's own points (:math:`x_{k+1} = x_k - \eta \nabla f(x_k)`), so rounding never
  accumulates; a wrong step is tested against accumulated gradients (no ``zero_grad``),
  ascent, a frozen gradient, another learning rate, a missing ``x_0``, aliasing.
* :func:`torch_path` / :func:`check_path` -- a torch.optim run (optionally with the classic
  mistakes switched on: no ``zero_grad``, scheduler stepped first) and a path compared
  with it and its mistaken variants.
* :func:`effective_lrs` / :func:`check_lrs` -- the learning rates a path actually used, and
  a learning-rate sequence against a scheduler's (one step early: scheduler stepped before
  the optimizer; never stepped; stepped twice; decayed every step).
* :func:`explain_exception` -- a one-line reading of an exception from the student's code.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .base import Mistake, NotAttempted, is_stub

Alternatives = Mapping[str, tuple[Any, str]]     # key -> (value under that mistake, message)


# ----------------------------------------------------------------------------- arrays

def to_array(x: Any, what: str = "your answer") -> np.ndarray:
    """A float array from numbers, numpy arrays, torch or optilab tensors, or lists of them."""
    if is_stub(x):
        raise NotAttempted(f"{what} is still `...`")
    if isinstance(x, (str, bytes)):
        raise Mistake("not_numbers", f"{what} is the text {x!r}: give a number (no quotes).")
    if hasattr(x, "value") and hasattr(x, "backward"):   # optilab.autograd.Tensor
        x = x.value
    elif hasattr(x, "detach"):                         # torch
        x = x.detach().cpu().numpy()
    elif isinstance(x, (list, tuple)):
        x = [to_array(v, what) for v in x]
    try:
        return np.array(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise Mistake("not_numbers", f"{what} should be numbers, got {_show(x)} ({e})") from None


def as_number(x: Any, what: str = "your answer") -> float:
    """One float from a number, a 0-d/1-element array or tensor (else a Mistake)."""
    arr = to_array(x, what)
    if arr.size != 1:
        raise Mistake("not_a_number", f"{what} should be one number, got shape {arr.shape}")
    return float(arr.reshape(-1)[0])


def close(a: Any, b: Any, rtol: float = 1e-6, atol: float = 1e-9) -> bool:
    """Same shape and equal within ``atol + rtol * |b|`` (NaN matches only NaN)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return False
    with np.errstate(all="ignore"):
        both_nan = np.isnan(a) & np.isnan(b)
        return bool(np.all((np.abs(a - b) <= atol + rtol * np.abs(b)) | both_nan))


def _show(x: Any) -> str:
    """A short, one-line picture of a value (big arrays by shape and first entries)."""
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        text = repr(x)
        return text if len(text) < 90 else text[:87] + "..."
    if arr.size > 6:
        head = ", ".join(f"{v:.6g}" for v in arr.reshape(-1)[:3])
        return f"an array of shape {arr.shape} starting {head}, ..."
    text = " ".join(np.array2string(arr, precision=6, separator=", ").split())
    return re.sub(r" +([,\]])", r"\1", text)           # numpy pads columns: "-0.33311 ]"


def compare(got: Any, want: Any, *, what: str = "your answer", alternatives: Alternatives = (),
            rtol: float = 1e-6, atol: float = 1e-9) -> Mistake | None:
    r"""``None`` if ``got`` equals ``want``; else a Mistake naming the closest explanation.

    Tried in order: the named ``alternatives`` (the value each classic mistake gives), then
    generic patterns -- a different shape, NaN/inf, the opposite sign (:math:`-w`), a
    constant factor (:math:`c = \langle g, w\rangle / \langle w, w\rangle`, with
    :math:`g \approx c\,w`), swapped components, a transposed matrix.

    >>> compare(-2.0, 2.0).key
    'wrong_sign'
    >>> compare([4.0, 2.0], [2.0, 1.0]).message.startswith("your answer is 2 times")
    True
    """
    g, w = to_array(got, what), np.asarray(want, dtype=np.float64)
    if close(g, w, rtol, atol):
        return None
    for key, (value, message) in dict(alternatives).items():
        if value is not None and close(g, value, rtol, atol):
            return Mistake(key, message)
    if g.shape != w.shape:
        if g.size == w.size and close(g.reshape(w.shape), w, rtol, atol):
            if g.ndim == 2 and close(g.T, w, rtol, atol):
                return Mistake("transposed", f"{what} is transposed: shape {g.shape}, "
                               f"expected {w.shape} (use .T)")
            return Mistake("shape", f"{what} has the right numbers but shape {g.shape}; "
                           f"expected shape {w.shape} (reshape it)")
        return Mistake("shape", f"{what} has shape {g.shape}, expected {w.shape}")
    if not np.all(np.isfinite(g)):
        return Mistake("not_finite", f"{what} contains inf or NaN: {_show(g)}")
    if close(-g, w, rtol, atol):
        return Mistake("wrong_sign", f"{what} has the wrong sign: got {_show(g)}, "
                       f"expected {_show(w)}")
    scale = float(np.vdot(w, w))
    if scale > 0 and np.count_nonzero(w) >= 2:      # one number is always a multiple of another
        c = float(np.vdot(g, w)) / scale
        if abs(c) > 1e-12 and close(g, c * w, 1e-5, atol):
            return Mistake("factor", f"{what} is {c:.4g} times the right value"
                           f"{_factor_note(c)}: got {_show(g)}, expected {_show(w)}")
    if g.ndim == 1 and g.size == 2 and close(g[::-1], w, rtol, atol):
        return Mistake("swapped", f"{what} has its two components swapped: got {_show(g)}, "
                       f"expected {_show(w)}")
    if g.ndim == 2 and g.shape[0] == g.shape[1] and close(g.T, w, rtol, atol):
        return Mistake("transposed", f"{what} is the transpose of the right matrix (use .T)")
    return Mistake("wrong", f"{what} is not right: got {_show(g)}, expected {_show(w)}"
                   + _where(g, w, rtol, atol))


def _factor_note(c: float) -> str:
    for value, note in ((2.0, " (an extra factor 2?)"), (0.5, " (a missing factor 2?)"),
                        (-1.0, "")):
        if abs(c - value) < 1e-6:
            return note
    return ""


def _where(g: np.ndarray, w: np.ndarray, rtol: float, atol: float) -> str:
    if g.size <= 4:
        return ""
    bad = np.argwhere(~(np.abs(g - w) <= atol + rtol * np.abs(w)))
    return f" (first difference at index {tuple(int(i) for i in bad[0])})" if len(bad) else ""


def compare_function(student: Callable[..., Any], truth: Callable[..., Any],
                     inputs: Sequence[tuple[Any, ...]], *, what: str = "your function",
                     alternatives: Mapping[str, tuple[Callable[..., Any], str]] = (),
                     rtol: float = 1e-6, atol: float = 1e-9) -> Mistake | None:
    """Evaluate ``student`` and ``truth`` on each argument tuple; :func:`compare` the results.

    ``alternatives`` map a mistake to (the function a student with that mistake wrote, its
    message); the student's outputs are matched against those functions on all inputs.
    """
    from .base import call

    alternatives = dict(alternatives)
    got_all, want_all = [], []
    alt_all: dict[str, list[Any]] = {k: [] for k in alternatives}
    for args in inputs:
        got_all.append(to_array(call(student, *args, name=what.split("(")[0]), what))
        want_all.append(np.asarray(truth(*args), dtype=np.float64))
        for key, (fn, _) in alternatives.items():
            alt_all[key].append(np.asarray(fn(*args), dtype=np.float64))
    stack = (len(got_all) > 1 and len({g.shape for g in got_all} | {w.shape for w in want_all})
             == 1)
    if stack:                               # all inputs at once: alternatives must fit them all
        groups = [(np.stack(got_all), np.stack(want_all),
                   {k: np.stack(v) for k, v in alt_all.items() if len({a.shape for a in v}) == 1})]
    else:                                   # shapes vary: one input at a time
        groups = [(g, w, {k: v[i] for k, v in alt_all.items()})
                  for i, (g, w) in enumerate(zip(got_all, want_all))]
    for got, want, alts in groups:
        if close(got, want, rtol, atol):
            continue
        for key, value in alts.items():     # a named mistake wins over the generic ones
            if close(got, value, rtol, atol):
                return Mistake(key, alternatives[key][1])
        mistake = compare(got, want, what=what, rtol=rtol, atol=atol)
        if not stack or mistake is None or mistake.key == "shape":
            return mistake
        for args, g, w in zip(inputs, got_all, want_all):   # say it for one input, not the stack
            single = compare(g, w, what=what, rtol=rtol, atol=atol)
            if single is not None:
                if single.key != mistake.key:
                    return mistake
                return Mistake(single.key, single.message.replace(
                    f"{what} ", f"{what} at {_args(args)} ", 1) if single.key == "wrong"
                    else single.message)
        return mistake
    return None


def _args(args: tuple[Any, ...]) -> str:
    return ", ".join(_show(a) if not callable(a) else getattr(a, "__name__", "f") for a in args)


# ----------------------------------------------------------------------------- gradients

def numerical_gradient(f: Callable[[np.ndarray], Any], x: Any, h: float = 1e-6) -> np.ndarray:
    r"""Central differences: :math:`g_i = (f(x + h e_i) - f(x - h e_i)) / 2h`.

    Taylor: :math:`f(x \pm h e_i) = f \pm h \partial_i f + h^2/2\, \partial_i^2 f \pm O(h^3)`,
    so the difference cancels the :math:`h^2` term: the error is :math:`O(h^2)` (forward
    differences :math:`(f(x + h e_i) - f(x))/h` are only :math:`O(h)`).

    >>> numerical_gradient(lambda p: p[0] ** 2 + 3 * p[1], [1.0, 0.0]).round(6)
    array([2., 3.])
    """
    x = np.array(x, dtype=np.float64)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = h
        g[i] = (float(np.asarray(f(x + e))) - float(np.asarray(f(x - e)))) / (2 * h)
    return g


def engine_gradient(f: Callable[[Any], Any], x: Any) -> np.ndarray:
    """The gradient of ``f`` at ``x`` by optilab.autograd (exact up to rounding)."""
    from .. import autograd as ag

    return np.asarray(ag.grad(f)(np.array(x, dtype=np.float64)))


def check_gradient(student_grad: Callable[..., Any], f: Callable[[Any], Any],
                   points: Sequence[Any], *, what: str = "your gradient",
                   alternatives: Mapping[str, tuple[Callable[..., Any], str]] = (),
                   engine: bool = True, rtol: float = 1e-5, atol: float = 1e-7) -> Mistake | None:
    """Compare ``student_grad(x)`` with the gradient of ``f`` at each point.

    The truth comes from our engine (``engine=True``), else from central finite
    differences; either way the student's gradient is also compared with finite
    differences, so a check never trusts only one method.
    """
    truth = (lambda x: engine_gradient(f, x)) if engine else \
        (lambda x: numerical_gradient(f, x))
    return compare_function(student_grad, truth, [(np.array(p, dtype=np.float64),)
                                                  for p in points],
                            what=what, alternatives=alternatives, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- paths

def as_path(points: Any, what: str = "your path") -> np.ndarray:
    """The points of a path as an array (n, d), after checking for aliasing.

    Aliasing: appending the same array or tensor object at every step (``points.append(x)``
    followed by an in-place update ``x -= ...``) stores n references to one object,
    which all show the last point.
    """
    if is_stub(points):
        raise NotAttempted(f"{what} is still `...`")
    if isinstance(points, (list, tuple)) and len(points) > 2:
        mutable = [p for p in points if isinstance(p, np.ndarray) or hasattr(p, "detach")
                   or hasattr(p, "backward")]
        if len(mutable) == len(points) and len({id(p) for p in points}) < len(points):
            raise Mistake("aliasing", f"{what} stores the same object several times, so every "
                          f"stored point shows the last value: you append `x` itself and then "
                          f"update it in place. {_COPY}")
    arr = to_array(points, what)
    if arr.ndim == 0:
        raise Mistake("not_a_path", f"{what} should be the list of points x_0, x_1, ..., "
                      f"got one number {float(arr):.6g}")
    return arr.reshape(len(arr), -1)


_COPY = ("Append a copy: `x.copy()` (numpy), `x.detach().clone()` (torch; `x.detach().numpy()` "
         "shares x's memory) or `x.value.copy()` (optilab).")


def _all_same(pts: np.ndarray, start: np.ndarray, what: str) -> Mistake | None:
    """Every stored point equal (but perhaps a copied start), and not the start: views of
    one array changed in place."""
    rest = pts[1:] if np.allclose(pts[0], start) else pts
    if len(rest) > 2 and np.all(rest == rest[-1]) and not np.allclose(rest[-1], start):
        return Mistake("aliasing", f"every point of {what}"
                       + (" after x_0" if len(rest) < len(pts) else "") + " is the same, the "
                       "last one: you stored views of one array or tensor that was then "
                       "changed in place. " + _COPY)
    return None


def _blew_up(pts: np.ndarray, lr: float, what: str) -> Mistake | None:
    """A path that leaves the finite numbers: say where, and what the steps were doing."""
    bad = ~np.all(np.isfinite(pts), axis=1)
    if not bad.any():
        return None
    k = int(np.argmax(bad))
    with np.errstate(all="ignore"):
        steps = np.linalg.norm(np.diff(pts[:k], axis=0), axis=1)
        growth = steps[1:] / steps[:-1]
    growth = growth[np.isfinite(growth) & (growth > 0)]
    trend = (f" Each step was about {np.median(growth):.3g} times longer than the one before"
             if len(growth) >= 2 else "")
    return Mistake("blew_up", f"{what} leaves the finite numbers at step {k} (x_{k} = "
                   f"{_show(pts[k])}): the steps grew until they overflowed to inf or nan."
                   f"{trend}. The learning rate is too large for this function (lr = {lr:g} was "
                   f"asked; is it in your update, x - lr * grad?), or the update climbs.")


def _step_ok(a: np.ndarray, b: np.ndarray, scale: float, rtol: float) -> bool:
    return bool(np.all(np.abs(a - b) <= rtol * (scale + np.abs(b))))


def check_uses_h(fn: Any, args: tuple[Any, ...], name: str) -> None:
    """Raise a Mistake when ``fn(*args, h)`` gives the same result for two step sizes h: a
    finite difference with a fixed step inside, ignoring its argument."""
    from .base import call

    coarse, fine = (to_array(call(fn, *args, h, name=name)) for h in (1e-2, 1e-3))
    if coarse.shape == fine.shape and np.array_equal(coarse, fine):
        raise Mistake("ignores_h", f"`{name}` gives the same result for h = 1e-2 and "
                      f"h = 1e-3: it ignores its argument h (a fixed step inside?). Use the "
                      f"h it is given: the check compares the formulas at a large h.")


def check_gd_path(points: Any, grad: Callable[[np.ndarray], Any], x0: Any, lr: float,
                  steps: int, *, what: str = "your path", rtol: float = 1e-6) -> Mistake | None:
    r"""Verify a gradient-descent path :math:`x_{k+1} = x_k - \eta \nabla f(x_k)` step by step.

    Each step is checked from the student's own point :math:`x_k`, so rounding differences
    never pile up.  The first wrong step is then explained by the rule all the student's
    steps follow:

    * accumulation: :math:`x_{k+1} = x_k - \eta \sum_{j \le k} \nabla f(x_j)` (gradients
      added up across steps: ``.grad`` never zeroed);
    * ascent: :math:`x_{k+1} = x_k + \eta \nabla f(x_k)` (wrong sign);
    * frozen gradient: :math:`x_{k+1} = x_k - \eta \nabla f(x_0)` (gradient not recomputed);
    * another learning rate: :math:`x_{k+1} = x_k - c\,\eta \nabla f(x_k)`, one c for all k;
    * a path that starts at :math:`x_1` or stops a step early or late.
    """
    pts = as_path(points, what)
    x0 = np.array(x0, dtype=np.float64).reshape(-1)
    n = steps + 1
    if pts.shape[1] != x0.size:
        return Mistake("shape", f"{what} has points with {pts.shape[1]} coordinate(s); "
                       f"expected {x0.size}")
    gradient = lambda x: np.asarray(grad(x.reshape(np.shape(x0)) if x0.size > 1 else x[0]),
                                    dtype=np.float64).reshape(-1)
    if (blown := _blew_up(pts, lr, what)) is not None:
        return blown
    scale = float(np.max(np.abs(pts))) if pts.size else 1.0
    if (alias := _all_same(pts, x0, what)) is not None:
        return alias
    first = x0 - lr * gradient(x0)
    if not _step_ok(pts[0], x0, scale, rtol):
        if _step_ok(pts[0], first, scale, rtol):
            return Mistake("missing_x0", f"{what} starts at x_1 = {_show(pts[0])}, not at "
                           f"x_0 = {_show(x0)}: store the starting point first (and if you "
                           f"stored arrays that you then changed in place, store copies).")
        return Mistake("wrong_start", f"{what} starts at {_show(pts[0])}; it should start at "
                       f"x_0 = {_show(x0)}")
    gs = [gradient(x) for x in pts[:-1]]
    rules: dict[str, Callable[[int], np.ndarray]] = {
        "ok": lambda k: pts[k] - lr * gs[k],
        "accumulated_gradient": lambda k: pts[k] - lr * np.sum(gs[: k + 1], axis=0),
        "wrong_sign": lambda k: pts[k] + lr * gs[k],
        "frozen_gradient": lambda k: pts[k] - lr * gs[0],
    }
    follows = {key: all(_step_ok(pts[k + 1], rule(k), scale, rtol) for k in range(len(gs)))
               for key, rule in rules.items()}
    if follows["ok"]:
        if len(pts) == n:
            return None
        return Mistake("step_count", f"{what} has {len(pts)} points; {steps} steps from x_0 "
                       f"give {n} points (x_0 to x_{steps}): " + (
                           "you took one step too many." if len(pts) == n + 1 else
                           "you took one step too few." if len(pts) == n - 1 else
                           "check the range of your loop."))
    messages = {
        "accumulated_gradient": "each step uses the sum of all the gradients so far: the "
        "gradient is accumulated, never reset. With `.backward()`, gradients add up into "
        "`x.grad`: zero it before each backward pass (`x.grad = None`, `x.grad.zero_()` or "
        "`optimizer.zero_grad()`).",
        "wrong_sign": "your steps go uphill: x + lr * grad is gradient ascent. Descent is "
        "x - lr * grad.",
        "frozen_gradient": "every step uses the gradient at x_0: recompute the gradient at the "
        "current point in each step.",
    }
    for key, message in messages.items():
        if follows[key] and len(gs) > 1:
            return Mistake(key, message)
    k = next(k for k in range(len(gs)) if not _step_ok(pts[k + 1], rules["ok"](k), scale, rtol))
    factor = _lr_factor(pts, gs, lr)
    if factor is not None and abs(factor - 1) > 1e-6:
        return Mistake("lr_factor", f"your steps follow -grad with a learning rate of "
                       f"{factor * lr:.6g}, {factor:.4g} times the asked lr = {lr:g}"
                       f"{_factor_note(factor)}.")
    if k == 0 and np.allclose(pts[1], pts[0]):
        return Mistake("no_step", "your path does not move: the point is never updated.")
    return Mistake("wrong_step", f"step {k} is wrong: from x_{k} = {_show(pts[k])} the update "
                   f"x - lr * grad gives {_show(rules['ok'](k))}, your path has "
                   f"{_show(pts[k + 1])}.")


def _lr_factor(pts: np.ndarray, gs: list[np.ndarray], lr: float) -> float | None:
    """c if every step is x_{k+1} = x_k - c lr grad(x_k), one c for all steps."""
    rates = []
    for k, g in enumerate(gs):
        gg = float(np.vdot(g, g))
        if gg < 1e-24:
            continue
        dx = pts[k + 1] - pts[k]
        rate = -float(np.vdot(dx, g)) / gg
        if not np.allclose(dx, -rate * g, rtol=1e-6, atol=1e-12):
            return None
        rates.append(rate)
    if not rates or not np.allclose(rates, rates[0], rtol=1e-6):
        return None
    return rates[0] / lr


def effective_lrs(points: Any, grads: Any) -> np.ndarray:
    r"""The learning rate of each step of a gradient path: :math:`\eta_k =
    -\langle x_{k+1} - x_k, g_k\rangle / \|g_k\|^2` (exact when :math:`x_{k+1} = x_k -
    \eta_k g_k`).

    >>> effective_lrs([[1.0], [0.8], [0.7]], [[2.0], [1.0]])
    array([0.1, 0.1])
    """
    pts = np.asarray(points, dtype=np.float64).reshape(len(points), -1)
    gs = np.asarray(grads, dtype=np.float64).reshape(len(grads), -1)
    dx = pts[1:len(gs) + 1] - pts[:len(gs)]
    return -np.sum(dx * gs[:len(dx)], axis=1) / np.sum(gs[:len(dx)] ** 2, axis=1)


def check_lrs(got: Any, want: Any, *, what: str = "your learning rates",
              rtol: float = 1e-6) -> Mistake | None:
    """Compare a learning-rate sequence with a scheduler's and name the timing mistake.

    ``want`` is the scheduler's sequence, ideally longer than ``got`` (at least twice as
    long) so that "stepped twice" and "one ahead" can be tested.  ``got[k]`` is the lr used
    by step k.  Hypotheses: one ahead (``got[k] = want[k+1]``: the scheduler was stepped
    before the optimizer), one behind (``want[k-1]``), never stepped (``want[0]``), stepped
    twice per step (``want[2k]``).
    """
    g = to_array(got, what).reshape(-1)
    w = np.asarray(want, dtype=np.float64).reshape(-1)
    n = len(g)
    if n > len(w):
        return Mistake("lr_count", f"{what} has {n} entries, expected {len(w)}")
    if close(g, w[:n], rtol, 1e-15):
        return None
    hypotheses = {
        "scheduler_before_optimizer": ([w[k + 1] for k in range(n)] if n + 1 <= len(w) else None,
                                       "the learning rates are one step ahead: step k used the "
                                       "rate meant for step k+1, so the first rate lr_0 was "
                                       "never used. Call `optimizer.step()` before "
                                       "`scheduler.step()`."),
        "scheduler_late": ([w[max(k - 1, 0)] for k in range(n)],
                           "the learning rates are one step behind: the first rate is used "
                           "twice. Step the scheduler once per step, right after "
                           "`optimizer.step()`."),
        "scheduler_never_stepped": ([w[0]] * n, "the learning rate never changes: call "
                                    "`scheduler.step()` once per step."),
        "scheduler_stepped_twice": ([w[2 * k] for k in range(n)] if 2 * n - 1 <= len(w)
                                    else None, "the learning rate changes twice per step: "
                                    "call `scheduler.step()` once per optimizer step."),
    }
    for key, (values, message) in hypotheses.items():
        if values is not None and close(g, values, rtol, 1e-15):
            return Mistake(key, message)
    k = int(np.argmax(~(np.abs(g - w[:n]) <= rtol * np.abs(w[:n]) + 1e-15)))
    return Mistake("wrong_lr", f"{what} differ from the scheduler's from step {k} on: got "
                   f"{g[k]:.6g}, expected {w[k]:.6g}.")


# ----------------------------------------------------------------------------- torch runs

def torch_path(f: Callable[[Any], Any], x0: Any, optimizer: str, lr: float, steps: int, *,
               zero_grad: bool = True, scheduler: str | None = None,
               scheduler_first: bool = False, optimizer_kwargs: Mapping[str, Any] | None = None,
               scheduler_kwargs: Mapping[str, Any] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The torch.optim loop, with the classic mistakes as switches: ``(points, lrs)``.

    ``points`` (steps + 1, d) starts at x0; ``lrs[k]`` is the rate step k used.
    ``zero_grad=False`` lets gradients accumulate; ``scheduler_first=True`` steps the
    scheduler before the optimizer.  ``optimizer``/``scheduler`` are names from
    ``optilab.optim``'s tables (``"sgd"``, ``"adam"``, ``"step"``, ``"exponential"``, ...).
    """
    import torch

    from ..optim import OPTIMIZERS, SCHEDULERS

    x = torch.tensor(np.asarray(x0, dtype=np.float64), requires_grad=True)
    opt = OPTIMIZERS[optimizer]([x], lr=lr, **dict(optimizer_kwargs or {}))
    sched = SCHEDULERS[scheduler](opt, **dict(scheduler_kwargs or {})) if scheduler else None
    points, lrs = [x.detach().clone().reshape(-1).numpy()], []
    for _ in range(steps):
        if zero_grad:
            opt.zero_grad()
        f(x).backward()
        if sched is not None and scheduler_first:
            sched.step()
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None and not scheduler_first:
            sched.step()
        points.append(x.detach().clone().reshape(-1).numpy())
    return np.array(points), np.array(lrs)


def check_path(got: Any, want: Any, *, what: str = "your path",
               variants: Mapping[str, tuple[Any, str]] = (), rtol: float = 1e-4,
               atol: float = 1e-6) -> Mistake | None:
    """Compare a whole path with a reference run and with the runs of named mistakes.

    Paths are compared to ``rtol`` (float32 students pass at the default); a path of the
    wrong length is compared on its common prefix to tell "wrong count" from "wrong steps".
    """
    pts = as_path(got, what)
    ref = np.asarray(want, dtype=np.float64).reshape(len(want), -1)
    if pts.shape[1] != ref.shape[1]:
        return Mistake("shape", f"{what} has points with {pts.shape[1]} coordinates, "
                       f"expected {ref.shape[1]}")
    scale = float(np.max(np.abs(ref))) or 1.0
    same = lambda a, b: a.shape == b.shape and bool(np.all(np.abs(a - b) <= atol + rtol * scale))
    if same(pts, ref):
        return None
    if (alias := _all_same(pts, ref[0], what)) is not None:
        return alias
    if len(pts) == len(ref) - 1 and same(pts, ref[1:]):
        return Mistake("missing_x0", f"{what} starts at x_1: store the starting point x_0 "
                       f"first, then one point per step ({len(ref)} points in all).")
    m = min(len(pts), len(ref))
    if len(pts) != len(ref) and same(pts[:m], ref[:m]):
        return Mistake("step_count", f"{what} has {len(pts)} points; expected {len(ref)} "
                       f"(x_0 and one point per step).")
    for key, (values, message) in dict(variants).items():
        alt = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
        if len(alt) >= m and same(pts[:m], alt[:m]):
            return Mistake(key, message)
    if m and not same(pts[:1], ref[:1]):
        return Mistake("wrong_start", f"{what} starts at {_show(pts[0])}, expected "
                       f"{_show(ref[0])}")
    k = next(k for k in range(m) if not same(pts[k:k + 1], ref[k:k + 1]))
    return Mistake("wrong_step", f"{what} agrees with the reference up to x_{k - 1} and "
                   f"differs at x_{k}: got {_show(pts[k])}, expected {_show(ref[k])}.")


# ----------------------------------------------------------------------------- exceptions

_KNOWN = [  # (exception type name, text in the message, what it means)
    ("RuntimeError", "leaf Variable that requires grad is being used in an in-place",
     "you changed a tensor that requires grad in place while torch records operations: "
     "update it under `with torch.no_grad():` or through `x.data`."),
    ("RuntimeError", "backward through the graph a second time",
     "backward() ran twice through the same graph: recompute the loss in every step."),
    ("RuntimeError", "does not require grad and does not have a grad_fn",
     "the loss does not depend on a tensor with requires_grad=True: create x with "
     "`torch.tensor(x0, requires_grad=True)`, and do not detach it."),
    ("RuntimeError", "grad can be implicitly created only for scalar outputs",
     "backward() needs a scalar loss: reduce it with .sum() or .mean()."),
    ("RuntimeError", "Can't call numpy() on Tensor that requires grad",
     "use x.detach().numpy() (or x.detach().clone()) to read a tensor that requires grad."),
    ("TypeError", "NoneType",
     "something is None where a number was expected: `x.grad` is None before the first "
     "backward(), and for a tensor that is not a leaf (`x = x - lr * x.grad` makes a new, "
     "non-leaf x: update x in place, `x.data -= lr * x.grad`)."),
    ("TypeError", "has no derivative rule in optilab.autograd",
     "a numpy function the engine cannot differentiate got an optilab Tensor: use the "
     "engine's operations (ag.sum, ag.max, ag.norm, ...; numpy's own np.tanh, np.dot, ... "
     "work on Tensors too)."),
    ("TypeError", "must return a scalar", "the function must return one number (a scalar)."),
    ("TypeError", "must be real number, not Tensor",
     "a math.* function got a tensor: use tensor operations (x.sin(), x.exp()) instead."),
    ("AttributeError", "'numpy.ndarray' object has no attribute",
     "a numpy array has no tensor methods: wrap it in a tensor, or use numpy functions."),
]


def explain_exception(exc: BaseException) -> str:
    """One line for a student: the exception, where in their code, and what it usually means.

    >>> explain_exception(ZeroDivisionError("division by zero"))
    'your code raised ZeroDivisionError: division by zero.'
    """
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 160:
        text = text[:157] + "..."
    message = f"your code raised {name}: {text}" if text else f"your code raised {name}"
    where = _student_line(exc)
    if where:
        message += f" ({where})"
    meaning = _known(exc)
    return f"{message}. Likely cause: {meaning}" if meaning else message + "."


def _known(exc: BaseException) -> str:
    for kind, fragment, meaning in _KNOWN:
        if kind == type(exc).__name__ and fragment in str(exc):
            return meaning
    return ""


def _student_line(exc: BaseException) -> str:
    """'line 4: x = x - lr * g' for the deepest frame outside the libraries, if any."""
    package = str(Path(__file__).resolve().parents[1])
    frames = [fr for fr in traceback.extract_tb(exc.__traceback__)
              if not fr.filename.startswith(package) and "site-packages" not in fr.filename
              and "/lib/python" not in fr.filename]
    if not frames:
        return ""
    fr = frames[-1]
    return f"line {fr.lineno}: `{fr.line.strip()}`" if fr.line else f"line {fr.lineno}"
