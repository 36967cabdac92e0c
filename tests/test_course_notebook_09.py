"""Course notebook 9, "The quadratic model": both versions run top to bottom in a real kernel.

The solution version: every exercise check answers "correct", the later cells use the
student's answers, the step counts the text quotes are the ones the runs print, and the
figures are images.  The student version: no errors, every check "not attempted yet", and
the lines that would print an exercise's answer are hidden.
"""

import math
import re
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import all_text, code_cell, executed, has_image, markdown, texts  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1] / "notebooks"
VERDICT = r"Exercise 9\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def solution():
    return executed(ROOT / "solutions" / "09_quadratic_model.ipynb")


@pytest.fixture(scope="module")
def student():
    return executed(ROOT / "09_quadratic_model.ipynb")


def test_every_check_is_correct(solution):
    found = re.findall(VERDICT, all_text(solution))
    assert sorted(int(q) for q, _ in found) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"correct"}, found
    assert "reference solution" not in all_text(solution)
    assert "hidden until" not in all_text(solution)


def test_the_step_counts_the_text_quotes_are_the_runs(solution):
    gd = texts(code_cell(solution, "steps_for = q2.use"))
    assert "first falls below 1e-07 at step 8,060" in gd
    assert "predicted by the rate: 8,060 steps" in gd
    assert "shrinks by 0.998002, 0.998002" in gd
    table = texts(code_cell(solution, "nesterov = optimal("))
    assert re.search(r"GD: 8,060 measured, 8,060 from the rate 0\.998002", table), table
    hb = re.search(r"heavy ball: +(\d+) measured, +(\d+) from the rate 0\.938693", table)
    assert hb and (int(hb[1]), int(hb[2])) == (347, 255), table
    assert re.search(r"Nesterov: +\d+ measured, +434 from the rate 0\.963491", table), table
    text = markdown(solution)
    assert "8,060 steps, as predicted" in text and "347 steps instead of 8,060" in text
    assert round(8060 / 347) == 23 and "23 times fewer" in text
    assert 347 - 255 == 92 and "about 90 steps later" in text
    assert math.ceil(math.log(1e-7) / math.log(0.999)) == 16111 and "16,111 steps" in text
    assert round(math.log(10) / -math.log(999 / 1001)) == 1151 and r"\approx 1151" in text
    ratio = texts(code_cell(solution, "errors_hb = q.error"))
    assert "k = 100: 97.6, k = 200: 194.7, k = 300: 291.8" in ratio      # grows like k
    edge = texts(code_cell(solution, "edge = 2 * (1 + beta_hb)"))
    assert "(0.10% below)" in edge and "rate at 1.01 lr: 1.1463" in edge
    assert "0.10% below" in edge and "0.1%" in text and "1% more diverges" in text


def test_the_figures_are_images(solution):
    assert has_image(code_cell(solution, "plot_trajectories(q.test_function"))
    assert has_image(code_cell(solution, "plot_rates(runs, q, tol=TOL"))
    assert has_image(code_cell(solution, 'plot_momentum_region(q, {"GD, best step"'))
    assert has_image(code_cell(solution, "nesterov=True)"))


def test_student_version_runs_with_every_check_not_attempted(student):
    text = all_text(student)                            # texts() fails on any error output
    found = re.findall(VERDICT, text)
    assert sorted(int(q) for q, _ in found) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"not attempted yet"}, found
    for n in (1, 2, 3, 4):
        assert f"exercise 9.{n} is not attempted yet: using the reference solution" in text
    gd = texts(code_cell(student, "steps_for = q2.use"))
    assert "first falls below 1e-07 at step 8,060" in gd        # the reference runs
    assert "predicted by the rate" not in gd and "hidden until exercise 9.2" in gd
    assert "best step 0.001998" not in text and "hidden until exercise 9.1" in text
    assert "lr = 0.00375853" not in text and "hidden until exercise 9.4" in text
    assert has_image(code_cell(student, "plot_rates(runs, q, tol=TOL"))
