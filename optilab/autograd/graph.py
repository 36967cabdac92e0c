"""A picture of the computation graph, drawn with matplotlib (no graphviz needed).

Every box is a tensor: the inputs on the left, the output on the right, each operation
one column further right than the furthest of its arguments.  A box shows the
operation, the value, and the adjoint dy/dnode -- the number the reverse sweep
carries through that node (see ``backward.py``).  Grey boxes are constants.

    >>> import optilab.autograd as ag
    >>> x = ag.Tensor(2.0)
    >>> picture = ag.draw_graph(x * x + 1.0, names={x: "x"})
    >>> picture.nodes[-1]["label"], picture.nodes[-1]["grad"]
    ('+', 1.0)
    >>> [n["grad"] for n in picture.nodes if n["label"] == "x"]
    [4.0]

matplotlib is imported only when a picture is drawn, so ``import optilab.autograd``
stays cheap.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .backward import gradients
from .tensor import Tensor

SYMBOLS = {"add": "+", "subtract": "−", "multiply": "×", "divide": "÷", "power": "**",
           "negative": "−x", "matmul": "@", "getitem": "[ ]"}
COLOURS = {"input": "#cfe3f7", "op": "#fbe3c0", "output": "#f7c6c2", "constant": "#e6e6e6"}


def draw_graph(y: Tensor, *, names: Mapping[Tensor, str] | None = None,
               show_values: bool = True, show_grads: bool = True,
               max_nodes: int = 60) -> GraphPicture:
    """Draw the graph that computed ``y``; returns a picture that Jupyter shows inline.

    ``names`` labels tensors (``{x: "x"}``).  ``show_grads`` shows dy/dnode on every
    node (computed by a fresh reverse sweep, so ``y`` must be a scalar; nothing is
    written to ``.grad``).  Graphs with more than ``max_nodes`` boxes are refused.

    Example: ``ag.draw_graph(loss, names={w: "w", b: "b"}).save("graph.svg")``.
    """
    if not isinstance(y, Tensor):
        raise TypeError(f"draw_graph expects an optilab.autograd Tensor, got {type(y).__name__}. "
                        f"Compute y from Tensors, e.g. x = ag.Tensor(2.0); y = x * x.")
    labels = {id(t): str(name) for t, name in (names or {}).items()}
    nodes, edges = _collect(y, max_nodes)
    adjoints = _adjoints(y) if show_grads and y.requires_grad and y.size == 1 else {}
    table = []
    for key, (obj, column) in nodes.items():
        kind = _kind(obj, y)
        label = labels.get(key) or (SYMBOLS.get(obj._op.name, obj._op.name)
                                    if kind in ("op", "output") else "")
        value = obj._value if isinstance(obj, Tensor) else np.asarray(obj)
        grad = adjoints.get(key)
        table.append({"id": key, "label": label, "kind": kind, "column": column,
                      "value": _brief(value) if show_values else None,
                      "grad": _brief(grad) if grad is not None else None})
    return GraphPicture(table, edges)


def _collect(y: Tensor, max_nodes: int) -> tuple[dict[int, tuple[Any, int]], list[tuple[int, int]]]:
    """Nodes (id -> (object, column)) in drawing order, and edges (argument id, consumer id)."""
    order, seen, stack = [], set(), [y]
    while stack:                                   # iterative post-order: args before users
        node = stack[-1]
        pending = [a for a in _args(node) if id(a) not in seen]
        if pending:
            stack.extend(pending)
            continue
        stack.pop()
        if id(node) not in seen:
            seen.add(id(node))
            order.append(node)
        if len(order) > max_nodes:
            raise ValueError(f"the graph has more than max_nodes={max_nodes} nodes; a picture that "
                             f"big is unreadable. Draw a smaller expression, or pass a larger "
                             f"max_nodes=...")
    column: dict[int, int] = {}
    edges = []
    for node in order:
        args = _args(node)
        column[id(node)] = 1 + max((column[id(a)] for a in args), default=-1)
        edges += [(id(a), id(node)) for a in args]
    users: dict[int, list[int]] = {}
    for a, b in edges:
        users.setdefault(a, []).append(b)
    for node in order:                             # constants sit just left of their first user
        if _kind(node, y) == "constant" and id(node) in users:
            column[id(node)] = min(column[b] for b in users[id(node)]) - 1
    return {id(n): (n, column[id(n)]) for n in order}, edges


def _args(node: Any) -> list[Any]:
    """A node's arguments worth drawing: tensors and numbers (not shapes, axes or indices)."""
    if not isinstance(node, Tensor) or node._op is None:
        return []
    return [a for a in node._args if isinstance(a, (Tensor, float, int, np.ndarray))
            and not isinstance(a, bool)]


