r"""Exercises of notebook 13, "The landscape of a real net", and its net and data.

* ``q1`` filter normalisation of a random direction (Li et al., 2018);
* ``q2`` the two principal directions of a training path (an SVD of its differences from the
  final weights);
* ``q3`` the coordinates of a point in a plane spanned by two directions that are neither
  unit nor orthogonal.

``sine_data()`` and ``MLP`` are notebook 7's thirty noisy points of sin 3x and its tanh
network (``MLP([1, 16, 16, 1])``: 321 parameters); ``torch_copy(net)`` is the same network
in torch (float64, the same weights), whose loss agrees to rounding.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..autograd import Module
from ..autograd.nn import Linear
from .base import Exercise, Mistake, call
from .diagnose import _show, close, compare_function, to_array

__all__ = ["q1", "q2", "q3", "sine_data", "MLP", "torch_copy"]


# ----------------------------------------------------------------------------- the net

def sine_data(n: int = 30, noise: float = 0.1, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Notebook 7's data: ``n`` points of sin(3x) on [-1, 1] plus Gaussian noise."""
    xs = np.linspace(-1, 1, n)
    return xs, np.sin(3 * xs) + noise * np.random.default_rng(seed).normal(size=n)


class MLP(Module):
    """Notebook 7's network: tanh between Linear layers, a linear output;
    ``sizes = [n_in, hidden..., n_out]``, samples as columns ``(N, n_in, 1)``."""

    def __init__(self, sizes: list[int], seed: int = 0) -> None:
        self.layers = [Linear((n_out, n_in), seed=seed + i)
                       for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]))]

    def forward(self, x: Any) -> Any:
        for layer in self.layers[:-1]:
            x = layer(x).tanh()
        return self.layers[-1](x)


def torch_copy(net: MLP) -> Any:
    """The same network in torch (``nn.Sequential`` of ``Linear`` and ``Tanh``, float64),
    with the same weights; it takes rows ``(N, n_in)``.  Its parameters come in the same
    order as ``net``'s, so ``weights_of`` gives the same vector."""
    import torch

    layers: list[Any] = []
    for layer in net.layers:
        out_size, in_size = layer.weight.shape
        linear = torch.nn.Linear(in_size, out_size).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(layer.weight.value))
            linear.bias.copy_(torch.from_numpy(layer.bias.value.reshape(-1)))
        layers += [linear, torch.nn.Tanh()]
    return torch.nn.Sequential(*layers[:-1])


# ----------------------------------------------------------------------------- q1

def _rows(a: np.ndarray) -> np.ndarray:
    return np.linalg.norm(a, axis=1, keepdims=True)


def _filter_normalize(d: np.ndarray, w: np.ndarray) -> np.ndarray:
    return d * _rows(w) / _rows(d)


def _q1_cases() -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(13)
    cases = []
    for shape in ((3, 2), (4, 5), (3, 3)):
        w = rng.normal(size=shape) * rng.uniform(0.2, 3.0, size=(shape[0], 1))
        cases.append((rng.normal(size=shape), w))
    return cases


