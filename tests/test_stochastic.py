"""Minibatch runs (run(..., data=, batch_size=, seed=)) and the exercises of notebook 10.

The run: epochs and samples counted right, each sample once per epoch, reproducible with a
seed, equal to a hand-written torch minibatch loop to the last bit, full-data losses that are
what they say, and bad inputs refused with messages that name the argument.  The exercises:
the solution checks correct and each planted mistake is named (the same answers feed
tests/test_exercises.py's generic checks through ``WRONG``).
"""

import textwrap

import numpy as np
import pytest
import torch

from optilab.optim import _Batches, run
from optilab.trajectory import table


def loss(w, X, y):
    """Least squares on a batch: the mean of the squared residuals, halved."""
    return ((X @ w - y) ** 2).mean() / 2


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(103, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=103)


def hand_written(data, lr, steps, batch_size, seed, optimizer=torch.optim.SGD, **kwargs):
    """The loop a course writes: shuffle each epoch, cut into batches, step on each."""
    X, y = (torch.tensor(a) for a in data)
    n = len(X)
    rng = np.random.default_rng(seed)
    w = torch.zeros(X.shape[1], dtype=torch.float64, requires_grad=True)
    opt = optimizer([w], lr=lr, **kwargs)
    points, batches = [w.detach().clone()], []
    order, at = None, n
    for _ in range(steps):
        if at >= n:
            order, at = rng.permutation(n), 0
        rows = order[at:at + batch_size]
        at += len(rows)
        batches.append(rows)
        idx = torch.as_tensor(rows)
        opt.zero_grad()
        loss(w, X[idx], y[idx]).backward()
        opt.step()
        points.append(w.detach().clone())
    return torch.stack(points).numpy(), batches


@pytest.mark.parametrize("optimizer,kwargs,name", [
    (torch.optim.SGD, {}, "sgd"), (torch.optim.SGD, {"momentum": 0.9}, "sgd"),
    (torch.optim.Adam, {}, "adam")])
def test_a_minibatch_run_equals_the_hand_written_loop_to_the_last_bit(data, optimizer, kwargs,
                                                                      name):
    want, _ = hand_written(data, 0.05, 60, 10, seed=7, optimizer=optimizer, **kwargs)
    t = run(loss, np.zeros(3), name, lr=0.05, steps=60, data=data, batch_size=10, seed=7,
            **kwargs)
    assert np.array_equal(t.points, want)


def test_epochs_and_samples_are_counted_with_a_short_last_batch(data):
    t = run(loss, np.zeros(3), "sgd", lr=0.05, steps=25, data=data, batch_size=10)
    # 103 samples in batches of 10: 10 full batches and one of 3 per epoch (11 steps)
    per_step = np.diff(t.samples_at)
    assert per_step.tolist() == ([10] * 10 + [3]) * 2 + [10] * 3
    assert t.samples_at[0] == 0 and t.samples_at[11] == 103 and t.samples_at[22] == 206
    assert t.epochs[11] == 1.0 and t.epochs[22] == 2.0 and t.data_size == 103
    assert len(t.samples_at) == len(t.full_values) == len(t.points) == 26
    assert t.evaluations == 26 and t.evaluations_at.tolist() == list(range(1, 27))
    assert t.settings["batch_size"] == 10 and t.settings["seed"] == 0


def test_each_sample_is_used_once_per_epoch_in_a_new_order(data):
    _, batches = hand_written(data, 0.05, 33, 10, seed=0)
    sampler = _Batches(data, 10, seed=0)
    drawn = [sampler.next() for _ in range(33)]
    assert all(np.array_equal(a, b) for a, b in zip(drawn, batches))
    epochs = [np.concatenate(drawn[11 * e: 11 * (e + 1)]) for e in range(3)]
    for rows in epochs:
        assert sorted(rows.tolist()) == list(range(103))      # every sample exactly once
    assert not np.array_equal(epochs[0], epochs[1])          # reshuffled each epoch
    assert not np.array_equal(epochs[0], np.arange(103))


