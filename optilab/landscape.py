r"""The landscape of a real net, and the learning-rate range test.

A net's loss lives in hundreds of dimensions; a picture shows two.  :func:`loss_landscape`
evaluates the loss on a plane through the weights :math:`\theta^*` (Li et al., 2018,
"Visualizing the Loss Landscape of Neural Nets"):

.. math:: L(\alpha, \beta) = \mathrm{loss}(\theta^* + \alpha\, d_1 + \beta\, d_2)

on an n x n grid of :math:`(\alpha, \beta)`, for two kinds of directions:

* ``"filter"`` -- two random Gaussian directions, *filter-normalised*: in each weight
  tensor, the slice of every output unit (a row of a linear layer's ``(out, in)`` weight, a
  filter of a convolution) is rescaled to the norm of the same slice of the weights,
  :math:`d_{i} \leftarrow d_{i}\, \|\theta_{i}\| / \|d_{i}\|`.  A step of 1 along it then
  changes every unit by as much as its own size, so nets whose weights differ in scale
  (a ReLU net is unchanged when one layer is multiplied by 10 and the next divided by 10)
  are compared fairly.  Biases (parameters named ``...bias``) and other one-dimensional
  parameters (batch-norm's scales) get a zero direction: they stay at their trained values,
  as the authors' code does with its ``biasbn`` option (used in their published commands;
  without it, that code takes the bias itself as its direction).
* ``"pca"`` -- the plane of a training path: with the path's weights
  :math:`\theta_0, \dots, \theta_T` and the centre :math:`\theta^*` (the final weights),
  the two leading right singular vectors of :math:`M = [\theta_0 - \theta^*; \dots;
  \theta_T - \theta^*]` (an SVD of M, without subtracting its mean: the plane through
  :math:`\theta^*` that holds the largest share of the path's squared displacement).  The
  paper's code runs scikit-learn's PCA, which centres M first; the plane then fits the
  path around its mean point instead.  All parameters take part, biases included.  The
  path is drawn on the slice at its projection.

Works for our engine's :class:`~optilab.autograd.Module` and for ``torch.nn.Module``.
``loss(model)`` is the loss of the model with its weights as they are, e.g.
``lambda m: loss_fn(m(X), Y)``.  For torch it is evaluated for a whole chunk of grid points
at once (``torch.func.functional_call`` under ``vmap``), else point by point.

:func:`lr_range_test` (Smith, 2015/2017; fast.ai's ``lr_find``) trains from the current
weights while the learning rate grows geometrically from ``lr_min`` to ``lr_max``, records
the smoothed loss, stops when it explodes, suggests a rate, and puts the weights back.

    >>> from optilab.autograd.nn import Linear, MSELoss
    >>> net = Linear((1, 1), seed=0)
    >>> x = np.linspace(0, 1, 8).reshape(-1, 1, 1)
    >>> loss = lambda m: MSELoss()(m(x), 2 * x)
    >>> scape = loss_landscape(net, loss, n=5)
    >>> scape.losses.shape, scape.kind
    ((5, 5), 'filter')
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Landscape", "LRRangeTest", "loss_landscape", "lr_range_test", "weights_of",
           "set_weights", "filter_normalized", "pca_directions", "project"]

MAX_GRID = 401                       # n x n evaluations of the loss; 401^2 = 160,801
CHUNK = 256                          # grid points per vmap call (torch)
PATH_POINTS = 200                    # points of a path drawn (and evaluated) on a slice


# ------------------------------------------------------------------------------ weights

def _is_torch(model: Any) -> bool:
    if "torch" not in sys.modules:
        return False
    import torch

    return isinstance(model, torch.nn.Module)


def _named(model: Any) -> list[tuple[str, Any]]:
    """The model's (name, parameter) pairs: our engine's Module or a torch nn.Module."""
    from .autograd import Module

    if not (isinstance(model, Module) or _is_torch(model)):
        raise TypeError(f"expected a model: an optilab.autograd Module or a torch.nn.Module, "
                        f"got {type(model).__name__}. Wrap plain tensors in a Module (its "
                        f"tensor attributes are its parameters).")
    named = list(model.named_parameters())
    if not named:
        raise ValueError(f"{type(model).__name__} has no parameters to move along: a "
                         f"landscape needs weights")
    return named


def _torch_tensor(p: Any) -> bool:
    return "torch" in sys.modules and isinstance(p, sys.modules["torch"].Tensor)


def _values(p: Any) -> np.ndarray:
    if _torch_tensor(p):
        return p.detach().cpu().double().numpy().copy()
    return np.array(p.value, dtype=float)


def weights_of(model: Any) -> np.ndarray:
    """All the model's parameters as one flat float64 vector (a copy), in
    ``named_parameters()`` order: one point of a training path.

    >>> from optilab.autograd.nn import Linear
    >>> weights_of(Linear((2, 3), seed=0)).shape        # 6 weights, 2 biases
    (8,)
    """
    return np.concatenate([_values(p).reshape(-1) for _, p in _named(model)])


def set_weights(model: Any, vector: Any) -> None:
    """Put the flat ``vector`` (as :func:`weights_of` returns) into the model's parameters."""
    named = _named(model)
    vector = np.asarray(vector, dtype=float).reshape(-1)
    total = sum(int(np.prod(_shape(p))) for _, p in named)
    if vector.size != total:
        raise ValueError(f"the model has {total} parameters, the vector {vector.size}: give "
                         f"a vector from weights_of(model) (or of a model of the same shape)")
    start = 0
    for _, p in named:
        shape = _shape(p)
        part = vector[start:start + int(np.prod(shape))].reshape(shape)
        start += part.size
        if _torch_tensor(p):
            import torch

            with torch.no_grad():
                p.copy_(torch.from_numpy(part))
        else:
            p.value = part.copy()


