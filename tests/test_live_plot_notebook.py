"""The course's live-plot loops in a real kernel (nbclient, headless): every point updates
the displayed image, and the saved notebook keeps the last picture as a PNG.

The notebooks are written into tmp_path, next to a copy of the ``live_plot.py`` shim they
import (the repository root's, and the one in ``notebooks/``), and run with a finite
timeout through tests/nbrun.py's patient client.
"""

from __future__ import annotations

import base64
import io
import shutil
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import PatientClient  # noqa: E402
from PIL import Image  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
CELL_TIMEOUT = 60
LIVE_TEXT = "<optilab live plot>"


class RecordingClient(PatientClient):
    """Records every display message a cell sends (type, display id, PNG) before nbclient
    folds updates into the output they update."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.displays: list[tuple[int, str, str | None, str | None]] = []

    def process_message(self, msg, cell, cell_index):
        kind = msg["msg_type"]
        if kind in ("display_data", "update_display_data"):
            content = msg["content"]
            display_id = (content.get("transient") or {}).get("display_id")
            if content.get("data", {}).get("text/plain") == LIVE_TEXT:
                self.displays.append((cell_index, kind, display_id,
                                      content["data"].get("image/png")))
        return super().process_message(msg, cell, cell_index)


def run(path: Path) -> tuple[nbformat.NotebookNode, RecordingClient]:
    nb = nbformat.read(path, as_version=4)
    client = RecordingClient(nb, timeout=CELL_TIMEOUT, startup_timeout=60,
                             kernel_name="python3",
                             resources={"metadata": {"path": str(path.parent)}})
    client.execute()
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4), client   # what is saved is what we check


def write(folder: Path, cells: list[str], shim: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(shim, folder / "live_plot.py")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(src) for src in cells]
    path = folder / "live.ipynb"
    nbformat.write(nb, path)
    return path


def errors(nb) -> list[str]:
    return [f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells for o in c.outputs
            if o.output_type == "error"]


def images(cell) -> list[bytes]:
    return [base64.b64decode(o.data["image/png"]) for o in cell.outputs
            if "image/png" in o.get("data", {})]


def check_loop(nb, client, cell_index: int, points: int) -> bytes:
    """The cell made ``points`` display messages (one display, then updates of that same
    display); its saved output is one real PNG: the last frame sent."""
    sent = [m for m in client.displays if m[0] == cell_index]
    assert len(sent) == points, f"cell {cell_index}: {len(sent)} frames for {points} points"
    assert sent[0][1] == "display_data" and sent[0][2]
    assert all(kind == "update_display_data" for _, kind, _, _ in sent[1:])
    assert {display_id for _, _, display_id, _ in sent} == {sent[0][2]}
    saved = images(nb.cells[cell_index])
    assert len(saved) == 1, "one picture per loop, not one per point (and no pyplot copy)"
    assert saved[0] == base64.b64decode(sent[-1][3]), "the saved picture is the last frame"
    picture = Image.open(io.BytesIO(saved[0]))
    assert picture.format == "PNG" and picture.size[0] >= 400
    return saved[0]


SETUP_2D = """\
import torch
from live_plot import init_2dplot, add_point_2d

def function_2d(x):
    return x ** 2 / 20 + torch.tanh(torch.sin(x))

x = torch.tensor(6.0, requires_grad=True)
opt = torch.optim.SGD([x], lr=0.5)
init_2dplot(torch.linspace(-8, 8, 200), function_2d, delta_=0)"""

LOOP_2D = ("for i in range(15): opt.zero_grad(); f = function_2d(x); f.backward(); "
           "add_point_2d(x, f); opt.step()")


def test_seed_2d_loop_with_matplotlib_notebook_magic(tmp_path):
    """``%matplotlib notebook`` (dead in JupyterLab 4 and Notebook 7) is harmless: the loop
    still animates through the display handle, from the repository root's shim."""
    path = write(tmp_path, ["%matplotlib notebook", SETUP_2D, LOOP_2D,
                            # init and loop in one cell; a second run continues the path
                            SETUP_2D + "\n" + LOOP_2D, LOOP_2D,
                            "from live_plot import current_plot\n"
                            "print(current_plot().paths[0].points.shape)"],
                 REPO / "live_plot.py")
    nb, client = run(path)
    assert not errors(nb)
    assert len(images(nb.cells[1])) == 1, "init_2dplot shows the function at once"
    check_loop(nb, client, 2, 15)
    check_loop(nb, client, 3, 1 + 15)        # the init's display, then one update per point
    check_loop(nb, client, 4, 15)
    assert "(30, 1)" in nb.cells[5].outputs[0].text
    assert not [o for c in nb.cells for o in c.outputs
                if {"application/javascript", "text/html"} & set(o.get("data", {}))]


