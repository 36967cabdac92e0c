"""Every notebook runs top to bottom in a real kernel, and leaves real outputs."""

import re
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbrun import executed  # noqa: E402  (each notebook runs once per test session)

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))


def outputs(nb, kind):
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs
            if o.get("output_type") == kind or kind in o.get("data", {})]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path):
    nb = executed(path)
    assert not outputs(nb, "error")
    assert outputs(nb, "stream"), "the notebook printed nothing"


def test_quickstart_shows_the_graph_and_agrees_with_torch():
    nb = executed(Path(__file__).parents[1] / "notebooks" / "autograd_quickstart.ipynb")
    text = "".join(o.get("text", "") for o in outputs(nb, "stream"))
    assert "df/dx = -0.00128865" in text
    if "torch   :" in text:
        torch_line = next(line for line in text.splitlines() if line.startswith("torch"))
        assert "-0.00128865" in torch_line
    assert outputs(nb, "image/png"), "draw_graph left no image in the notebook"


HEAVY_IMPORT = re.compile(r"^\s*(import torch|from torch|import optilab\.(optim|widgets|plot)|"
                          r"from optilab\.(optim|widgets|plot|cities)|from optilab import "
                          r"(optim|widgets|plot|cities)|from live_plot|import live_plot)",
                          re.MULTILINE)
LIVE = re.compile(r"\b(explore|race|LivePlot|init_2dplot|init_3dplot)\(")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_no_live_cell_waits_silently_for_torch(path):
    """A cell that draws live must not also be the first to import torch/matplotlib (a blank
    cell for seconds): the imports come in an earlier cell."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and LIVE.search(cell.source):
            assert not HEAVY_IMPORT.search(cell.source), (
                f"{path.name}: this cell imports and draws live; import in an earlier cell:\n"
                f"{cell.source[:300]}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_a_saved_notebook_with_its_outputs_stays_under_1_mb(path):
    size = len(nbformat.writes(executed(path)).encode())
    assert size < 1_000_000, f"{path.name} with its outputs is {size / 1e6:.2f} MB"