def _setter(model: Any) -> Callable[[np.ndarray], None]:
    """A fast ``set_weights(model, .)`` for many vectors: the parameters are looked up once."""
    named = _named(model)
    slices, start = [], 0
    for _, p in named:
        size = int(np.prod(_shape(p)))
        slices.append((p, slice(start, start + size), _shape(p)))
        start += size
    if any(_torch_tensor(p) for _, p in named):
        import torch

        def put_torch(w: np.ndarray) -> None:
            t = torch.from_numpy(np.ascontiguousarray(w))
            with torch.no_grad():
                for p, where, shape in slices:
                    p.copy_(t[where].view(shape))

        return put_torch

    def put(w: np.ndarray) -> None:
        for p, where, shape in slices:
            p.value = w[where].reshape(shape)

    return put


def _shape(p: Any) -> tuple[int, ...]:
    return tuple(p.shape)


def _is_bias(name: str, shape: tuple[int, ...]) -> bool:
    """A bias or another one-dimensional parameter (batch-norm): no direction of its own."""
    return name.rsplit(".", 1)[-1].startswith("bias") or len(shape) <= 1


# ------------------------------------------------------------------------------ directions

def filter_normalized(model: Any, seed: int | np.random.Generator | None = 0) -> np.ndarray:
    r"""A random direction in weight space, filter-normalised as Li et al. (2018) do.

    For each weight tensor :math:`\theta` (shape ``(out, ...)``) a Gaussian :math:`d` of the
    same shape, rescaled unit by unit: :math:`d_i \leftarrow d_i \|\theta_i\| / \|d_i\|`,
    where :math:`d_i, \theta_i` are the slices of output unit ``i`` (a row of a linear
    layer, a filter of a convolution).  Biases and one-dimensional parameters: zero.
    Returns a flat vector in :func:`weights_of`'s order.

    >>> from optilab.autograd.nn import Linear
    >>> layer = Linear((3, 2), seed=1)
    >>> d = filter_normalized(layer, seed=0)
    >>> w = layer.weight.value
    >>> bool(np.allclose(np.linalg.norm(d[:6].reshape(3, 2), axis=1),
    ...                  np.linalg.norm(w, axis=1))), d[6:].tolist()
    (True, [0.0, 0.0, 0.0])
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    parts = []
    for name, p in _named(model):
        w = _values(p)
        d = rng.standard_normal(w.shape)
        if _is_bias(name, w.shape):
            d = np.zeros_like(w)
        else:
            axes = tuple(range(1, w.ndim))
            w_norm = np.sqrt((w ** 2).sum(axis=axes, keepdims=True))
            d_norm = np.sqrt((d ** 2).sum(axis=axes, keepdims=True))
            d = d * w_norm / np.maximum(d_norm, 1e-300)
        parts.append(d.reshape(-1))
    return np.concatenate(parts)


def _as_paths(path: Any) -> dict[str, np.ndarray]:
    """``{label: (k, P) array}`` from one path (array or list of weight vectors) or a dict."""
    if path is None:
        return {}
    items = path.items() if isinstance(path, Mapping) else [("path", path)]
    out = {}
    for label, p in items:
        a = np.asarray([np.asarray(v, dtype=float).reshape(-1) for v in p], dtype=float)
        if a.ndim != 2 or len(a) < 2:
            raise ValueError(f"the path {label!r} should be a list of at least 2 weight "
                             f"vectors (weights_of(model) after each step), got shape {a.shape}")
        out[str(label)] = a
    return out


def pca_directions(path: Any, center: Any = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The two directions of the plane through ``center`` that best holds ``path``.

    ``path`` is a (k, P) array of weight vectors (or a dict of them: their rows are pooled);
    ``center`` defaults to the last point (of the first path).  The directions are the two
    leading right singular vectors of :math:`M = [\theta_i - \theta^*]_i` (unit length,
    orthogonal, each signed so that its largest component is positive); the second
    array is the share of :math:`\sum_i \|\theta_i - \theta^*\|^2` each one holds.

    >>> t = np.linspace(0, 1, 11)[:, None]
    >>> path = np.hstack([3 * (1 - t), (1 - t) ** 2, 0 * t])     # a curve in the (x, y) plane
    >>> dirs, share = pca_directions(path)
    >>> np.round(np.abs(dirs), 3).tolist(), round(float(share.sum()), 6)
    ([[0.967, 0.254, 0.0], [0.254, 0.967, 0.0]], 1.0)
    """
    paths = _as_paths(path)
    if not paths:
        raise ValueError("pca_directions needs a path: a list of weight vectors")
    rows = np.vstack(list(paths.values()))
    c = next(iter(paths.values()))[-1] if center is None else np.asarray(center, float).ravel()
    if c.size != rows.shape[1]:
        raise ValueError(f"the centre has {c.size} numbers, the path's points {rows.shape[1]}")
    M = rows - c
    _, s, vt = np.linalg.svd(M, full_matrices=False)
    if len(s) < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise ValueError("the path moves along a single line (or not at all) away from the "
                         "centre: a plane needs two directions; record more steps or use "
                         "directions='filter'")
    dirs = vt[:2].copy()
    for d in dirs:                     # a sign convention: the largest component positive
        d *= np.sign(d[np.argmax(np.abs(d))])
    return dirs, s[:2] ** 2 / np.sum(s ** 2)


