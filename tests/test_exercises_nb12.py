"""Exercises 12.1-12.3 (notebook 12, fair comparisons): typical wrong answers are named, the
solutions check correct, the stubs are not attempted."""

import textwrap

import pytest

from optilab.exercises.nb12_comparisons import q1, q2, q3

PRELUDE = "import math\nimport numpy as np\n"


def answers_of(exercise, code):
    namespace = {}
    exec(compile(PRELUDE + textwrap.dedent(code), f"<answer {exercise.number}>", "exec"),
         namespace)
    return [namespace[name] for name in exercise.answers]


WRONG = [
    (q1, "def best_lr(lrs, finals):\n    return lrs[np.argmin(finals)]\n", "nan_argmin"),
    (q1, "def best_lr(lrs, finals):\n    return int(np.nanargmin(finals))\n", "index"),
    (q1, "def best_lr(lrs, finals):\n"
         "    return lrs[np.nanargmax(np.where(np.isfinite(finals), finals, np.nan))]\n",
     "argmax"),
    (q1, "def best_lr(lrs, finals):\n    f = np.where(np.isfinite(finals), finals, np.inf)\n"
         "    return lrs[len(f) - 1 - np.argmin(f[::-1])]\n", "tie"),
    (q2, "def good_decades(lrs, finals, tol):\n    good = lrs[finals <= tol]\n"
         "    return float(np.log(good.max() / good.min())) if good.size else 0.0\n",
     "natural_log"),
    (q2, "def good_decades(lrs, finals, tol):\n    return float((finals <= tol).sum())\n",
     "counted_rates"),
    (q3, "def evaluations_to(t, target):\n"
         "    return int(np.flatnonzero(t.values <= target)[0])\n", "steps_not_evaluations"),
    (q3, "def evaluations_to(t, target):\n    return t.evaluations\n", "all_evaluations"),
    (q3, "def evaluations_to(t, target):\n    hits = np.flatnonzero(t.values <= target)\n"
         "    return t.evaluations_at[hits[0]] if hits.size else 0\n", "never"),
]


@pytest.mark.parametrize("q,code,key", WRONG, ids=[f"{q.number}-{key}" for q, _, key in WRONG])
def test_wrong_answer_names_the_mistake(q, code, key):
    result = q.check(*answers_of(q, code))
    assert result.status == "incorrect", result
    assert result.mistake == key, result
    assert len(result.message) > 40


@pytest.mark.parametrize("q", [q1, q2, q3], ids=lambda q: q.number)
def test_solution_is_correct_stub_not_attempted_three_hints(q):
    assert q.check(*answers_of(q, q.solution())).status == "correct"
    assert q.check(*answers_of(q, q.stub)).status == "not attempted"
    assert len(q.hints) >= 3
