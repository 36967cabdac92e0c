"""Every notebook runs top to bottom in a real kernel, and leaves real outputs."""

import functools
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbrun import run_notebook  # noqa: E402

NOTEBOOKS = sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb"))
executed = functools.cache(run_notebook)   # each notebook runs once per test session


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