def _adjoints(y: Tensor) -> dict[int, Any]:
    """dy/dnode for every node, by one reverse sweep that keeps every intermediate."""
    return {key: g for key, (_, g) in
            gradients(y, np.ones_like(y._value), every_node=True).items()}


def _kind(obj: Any, y: Tensor) -> str:
    if obj is y:
        return "output"
    if not isinstance(obj, Tensor) or not obj.requires_grad:
        return "constant"
    return "input" if obj._op is None else "op"


def _brief(a: Any) -> float | str:
    """A scalar as a float; an array as its shape and first values."""
    a = np.asarray(a)
    if a.size == 1:
        return float(a.reshape(()))
    head = ", ".join(f"{v:.3g}" for v in a.ravel()[:3]) + (", …" if a.size > 3 else "")
    return f"[{head}]" if a.ndim == 1 and a.size <= 3 else f"{'×'.join(map(str, a.shape))} [{head}]"


def _text(n: dict[str, Any]) -> str:
    lines = [n["label"]] if n["label"] else []
    if n["value"] is not None:
        lines.append(f"= {_number(n['value'])}")
    if n["grad"] is not None and n["kind"] != "constant":
        lines.append(f"∂y = {_number(n['grad'])}")
    return "\n".join(lines)


def _number(v: float | str) -> str:
    return f"{v:.4g}" if isinstance(v, float) else v


class GraphPicture:
    """A drawn computation graph: shown inline by Jupyter, saved with :meth:`save`.

    ``nodes`` lists the boxes (label, kind, column, value, grad) in drawing order,
    ``edges`` the arrows as (argument id, consumer id); ``figure`` is the matplotlib Figure.
    """

    def __init__(self, nodes: list[dict[str, Any]], edges: list[tuple[int, int]]) -> None:
        self.nodes, self.edges = nodes, edges
        self._figure = None

    @property
    def figure(self) -> Any:
        if self._figure is None:
            self._figure = self._draw()
        return self._figure

    def _positions(self) -> dict[int, tuple[float, float]]:
        """Column from the graph; rows ordered by the mean row of each node's arguments."""
        rows: dict[int, float] = {}
        args_of: dict[int, list[int]] = {}
        for a, b in self.edges:
            args_of.setdefault(b, []).append(a)
        columns: dict[int, list[dict[str, Any]]] = {}
        for n in self.nodes:
            columns.setdefault(n["column"], []).append(n)
        for c in sorted(columns):
            col = columns[c]
            col.sort(key=lambda n: np.mean([rows[a] for a in args_of.get(n["id"], [])] or [0]))
            for r, n in enumerate(col):
                rows[n["id"]] = r - (len(col) - 1) / 2
        width = max(len(line) for n in self.nodes for line in _text(n).splitlines() or [""])
        dx = max(2.6, 0.12 * width)                # columns as wide as the widest box
        return {n["id"]: (dx * n["column"], -1.3 * rows[n["id"]]) for n in self.nodes}

    def _draw(self) -> Any:
        from matplotlib.figure import Figure  # lazy: drawing is the only user of matplotlib

        pos = self._positions()
        xs, ys = zip(*pos.values())
        fig = Figure(figsize=(1.2 + 0.75 * (max(xs) - min(xs)), 1.0 + 0.7 * (max(ys) - min(ys))))
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(min(xs) - 1.3, max(xs) + 1.3)
        ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
        boxes = {n["id"]: ax.text(*pos[n["id"]], _text(n), ha="center", va="center", fontsize=8,
                                  bbox={"boxstyle": "round,pad=0.4", "fc": COLOURS[n["kind"]],
                                        "ec": "#555555"})
                 for n in self.nodes}
        columns = {n["id"]: n["column"] for n in self.nodes}
        for a, b in self.edges:       # arrows clipped at the boxes; long ones bend around boxes
            bend = 0.25 if columns[b] - columns[a] > 1 else 0.0
            ax.annotate("", xy=pos[b], xytext=pos[a],
                        arrowprops={"arrowstyle": "-|>", "color": "#555555",
                                    "connectionstyle": f"arc3,rad={bend}",
                                    "patchA": boxes[a].get_bbox_patch(),
                                    "patchB": boxes[b].get_bbox_patch()})
        return fig

    def save(self, path: str | Path, **savefig_kwargs: Any) -> Path:
        """Save the picture; the format follows the extension (.png, .svg, .pdf)."""
        path = Path(path)
        self.figure.savefig(path, bbox_inches="tight", **savefig_kwargs)
        return path

    def _repr_png_(self) -> bytes:
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"<GraphPicture: {len(self.nodes)} nodes, {len(self.edges)} edges>"
