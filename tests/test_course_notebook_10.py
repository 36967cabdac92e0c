"""Course notebook 10, "Stochastic gradients": both versions run top to bottom in a real kernel.

The solution version: every exercise check answers "correct", the later cells use the
student's answers, the figures the text quotes are the ones the runs print (the floor follows
lr / b, the decays end in the order the text says, the full batch needs the epochs it says),
and the figures are images.  The student version: no errors, every check "not attempted yet",
and the later cells run on the reference solutions.
"""

import re
from pathlib import Path

import pytest

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("torch")
from nbrun import all_text, code_cell, executed, images, markdown, texts  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1] / "notebooks"
STEM = "10_stochastic_gradients"
VERDICT = r"Exercise 10\.(\d) \(.*?\): (correct|not attempted yet|incorrect)"


@pytest.fixture(scope="module")
def solution():
    return executed(ROOT / "solutions" / f"{STEM}.ipynb")


@pytest.fixture(scope="module")
def student():
    return executed(ROOT / f"{STEM}.ipynb")


def test_every_check_is_correct(solution):
    found = re.findall(VERDICT, all_text(solution))
    assert sorted(int(q) for q, _ in found) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"correct"}, found
    assert "reference solution" not in all_text(solution)
    assert images(solution) >= 6


def test_the_exercises_appear_in_number_order():
    source = (ROOT / "src" / f"{STEM}.py").read_text(encoding="utf-8")
    checks = [int(k) for k in re.findall(r"^q(\d+)\.check\(", source, re.MULTILINE)]
    shown = [int(k) for k in re.findall(r"^q(\d+)$", source, re.MULTILINE)]
    stubs = [int(k) for k in re.findall(r"Exercise 10\.(\d+)", source)]
    assert checks == shown == [1, 2, 3, 4] and stubs == sorted(stubs)


def test_the_run_records_epochs_and_an_epoch_averages_to_the_full_gradient(solution):
    run_text = texts(code_cell(solution, "samples used:"))
    assert "samples used: [ 0 10 20 30] ... epochs at the end: 5.0" in run_text
    epoch = texts(code_cell(solution, "one_epoch = q2.use"))
    assert "400 batches" in epoch
    mean = re.search(r"their mean: +(\[.*?\])", epoch)[1]
    full = re.search(r"full gradient: +(\[.*?\])", epoch)[1]
    assert mean == full


def test_the_noise_floor_follows_lr_over_batch_as_the_text_says(solution):
    floors = texts(code_cell(solution, "floor_by_lr = {"))
    by_lr = [float(v) for v in re.search(r"batches of 4, lr = 0.025 0.05 0.1 0.2 -> (.*)",
                                         floors)[1].split()]
    by_batch = [float(v) for v in re.search(r"lr 0.1, batches of 1 2 4 8 16 -> (.*)",
                                            floors)[1].split()]
    assert len(by_lr) == 4 and len(by_batch) == 5
    assert by_lr == sorted(by_lr) and by_batch == sorted(by_batch, reverse=True)
    ratios = texts(code_cell(solution, "measured / predicted"))
    low, high = map(float, re.search(r"from ([\d.]+) to ([\d.]+)", ratios).groups())
    assert 0.8 <= low <= 1.0 <= high <= 1.2, ratios          # "to within about 20%"
    assert "to within about 20%" in markdown(solution)
    theory = texts(code_cell(solution, "theory = 0.1"))
    want, got = map(float, re.search(r"theory ([\d.e+-]+), measured ([\d.e+-]+)", theory).groups())
    assert abs(got / want - 1) < 0.15, theory


def test_the_decays_end_in_the_order_the_text_says(solution):
    out = texts(code_cell(solution, "schedules = {"))
    end = {name.strip(): float(v) for name, v in
           re.findall(r"^ *(.+?): mean f - f\* over the last 500 steps ([\d.e+-]+)$", out,
                      re.MULTILINE)}
    floor0 = float(re.search(r"measured ([\d.e+-]+)",
                             texts(code_cell(solution, "theory = 0.1")))[1])
    assert end["your decay"] < end["1/sqrt"] < floor0 / 2          # both below the floor
    assert 0.7 < end["constant"] / floor0 < 1.4                     # the constant rate stays
    assert end["0.95^k"] > 3 * floor0                               # frozen above the floor


def test_the_cost_per_epoch_figures_are_the_runs(solution):
    out = texts(code_cell(solution, "reached = np.flatnonzero"))
    epochs = dict(re.findall(r"batch (\d+): f - f\* < 5e-2 at step +\d+, after ([\d.e+-]+) "
                             r"epochs", out))
    assert float(epochs["10"]) < 0.1 and float(epochs["4000"]) == 19
    assert "gradient descent needs 19 passes" in markdown(solution)
    per_step = {b: int(us) for b, us in re.findall(r"batch (\d+):.*; (\d+) us per step", out)}
    assert per_step["100"] < 5 * per_step["1"] and per_step["4000"] < 10 * per_step["1"]
    table = [o for o in code_cell(solution, 'by_batch = {f"batch').outputs if "data" in o]
    assert any("| samples | epochs |" in o["data"].get("text/markdown", "") for o in table)


def test_the_city_map_figures_are_the_runs(solution):
    race = texts(code_cell(solution, "maps = {"))
    sgd, gd, gd_end = map(float, re.search(
        r"SGD f = ([\d.e+-]+), GD f = ([\d.e+-]+); GD after 1000 epochs: ([\d.e+-]+)",
        race).groups())
    assert sgd < gd and gd_end < sgd         # ahead per epoch, behind per step
    stay = texts(code_cell(solution, "stay = solve("))
    f_star, low, high = map(float, re.search(r"f\* = ([\d.e+-]+); SGD from there: f between "
                                             r"([\d.e+-]+) and ([\d.e+-]+)", stay).groups())
    assert 1.23e-8 < f_star < 1.24e-8 and low >= f_star * (1 - 1e-6) and high < 1.05 * f_star


def test_the_student_version_runs_on_the_reference_solutions(student):
    found = re.findall(VERDICT, all_text(student))
    assert sorted(int(q) for q, _ in found) == [1, 2, 3, 4], found
    assert {verdict for _, verdict in found} == {"not attempted yet"}, found
    assert all_text(student).count("using the reference solution") == 4
    assert images(student) >= 6