def project(points: Any, center: Any, directions: Any) -> np.ndarray:
    r"""Coordinates :math:`(\alpha, \beta)` of each point in the plane
    ``center + alpha d1 + beta d2``: the least-squares solution of
    :math:`[d_1\ d_2]\,(\alpha, \beta)^T = \theta - \theta^*`, that is the 2 x 2 system
    :math:`G c = D (\theta - \theta^*)` with the Gram matrix :math:`G = D D^T`.  Right for
    directions of any length and angle (dot products alone are right only for orthonormal
    ones).

    >>> project([[3.0, 4.0, 5.0]], [1.0, 0.0, 0.0], [[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    array([[1. , 4.5]])
    """
    D = np.asarray(directions, dtype=float).reshape(2, -1)
    X = np.atleast_2d(np.asarray(points, dtype=float)) - np.asarray(center, float).reshape(-1)
    return np.linalg.solve(D @ D.T, D @ X.T).T


# ------------------------------------------------------------------------------ evaluating

def _evaluate(model: Any, loss: Callable[[Any], Any], weights: np.ndarray) -> np.ndarray:
    """loss(model) at each row of ``weights`` (m, P); the model's weights are put back."""
    saved = weights_of(model)
    try:
        if _is_torch(model):
            try:
                return _evaluate_torch_batched(model, loss, weights)
            except Exception:  # noqa: BLE001 -- a loss vmap cannot batch: one by one below
                pass
            import torch

            context: Any = torch.no_grad()
        else:
            from .autograd import no_grad

            context = no_grad()
        put = _setter(model)
        out = np.empty(len(weights))
        with context:
            for i, w in enumerate(weights):
                put(w)
                out[i] = _number(loss(model))
        return out
    finally:
        set_weights(model, saved)


