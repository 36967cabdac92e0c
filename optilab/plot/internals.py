"""The inside of an optimizer, drawn at one step of its path on a contour map.

A run made with ``run(..., record_state=True)`` holds, for every step k, what the optimizer
carried (``Trajectory.state``; see :mod:`optilab.state`).  :class:`Internals` draws it at
the point x_k, beside the step plain gradient descent would take there:

* every optimizer: the step it took ``x_(k+1) - x_k`` (solid, the path's colour) and the
  direction of steepest descent ``-g_k`` drawn as long (dashed, grey): how far the
  optimizer turned away from the gradient;
* SGD with momentum: the velocity ``-lr v_k`` (the momentum buffer; it *is* the step);
* Adam / AdamW: the box ``|step_i| <= lr`` that each coordinate of its step stays about
  inside (the bias-corrected m / sqrt(v) is about +-1 per coordinate), so its step points
  to a corner when the gradient's coordinates differ in size;
* RMSprop / Adagrad: the gradient step rescaled per coordinate by 1 / sqrt(running squares);
* L-BFGS: the points its line search tried during step k (crosses) along its direction;
* with ``f`` given, the local quadratic model of f at x_k (Newton's model, from the exact
  Hessian): the ellipse where the model equals f(x_k), centred at the Newton step's target.

Steps are often tiny next to the picture: arrows and boxes are magnified by one factor per
picture (stated in the caption) so that the longest is about a sixth of the frame.
The artists are updated in place (``set_step``), so live plots and animations blit them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import FancyArrowPatch, Rectangle
from matplotlib.patheffects import withStroke

from ..trajectory import Trajectory

GRADIENT_COLOR = "0.35"


def _arrow(ax: Axes, color: str, style: str, animated: bool, z: float) -> FancyArrowPatch:
    # a white outline: the step lies on the path's own line, in its colour
    arrow = FancyArrowPatch((0, 0), (0, 0), arrowstyle="-|>", mutation_scale=12,
                            color=color, linestyle=style, lw=1.8, animated=animated, zorder=z,
                            shrinkA=0, shrinkB=0,
                            path_effects=[withStroke(linewidth=4.2, foreground="white")])
    arrow.set_visible(False)
    ax.add_patch(arrow)
    return arrow


class Internals:
    """The artists that show one path's optimizer state at one step, on ``ax`` (2D map).

    ``set_step(trajectory, k)`` moves them to step k of ``trajectory`` (k < its steps) and
    returns the caption, in words, of what is drawn; ``f`` (a function of (x, y)) adds
    Newton's local model.  ``magnify`` fixes the arrows' factor (default: chosen per step
    so that the longest arrow is about 1/6 of the frame, rounded to 1, 2 or 5 x 10^k).
    """

    def __init__(self, ax: Axes, color: str, *, f: Callable[..., Any] | None = None,
                 animated: bool = False, magnify: float | None = None) -> None:
        self.ax, self.f, self.magnify = ax, f, magnify
        z = 7.0
        self.gradient = _arrow(ax, GRADIENT_COLOR, "--", animated, z)
        self.step = _arrow(ax, color, "-", animated, z + 0.1)
        self.box = Rectangle((0, 0), 0, 0, fill=False, ec=color, lw=1.2, ls=":",
                             animated=animated, zorder=z, visible=False)
        ax.add_patch(self.box)
        self.trials = ax.plot([], [], "x", color="k", ms=6, mew=1.4, animated=animated,
                              zorder=z + 0.2, label="_trials")[0]
        self.search = ax.plot([], [], "-", color="k", lw=0.8, alpha=0.6, animated=animated,
                              zorder=z, label="_search")[0]
        self.model = ax.plot([], [], "-", color=color, lw=1.2, alpha=0.9, animated=animated,
                             zorder=z, label="_model")[0]
        for a in self.artists:                  # the layout places the axes by its labels
            a.set_in_layout(False)

    @property
    def artists(self) -> list[Any]:
        return [self.box, self.search, self.model, self.gradient, self.step, self.trials]

    def hide(self) -> None:
        for a in self.artists:
            a.set_visible(False)

    def set_step(self, t: Trajectory, k: int | None = None) -> str:
        """Draw step k (default: the last step) of ``t``; returns the caption."""
        if t.points.shape[1] != 2:
            raise ValueError(f"the optimizer's state is drawn on a 2D map; this run has "
                             f"{t.points.shape[1]} coordinates")
        last = len(t.points) - 2
        if last < 0:
            self.hide()
            return "No step yet: nothing inside the optimizer to show."
        k = last if k is None else int(np.clip(k, 0, last))
        x, lr = t.points[k], float(t.lrs[k]) if len(t.lrs) > k else float("nan")
        g, taken = t.grads[k], t.points[k + 1] - x
        if not (np.all(np.isfinite(taken)) and np.all(np.isfinite(g))):
            self.hide()
            return f"Step {k} left the finite numbers: nothing to draw."
        state = {name: rows[k] for name, rows in t.state.items() if len(rows) > k}
        name = str(t.settings.get("optimizer", "")).lower()
        box = "adam_step" in state and np.isfinite(lr)
        tried = t.trial_points[t.trial_steps == k] if len(t.trial_points) else np.zeros((0, 2))
        scale = 1.0 if len(tried) else self._scale([taken, np.full(2, lr if box else 0.0)])
        size, norm = float(np.linalg.norm(taken)), float(np.linalg.norm(g))
        steepest = -g / norm * size if norm > 0 else np.zeros(2)
        turned = _angle(taken, -g)
        words = [f"Step {k} from x_{k} (lr = {lr:.3g}), drawn x{_number(scale)}: solid, the "
                 f"step {t.label} took; dashed grey, steepest descent -g as long"
                 + (f" ({turned:.0f} degrees apart)" if turned is not None else "")]
        self._set_arrow(self.gradient, x, steepest * scale)
        self._set_arrow(self.step, x, taken * scale)
        self.box.set_visible(False)
        if "momentum_buffer" in state:
            words.append("(its velocity -lr v, the momentum buffer: it keeps going where "
                         "past gradients pointed)")
        if box:
            half = lr * scale
            self.box.set_bounds(x[0] - half, x[1] - half, 2 * half, 2 * half)
            self.box.set_visible(True)
            words.append("inside the dotted box |step_i| <= lr: Adam's m_hat / sqrt(v_hat) "
                         "is about +-1 in every coordinate, so its step heads for a corner "
                         "whatever the gradient's sizes")
        elif "square_avg" in state or "sum" in state:
            words.append("(the gradient step divided coordinate by coordinate by "
                         "sqrt(running squares): large, steady coordinates shrink)")
        self._draw_trials(tried, x)
        if len(tried):
            words.append(f"crosses: the {_count(len(tried), 'point')} its line search tried "
                         f"along the step (true size)")
        elif name == "lbfgs" and len(t.trial_points):
            words.append("its line search tried no point during this step")
        elif name == "lbfgs" and not t.settings.get("line_search_fn"):
            words.append("(no line search: one step per inner iteration)")
        if t.diverged and t.diverged_at is not None and k + 1 >= t.diverged_at:
            words.append(f"the run diverged at step {t.diverged_at}: this step leaves the "
                         f"picture")
        words.append(self._draw_model(x, t.grads[k]))
        return "; ".join(w for w in words if w) + "."

    # -- pieces --------------------------------------------------------------------------
    def _scale(self, vectors: list[np.ndarray]) -> float:
        if self.magnify is not None:
            return float(self.magnify)
        (x0, x1), (y0, y1) = self.ax.get_xlim(), self.ax.get_ylim()
        frame = min(abs(x1 - x0), abs(y1 - y0))
        longest = max(float(np.max(np.abs(v))) for v in vectors)
        if longest <= 0:
            return 1.0
        return _round_down(max(1.0, frame / 6 / longest))

    @staticmethod
    def _set_arrow(arrow: FancyArrowPatch, x: np.ndarray, d: np.ndarray) -> None:
        arrow.set_positions(tuple(x), tuple(x + d))
        arrow.set_visible(bool(np.any(d != 0)))

    def _draw_trials(self, tried: np.ndarray, x: np.ndarray) -> None:
        self.trials.set_visible(len(tried) > 0)
        self.search.set_visible(len(tried) > 0)
        if len(tried):
            self.trials.set_data(tried[:, 0], tried[:, 1])
            far = tried[np.argmax(np.linalg.norm(tried - x, axis=1))]
            self.search.set_data([x[0], far[0]], [x[1], far[1]])

    def _draw_model(self, x: np.ndarray, g: np.ndarray) -> str:
        """Newton's model m(d) = g.d + d.H d / 2: the ellipse m(d) = 0 through x_k,
        centred at the Newton target x_k - H^-1 g."""
        self.model.set_visible(False)
        if self.f is None:
            return ""
        H = hessian_at(self.f, x)
        eigenvalues, vectors = np.linalg.eigh(H)
        if eigenvalues[0] <= 0:
            return (f"Newton's local model has no minimum here (the Hessian's smallest "
                    f"eigenvalue is {eigenvalues[0]:.3g} <= 0): no ellipse")
        c = -np.linalg.solve(H, g)                       # the Newton step
        r2 = float(c @ H @ c)                            # (d - c).H (d - c) = c.H c
        angle = np.linspace(0, 2 * np.pi, 121)
        circle = np.stack([np.cos(angle), np.sin(angle)])
        ellipse = (vectors @ (circle * np.sqrt(r2 / eigenvalues)[:, None])).T + x + c
        self.model.set_data(ellipse[:, 0], ellipse[:, 1])
        self.model.set_visible(True)
        return ("the ellipse: where Newton's local quadratic model equals f(x_k) (true "
                "size); its centre is the Newton step's target")


def _angle(a: np.ndarray, b: np.ndarray) -> float | None:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return None
    return float(np.degrees(np.arccos(np.clip(a @ b / (na * nb), -1.0, 1.0))))


def hessian_at(f: Callable[..., Any], x: np.ndarray) -> np.ndarray:
    """The exact Hessian of f(x, y) at x, by our engine (the functions are engine-neutral)."""
    from .. import autograd as ag

    return np.asarray(ag.hessian(lambda p: f(p[0], p[1]))(np.asarray(x, dtype=float)))


def _round_down(v: float) -> float:
    """The largest of 1, 2, 5 x 10^k not above v."""
    exponent = np.floor(np.log10(v))
    for mantissa in (5, 2, 1):
        if mantissa * 10 ** exponent <= v:
            return float(mantissa * 10 ** exponent)
    return float(10 ** exponent)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _number(v: float) -> str:
    return f"{v:,.0f}" if v >= 1 else f"{v:.3g}"