def test_the_same_seed_draws_the_same_batches_and_another_seed_others(data):
    a = run(loss, np.zeros(3), "sgd", lr=0.05, steps=30, data=data, batch_size=8, seed=4)
    b = run(loss, np.zeros(3), "sgd", lr=0.05, steps=30, data=data, batch_size=8, seed=4)
    c = run(loss, np.zeros(3), "sgd", lr=0.05, steps=30, data=data, batch_size=8, seed=5)
    assert np.array_equal(a.points, b.points) and np.array_equal(a.values, b.values)
    assert not np.allclose(a.points[1:], c.points[1:])


def test_values_are_the_minibatch_losses_and_full_values_the_data_loss(data):
    X, y = data
    t = run(loss, np.zeros(3), "sgd", lr=0.05, steps=12, data=data, batch_size=10, seed=2)
    sampler = _Batches(data, 10, seed=2)
    for k in range(13):
        rows = sampler.next()
        w = t.points[k]
        assert t.values[k] == pytest.approx(float(loss(w, X[rows], y[rows])), rel=1e-12)
        assert t.full_values[k] == pytest.approx(float(loss(w, X, y)), rel=1e-12)
        g = X[rows].T @ (X[rows] @ w - y[rows]) / len(rows)
        assert np.allclose(t.grads[k], g, rtol=1e-12, atol=1e-15)
    assert t.value == t.full_values[-1]
    summary = t.summary()
    assert "on all the data" in summary
    assert "(1.1 epochs of 103 samples, batches of 10)" in summary


def test_the_full_batch_is_gradient_descent_and_full_values_can_be_skipped(data):
    full = run(loss, np.zeros(3), "sgd", lr=0.1, steps=20, data=data)      # batch_size = n
    X, y = (torch.tensor(a) for a in data)
    gd = run(lambda w: loss(w, X, y), np.zeros(3), "sgd", lr=0.1, steps=20)
    assert np.allclose(full.points, gd.points, rtol=1e-12, atol=0)  # a shuffled sum: rounding
    assert full.epochs[-1] == 20.0
    quiet = run(loss, np.zeros(3), "sgd", lr=0.1, steps=20, data=data, full_values=False)
    assert len(quiet.full_values) == 0 and quiet.value == quiet.values[-1]


def test_our_engine_runs_minibatches_too(data):
    ours = run(loss, np.zeros(3), "sgd", lr=0.05, steps=40, data=data, batch_size=16,
               engine="optilab")
    theirs = run(loss, np.zeros(3), "sgd", lr=0.05, steps=40, data=data, batch_size=16)
    assert np.allclose(ours.points, theirs.points, rtol=0, atol=1e-12)
    assert np.array_equal(ours.samples_at, theirs.samples_at)


def test_a_scheduler_steps_once_per_step_and_lbfgs_counts_its_evaluations(data):
    t = run(loss, np.zeros(3), "sgd", lr=0.1, steps=30, data=data, batch_size=10,
            scheduler="lambda", scheduler_kwargs={"lr_lambda": lambda k: 1 / (1 + k)})
    assert np.allclose(t.lrs, 0.1 / (1 + np.arange(30)))
    lb = run(loss, np.zeros(3), "lbfgs", lr=1, steps=5, data=data, batch_size=50)
    assert lb.evaluations > 6 and lb.evaluations_at[-1] == lb.evaluations
    assert np.diff(lb.samples_at).tolist() == [50, 50, 3, 50, 50]     # one batch per step


def test_table_shows_samples_and_epochs_beside_evaluations(data):
    runs = {f"batch {b}": run(loss, np.zeros(3), "sgd", lr=0.05, steps=20, data=data,
                              batch_size=b) for b in (5, 103)}
    runs["no data"] = run(lambda p: (p ** 2).sum(), [1.0, 1.0], lr=0.1, steps=3)
    rows = str(table(runs)).splitlines()
    assert rows[0].endswith("| samples | epochs |")
    assert rows[2].split(" | ")[3] == "21" and rows[2].endswith("| 100 | 0.971 |")
    assert rows[3].endswith("| 2,060 | 20 |") and rows[4].endswith("| - | - |")


