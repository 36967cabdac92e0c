"""Course notebooks 1, 3 and 4 run top to bottom in a real kernel, in both versions.

* the solution notebook: every exercise check answers "correct";
* the student notebook: no errors, every check answers "not attempted yet", and the cells
  after an exercise run on its reference solution (``qN.use(...)``) without printing the
  answer (notebooks 3, 5 and 6: the lines that would show it say they are hidden).

Each notebook runs once per test session (``nbrun.executed``, shared by every test file,
``tests/test_notebooks.py`` among them, which smoke-tests every student notebook).
"""

import re
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
from nbrun import executed  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
EXERCISES = {"01_autograd": ("1", 4), "03_torch_optim": ("3", 4), "04_schedulers": ("4", 6)}
VERDICT = r"Exercise {}\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


def texts(nb) -> str:
    """Everything the notebook printed or displayed as text; fails on an error output."""
    out = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            assert o["output_type"] != "error", f"{o.get('ename')}: {o.get('evalue')}"
            out.append(o.get("text", "") + o.get("data", {}).get("text/plain", ""))
    return "\n".join(out)


def verdicts(stem: str, nb) -> dict[int, str]:
    """{exercise number: what its check cell answered}; each exercise checked exactly once."""
    number, count = EXERCISES[stem]
    found = re.findall(VERDICT.format(number), texts(nb))
    assert sorted(int(q) for q, _ in found) == list(range(1, count + 1)), found
    return {int(q): verdict for q, verdict in found}


def images(nb) -> int:
    return sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.parametrize("stem", EXERCISES)
def test_solution_notebook_every_check_is_correct(stem):
    nb = executed(ROOT / "notebooks" / "solutions" / f"{stem}.ipynb")
    assert set(verdicts(stem, nb).values()) == {"correct"}
    assert "reference solution" not in texts(nb)          # later cells used the answers
    if stem in ANSWER_LINES:                   # the lines the student notebook hides, shown
        assert answer_lines(stem, texts(nb)) == ANSWER_LINES[stem][1]
    assert images(nb) >= 3


@pytest.mark.parametrize("stem", EXERCISES)
def test_student_notebook_runs_with_every_check_not_attempted(stem):
    nb = executed(ROOT / "notebooks" / f"{stem}.ipynb")
    assert set(verdicts(stem, nb).values()) == {"not attempted yet"}
    assert "using the reference solution for the cells below" in texts(nb)
    assert images(nb) >= 3


# Exercises whose answer a later cell prints: the line the solution notebook shows (with the
# answer in it), which the student notebook, running on the reference solution, must hide.
ANSWER_LINES = {
    "03_torch_optim": ("3.4", ["Adam's first step : [ 0.1 -0.1]"]),         # lr * sign(g)
    "05_live_plots": ("5.1", ["0.9 lr_max (lr=0.15)", "1.2 lr_max (lr=0.2)"]),  # 2/12 * ...
    "06_city_map": ("6.3", ["lr = 0.02: f ="]),
}


def answer_lines(stem: str, text: str) -> list[str]:
    """The lines of ``text`` that show exercise ANSWER_LINES[stem]'s answer."""
    return [line for line in ANSWER_LINES[stem][1] if line in text]


@pytest.mark.parametrize("stem", ANSWER_LINES)
def test_student_notebook_never_prints_the_reference_answer(stem):
    """Run All on the student notebook: the cells after an unsolved exercise run on its
    reference solution, but the lines that would print its answer say they are hidden."""
    number, _ = ANSWER_LINES[stem]
    text = texts(executed(ROOT / "notebooks" / f"{stem}.ipynb"))
    assert f"(exercise {number} is not attempted yet: using the reference solution" in text
    assert f"(hidden until exercise {number} is solved: this line shows its answer)" in text
    assert not answer_lines(stem, text)