def _check_q1(filter_normalize: Any) -> str:
    alternatives = {
        "not_normalised": (lambda d, w: d,
                           "you returned the random direction as it is: filter normalisation "
                           "rescales each row of d to the norm of the same row of the weights. "
                           "Without it, a step of 1 moves small units far and large ones "
                           "little, and pictures of different nets cannot be compared."),
        "layer_not_filter": (lambda d, w: d * np.linalg.norm(w) / np.linalg.norm(d),
                             "you matched the norm of the whole matrix (layer normalisation): "
                             "match each row (each unit's incoming weights) separately."),
        "columns": (lambda d, w: d * np.linalg.norm(w, axis=0) / np.linalg.norm(d, axis=0),
                    "you normalised the columns: a filter is a row of the (out, in) weight "
                    "matrix, the weights coming into one unit (norms along axis=1)."),
        "unit_rows": (lambda d, w: d / _rows(d),
                      "your rows have norm 1: each should have the norm of the same row of the "
                      "weights, so multiply by ||w_i|| too."),
        "squared_norms": (lambda d, w: d * _rows(w) ** 2 / _rows(d) ** 2,
                          "you used squared norms: the factor is ||w_i|| / ||d_i|| (np.linalg."
                          "norm, a square root), not ||w_i||^2 / ||d_i||^2."),
        "weights_returned": (lambda d, w: w,
                             "you returned the weights: the direction keeps d's own pattern "
                             "and takes only the length of each of w's rows."),
        "inverted": (lambda d, w: d * _rows(d) / _rows(w),
                     "the factor is upside down: d_i * ||w_i|| / ||d_i||."),
    }
    mistake = compare_function(filter_normalize, _filter_normalize, _q1_cases(),
                               what="filter_normalize(d, w)", alternatives=alternatives)
    if mistake:
        raise mistake
    return ("every row of your direction has the norm of the same row of the weights: "
            "a step of 1 along it changes each unit by its own size.")


q1 = Exercise(
    "13.1", "Filter normalisation",
    r"""Write `filter_normalize(d, w)`: given a random direction `d` and the weight matrix `w`
of one layer (both of shape (out, in), a row per unit), return the direction whose row $i$ is
$d_i \, \|w_i\| / \|d_i\|$: the pattern of $d$, the size of $w$, unit by unit.""",
    answers="filter_normalize",
    check=_check_q1,
    hints=["A 'filter' of a linear layer is one row of its (out, in) weight matrix: the weights "
           "coming into one unit. Each row of d is rescaled separately.",
           "`np.linalg.norm(a, axis=1, keepdims=True)` is the (out, 1) column of the rows' "
           "norms; keepdims makes it broadcast against the (out, in) matrix.",
           "`d * norm(w) / norm(d)` with both norms taken along axis 1 (keepdims=True)."],
    solution="""
import numpy as np


def filter_normalize(d, w):
    rows = lambda a: np.linalg.norm(a, axis=1, keepdims=True)
    return d * rows(w) / rows(d)
""",
    stub="""
import numpy as np


def filter_normalize(d, w):
    raise NotImplementedError("Exercise 13.1: rescale each row of d to the norm of w's row")
""",
)


# ----------------------------------------------------------------------------- q2

def _signed(dirs: np.ndarray) -> np.ndarray:
    """Rows with the sign that makes their largest component positive (SVD signs are free)."""
    dirs = np.array(dirs, dtype=float)
    for d in dirs:
        d *= np.sign(d[np.argmax(np.abs(d))]) or 1.0
    return dirs


def _top2(M: np.ndarray) -> np.ndarray:
    return _signed(np.linalg.svd(M, full_matrices=False)[2][:2])


def _pca(path: np.ndarray) -> np.ndarray:
    return _top2(path - path[-1])


def _planted_path() -> np.ndarray:
    """A path of 40 points in 6-D: a curved approach to its end plus a little noise, far
    from the origin (so raw weights and their differences differ) and not centred."""
    rng = np.random.default_rng(7)
    t = np.linspace(0.0, 1.0, 40)[:, None]
    a, b = rng.normal(size=6), rng.normal(size=6)
    end = 5.0 + rng.normal(size=6)
    return end + 3.0 * (1 - t) ** 2 * a + 1.5 * np.sin(3 * t) * (1 - t) * b \
        + 0.01 * rng.normal(size=(40, 6))


