"""The benchmark problems: fixed (seeded) inputs and reference gradients, in plain numpy.

Every engine differentiates the same function at the same point, and each worker checks
its engine's gradient against the reference computed here:

(a) ``f(x) = ((x - 3) ** (2 / x) - 1) ** (x - 1)`` at x = 10.  Reference: complex step,
    f'(x) = Im f(x + ih) / h, exact to rounding (no subtractive cancellation).
(b) ``mean((tanh(tanh(X @ W1 + b1) @ W2 + b2) @ W3 + b3 - Y) ** 2)``: a 2-16-16-1 tanh MLP
    (linear output) on 100 points.  Reference: complex step on each of the 337 parameters.
(c) ``L(X) = sum_ij (|x_i - x_j|^2 - D_ij^2)^2 / 2``, X of shape (n, 2).  Reference:
    the closed form  dL/dx_i = 4 sum_j r_ij (x_i - x_j),  r = |x_i - x_j|^2 - D^2
    (r is symmetric), itself checked by complex step along random directions.

``python -m benchmarks.cases`` checks the references against central finite differences.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEED = 20240611
RTOL = 1e-6                          # gradient check: max|g - ref| <= RTOL * max|ref|
A_X0 = 10.0
MLP_SIZES = (2, 16, 16, 1)
MLP_POINTS = 100
C_SIZES = (36, 200, 1000)


# ------------------------------------------------------------------------------ (a)

def f_a(x: Any) -> Any:
    """The course's scalar example; works on floats, complex numbers and arrays."""
    return ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)


def reference_a() -> np.ndarray:
    h = 1e-30
    return np.array(np.imag(f_a(complex(A_X0, h))) / h)


# ------------------------------------------------------------------------------ (b)

def mlp_data() -> dict[str, np.ndarray]:
    """Weights (uniform +-1/sqrt(fan_in), as torch initialises), biases, points, targets."""
    rng = np.random.default_rng(SEED)
    data: dict[str, np.ndarray] = {}
    for k, (fan_in, fan_out) in enumerate(zip(MLP_SIZES[:-1], MLP_SIZES[1:]), start=1):
        bound = 1.0 / np.sqrt(fan_in)
        data[f"W{k}"] = rng.uniform(-bound, bound, size=(fan_in, fan_out))
        data[f"b{k}"] = rng.uniform(-bound, bound, size=(fan_out,))
    X = rng.uniform(-2.0, 2.0, size=(MLP_POINTS, MLP_SIZES[0]))
    data["X"] = X
    data["Y"] = (np.sin(X[:, :1]) * np.cos(X[:, 1:]))  # (100, 1)
    return data


MLP_PARAMS = ("W1", "b1", "W2", "b2", "W3", "b3")


def mlp_loss_tensors(X: Any, Y: Any, W1: Any, b1: Any, W2: Any, b2: Any, W3: Any,
                     b3: Any) -> Any:
    """(b) written once with operators and tensor methods: optilab and torch run this."""
    h1 = (X @ W1 + b1).tanh()
    h2 = (h1 @ W2 + b2).tanh()
    return ((h2 @ W3 + b3 - Y) ** 2).mean()


def mlp_loss(p: dict[str, Any]) -> Any:
    h1 = np.tanh(p["X"] @ p["W1"] + p["b1"])
    h2 = np.tanh(h1 @ p["W2"] + p["b2"])
    out = h2 @ p["W3"] + p["b3"]
    return np.mean((out - p["Y"]) ** 2)


def reference_b() -> np.ndarray:
    """The gradient with respect to W1, b1, W2, b2, W3, b3, flattened in that order."""
    data = mlp_data()
    h = 1e-30
    grads = []
    for name in MLP_PARAMS:
        base = data[name]
        g = np.empty(base.size)
        for i in range(base.size):
            bumped = base.astype(complex).ravel()
            bumped[i] += 1j * h
            g[i] = np.imag(mlp_loss({**data, name: bumped.reshape(base.shape)})) / h
        grads.append(g)
    return np.concatenate(grads)


# ------------------------------------------------------------------------------ (c)

def cities_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    """``(X0, D)``: a starting layout and the distance matrix of other random points."""
    rng = np.random.default_rng(SEED + n)
    points = rng.uniform(0.0, 10.0, size=(n, 2))
    D = np.sqrt(((points[:, None, :] - points[None, :, :]) ** 2).sum(axis=2))
    X0 = rng.uniform(0.0, 10.0, size=(n, 2))
    return X0, D


def loss_c(X: Any, D: np.ndarray) -> Any:
    diff = X[:, None, :] - X[None, :, :]
    sq = (diff ** 2).sum(axis=2)
    return ((sq - D ** 2) ** 2).sum() / 2


def gradient_c(X: np.ndarray, D: np.ndarray) -> np.ndarray:
    """dL/dx_i = 4 sum_j r_ij (x_i - x_j) with r = sq - D^2, in O(n^2) memory."""
    sq = (X * X).sum(1)
    r = sq[:, None] + sq[None, :] - 2.0 * X @ X.T - D ** 2
    return 4.0 * (r.sum(1)[:, None] * X - r @ X)


def reference_c(n: int, directions: int = 2) -> np.ndarray:
    X0, D = cities_data(n)
    g = gradient_c(X0, D)
    rng = np.random.default_rng(SEED)
    h = 1e-30
    for _ in range(directions):             # guard the closed form with the complex step
        v = rng.standard_normal(X0.shape)
        along = np.imag(loss_c(X0 + 1j * h * v, D)) / h
        exact = float(np.sum(g * v))
        if abs(along - exact) > 1e-9 * max(abs(along), np.abs(g).max() * np.abs(v).sum()):
            raise AssertionError(f"reference_c({n}): closed form {exact} vs complex step {along}")
    return g


# ------------------------------------------------------------------------------ common

def reference(case: str, n: int) -> np.ndarray:
    if case == "a":
        return reference_a()
    if case == "b":
        return reference_b()
    if case == "c":
        return reference_c(n)
    raise ValueError(f"unknown case {case!r}: expected 'a', 'b' or 'c'")


def relative_error(g: Any, ref: np.ndarray) -> float:
    """max|g - ref| / max|ref| (inf-norm relative error of the whole gradient)."""
    g = np.asarray(g, dtype=np.float64).reshape(ref.shape)
    return float(np.max(np.abs(g - ref)) / max(np.max(np.abs(ref)), 1e-300))


def _check_against_finite_differences() -> None:
    eps = 1e-6
    fd = (f_a(A_X0 + eps) - f_a(A_X0 - eps)) / (2 * eps)
    print(f"(a) complex step {float(reference_a()):.12g}   central FD {fd:.12g}")
    data = mlp_data()
    ref = reference_b()
    fd = []
    for name in MLP_PARAMS:
        for i in range(data[name].size):
            plus, minus = data[name].copy().ravel(), data[name].copy().ravel()
            plus[i] += eps
            minus[i] -= eps
            fd.append((mlp_loss({**data, name: plus.reshape(data[name].shape)})
                       - mlp_loss({**data, name: minus.reshape(data[name].shape)})) / (2 * eps))
    print(f"(b) {ref.size} parameters, max rel. difference to central FD "
          f"{relative_error(np.array(fd), ref):.2e}")
    for n in C_SIZES:
        reference_c(n, directions=3)
        print(f"(c) n={n}: closed form agrees with the complex step along 3 directions")


if __name__ == "__main__":
    _check_against_finite_differences()