def _number(v: Any) -> float:
    if _torch_tensor(v):
        v = v.detach().cpu().numpy()
    elif hasattr(v, "value"):
        v = v.value
    a = np.asarray(v, dtype=float)
    if a.size != 1:
        raise ValueError(f"loss(model) should return one number (the mean loss), got shape "
                         f"{a.shape}")
    return float(a.reshape(-1)[0])


def _evaluate_torch_batched(model: Any, loss: Callable[[Any], Any],
                            weights: np.ndarray) -> np.ndarray:
    """Many weight vectors in one call: the model reparametrised by torch.func, vmapped."""
    import torch
    from torch.func import functional_call, vmap

    class _Loss(torch.nn.Module):             # so functional_call swaps the weights that
        def __init__(self) -> None:           # loss(model) reads, through self.model
            super().__init__()
            self.model = model

        def forward(self) -> Any:
            return loss(self.model)

    wrapper = _Loss()
    named = [(n, p) for n, p in wrapper.named_parameters()]
    sizes = [p.numel() for _, p in named]
    dtype, device = named[0][1].dtype, named[0][1].device

    def one(w: Any) -> Any:
        parts = torch.split(w, sizes)
        return functional_call(wrapper, {n: part.view(p.shape)
                                         for (n, p), part in zip(named, parts)}, ())

    batched = vmap(one)
    W = torch.as_tensor(weights, dtype=dtype, device=device)
    with torch.no_grad():
        out = torch.cat([batched(chunk).reshape(-1) for chunk in W.split(CHUNK)])
    if out.numel() != len(weights):
        raise ValueError("loss(model) should return one number")
    return out.double().cpu().numpy()


# ------------------------------------------------------------------------------ the slice

