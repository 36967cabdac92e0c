"""Course notebook 13, "The landscape of a real net": both versions run in a real kernel.

The solution version: every exercise check answers "correct", later cells use the student's
answers (not the reference solutions), the range test, the slices and the torch comparison
print what the text says, and the pictures are images.  The student version: no error, and
every check answers "not attempted yet".
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
VERDICT = r"Exercise 13\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def solution():
    return executed(ROOT / "solutions" / "13_loss_landscape.ipynb")


@pytest.fixture(scope="module")
def student():
    return executed(ROOT / "13_loss_landscape.ipynb")


def test_every_check_is_correct_and_later_cells_use_the_answers(solution):
    text = all_text(solution)
    found = re.findall(VERDICT, text)
    assert sorted(int(q) for q, _ in found) == [1, 2, 3], found
    assert {verdict for _, verdict in found} == {"correct"}, found
    assert "reference solution" not in text
    assert "the same as the library's: True" in text
    assert "your directions are the library's (up to sign): True" in text


def test_the_numbers_the_text_describes(solution):
    tests = texts(code_cell(solution, "tests = {name: lr_range_test"))
    assert re.search(r"sgd : suggested lr = 0\.0599 .*exploded at lr = 3\.13", tests), tests
    assert re.search(r"adam: suggested lr = 0\.00586 .*exploded at lr = 0\.774", tests), tests
    runs = texts(code_cell(solution, "runs = {"))
    assert "GD  : final loss 0.0234, moved 1.99" in runs and "norm 4.48" in runs, runs
    assert "Adam: final loss 0.0045, moved 5.72" in runs and "norm 7.61" in runs, runs
    around = texts(code_cell(solution, "around = {"))
    assert "0.0234 at the centre, 0.1304 at most" in around, around
    assert "0.0045 at the centre, 0.3901 at most" in around, around
    held = texts(code_cell(solution, "plane = loss_landscape"))
    assert "99.4% of GD's" in held and "90.7% of Adam's" in held, held
    diff = texts(code_cell(solution, "torch_scape = loss_landscape"))
    assert float(diff.split(":")[-1]) < 1e-12, diff


def test_the_pictures_are_images(solution):
    for snippet in ("test.plot(ax)", "around = {", 'around["Adam"].plot("surface"',
                    "plane = loss_landscape", 'plane.plot("surface"'):
        assert has_image(code_cell(solution, snippet)), snippet


def test_the_student_version_runs_and_waits_for_the_answers(student):
    text = all_text(student)
    found = re.findall(VERDICT, text)
    assert sorted(int(q) for q, _ in found) == [1, 2, 3], found
    assert {verdict for _, verdict in found} == {"not attempted yet"}, found
    assert text.count("using the reference solution") == 3
