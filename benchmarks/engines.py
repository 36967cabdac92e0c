"""One function per (engine, case): build the inputs once, return the work to time.

Each ``<engine>_<case>(n)`` imports its engine (and nothing else's), prepares the fixed
inputs from :mod:`benchmarks.cases`, and returns a zero-argument callable that does one
full forward + backward pass from a fresh input and returns the gradient (converted to
numpy by the worker, outside the timed region).  The code is written as a user of each
engine would write it, with that engine's public API:

=========  ===========================================================================
engine     API timed
=========  ===========================================================================
optilab    (a), (b): ``ag.Tensor`` + ``y.backward()`` + ``.grad`` (the object API);
           (c): ``ag.grad(L)(X)`` (the functional API)
torch      (a), (b): ``torch.tensor(..., requires_grad=True)`` + ``backward()`` + ``.grad``;
           (c): ``torch.autograd.grad(L(X), X)``; eager mode, float64, one thread
HIPS       ``autograd.grad(f)`` (its only API) with ``autograd.numpy``
micrograd  scalar ``Value`` graphs, ``backward()``, ``.grad``.  micrograd 0.1.0 has no
           ``tanh`` and no ``Value ** Value``; they are added below as one micrograd-style
           node each (a ``Value`` with a ``_backward`` closure, as in micrograd's lecture).
=========  ===========================================================================

Leaves' gradients are reset (``p.grad = None`` / ``0``) inside the timed call, as in a
training step.  The formulation of (c) is the same vectorised one for optilab, torch
and HIPS: ``diff = X[:, None, :] - X[None, :, :]; sq = (diff ** 2).sum(axis=2);
L = ((sq - D ** 2) ** 2).sum() / 2``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from typing import Any

from . import cases

Work = Callable[[], Any]


class NotApplicable(Exception):
    """This engine cannot run this case (the message says why)."""


# ============================================================================ optilab

def optilab_a(n: int = 0) -> Work:
    import optilab.autograd as ag

    def work():
        x = ag.Tensor(cases.A_X0)
        y = ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)
        y.backward()
        return x.grad

    return work


def optilab_b(n: int = 0) -> Work:
    import optilab.autograd as ag

    d = cases.mlp_data()
    X = ag.Tensor(d["X"], requires_grad=False)
    Y = ag.Tensor(d["Y"], requires_grad=False)
    params = [ag.Tensor(d[name]) for name in cases.MLP_PARAMS]
    def work():
        for p in params:
            p.grad = None
        cases.mlp_loss_tensors(X, Y, *params).backward()
        return [p.grad for p in params]

    return work


def optilab_c(n: int) -> Work:
    import optilab.autograd as ag

    X0, D = cases.cities_data(n)

    def L(X):
        diff = X[:, None, :] - X[None, :, :]
        sq = (diff ** 2).sum(axis=2)
        return ((sq - D ** 2) ** 2).sum() / 2

    dL = ag.grad(L)
    return lambda: dL(X0)


# ============================================================================== torch

def _torch():
    import torch

    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):   # allowed once, before any parallel work
        torch.set_num_interop_threads(1)
    return torch


def torch_a(n: int = 0) -> Work:
    torch = _torch()

    def work():
        x = torch.tensor(cases.A_X0, dtype=torch.float64, requires_grad=True)
        y = ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)
        y.backward()
        return x.grad

    return work


def torch_b(n: int = 0) -> Work:
    torch = _torch()
    d = cases.mlp_data()
    X = torch.tensor(d["X"], dtype=torch.float64)
    Y = torch.tensor(d["Y"], dtype=torch.float64)
    params = [torch.tensor(d[name], dtype=torch.float64, requires_grad=True)
              for name in cases.MLP_PARAMS]
    def work():
        for p in params:
            p.grad = None
        cases.mlp_loss_tensors(X, Y, *params).backward()
        return [p.grad for p in params]

    return work


def torch_c(n: int) -> Work:
    torch = _torch()
    X0, Dn = cases.cities_data(n)
    D = torch.tensor(Dn, dtype=torch.float64)

    def L(X):
        diff = X[:, None, :] - X[None, :, :]
        sq = (diff ** 2).sum(axis=2)
        return ((sq - D ** 2) ** 2).sum() / 2

    def work():
        X = torch.tensor(X0, dtype=torch.float64, requires_grad=True)
        return torch.autograd.grad(L(X), X)[0]

    return work


# ======================================================================= HIPS autograd

def hips_a(n: int = 0) -> Work:
    from autograd import grad

    def f(x):
        return ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)

    df = grad(f)
    return lambda: df(cases.A_X0)


def hips_b(n: int = 0) -> Work:
    import autograd.numpy as np
    from autograd import grad

    d = cases.mlp_data()
    X, Y = d["X"], d["Y"]
    params = [d[name] for name in cases.MLP_PARAMS]

    def loss(params):
        W1, b1, W2, b2, W3, b3 = params
        h1 = np.tanh(X @ W1 + b1)
        h2 = np.tanh(h1 @ W2 + b2)
        out = h2 @ W3 + b3
        return np.mean((out - Y) ** 2)

    dloss = grad(loss)
    return lambda: dloss(params)


def hips_c(n: int) -> Work:
    import autograd.numpy as np
    from autograd import grad

    X0, D = cases.cities_data(n)

    def L(X):
        diff = X[:, None, :] - X[None, :, :]
        sq = np.sum(diff ** 2, axis=2)
        return np.sum((sq - D ** 2) ** 2) / 2

    dL = grad(L)
    return lambda: dL(X0)


# ========================================================================== micrograd

def _mg_pow(a: Any, b: Any) -> Any:
    """a ** b for two Values (micrograd 0.1.0 only takes constant exponents)."""
    from micrograd.engine import Value

    out = Value(a.data ** b.data, (a, b), "**")

    def _backward():
        a.grad += b.data * a.data ** (b.data - 1) * out.grad   # d/da a^b = b a^(b-1)
        b.grad += out.data * math.log(a.data) * out.grad       # d/db a^b = a^b log a
    out._backward = _backward
    return out


def _mg_tanh(a: Any) -> Any:
    """tanh for a Value (not in micrograd 0.1.0; as in micrograd's lecture)."""
    from micrograd.engine import Value

    t = math.tanh(a.data)
    out = Value(t, (a,), "tanh")

    def _backward():
        a.grad += (1 - t * t) * out.grad
    out._backward = _backward
    return out


def micrograd_a(n: int = 0) -> Work:
    from micrograd.engine import Value

    def work():
        x = Value(cases.A_X0)
        y = _mg_pow(_mg_pow(x - 3.0, 2.0 / x) - 1, x - 1.0)
        y.backward()
        return x.grad

    return work


def micrograd_b(n: int = 0) -> Work:
    from micrograd.engine import Value

    d = cases.mlp_data()
    X, Y = d["X"].tolist(), d["Y"][:, 0].tolist()
    W1, b1, W2, b2, W3, b3 = [
        [[Value(w) for w in row] for row in d[name].tolist()] if d[name].ndim == 2
        else [Value(b) for b in d[name].tolist()]
        for name in cases.MLP_PARAMS
    ]
    params = [*sum(W1, []), *b1, *sum(W2, []), *b2, *sum(W3, []), *b3]   # cases' order

    def layer(x, W, b):       # x: list of inputs; W[i][k]: weight from input i to unit k
        return [sum((x[i] * W[i][k] for i in range(len(x))), b[k]) for k in range(len(b))]

    def work():
        for p in params:
            p.grad = 0
        terms = []
        for x, y in zip(X, Y):
            h1 = [_mg_tanh(v) for v in layer(x, W1, b1)]
            h2 = [_mg_tanh(v) for v in layer(h1, W2, b2)]
            out = layer(h2, W3, b3)[0]
            terms.append((out - y) ** 2)
        loss = sum(terms) * (1.0 / len(terms))
        loss.backward()
        return [p.grad for p in params]

    return work


MICROGRAD_C_MAX_N = 36


def micrograd_c(n: int) -> Work:
    if n > MICROGRAD_C_MAX_N:
        raise NotApplicable(f"scalar engine: about 10 n^2 = {10 * n * n:,} nodes per call")
    from micrograd.engine import Value

    X0, D = cases.cities_data(n)
    X0, D = X0.tolist(), D.tolist()

    def work():
        X = [[Value(a), Value(b)] for a, b in X0]
        rows = []
        for i in range(n):
            terms = []
            for j in range(n):
                sq = (X[i][0] - X[j][0]) ** 2 + (X[i][1] - X[j][1]) ** 2
                terms.append((sq - D[i][j] ** 2) ** 2)
            rows.append(sum(terms))
        L = sum(rows) * 0.5
        L.backward()
        return [[p.grad for p in row] for row in X]

    return work


# =========================================================================== registry

ENGINES: dict[str, dict[str, Any]] = {
    "optilab": {"module": "optilab.autograd", "label": "optilab",
                "a": optilab_a, "b": optilab_b, "c": optilab_c},
    "torch": {"module": "torch", "label": "torch",
              "a": torch_a, "b": torch_b, "c": torch_c},
    "hips": {"module": "autograd", "label": "HIPS autograd",
             "a": hips_a, "b": hips_b, "c": hips_c},
    "micrograd": {"module": "micrograd", "label": "micrograd",
                  "a": micrograd_a, "b": micrograd_b, "c": micrograd_c},
}