@dataclass
class Landscape:
    r"""A 2-D slice of a loss: ``losses[j, i]`` is the loss at
    ``center + alphas[i] * directions[0] + betas[j] * directions[1]``.

    ``paths`` maps a label to ``(coords (k, 2), losses (k,))``: a training path projected on
    the plane (at most 200 of its points, evenly spaced, first and last included) and the
    loss at those projected points (on the drawn surface).  For a PCA
    slice, ``explained`` is each direction's share of the paths' squared displacement from
    the centre, and ``captured[label]`` the share of that path's squared displacement the
    plane holds (1 = the path lies in the plane).
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    center: np.ndarray
    directions: np.ndarray
    kind: str
    paths: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    explained: np.ndarray | None = None
    captured: dict[str, float] = field(default_factory=dict)

    @property
    def grid(self) -> Any:
        """The slice as an :class:`optilab.plot.static.Grid` (for ``draw_function``)."""
        from .plot.static import Grid

        A, B = np.meshgrid(self.alphas, self.betas)
        return Grid(A, self.losses, B)

    def axis_labels(self) -> tuple[str, str]:
        if self.kind == "pca" and self.explained is not None:
            return tuple(f"PC{i + 1} ({100 * e:.1f}% of the path)"     # type: ignore[return-value]
                         for i, e in enumerate(self.explained))
        if self.kind == "filter":
            return "$\\alpha$ (filter-normalised $d_1$)", "$\\beta$ (filter-normalised $d_2$)"
        return "$\\alpha$ (along $d_1$)", "$\\beta$ (along $d_2$)"

    def plot(self, view: str = "contour", *, title: str | None = None, paths: bool = True,
             **kwargs: Any) -> Any:
        """The slice as a contour map (``view="contour"``) or a 3-D surface
        (``"surface"``), with the paths drawn on it, through
        :func:`optilab.plot.plot_trajectories` (its keywords: ``dpi``, ``figsize``,
        ``elev``, ``azim``, ``colors``).  The centre is marked with a white star."""
        from .plot.static import Path, plot_trajectories

        drawn = [Path(label, coords, values) for label, (coords, values) in self.paths.items()
                 ] if paths else []
        if title is None:
            title = {"pca": "loss on the plane of the training path",
                     "filter": "loss around the weights (filter-normalised directions)"
                     }.get(self.kind, "loss on a plane through the weights")
        fig = plot_trajectories(self.grid, drawn or None, view, title=title, **kwargs)
        ax = fig.axes[0]
        x_label, y_label = self.axis_labels()
        ax.set_xlabel(x_label)
        ax.set_ylabel(y_label)
        star = dict(marker="*", ms=13, mfc="white", mec="k", mew=0.8, ls="none", zorder=7,
                    label="_centre")
        if hasattr(ax, "zaxis"):
            ax.set_zlabel("loss")
            ax.plot([0.0], [0.0], [self.loss_at_center], **star)
        else:
            ax.plot([0.0], [0.0], **star)
        return fig

    @property
    def loss_at_center(self) -> float:
        """The loss at the centre (the grid holds it when 0 is one of its samples)."""
        i, j = np.argmin(np.abs(self.alphas)), np.argmin(np.abs(self.betas))
        return float(self.losses[j, i])


def _span(value: Any, name: str) -> tuple[float, float]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = (-abs(value), abs(value))
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be (low, high) or one number s for (-s, s), "
                         f"got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
        raise ValueError(f"{name} must be (low, high) with low < high, got {value!r}")
    return lo, hi


def loss_landscape(model: Any, loss: Callable[[Any], Any], *, directions: Any = "filter",
                   path: Any = None, n: int = 41, span: Any = None, center: Any = None,
                   seed: int = 0, margin: float = 0.25) -> Landscape:
    r"""The loss of ``model`` on an ``n`` x ``n`` grid of a plane through its weights.

    ``loss(model)`` returns the model's loss as its weights are now (a scalar tensor or a
    number), e.g. ``lambda m: loss_fn(m(X), Y)``.  ``directions``:

    * ``"filter"`` (default): two filter-normalised random directions
      (:func:`filter_normalized`, seeds ``seed`` and ``seed + 1``); ``span`` defaults to
      (-1, 1), as in Li et al.;
    * ``"pca"``: the plane of ``path`` (:func:`pca_directions`); ``span`` defaults to the
      range of the projected path(s), widened by ``margin`` on each side;
    * a (2, P) array: your own two directions.

    ``path``: weight vectors recorded while training (``weights_of(model)`` after each
    step), or a dict ``{label: path}``; they are projected on the plane (:func:`project`)
    and drawn by :meth:`Landscape.plot`.  ``center`` defaults to the model's weights now.
    ``span`` is ``(low, high)`` for both axes, a pair of them, or one number s: (-s, s).
    The model's weights are the same afterwards.

    >>> from optilab.autograd.nn import Linear, MSELoss
    >>> net = Linear((1, 2), seed=0)
    >>> x = np.random.default_rng(0).normal(size=(10, 2, 1))
    >>> scape = loss_landscape(net, lambda m: MSELoss()(m(x), x[:, :1]), n=3, span=0.5)
    >>> scape.alphas.tolist()
    [-0.5, 0.0, 0.5]
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_GRID:
        raise ValueError(f"n must be a whole number from 2 to {MAX_GRID} (the grid has n x n "
                         f"points, each one evaluation of the loss), got {n!r}; 41 is a good "
                         f"first picture")
    if not callable(loss):
        raise TypeError(f"loss must be a function of the model returning its loss, e.g. "
                        f"`lambda m: loss_fn(m(X), Y)`, got {type(loss).__name__}")
    theta = weights_of(model) if center is None else np.asarray(center, float).reshape(-1)
    if theta.size != weights_of(model).size:
        raise ValueError(f"center has {theta.size} numbers, the model {weights_of(model).size}")
    paths = _as_paths(path)
    for label, p in paths.items():
        if p.shape[1] != theta.size:
            raise ValueError(f"the path {label!r} has weight vectors of {p.shape[1]} numbers, "
                             f"the model has {theta.size}: record weights_of(model) of this "
                             f"model")
    explained = None
    if isinstance(directions, str):
        kind = directions.lower()
        if kind == "filter":
            rng = np.random.default_rng(seed)
            D = np.stack([filter_normalized(model, rng), filter_normalized(model, rng)])
        elif kind == "pca":
            if not paths:
                raise ValueError("directions='pca' needs the training path: pass path=[...] "
                                 "(weights_of(model) recorded after each step)")
            D, explained = pca_directions(paths, theta)
        else:
            raise ValueError(f"directions must be 'filter', 'pca' or a (2, P) array of two "
                             f"directions, got {directions!r}")
    else:
        kind = "custom"
        D = np.asarray(directions, dtype=float)
        if D.shape != (2, theta.size):
            raise ValueError(f"directions should have shape (2, {theta.size}) (two vectors "
                             f"like weights_of(model)), got {D.shape}")
        if np.linalg.matrix_rank(D) < 2:
            raise ValueError("the two directions are parallel (or zero): they span no plane")
    coords = {label: project(p, theta, D) for label, p in paths.items()}
    ranges = _ranges(span, kind, coords, margin)
    # the loss is evaluated at (at most) PATH_POINTS evenly spaced points of each path,
    # the first and the last included: a picture shows no more
    shown = {label: np.unique(np.linspace(0, len(c) - 1, min(len(c), PATH_POINTS)).round()
                              .astype(int)) for label, c in coords.items()}
    alphas, betas = np.linspace(*ranges[0], n), np.linspace(*ranges[1], n)
    A, B = np.meshgrid(alphas, betas)
    plane = theta + A.reshape(-1, 1) * D[0] + B.reshape(-1, 1) * D[1]
    k_path = [len(i) for i in shown.values()]
    on_plane = [theta + coords[label][i] @ D for label, i in shown.items()]
    values = _evaluate(model, loss, np.vstack([plane, *on_plane]))
    losses = values[:plane.shape[0]].reshape(n, n)
    drawn, start = {}, plane.shape[0]
    for (label, i), k in zip(shown.items(), k_path):
        drawn[label] = (coords[label][i], values[start:start + k])
        start += k
    captured = {}
    for label, p in paths.items():
        moved = p - theta
        total = float(np.sum(moved ** 2))
        residual = moved - coords[label] @ D
        captured[label] = 1.0 - float(np.sum(residual ** 2)) / total if total > 0 else 1.0
    return Landscape(alphas, betas, losses, theta, D, kind, drawn, explained, captured)


