"""What an optimizer carries from one step to the next, read as plain arrays.

An optimizer's state is data: after each step, :func:`read_state` copies it out of the
optimizer (``torch.optim`` ones and our engine's) into numpy arrays of one row per
coordinate, in the order of the run's point.  The run layer records these snapshots in the
Trajectory (``run(..., record_state=True)``); plots draw what the Trajectory holds and never
reach into an optimizer.

The names are torch's, so the arrays read as torch's documentation writes the update:

=====================  =================================================================
``momentum_buffer``    SGD / RMSprop with momentum: v <- momentum v + g, x <- x - lr v
``exp_avg``            Adam / AdamW: m, the running mean of gradients (beta1)
``exp_avg_sq``         Adam / AdamW: v, the running mean of squared gradients (beta2)
``adam_step``          Adam / AdamW: the bias-corrected step lr m_hat / (sqrt(v_hat) + eps),
                       each coordinate of which stays below about lr in size
``square_avg``         RMSprop: the running mean of squared gradients (alpha)
``rms_step``           RMSprop: lr g / (sqrt(square_avg) + eps) without momentum
``sum``                Adagrad: the sum of squared gradients
``direction``          L-BFGS: the quasi-Newton direction d of the last inner iteration
``step_length``        L-BFGS: its step length t along d (one number per step)
=====================  =================================================================
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["read_state"]


def read_state(optimizer: Any, params: Sequence[Any] | None = None,
               grads: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """A snapshot of ``optimizer``'s state after a step: ``{name: array}``.

    ``params``: the tensors whose state to read (default: all of the optimizer's, in
    order); each array is their state flattened and concatenated, one entry per
    coordinate.  ``grads`` (the gradient the step used, flattened) is needed only for
    RMSprop's ``rms_step``.  An optimizer with no state (plain SGD) gives ``{}``.

        >>> import torch
        >>> x = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
        >>> opt = torch.optim.SGD([x], lr=0.1, momentum=0.9)
        >>> (x ** 2).sum().backward(); opt.step()
        >>> read_state(opt)
        {'momentum_buffer': array([ 2., -4.])}
    """
    if hasattr(optimizer, "param_groups"):
        return _torch_state(optimizer, params, grads)
    return _optilab_state(optimizer)


def _flat(tensors: Sequence[Any]) -> np.ndarray:
    return np.concatenate([np.asarray(t.detach().cpu() if hasattr(t, "detach") else t,
                                      dtype=np.float64).reshape(-1) for t in tensors])


def _torch_state(optimizer: Any, params: Sequence[Any] | None,
                 grads: np.ndarray | None) -> dict[str, np.ndarray]:
    group = optimizer.param_groups[0]
    params = list(params) if params is not None else \
        [p for g in optimizer.param_groups for p in g["params"]]
    states = [optimizer.state.get(p, {}) for p in params]
    if not states or not states[0]:
        return {}
    name = type(optimizer).__name__
    if name == "LBFGS":                     # one state for all parameters, on the first one
        lbfgs = states[0]
        out = {"step_length": np.array([float(lbfgs.get("t", math.nan))])}
        if lbfgs.get("d") is not None:
            out["direction"] = _flat([lbfgs["d"]])
        return out
    keys = [k for k in ("momentum_buffer", "exp_avg", "exp_avg_sq", "square_avg", "sum")
            if all(s.get(k) is not None for s in states)]
    out = {k: _flat([s[k] for s in states]) for k in keys}
    if "exp_avg" in out and "exp_avg_sq" in out:
        out["adam_step"] = _adam_step(out["exp_avg"], out["exp_avg_sq"],
                                      float(states[0]["step"]), group["lr"], group["betas"],
                                      group["eps"])
    if name == "RMSprop" and grads is not None and not group.get("centered"):
        out["rms_step"] = group["lr"] * grads / (np.sqrt(out["square_avg"]) + group["eps"])
    return out


def _adam_step(m: np.ndarray, v: np.ndarray, t: float, lr: float,
               betas: tuple[float, float], eps: float) -> np.ndarray:
    """lr m_hat / (sqrt(v_hat) + eps), m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t)."""
    b1, b2 = betas
    return lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)


def _optilab_state(optimizer: Any) -> dict[str, np.ndarray]:
    """Our engine's GD (``velocity``) and Adam (``m``, ``v``, ``t``), under torch's names."""
    if hasattr(optimizer, "velocity"):
        if any(v is None for v in optimizer.velocity):
            return {}
        return {"momentum_buffer": _flat(optimizer.velocity)}
    if hasattr(optimizer, "m") and optimizer.t > 0:
        m, v = _flat(optimizer.m), _flat(optimizer.v)
        return {"exp_avg": m, "exp_avg_sq": v,
                "adam_step": _adam_step(m, v, optimizer.t, optimizer.lr, optimizer.betas,
                                        optimizer.eps)}
    return {}
