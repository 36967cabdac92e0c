"""Module: a model is an object whose tensor attributes are its parameters.

    class Quadratic(Module):
        def __init__(self, x0):
            super().__init__()
            self.x = Tensor(x0)          # a parameter, just by being an attribute

        def forward(self):
            return (self.x - 2) ** 2

Every leaf Tensor with ``requires_grad`` that is an attribute -- directly, inside a
sub-module, or inside a list/tuple/dict attribute -- is a parameter.  The attributes
are read when you ask, so parameters added later, or kept in lists, are never missed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .tensor import Tensor


class Module:
    """Base class for models: define ``forward``; call the module to run it."""

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} has no forward(): define `def forward(self, ...)` "
            f"returning the model's output (or loss) computed from its parameters."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """``(name, tensor)`` for every parameter, each once, in attribute order."""
        seen: set[int] = set()
        for name, t in _tensors(self, "", set()):
            if id(t) not in seen:
                seen.add(id(t))
                yield name, t

    def parameters(self) -> list[Tensor]:
        """The parameters, as a list (give it to an optimizer)."""
        return [t for _, t in self.named_parameters()]

    def collect_parameters(self) -> list[Tensor]:
        """Same as :meth:`parameters` (the name older course material uses)."""
        return self.parameters()

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zeros (gradients add up otherwise)."""
        for p in self.parameters():
            p.grad = np.zeros_like(p.value)

    def forward_dataset(self, dataset: Any, loss: Any) -> Tensor:
        """The mean of ``loss(self(x_i), y_i)`` over the samples of ``dataset``.

        When the loss averages over elements (``MSELoss``), the mean over samples is the
        loss of the whole batch, so the dataset goes through ``forward`` in one vectorised
        call (samples stacked along the first axis); other losses run sample by sample.
        """
        xs, ys = dataset.x, dataset.y
        if len(xs) == 0:
            raise ValueError("forward_dataset: the dataset is empty")
        if getattr(loss, "averages_elements", False):
            return loss(self(xs), ys)
        total = loss(self(xs[0]), ys[0])
        for x, y in zip(xs[1:], ys[1:]):
            total = total + loss(self(x), y)
        return total / len(xs)

    def __repr__(self) -> str:
        params = ", ".join(f"{n}: {tuple(t.shape)}" for n, t in self.named_parameters())
        return f"{type(self).__name__}({params})"


def _tensors(obj: Any, prefix: str, visiting: set[int]) -> Iterator[tuple[str, Tensor]]:
    """Walk attributes (and lists/tuples/dicts of them) for parameter tensors."""
    if isinstance(obj, Tensor):
        if obj.requires_grad and obj.is_leaf:
            yield prefix.rstrip("."), obj
        return
    if id(obj) in visiting:
        return
    if isinstance(obj, Module):
        items: Any = vars(obj).items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    elif isinstance(obj, dict):
        items = obj.items()
    else:
        return
    visiting.add(id(obj))
    for key, value in items:
        yield from _tensors(value, f"{prefix}{key}.", visiting)
    visiting.discard(id(obj))