def _ranges(span: Any, kind: str, coords: dict[str, np.ndarray],
            margin: float) -> list[tuple[float, float]]:
    if span is not None:
        if (isinstance(span, (tuple, list)) and len(span) == 2
                and all(isinstance(s, (tuple, list)) for s in span)):
            return [_span(span[0], "span[0]"), _span(span[1], "span[1]")]
        return [_span(span, "span")] * 2
    if kind != "pca" or not coords:
        return [(-1.0, 1.0), (-1.0, 1.0)]
    pts = np.vstack([np.zeros((1, 2)), *coords.values()])
    out = []
    for lo, hi in zip(pts.min(axis=0), pts.max(axis=0)):
        pad = margin * max(hi - lo, 1e-12)
        out.append((float(lo - pad), float(hi + pad)))
    return out


# ------------------------------------------------------------------------------ lr range test

@dataclass
class LRRangeTest:
    r"""What :func:`lr_range_test` measured: the rate of each step (``lrs``), the loss before
    that step (``losses``), its smoothed version (``smoothed``), why the test stopped, and
    the suggested rate with its rule (``"steepest"``: where the smoothed loss falls fastest
    against :math:`\log lr`, before its minimum; ``"minimum"``: a tenth of the rate at the
    smoothed loss's minimum).  Both suggestions are kept: ``steepest`` and ``min_tenth``."""

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    stopped: str
    steepest: float
    min_tenth: float
    rule: str
    optimizer: str

    @property
    def suggestion(self) -> float:
        """The suggested learning rate by :attr:`rule`."""
        return self.steepest if self.rule == "steepest" else self.min_tenth

    def plot(self, ax: Any = None) -> Any:
        """The loss (thin) and the smoothed loss against the rate (log axis), the suggestion
        marked; returns the figure."""
        if ax is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg

            from .plot.static import PlotFigure

            fig = PlotFigure(figsize=(6.0, 3.6), dpi=80)
            FigureCanvasAgg(fig)
            ax = fig.add_subplot()
        finite = np.isfinite(self.losses)
        ax.plot(self.lrs[finite], self.losses[finite], color="0.6", lw=0.8, label="loss")
        ax.plot(self.lrs, self.smoothed, color="#0072B2", lw=2, label="smoothed loss")
        i = int(np.argmin(np.abs(np.log(self.lrs) - math.log(self.suggestion))))
        ax.plot([self.suggestion], [self.smoothed[i]], "o", ms=9, mfc="#D55E00", mec="k",
                label=f"suggested lr = {self.suggestion:.3g} ({self.rule})")
        ax.set_xscale("log")
        top = np.nanmax(self.smoothed[: int(np.nanargmin(self.smoothed)) + 1])
        low = np.nanmin(self.smoothed)
        ax.set_ylim(low - 0.05 * (top - low), top + 0.3 * (top - low))
        ax.set(xlabel="learning rate", ylabel="loss",
               title=f"lr range test, {self.optimizer}: stopped at lr = {self.lrs[-1]:.3g}")
        ax.title.set_fontsize(10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
        return ax.figure


def _optimizer(model: Any, optimizer: Any, lr: float, kwargs: dict[str, Any]) -> Any:
    if _is_torch(model):
        import torch

        from .optim import OPTIMIZERS, did_you_mean

        if isinstance(optimizer, str):
            if optimizer.lower() not in OPTIMIZERS or optimizer.lower() == "lbfgs":
                choices = [k for k in OPTIMIZERS if k != "lbfgs"]
                raise ValueError(f"unknown optimizer {optimizer!r}: use one of "
                                 f"{', '.join(choices)} or a torch.optim class (L-BFGS's "
                                 f"steps are line searches, not lr steps)."
                                 f"{did_you_mean(optimizer, choices)}")
            optimizer = OPTIMIZERS[optimizer.lower()]
        if not (isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)):
            raise TypeError(f"optimizer must be a name ('sgd', 'adam', ...) or a torch.optim "
                            f"class, got {optimizer!r}")
        return optimizer(model.parameters(), lr=lr, **kwargs)
    from .autograd.optim import GD, Adam

    table = {"sgd": GD, "gd": GD, "adam": Adam}
    if isinstance(optimizer, str):
        if optimizer.lower() not in table:
            from .optim import did_you_mean

            raise ValueError(f"our engine's optimizers are 'sgd' (GD) and 'adam', got "
                             f"{optimizer!r}.{did_you_mean(optimizer, table)}")
        optimizer = table[optimizer.lower()]
    return optimizer(model.parameters(), lr=lr, **kwargs)