SETUP_3D = """\
import torch
from live_plot import init_3dplot, add_point_3d

def bumpy(x, y):
    return ((x ** 2 / 20 + torch.tanh(torch.sin(x))) * torch.abs(y) ** 1.2 + 5 * torch.abs(x)
            + (y + 7) ** 2 / 10)

FUNCTIONS = {
    "saddle": (lambda x, y: x ** 2 - y ** 2, (-2, 2), (-2, 2), (1.5, 0.1), 0.05),
    "cubic": (lambda x, y: x ** 3 - y ** 3, (-2, 2), (-2, 2), (1.0, 0.5), 0.1),
    "ripple": (lambda x, y: torch.sin(torch.sqrt(x ** 2 + y ** 2)), (-7, 7), (-7, 7),
               (1.0, 0.5), 0.5),
    "bumpy": (bumpy, (-8, 8), (-20, 5), (4.0, 2.0), 0.1),
}

def start(name):
    global x, y, opt, function_3d
    function_3d, xr, yr, (x0, y0), lr = FUNCTIONS[name]
    x = torch.tensor(x0, requires_grad=True)
    y = torch.tensor(y0, requires_grad=True)
    opt = torch.optim.SGD([x, y], lr=lr)
    init_3dplot(torch.linspace(*xr, 50), torch.linspace(*yr, 50), function_3d, 30, -60, 0)"""

LOOP_3D = ("for i in range(15): opt.zero_grad(); f = function_3d(x, y); f.backward(); "
           "add_point_3d(x, y, f); opt.step()")


def test_seed_3d_loops_with_matplotlib_inline(tmp_path):
    """The four surfaces of the course, from the notebooks/ folder's shim, under
    ``%matplotlib inline`` (which must not add a second copy of the figure)."""
    names = ["saddle", "cubic", "ripple", "bumpy"]
    cells = ["%matplotlib inline", SETUP_3D]
    for name in names:
        cells += [f"start({name!r})", LOOP_3D]
    cells.append("from live_plot import current_plot\nprint(current_plot().scene.ax.name)")
    path = write(tmp_path / "notebooks", cells, REPO / "notebooks" / "live_plot.py")
    nb, client = run(path)
    assert not errors(nb)
    pictures = []
    for i, name in enumerate(names):
        init_cell, loop_cell = 2 + 2 * i, 3 + 2 * i
        assert len(images(nb.cells[init_cell])) == 1, name
        pictures.append(check_loop(nb, client, loop_cell, 15))
    assert len(set(pictures)) == len(names)
    assert nb.cells[-1].outputs[0].text.strip() == "3d"


def test_live_plot_race_with_panels_in_a_kernel(tmp_path):
    """optilab.plot.LivePlot: a race replayed live with a loss panel, and add_point with
    labels; every frame is an update of one display."""
    cells = ["""\
from optilab import functions
from optilab.optim import race
from optilab.plot import LivePlot
runs = race(functions.himmelblau, [0.0, 0.0], {"sgd": dict(lr=0.01), "adam": dict(lr=0.1)},
            steps=40)""", """\
plot = LivePlot("himmelblau", panels=("loss", "lr"))
plot.play(runs, frames=20)""", """\
for k in range(10):
    plot.add_point([k * 0.5, -k * 0.4], label="by hand")"""]
    path = write(tmp_path, cells, REPO / "live_plot.py")
    nb, client = run(path)
    assert not errors(nb)
    check_loop(nb, client, 1, 1 + 20)
    check_loop(nb, client, 2, 10)
