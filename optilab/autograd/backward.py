"""Reverse-mode differentiation: one sweep over the graph, from the output back to the inputs.

For y = f(x) computed through intermediate nodes, the chain rule says

    dy/dnode = sum over the consumers c of node of   vjp_c(dy/dc)

so we visit the nodes in reverse topological order (every consumer before the node it
consumes), keep the gradient of each node in a dictionary, and hand each node's
gradient to its operation's derivative rules, one per argument.  Broadcasting is undone
in one place (:func:`unbroadcast`), so no rule has to think about shapes.

The sort and the sweep are loops, not recursion: a chain of 100,000 operations is fine.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .tensor import Tensor, _stamp, is_grad_enabled


def toposort(root: Tensor, stop: frozenset[int] = frozenset()) -> list[Tensor]:
    """Nodes reachable from ``root`` through tracked arguments, each after all its consumers.

    Kahn's algorithm: count each node's consumers, then release a node when the last
    of them has been visited.  Nodes whose id is in ``stop`` are treated as inputs.
    """
    consumers: dict[int, int] = {}
    stack = [root]
    while stack:
        node = stack.pop()
        if stop and id(node) in stop:
            continue
        for _, arg in node._parents:
            k = id(arg)
            if k in consumers:
                consumers[k] += 1
            else:
                consumers[k] = 1
                stack.append(arg)
    order, ready = [], [root]
    while ready:
        node = ready.pop()
        order.append(node)
        if stop and id(node) in stop:
            continue
        for _, arg in node._parents:
            k = id(arg)
            consumers[k] -= 1
            if not consumers[k]:
                ready.append(arg)
    return order


def unbroadcast(g: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``g`` down to ``shape``: the adjoint of numpy broadcasting.

    If x of shape (3, 1) was broadcast to (2, 3, 4), each x[i] was used 2*4 times,
    so its gradient is the sum of g over the broadcast axes.
    """
    gshape = g.shape
    if gshape == shape:
        return g
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1
    )
    if axes:
        g = R.sum(g, axis=axes)
    return S.reshape(g, shape) if g.shape != shape else g


def gradients(root: Tensor, seed: Any, create_graph: bool = False,
              inputs: frozenset[int] = frozenset(),
              every_node: bool = False) -> dict[int, tuple[Tensor, Any]]:
    """Run the reverse sweep from ``root`` with d(root) = ``seed``.

    Returns ``{id(t): (t, dy/dt)}`` for the leaves reached and for the tensors whose ids
    are in ``inputs`` (the sweep stops there).  With ``create_graph`` the rules run on
    Tensors and build the graph of the gradient itself (for second derivatives);
    otherwise they run on plain numpy arrays, which is faster.  ``every_node`` also
    returns the gradient of every intermediate node (for ``draw_graph``).
    """
    grads: dict[int, Any] = {id(root): seed}
    found: dict[int, tuple[Tensor, Any]] = {}
    for node in toposort(root, inputs):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._op is None or id(node) in inputs:
            found[id(node)] = (node, g)
            continue
        if every_node:
            found[id(node)] = (node, g)
        _check_unchanged(node)
        if create_graph:
            ans, args = node, node._args
        else:
            ans = node._value
            args = [a._value if isinstance(a, Tensor) else a for a in node._args]
        for i, arg in node._parents:
            gi = node._op.vjp(i)(g, ans, *args, **node._params)
            if gi.shape != arg.shape:
                gi = unbroadcast(gi, arg.shape)
            k = id(arg)
            grads[k] = grads[k] + gi if k in grads else gi
    return found


def _check_unchanged(node: Tensor) -> None:
    for (_, arg), stamp in zip(node._parents, node._stamps):
        if _stamp(arg) != stamp:
            raise RuntimeError(
                f"an input of '{node._op.name}' was modified in place after it was used "
                f"(its .value changed between the forward pass and backward()). "
                f"The gradient would be wrong. Change parameters only after backward(), "
                f"e.g. in the optimizer step, or recompute the forward pass."
            )


def backward(root: Tensor, gradient: Any = None, create_graph: bool = False) -> None:
    """``root.backward()``: accumulate gradients into the ``.grad`` of the leaves."""
    if not root.requires_grad:
        raise RuntimeError(
            "backward() on a tensor that does not require grad: nothing it was computed "
            "from tracks gradients. Create inputs with Tensor(value) (requires_grad=True "
            "is the default) and do not compute inside no_grad()."
        )
    if gradient is None:
        if root.size != 1:
            raise RuntimeError(
                f"backward() needs a scalar output, but this tensor has shape {root.shape}. "
                f"Reduce it first (y.sum() or y.mean()), or pass gradient=... of the same shape."
            )
        seed = np.ones_like(root._value)
    else:
        seed = np.asarray(gradient._value if isinstance(gradient, Tensor) else gradient,
                          dtype=root.dtype)
        if seed.shape != root.shape:
            raise ValueError(
                f"gradient must have the output's shape {root.shape}, got {seed.shape}"
            )
    create_graph = create_graph and is_grad_enabled()
    if create_graph:
        seed = Tensor(seed, requires_grad=False)
    for leaf, g in gradients(root, seed, create_graph).values():
        if not create_graph:
            g = np.array(g)  # a fresh 0-d or n-d array per leaf, never shared between leaves
        passes = leaf._grad_passes
        leaf.grad = g if leaf._grad is None else leaf._grad + g
        leaf._grad_passes = passes + 1


from . import reductions as R  # noqa: E402
from . import shapes as S  # noqa: E402
