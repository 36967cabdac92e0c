"""Course notebook 12, "Fair comparisons": the solution version runs top to bottom in a real
kernel with every check correct, tables and pictures in place; the student version runs
without an error and every check says "not attempted yet"."""

import re
import time
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import code_cell, executed, has_image, texts  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1] / "notebooks"
VERDICT = r"Exercise 12\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def solution():
    start = time.perf_counter()
    nb = executed(ROOT / "solutions" / "12_fair_comparisons.ipynb")
    nb.metadata["seconds"] = time.perf_counter() - start
    return nb


def test_every_check_is_correct_and_later_cells_use_the_answers(solution):
    text = "\n".join(texts(c) for c in solution.cells if c.cell_type == "code")
    found = set(re.findall(VERDICT, text))         # shown as text and as Markdown
    assert found == {("1", "correct"), ("2", "correct"), ("3", "correct")}, found
    assert "reference solution" not in text
    assert "Adam      best lr 1   (the sweep: 1)" in text


def test_the_sweep_table_the_pictures_and_the_file(solution):
    table = texts(code_cell(solution, "s = sweep("))
    assert "175 runs in" in table and "| Adam | 1 | 4.071e-06 |" in table
    assert "| SGD | 0.00316 | 0.06096 |" in table and "13 of 25" in table
    for snippet in ("s.plot_sensitivity()", "s.plot_race()", "s.plot_cost()",
                    "noisy.plot_sensitivity()"):
        assert has_image(code_cell(solution, snippet)), snippet
    assert "3 seeds (medians)" in texts(code_cell(solution, "noisy = sweep("))
    assert "same table after loading: True" in texts(code_cell(solution, "again = load(path)"))


def test_the_course_text_matches_the_numbers(solution):
    unfair = texts(code_cell(solution, "for lr in (1e-4, 1e-3, 2e-3)"))
    sgd = float(re.search(r"SGD  lr = 0.002: f = ([\d.e+-]+)", unfair).group(1))
    adam = float(re.search(r"\(default\): f = ([\d.e+-]+)", unfair).group(1))
    assert sgd < adam                               # "the tuned SGD is lower than Adam"
    widths = texts(code_cell(solution, "good_decades(s.lrs, f, 1e-2)"))
    decades = {m.group(1): float(m.group(2))
               for m in re.finditer(r"(\w+)\s+f <= 1e-2 over ([\d.]+) decades", widths)}
    assert max(decades, key=decades.get) == "Adam"
    table = texts(code_cell(solution, "s = sweep("))
    rows = {r.split("|")[1].strip(): r for r in table.splitlines() if r.startswith("| ")}
    finals = {k: float(r.split("|")[3]) for k, r in rows.items() if k in
              ("SGD", "momentum", "Nesterov", "Adam", "RMSprop", "Adagrad", "Adadelta")}
    assert min(finals, key=finals.get) == "momentum"          # "momentum ends lowest"
    assert finals["Adam"] < finals["SGD"]
    assert {k for k, v in finals.items() if v <= 1e-2} == {"momentum", "Nesterov", "Adam",
                                                            "Adagrad"}   # "get below 1e-2"
    assert all(f"| {k} |" in table and " 0 of 25 |" in rows[k]
               for k in ("Adam", "RMSprop", "Adagrad", "Adadelta"))
    assert solution.metadata["seconds"] < 60         # budget 40 s on a quiet machine


def test_the_student_version_runs_and_every_check_is_not_attempted():
    nb = executed(ROOT / "12_fair_comparisons.ipynb")
    text = "\n".join(texts(c) for c in nb.cells if c.cell_type == "code")
    found = set(re.findall(VERDICT, text))
    assert found == {(q, "not attempted yet") for q in "123"}, found
    assert text.count("using the reference solution") == 3
