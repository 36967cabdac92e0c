"""Run a notebook in a real kernel, with finite timeouts and no nbclient stalls.

nbclient waits for kernel replies with one long poll on an edge-triggered zmq socket and
can miss the reply (jupyter/nbclient#312), sitting until the cell timeout.  Waiting in
50 ms slices until the same deadline removed every stall we measured (see DESIGN.md).
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from queue import Empty
from typing import Any

import nbformat
from jupyter_core.utils import ensure_async
from nbclient import NotebookClient


def _in_slices(get_msg: Any, step: float = 0.05) -> Any:
    async def get_msg_in_slices(timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = step if deadline is None else deadline - time.monotonic()
            try:
                return await ensure_async(get_msg(timeout=max(0.0, min(step, left))))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


class PatientClient(NotebookClient):
    """A NotebookClient whose kernel channels wait in short slices."""

    async def async_start_new_kernel_client(self) -> Any:
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = _in_slices(channel.get_msg)
        return kc


def run_notebook(path: Path, cell_timeout: int = 120) -> nbformat.NotebookNode:
    """Execute the notebook at ``path`` (in its own folder) and return it with outputs."""
    nb = nbformat.read(path, as_version=4)
    client = PatientClient(nb, timeout=cell_timeout, startup_timeout=60, kernel_name="python3",
                           resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    return nb


@functools.cache
def executed(path: Path) -> nbformat.NotebookNode:
    """The notebook at ``path``, run once per test session: every test file that reads a
    notebook's outputs shares this one run (tests only read it)."""
    return run_notebook(Path(path).resolve(), cell_timeout=180)


# ----------------------------------------------------------------------------- reading outputs

def texts(cell: Any) -> str:
    """What a code cell printed or displayed as text (an output's Markdown where it has
    one, else its plain text: each once); fails on an error output."""
    out = []
    for o in cell.get("outputs", []):
        assert o["output_type"] != "error", f"{o.get('ename')}: {o.get('evalue')}"
        data = o.get("data", {})
        out.append(o.get("text", "") + data.get("text/markdown", data.get("text/plain", "")))
    return "\n".join(out)


def all_text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook's code cells printed or displayed as text."""
    return "\n".join(texts(c) for c in nb.cells if c.cell_type == "code")


def code_cell(nb: nbformat.NotebookNode, snippet: str) -> Any:
    """The one code cell whose source contains ``snippet``."""
    found = [c for c in nb.cells if c.cell_type == "code" and snippet in c.source]
    assert len(found) == 1, f"{len(found)} code cells contain {snippet!r}"
    return found[0]


def markdown(nb: nbformat.NotebookNode) -> str:
    """The notebook's Markdown text."""
    return "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")


def has_image(cell: Any) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.get("outputs", []))


def images(nb: nbformat.NotebookNode) -> int:
    """How many PNG pictures the notebook shows."""
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
