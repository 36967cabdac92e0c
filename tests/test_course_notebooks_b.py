"""Notebooks 0, 5, 7 and 8, solution versions, in a real kernel: they run top to bottom, every
exercise check says "correct" (so no later cell falls back on the reference solution), and
notebook 5's live-plot loops leave real pictures in the saved notebook.

The student versions run in tests/test_notebooks.py.  Kernels are driven by tests/nbrun.py
(short polls, a finite timeout per cell), each notebook once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbrun import executed  # noqa: E402

SOLUTIONS = Path(__file__).resolve().parents[1] / "notebooks" / "solutions"
CHECKS = {"00_tour": 0, "05_live_plots": 2, "07_regression": 4, "08_newton": 4}
LIVE_LOOPS = ("add_point_2d(", "add_point_3d(", "plot.add_point(")


def solution(stem: str):
    return executed(SOLUTIONS / f"{stem}.ipynb")


def code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def texts(cell) -> list[str]:
    """What a cell printed or showed as text."""
    found = []
    for o in cell.outputs:
        if o.output_type == "stream":
            found.append(o.text)
        elif "text/plain" in o.get("data", {}):
            found.append(o.data["text/plain"])
    return found


@pytest.mark.parametrize("stem", sorted(CHECKS))
def test_solution_notebook_runs_and_every_check_is_correct(stem):
    nb = solution(stem)
    errors = [f"{o.ename}: {o.evalue}" for c in code_cells(nb) for o in c.outputs
              if o.output_type == "error"]
    assert not errors, errors
    checks = [c for c in code_cells(nb) if ".check(" in c.source]
    assert len(checks) == CHECKS[stem]
    for cell in checks:
        verdicts = [t for t in texts(cell) if t.lstrip("✔✘… ").startswith("Exercise")]
        assert verdicts, f"no verdict under:\n{cell.source}"
        assert all(v.startswith("✔") and ": correct" in v for v in verdicts), verdicts
    printed = "".join(t for c in code_cells(nb) for t in texts(c))
    assert "reference solution" not in printed       # every q.use(...) took the answer given
    assert "hidden until exercise" not in printed    # and the lines showing answers printed
    if stem == "05_live_plots":                      # what the student version hides (5.1)
        assert "0.9 lr_max (lr=0.15)" in printed and "1.2 lr_max (lr=0.2)" in printed
    assert printed.strip(), "the notebook printed nothing"


def test_live_plot_loops_leave_images():
    nb = solution("05_live_plots")
    loops = [c for c in code_cells(nb) if any(call in c.source for call in LIVE_LOOPS)]
    assert len(loops) == 4                     # 2D curve, saddle, ripple, LivePlot race
    for cell in loops:
        pngs = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert pngs, f"no picture left by:\n{cell.source}"
        assert pngs[-1].data["text/plain"] == "<optilab live plot>"
    shown = [o for c in code_cells(nb) for o in c.outputs
             if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert len(shown) == 2                     # explore and race
    assert any("image/gif" in o.get("data", {}) for c in code_cells(nb) for o in c.outputs)
