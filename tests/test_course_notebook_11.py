"""Course notebook 11, "Line search and quasi-Newton": both versions run in a real kernel.

The solution version answers "correct" to every check, its later cells use the answers (not
the reference solutions), and its measured figures are the ones the text states; the student
version runs top to bottom without an error, every check "not attempted yet", and the later
cells fall back on the reference solutions without printing an answer.
"""

import re
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import all_text, code_cell, executed, has_image, texts  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1] / "notebooks"
VERDICT = r"Exercise 11\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def solution():
    return executed(ROOT / "solutions" / "11_line_search.ipynb")


@pytest.fixture(scope="module")
def student():
    return executed(ROOT / "11_line_search.ipynb")


def test_solution_every_check_is_correct(solution):
    found = re.findall(VERDICT, all_text(solution))      # text and Markdown of each result
    assert sorted({int(q) for q, _ in found}) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"correct"}, found
    assert "reference solution" not in all_text(solution)


def test_student_runs_with_every_check_not_attempted(student):
    text = all_text(student)                              # fails on any error output
    found = re.findall(VERDICT, text)
    assert sorted({int(q) for q, _ in found}) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"not attempted yet"}, found
    for k in (1, 2, 3, 4):
        assert f"exercise 11.{k} is not attempted yet: using the reference solution" in text


def test_the_figures_the_text_states(solution):
    newton = texts(code_cell(solution, "damped, searches, damped_evals ="))
    assert "after 20 steps, 47 evaluations of f; f decreased at every step: True" in newton
    assert "pure Newton:       |x_k - x*| < 1e-4 after 5 steps; f at its step 2: 1412" in newton
    assert "accepted steps t: 1 0.125 1 1 1 0.25" in newton
    steepest = texts(code_cell(solution, "x_sd, sd_evaluations, sd_steps ="))
    assert "|x - x*| = 0.0962 (5404 evaluations, median step 0.00195)" in steepest
    assert "500 steps:          |x - x*| = 1.43" in steepest
    assert "5404 steps:          |x - x*| = 0.0366" in steepest
    himmelblau = texts(code_cell(solution, "tried = search(himmel, xh, dh)"))
    assert "accepts t = 0.25: f 180 -> 18" in himmelblau and "s.y = -90" in himmelblau
    lines = texts(code_cell(solution, "passes_wolfe = "))
    assert "Armijo accepts t <= 0.418; strong Wolfe accepts 0.284 <= t <= 0.300; s.y <= 0 " \
           "for t <= 0.282; phi is lowest at t = 0.29" in lines
    lbfgs = texts(code_cell(solution, "lbfgs = {"))
    assert "[20 20 20  2  1  1]...  f <= 1e-8 at step 4, after 63 evaluations" in lbfgs
    assert "[25 19  1  1  1  1]...  f <= 1e-8 at step 2, after 45 evaluations" in lbfgs
    assert "f <= 1e-8 at step 61, after 62 evaluations" in lbfgs
    assert "f <= 1e-8 at step 34, after 77 evaluations" in lbfgs
    assert "| evaluations of f |" in lbfgs                        # table(runs)
    pairs = texts(code_cell(solution, "sy = np.sum("))
    assert "first 61 steps, s.y <= 1e-10 (a pair skipped) 1 times, f went up 9 times" in pairs
    assert "first 34 steps, s.y <= 1e-10 (a pair skipped) 0 times, f went up 0 times" in pairs
    assert "24.2 -> 24.2 after 20 steps" in texts(code_cell(solution, "stuck = run("))
    spectrum = texts(code_cell(solution, "spectrum = "))
    assert "third / second: 0.59%, smallest / second: -0.99%" in spectrum
    mds = texts(code_cell(solution, "X_mds = "))
    assert "f(X_mds) = 2.204e-08" in mds and "median 1.40 km, max 36.9 km" in mds
    start = texts(code_cell(solution, "from_mds = solve("))
    assert "within 1% of f* after 3 iterations (4 evaluations), converged after 68" in start
    assert "within 1% of f* after 31 iterations (35 evaluations), converged after 70" in start
    assert "median 1.74 km, max 29.9 km" in start


def test_the_pictures_are_images(solution):
    for snippet in ('plot_trajectories("rosenbrock"', "passes_wolfe = ", "by_step, by_eval",
                    "X_mds = "):
        assert has_image(code_cell(solution, snippet)), snippet
