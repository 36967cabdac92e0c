"""Small neural-network pieces on the engine: layers, activations, a loss, a dataset.

The course's convention: a sample is a column vector, so a layer computes
``W @ x + b`` with W of shape (out, in), x of shape (in, 1) and b of shape (out, 1).
A batch stacks samples along a first axis, (N, in, 1), and broadcasting does the rest.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import primitives as P
from . import reductions as R
from . import shapes as S
from .module import Module
from .tensor import Tensor


class Linear(Module):
    """``x -> W @ x + b`` for column vectors; ``Linear((out, in))``.

    Weights start uniform in [-1/sqrt(in), 1/sqrt(in)] (torch's default), bias at 0.
    """

    def __init__(self, shape: tuple[int, int], seed: int | None = None) -> None:
        if not (isinstance(shape, (tuple, list)) and len(shape) == 2
                and all(isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 1
                        for n in shape)):
            raise ValueError(f"Linear takes a shape (out, in) of two positive ints, got "
                             f"{shape!r} (e.g. Linear((3, 2)) maps 2 inputs to 3 outputs)")
        out_size, in_size = shape
        bound = 1.0 / np.sqrt(in_size)
        rng = np.random.default_rng(seed)
        self.weight = Tensor(rng.uniform(-bound, bound, size=(out_size, in_size)))
        self.bias = Tensor(np.zeros((out_size, 1)))

    def forward(self, x: Any) -> Tensor:
        return self.weight @ x + self.bias


class Perceptron(Module):
    """``x -> tanh(W @ x + b)``: ``Perceptron(output_size, input_size)``."""

    def __init__(self, output_size: int, input_size: int, seed: int | None = None) -> None:
        self.linear = Linear((output_size, input_size), seed=seed)

    def forward(self, x: Any) -> Tensor:
        return P.tanh(self.linear(x))


class MSELoss(Module):
    """Mean squared error: ``mean((prediction - target) ** 2)``."""

    averages_elements = True  # so Module.forward_dataset may batch the samples

    def forward(self, prediction: Any, target: Any) -> Tensor:
        p, t = (np.shape(a.value if isinstance(a, Tensor) else a) for a in (prediction, target))
        if np.broadcast_shapes(p, t) != p:
            raise ValueError(
                f"MSELoss: prediction of shape {p} and target of shape {t} would broadcast to "
                f"{np.broadcast_shapes(p, t)} and compare every prediction with every target. "
                f"Give them the same shape (e.g. target.reshape({p})).")
        return R.mean((prediction - target) ** 2)


def softmax(logits: Any, axis: int = -1) -> Tensor:
    """softmax(z)_k = e^(z_k) / sum_j e^(z_j): probabilities that sum to 1 along ``axis``."""
    return R.softmax(logits, axis=axis)


def log_softmax(logits: Any, axis: int = -1) -> Tensor:
    """log softmax(z) = z - logsumexp(z), computed without overflow or log(0)."""
    return R.log_softmax(logits, axis=axis)


def cross_entropy(logits: Any, target: Any, axis: int = 1) -> Tensor:
    """The mean over samples of -log p(true class), p = softmax(logits) along ``axis``.

    ``logits`` has the classes on ``axis`` (torch's convention: (N, C); the course's
    column vectors (N, C, 1) work as well; a single sample (C,) too).  ``target`` holds
    integer class labels (one per sample), or probabilities with the shape of ``logits``.
    Computed from log_softmax, so a confident wrong answer costs a large finite loss,
    never inf or nan.
    """
    shape = np.shape(logits.value if isinstance(logits, Tensor) else logits)
    axis = 0 if len(shape) == 1 else axis % len(shape)
    logp = R.log_softmax(logits, axis=axis)
    if not isinstance(target, Tensor):
        target = np.asarray(target)
    if np.issubdtype(target.dtype, np.floating) and target.shape == shape:
        return R.mean(-R.sum(logp * target, axis=axis))    # soft labels: -sum p log q
    target = target.value if isinstance(target, Tensor) else target
    if not np.issubdtype(target.dtype, np.integer):
        raise TypeError(f"cross_entropy: target must be integer class labels or "
                        f"probabilities of the logits' shape {shape}, got dtype "
                        f"{target.dtype} and shape {target.shape}")
    classes = shape[axis]
    rows = S.reshape(S.moveaxis(logp, axis, -1), (-1, classes))
    labels = target.ravel()
    if labels.size != rows.shape[0]:
        raise ValueError(f"cross_entropy: {rows.shape[0]} samples in logits of shape {shape} "
                         f"(classes on axis {axis}) but {labels.size} labels")
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise ValueError(f"cross_entropy: labels must be in 0..{classes - 1}, got "
                         f"{labels.min()}..{labels.max()}")
    return R.mean(-rows[np.arange(labels.size), labels])


class CrossEntropyLoss(Module):
    """``CrossEntropyLoss()(logits, labels)``: see :func:`cross_entropy`."""

    def forward(self, logits: Any, target: Any) -> Tensor:
        return cross_entropy(logits, target)


class Exp(Module):
    """``Exp()(x) = exp(x)``, an operation as an object."""

    def forward(self, x: Any) -> Tensor:
        return P.exp(x)


class Tanh(Module):
    """``Tanh()(x) = tanh(x)``."""

    def forward(self, x: Any) -> Tensor:
        return P.tanh(x)


class Sigmoid(Module):
    """``Sigmoid()(x) = 1 / (1 + exp(-x))``."""

    def forward(self, x: Any) -> Tensor:
        return P.sigmoid(x)


class ReLU(Module):
    """``ReLU()(x) = max(x, 0)``."""

    def forward(self, x: Any) -> Tensor:
        return P.relu(x)


class Dataset:
    """Inputs and targets, one sample per entry of the first axis: ``Dataset(x, y)``."""

    def __init__(self, x: Any, y: Any) -> None:
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        if self.x.ndim == 0 or self.y.ndim == 0 or len(self.x) != len(self.y):
            raise ValueError(
                f"Dataset needs as many targets as inputs along the first axis, got x of "
                f"shape {self.x.shape} and y of shape {self.y.shape}"
            )

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: Any) -> tuple[np.ndarray, np.ndarray]:
        return self.x[i], self.y[i]

    def __repr__(self) -> str:
        return f"Dataset({len(self)} samples, x: {self.x.shape[1:]}, y: {self.y.shape[1:]})"
