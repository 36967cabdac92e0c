"""Hand-made optimizers on the engine, with torch.optim's conventions and formulas.

    opt = GD(model.parameters(), lr=0.1)
    for step in range(100):
        opt.zero_grad()            # gradients add up otherwise
        loss = model()
        loss.backward()
        opt.step()
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable

import numpy as np

from .module import Module
from .tensor import Tensor


class Optimizer:
    """Holds the parameters; subclasses define how one step moves them."""

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = _parameter_list(params, type(self).__name__)
        self.lr = _positive("lr", lr, "try 0.1 or 1e-3")
        self._warned_accumulation = False

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zeros."""
        for p in self.params:
            p.grad = np.zeros_like(p.value)

    def step(self) -> None:
        raise NotImplementedError

    def _gradients(self) -> list[np.ndarray]:
        """The parameters' gradients, after catching the classic mistakes."""
        if all(p.grad is None for p in self.params):
            raise RuntimeError(
                "step() found no gradients: call loss.backward() before optimizer.step()"
            )
        if all(p._grad_passes == 0 and not np.any(p.grad) for p in self.params):
            raise RuntimeError(
                "step() found only the zeros that zero_grad() put there: no backward() ran "
                "since. The order is zero_grad(); loss = ...; loss.backward(); step()."
            )
        passes = max(p._grad_passes for p in self.params)
        if passes > 1 and not self._warned_accumulation:
            self._warned_accumulation = True
            warnings.warn(
                f"the gradients hold the sum of {passes} backward() calls since they were "
                f"last zeroed: did you forget optimizer.zero_grad() before loss.backward()? "
                f"(If you accumulate gradients on purpose, ignore this warning.)",
                stacklevel=3,
            )
        return [np.zeros_like(p.value) if p.grad is None else np.asarray(p.grad)
                for p in self.params]


class GD(Optimizer):
    """Gradient descent with optional momentum (torch.optim.SGD's formulas).

    v <- momentum * v + grad   (v = grad at the first step),    x <- x - lr * v
    """

    def __init__(self, params: Iterable[Tensor], lr: float, momentum: float = 0.0) -> None:
        super().__init__(params, lr)
        if not _is_number(momentum) or not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r} (try 0.9)")
        self.momentum = float(momentum)
        self.velocity: list[np.ndarray | None] = [None] * len(self.params)

    def step(self) -> None:
        for i, (p, g) in enumerate(zip(self.params, self._gradients())):
            if self.momentum:
                v = self.velocity[i]
                g = g.copy() if v is None else self.momentum * v + g
                self.velocity[i] = g
            p.value = p.value - self.lr * g


class Adam(Optimizer):
    """Adam (Kingma & Ba), arranged exactly as torch.optim.Adam computes it.

    m <- m + (1 - b1)(g - m),   v <- b2 v + (1 - b2) g^2,
    x <- x - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
    """

    def __init__(self, params: Iterable[Tensor], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        super().__init__(params, lr)
        if not (isinstance(betas, (tuple, list)) and len(betas) == 2
                and all(_is_number(b) and 0.0 <= b < 1.0 for b in betas)):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r} "
                             f"(try betas=(0.9, 0.999))")
        self.betas = (float(betas[0]), float(betas[1]))
        self.eps = _positive("eps", eps, "it keeps the step finite where v is 0; try 1e-8")
        self.t = 0
        self.m = [np.zeros_like(p.value) for p in self.params]
        self.v = [np.zeros_like(p.value) for p in self.params]

    def step(self) -> None:
        b1, b2 = self.betas
        self.t += 1
        step_size = self.lr / (1 - b1 ** self.t)
        root_correction = np.sqrt(1 - b2 ** self.t)
        for p, g, m, v in zip(self.params, self._gradients(), self.m, self.v):
            m += (1 - b1) * (g - m)
            v *= b2
            v += (1 - b2) * g * g
            p.value = p.value - step_size * m / (np.sqrt(v) / root_correction + self.eps)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _positive(name: str, v: object, hint: str) -> float:
    if not _is_number(v) or not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive number, got {v!r} ({hint})")
    return float(v)


def _parameter_list(params: Iterable[Tensor], who: str) -> list[Tensor]:
    if isinstance(params, Tensor):
        params = [params]
    if isinstance(params, Module):
        raise TypeError(f"{who} got the model itself: pass its parameters, "
                        f"{who}(model.parameters(), ...)")
    try:
        params = list(params)
    except TypeError:
        raise TypeError(f"{who} takes the parameters to optimise (model.parameters() or a "
                        f"list of Tensors), got {type(params).__name__}") from None
    if not params:
        raise ValueError(f"{who} got no parameters: pass model.parameters() or a list of Tensors")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(
                f"{who} optimises Tensors, but parameter {i} is a {type(p).__name__}. "
                f"Pass model.parameters() or a list of Tensor(...) objects."
            )
        if not (p.requires_grad and p.is_leaf):
            raise ValueError(
                f"{who}: parameter {i} is not a leaf tensor that requires grad; it has no "
                f".grad to follow. Optimise the Tensor(...) you created, not a result "
                f"computed from it."
            )
    return params