def _check_q2(pca_directions: Any) -> str:
    path = _planted_path()
    out = to_array(call(pca_directions, path.copy(), name="pca_directions"),
                   "pca_directions's result")
    if out.shape != (2, path.shape[1]):
        if out.shape == (path.shape[1], 2):
            raise Mistake("transposed", f"return the two directions as rows, shape (2, "
                          f"{path.shape[1]}) (you returned their transpose)")
        if out.shape[-1] == len(path):
            raise Mistake("left_vectors", f"your directions have {len(path)} numbers, one per "
                          f"point of the path: those are U's columns. The directions in weight "
                          f"space are the rows of Vt (np.linalg.svd(M) returns U, S, Vt).")
        raise Mistake("shape", f"expected two directions of {path.shape[1]} numbers, shape "
                      f"(2, {path.shape[1]}), got shape {out.shape}")
    got = _signed(out)
    norms = np.linalg.norm(out, axis=1)
    want = _pca(path)
    if close(got, want, 1e-6, 1e-8):
        return ("the two leading right singular vectors of the path's differences from its "
                "end: the plane through the final weights that holds the most of the path.")
    alternatives = {
        "raw_weights": (_top2(path),
                        "that is the SVD of the raw weights: their first direction points from "
                        "the origin of weight space to the path, not along it. Subtract the "
                        "final weights first: M = path - path[-1]."),
        "from_start": (_top2(path - path[0]),
                       "you took differences from the first point: the slice is centred on "
                       "the final (trained) weights, so subtract path[-1]."),
        "centred": (_top2(path - path.mean(axis=0)),
                    "you centred the rows (subtracted their mean, as sklearn's PCA does): "
                    "that plane fits the path around its mean point. The slice passes through "
                    "the final weights, and the plane through them that holds the most of the "
                    "path comes from the SVD of M = path - path[-1] as it is."),
        "scaled": (_signed(np.linalg.svd(path - path[-1], full_matrices=False)[1][:2, None]
                           * np.linalg.svd(path - path[-1], full_matrices=False)[2][:2]),
                   "your directions are multiplied by their singular values: return unit "
                   "vectors, the rows of Vt themselves."),
    }
    for key, (value, message) in alternatives.items():
        if close(got, value, 1e-6, 1e-8):
            raise Mistake(key, message)
    if not np.allclose(norms, 1.0, atol=1e-6):
        raise Mistake("not_unit", f"your directions have lengths {_show(norms)}: return unit "
                      f"vectors (the rows of Vt are)")
    if close(got[::-1], want, 1e-6, 1e-8):
        raise Mistake("order", "your two directions are in the wrong order: the first one "
                      "holds the most (the largest singular value)")
    raise Mistake("wrong", f"your directions are not the path's principal ones: got "
                  f"{_show(got)}, expected (up to sign) {_show(want)}")


q2 = Exercise(
    "13.2", "The plane of a training path",
    r"""Write `pca_directions(path)`: `path` is a (k, P) array, the weights after each of k
steps, the last row the final weights $\theta^*$. Return a (2, P) array: the two unit
directions of the plane through $\theta^*$ that holds the most of the path, the two leading
right singular vectors of $M = [\theta_i - \theta^*]_i$ (rows $i = 0, \dots, k-1$), first the
one with the largest singular value. (Their signs are free.)""",
    answers="pca_directions",
    check=_check_q2,
    hints=["Start from the differences: every point of the path minus the final weights "
           "(the last row). Broadcasting subtracts one row from all rows at once.",
           "`U, S, Vt = np.linalg.svd(M, full_matrices=False)`: the rows of Vt are orthonormal "
           "directions in weight space, sorted by the singular values S (largest first).",
           "`M = path - path[-1]`, its SVD, and return `Vt[:2]`. Do not subtract the mean of "
           "M: the plane must pass through the final weights."],
    solution="""
import numpy as np


def pca_directions(path):
    M = path - path[-1]
    U, S, Vt = np.linalg.svd(M, full_matrices=False)
    return Vt[:2]
""",
    stub="""
import numpy as np


def pca_directions(path):
    raise NotImplementedError("Exercise 13.2: return the top two right singular vectors of "
                              "path - path[-1]")
""",
)


# ----------------------------------------------------------------------------- q3

def _project(theta: np.ndarray, center: np.ndarray, d1: np.ndarray,
             d2: np.ndarray) -> np.ndarray:
    D = np.stack([d1, d2])
    return np.linalg.solve(D @ D.T, D @ (theta - center))