def _set_lr(opt: Any, lr: float) -> None:
    if hasattr(opt, "param_groups"):
        for group in opt.param_groups:
            group["lr"] = lr
    else:
        opt.lr = lr


def lr_range_test(model: Any, loss: Callable[[Any], Any], optimizer: Any = "sgd", *,
                  lr_min: float = 1e-6, lr_max: float = 10.0, steps: int = 100,
                  beta: float = 0.9, diverge: float = 4.0, rule: str = "steepest",
                  **optimizer_kwargs: Any) -> LRRangeTest:
    r"""Smith's learning-rate range test: train while the rate grows, watch the loss.

    Step k (of ``steps``) trains with :math:`lr_k = lr_{min} (lr_{max}/lr_{min})^{k/(steps-1)}`
    and records ``loss(model)`` before the step.  The loss is smoothed by an exponential
    moving average with bias correction, :math:`a_k = \beta a_{k-1} + (1-\beta) L_k`,
    :math:`\bar L_k = a_k / (1 - \beta^{k+1})` (fast.ai uses :math:`\beta = 0.98` for noisy
    mini-batch losses; 0.9 lags less and suits a full-batch loss).  The test stops when
    the loss is not finite or :math:`\bar L_k > ` ``diverge`` :math:`\times \min_j \bar L_j`.
    Suggestion (``rule``): ``"steepest"``, the rate where :math:`\bar L` falls fastest
    against :math:`\log lr` before its minimum; or ``"minimum"``, a tenth of the rate at
    the minimum of :math:`\bar L`.  The model's weights are put back afterwards (the
    optimizer is created here and thrown away).

    ``optimizer``: ``"sgd"``, ``"adam"``, ... (torch models: any name of
    :data:`optilab.optim.OPTIMIZERS` but L-BFGS, or a torch.optim class; our engine's
    Modules: ``"sgd"`` (GD) or ``"adam"``), with ``optimizer_kwargs`` (``momentum=0.9``).

    >>> from optilab.autograd.nn import Linear, MSELoss
    >>> net = Linear((1, 1), seed=0)
    >>> x = np.linspace(-1, 1, 20).reshape(-1, 1, 1)
    >>> test = lr_range_test(net, lambda m: MSELoss()(m(x), 3 * x + np.cos(7 * x)),
    ...                      lr_max=100)
    >>> round(test.suggestion, 2), test.stopped          # GD is stable for lr < 1 here
    (0.26, 'the loss exploded at lr = 8.9 (4 x its minimum)')
    """
    for name, v in (("lr_min", lr_min), ("lr_max", lr_max)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (
                math.isfinite(v) and v > 0):
            raise ValueError(f"{name} must be a positive number, got {v!r} "
                             f"(e.g. lr_min=1e-6, lr_max=10)")
    if lr_max <= lr_min:
        raise ValueError(f"lr_max must be larger than lr_min: the rate grows from lr_min to "
                         f"lr_max, got lr_min={lr_min}, lr_max={lr_max}")
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 5:
        raise ValueError(f"steps must be a whole number >= 5 (100 is usual), got {steps!r}")
    if not (isinstance(beta, (int, float)) and 0.0 <= beta < 1.0):
        raise ValueError(f"beta (the smoothing) must be in [0, 1), got {beta!r}; 0 = none")
    if not (isinstance(diverge, (int, float)) and diverge > 1.0):
        raise ValueError(f"diverge must be a number > 1 (stop when the smoothed loss is that "
                         f"many times its minimum), got {diverge!r}; try 4")
    if rule not in ("steepest", "minimum"):
        raise ValueError(f"rule must be 'steepest' or 'minimum', got {rule!r}")
    if not callable(loss):
        raise TypeError("loss must be a function of the model: `lambda m: loss_fn(m(X), Y)`")
    saved = weights_of(model)
    lrs = lr_min * (lr_max / lr_min) ** (np.arange(steps) / (steps - 1))
    opt = _optimizer(model, optimizer, float(lrs[0]), dict(optimizer_kwargs))
    losses, smoothed = [], []
    average, best = 0.0, math.inf
    stopped = f"reached lr_max = {lr_max:g} without exploding (raise lr_max)"
    try:
        for k, lr in enumerate(lrs):
            _set_lr(opt, float(lr))
            opt.zero_grad()
            value = loss(model)
            current = _number(value)
            losses.append(current)
            if not math.isfinite(current):
                smoothed.append(math.nan)
                stopped = f"the loss exploded at lr = {lr:.3g} (not finite)"
                break
            average = beta * average + (1 - beta) * current
            smoothed.append(average / (1 - beta ** (k + 1)))
            best = min(best, smoothed[-1])
            if k > 0 and smoothed[-1] > diverge * best:
                stopped = f"the loss exploded at lr = {lr:.3g} ({diverge:g} x its minimum)"
                break
            value.backward()
            opt.step()
    finally:
        set_weights(model, saved)
        for _, p in _named(model):
            p.grad = None
    k = len(losses)
    lrs_run, sm = lrs[:k], np.array(smoothed)
    steepest, min_tenth = _suggestions(lrs_run, sm)
    name = optimizer if isinstance(optimizer, str) else getattr(optimizer, "__name__", "")
    return LRRangeTest(lrs_run, np.array(losses), sm, stopped, steepest, min_tenth, rule,
                       str(name))


def _suggestions(lrs: np.ndarray, smoothed: np.ndarray) -> tuple[float, float]:
    """(steepest descent of the smoothed loss before its minimum, lr at the minimum / 10)."""
    finite = np.isfinite(smoothed)
    if finite.sum() < 3:
        raise ValueError(f"the loss exploded after {int(finite.sum())} steps, too early to "
                         f"suggest a rate: lower lr_min")
    lo = int(np.nanargmin(smoothed))
    min_tenth = float(lrs[lo] / 10)
    if lo < 2:
        return float(lrs[0]), min_tenth
    slope = np.gradient(smoothed[:lo + 1], np.log(lrs[:lo + 1]))
    return float(lrs[int(np.argmin(slope))]), min_tenth