def test_a_diverging_minibatch_run_blames_the_batch_curvature(data):
    t = run(loss, np.zeros(3), "sgd", lr=20.0, steps=200, data=data, batch_size=2)
    assert t.diverged
    assert "batch_size" in t.summary() and "batch" in t.summary()


def test_epochs_of_a_run_without_data_is_explained():
    t = run(lambda p: (p ** 2).sum(), [1.0, 1.0], lr=0.1, steps=3)
    with pytest.raises(ValueError, match="no data, so no epochs"):
        _ = t.epochs
    assert len(t.samples_at) == 0 and t.data_size is None


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(batch_size=0), ValueError, r"batch_size must be an integer from 1 to the number of "
                                     r"samples, n = 103, got 0"),
    (dict(batch_size=104), ValueError, r"batch_size .* n = 103, got 104"),
    (dict(batch_size=2.5), ValueError, r"batch_size .* got 2.5"),
    (dict(batch_size=10, seed=-1), ValueError, r"seed must be a whole number >= 0 .* got -1"),
    (dict(batch_size=10, seed=True), ValueError, r"seed must be .* got True"),
])
def test_bad_minibatch_settings_name_the_argument(data, kwargs, error, message):
    with pytest.raises(error, match=message):
        run(loss, np.zeros(3), "sgd", lr=0.1, steps=3, data=data, **kwargs)


def test_bad_data_is_explained(data):
    X, y = data
    with pytest.raises(ValueError, match=r"data\[0\] has 103, data\[1\] has 100 rows"):
        run(loss, np.zeros(3), lr=0.1, data=(X, y[:100]), batch_size=10)
    with pytest.raises(ValueError, match=r"batch_size=10 is for minibatch runs: give the data"):
        run(lambda p: (p ** 2).sum(), [1.0], lr=0.1, batch_size=10)
    with pytest.raises(ValueError, match=r"seed=3 is for minibatch runs"):
        run(lambda p: (p ** 2).sum(), [1.0], lr=0.1, seed=3)
    with pytest.raises(TypeError, match=r"data\[1\] must be an array of numbers"):
        run(loss, np.zeros(3), lr=0.1, data=(X, "labels"), batch_size=10)
    with pytest.raises(TypeError, match=r"f takes the point and then one batch of each array, "
                                        r"f\(w, X, y\); your f takes 2"):
        run(lambda w, X: (X @ w).sum(), np.zeros(3), lr=0.1, data=(X, y), batch_size=10)
    with pytest.raises(ValueError, match=r"with a batch of the data \(shapes \[\(10, 3\), "
                                         r"\(10,\)\]\)"):
        run(loss, np.zeros(4), lr=0.1, data=(X, y), batch_size=10)


def test_a_term_the_engine_cannot_see_is_named_on_minibatches(data):
    import math

    def hidden(w, X, y):                 # math.sin(w[0]) is a constant to the engine
        return loss(w, X, y) + math.sin(w[0].item())

    with pytest.warns(UserWarning, match="coordinate 0"):
        run(hidden, np.ones(3), "sgd", lr=0.01, steps=2, data=data, batch_size=10)


# ----------------------------------------------------------------------------- exercises