def _q3_cases() -> list[tuple[np.ndarray, ...]]:
    rng = np.random.default_rng(3)
    cases = []
    for _ in range(3):
        center = rng.normal(size=5) + 2.0
        d1 = 2.5 * rng.normal(size=5)
        d2 = 0.6 * d1 + 0.8 * rng.normal(size=5)        # neither unit nor orthogonal
        theta = center + 0.7 * d1 - 1.3 * d2 + 0.05 * rng.normal(size=5)
        cases.append((theta, center, d1, d2))
    return cases


def _check_q3(project: Any) -> str:
    dots = lambda t, c, d1, d2: np.array([(t - c) @ d1, (t - c) @ d2])
    alternatives = {
        "unnormalised_dots": (dots,
                              "you took dot products with the directions as they are: a step "
                              "alpha along d1 gives the dot product alpha |d1|^2, not alpha. "
                              "Solve for the coordinates instead (least squares)."),
        "dots_over_norm": (lambda t, c, d1, d2: dots(t, c, d1, d2)
                           / np.array([np.linalg.norm(d1), np.linalg.norm(d2)]),
                           "dividing the dot product by |d| gives the length of the shadow on "
                           "d, in weight units; the coordinate alpha counts steps of d "
                           "(and the directions are not orthogonal): solve the 2 x 2 system."),
        "not_orthogonal": (lambda t, c, d1, d2: dots(t, c, d1, d2)
                           / np.array([d1 @ d1, d2 @ d2]),
                           "dot products divided by |d|^2 are the coordinates only when the "
                           "directions are orthogonal; these are not (random directions seldom "
                           "are, filter-normalised ones never exactly): solve G c = D (theta - "
                           "center) with the Gram matrix G = D D^T, or np.linalg.lstsq."),
        "no_center": (lambda t, c, d1, d2: _project(t, np.zeros_like(c), d1, d2),
                      "you projected theta itself: the plane passes through the centre, so "
                      "project theta - center."),
        "swapped": (lambda t, c, d1, d2: _project(t, c, d1, d2)[::-1],
                    "you returned (beta, alpha): alpha goes with d1."),
    }
    mistake = compare_function(project, _project, _q3_cases(),
                               what="project(theta, center, d1, d2)", alternatives=alternatives,
                               rtol=1e-6, atol=1e-8)
    if mistake:
        raise mistake
    return ("right even for directions that are neither unit nor orthogonal: the path on a "
            "filter-normalised slice lands where the loss surface says.")


q3 = Exercise(
    "13.3", "A point's coordinates in the plane",
    r"""A slice is the plane $\theta^* + \alpha d_1 + \beta d_2$. Write
`project(theta, center, d1, d2)`: the coordinates $(\alpha, \beta)$ of the point of the plane
closest to `theta` (vectors of P numbers; `center` is $\theta^*$). The directions are not
unit vectors and not orthogonal (filter-normalised random directions are neither).""",
    answers="project",
    check=_check_q3,
    hints=["Write the plane as $\\theta^* + D^T c$ with $D$ the (2, P) matrix of the two "
           "directions and $c = (\\alpha, \\beta)$: you want the $c$ closest to "
           "$\\theta - \\theta^*$, a least-squares problem.",
           "The normal equations of that least-squares problem are $(D D^T) c = D(\\theta - "
           "\\theta^*)$: a 2 x 2 system. Dot products alone, $D(\\theta - \\theta^*)$, are the "
           "answer only when $D D^T$ is the identity (unit, orthogonal directions).",
           "`D = np.stack([d1, d2])`, then `np.linalg.solve(D @ D.T, D @ (theta - center))` "
           "(or `np.linalg.lstsq(D.T, theta - center, rcond=None)[0]`)."],
    solution="""
import numpy as np


def project(theta, center, d1, d2):
    D = np.stack([d1, d2])
    return np.linalg.solve(D @ D.T, D @ (theta - center))
""",
    stub="""
import numpy as np


def project(theta, center, d1, d2):
    raise NotImplementedError("Exercise 13.3: return (alpha, beta)")
""",
)
