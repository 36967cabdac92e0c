"""Course notebook 6, "The city map": the solution version runs top to bottom in a real kernel.

Every exercise check answers "correct", the later cells use the student's answers (not the
reference solutions), and the map, the race and the snapshots leave real images in the
notebook.  The student version is run by ``tests/test_notebooks.py`` (every notebook).
"""

import re
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import code_cell, executed, has_image, texts  # noqa: E402

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "solutions" / "06_city_map.ipynb"
VERDICT = r"Exercise 6\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def notebook():
    return executed(NOTEBOOK)


def test_every_check_is_correct(notebook):
    text = "\n".join(texts(c) for c in notebook.cells if c.cell_type == "code")
    found = re.findall(VERDICT, text)
    assert sorted(int(q) for q, _ in found) == [1, 2, 3], found
    assert {verdict for _, verdict in found} == {"correct"}, found
    assert "reference solution" not in text          # later cells used the answers
    assert "lr = 0.02: f =" in text                  # the line the student version hides


def test_the_engines_agree_and_every_method_reaches_the_floor(notebook):
    assert "gradients of the two engines agree: True" in texts(code_cell(notebook, "X_torch"))
    table = texts(code_cell(notebook, "runs = {"))
    for name in ("Adam (torch)", "L-BFGS (torch)", "BFGS (scipy)"):
        line = next(row for row in table.splitlines() if row.startswith(name))
        assert "converged" in line and "f = 1.238" in line, line


def test_the_map_and_the_other_figures_are_images(notebook):
    assert has_image(code_cell(notebook, 'plot_map(runs["L-BFGS (torch)"])'))
    assert has_image(code_cell(notebook, "compare(runs)"))
    assert has_image(code_cell(notebook, "snapshots = "))
    table = [c for c in notebook.cells if c.cell_type == "code" and c.source.strip() == "table"]
    assert len(table) == 1
    markdown = [o["data"].get("text/markdown", "") for o in table[0].outputs if "data" in o]
    assert any("| method |" in m for m in markdown), table[0].outputs