# the planted mistakes: (code, the key the check must name, a phrase of its message)
WRONG = {
    "10.1": [("""
        def minibatch_grad(w, X, y):
            return X.T @ (X @ w - y)
        """, "not_averaged", "1/b"),
             ("""
        def minibatch_grad(w, X, y):
            return 2 * X.T @ (X @ w - y) / len(y)
        """, "factor_2", "1/2"),
             ("""
        def minibatch_grad(w, X, y):
            return X.T @ (y - X @ w) / len(y)
        """, "wrong_sign", "sign"),
             ("""
        def minibatch_grad(w, X, y):
            return X.T @ (X @ w - y) / 4000
        """, "divided_by_n", "len(y)")],
    "10.2": [("""
        def epoch_batches(n, batch_size, rng):
            rows = rng.integers(0, n, size=n)
            return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
        """, "with_replacement", "replacement"),
             ("""
        def epoch_batches(n, batch_size, rng):
            return [rng.choice(n, size=batch_size, replace=False)
                    for _ in range(-(-n // batch_size))]
        """, "independent_batches", "once"),
             ("""
        def epoch_batches(n, batch_size, rng):
            rows = np.arange(n)
            return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
        """, "not_shuffled", "Shuffle"),
             ("""
        def epoch_batches(n, batch_size, rng):
            rows = rng.permutation(n)
            return [rows[i:i + batch_size] for i in range(0, n - batch_size + 1, batch_size)]
        """, "dropped_last", "last"),
             ("""
        def epoch_batches(n, batch_size, rng):
            rows = np.random.permutation(n)
            return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
        """, "ignores_rng", "rng")],
    "10.3": [("""
        def predict_floor(floor0, lr0, b0, lr, b):
            return floor0 * (lr / lr0) * np.sqrt(b0 / b)
        """, "sqrt_batch", "variance"),
             ("""
        def predict_floor(floor0, lr0, b0, lr, b):
            return floor0 * (lr / lr0) ** 2 * (b0 / b)
        """, "lr_squared", "lr"),
             ("""
        def predict_floor(floor0, lr0, b0, lr, b):
            return floor0 * (lr / lr0) * (b / b0)
        """, "batch_inverted", "larger batch"),
             ("""
        def predict_floor(floor0, lr0, b0, lr, b):
            return floor0 * (lr / lr0) * (b0 / b) ** 2
        """, "batch_squared", "variance")],
    "10.4": [("""
        def decay(k):
            return 0.99 ** k
        """, "summable", "sum"),
             ("""
        def decay(k):
            return 1 / (1 + k) ** 2
        """, "summable", "sum"),
             ("""
        def decay(k):
            return 1 / np.sqrt(1 + k)
        """, "not_square_summable", "1/k"),
             ("""
        def decay(k):
            return 1.0
        """, "constant", "floor"),
             ("""
        def decay(k):
            return 1 / k
        """, "infinite_at_zero", "k = 0"),
             ("""
        def decay(k):
            return 0.1 / (1 + k / 100)
        """, "not_one_at_zero", "decay(0)")],
}

RIGHT = {
    "10.1": """
        def minibatch_grad(w, X, y):
            r = X @ w - y
            return (r[:, None] * X).mean(axis=0)
        """,
    "10.2": """
        def epoch_batches(n, batch_size, rng):
            return np.array_split(rng.permutation(n), range(batch_size, n, batch_size))
        """,
    "10.4": """
        def decay(k):
            return (1 + k / 50) ** -0.75
        """,
}


def _exercises():
    from optilab.exercises import nb10_stochastic as nb

    return {q.number: q for q in (nb.q1, nb.q2, nb.q3, nb.q4)}


def _answers(exercise, code):
    namespace = {}
    exec("import numpy as np\n" + textwrap.dedent(code), namespace)
    return [namespace[name] for name in exercise.answers]


CASES = [(n, i) for n in sorted(WRONG) for i in range(len(WRONG[n]))]


@pytest.mark.parametrize("number,i", CASES, ids=[f"ex{n}-{i}" for n, i in CASES])
def test_each_planted_mistake_is_named(number, i):
    exercise = _exercises()[number]
    code, key, phrase = WRONG[number][i]
    result = exercise.check(*_answers(exercise, code))
    assert result.status == "incorrect" and result.mistake == key, result
    assert phrase in result.message, result


@pytest.mark.parametrize("number", sorted(_exercises()))
def test_the_solution_and_other_right_answers_check_correct(number):
    exercise = _exercises()[number]
    for code in (exercise.solution(), RIGHT.get(number)):
        if code is not None:
            result = exercise.check(*_answers(exercise, code))
            assert result.status == "correct", result


@pytest.mark.parametrize("number", sorted(_exercises()))
def test_the_stub_is_not_attempted_and_there_are_three_hint_levels(number):
    exercise = _exercises()[number]
    assert exercise.check(*_answers(exercise, exercise.stub)).status == "not attempted"
    assert len(exercise.hints) >= 3
