"""Notebook 11's library and exercises: classical MDS (exact on planar points, measured on the
cities), and the checks of 11.1-11.4 (the solution passes, the stub is not attempted, each
planted mistake is named)."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optilab.cities import (
    classical_mds,
    criterion,
    distance_errors_km,
    double_centre,
    load_cities,
    map_errors_km,
    normalise,
)
from optilab.exercises import nb11_line_search as nb11

PRELUDE = "import numpy as np\nimport optilab.autograd as ag\n"
EXERCISES = {q.number: q for q in (nb11.q1, nb11.q2, nb11.q3, nb11.q4)}
SOURCE = Path(__file__).resolve().parents[1] / "notebooks" / "src" / "11_line_search.py"


def pairwise(X):
    return np.linalg.norm(X[:, None, :] - X[None, :, :], axis=-1)


def answers_of(exercise, code):
    namespace = {}
    exec(compile(PRELUDE + textwrap.dedent(code), f"<answer {exercise.number}>", "exec"),
         namespace)
    return [namespace[name] for name in exercise.answers]


# ----------------------------------------------------------------------------- classical MDS

def test_classical_mds_recovers_a_planar_map_up_to_an_isometry():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=(12, 2)) * [5.0, 1.0]
    X = classical_mds(pairwise(truth))
    assert X.shape == (12, 2)
    np.testing.assert_allclose(pairwise(X), pairwise(truth), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-12)              # centred
    # the isometry: the orthogonal Procrustes fit of X onto the centred truth is exact
    centred = truth - truth.mean(0)
    U, _, Vt = np.linalg.svd(X.T @ centred)
    Q = U @ Vt
    np.testing.assert_allclose(X @ Q, centred, atol=1e-10)
    assert np.var(X[:, 0]) > np.var(X[:, 1])          # first axis: the largest eigenvalue


def test_classical_mds_in_three_dimensions_and_the_sign_convention():
    truth = np.random.default_rng(1).normal(size=(9, 3))
    X = classical_mds(pairwise(truth), dim=3)
    np.testing.assert_allclose(pairwise(X), pairwise(truth), rtol=1e-10, atol=1e-10)
    largest = X[np.argmax(np.abs(X), axis=0), np.arange(3)]
    assert np.all(largest > 0)                          # each column's largest entry positive


def test_double_centre_is_the_gram_matrix_of_the_centred_points():
    truth = np.random.default_rng(2).normal(size=(6, 2))
    centred = truth - truth.mean(0)
    np.testing.assert_allclose(double_centre(pairwise(truth)), centred @ centred.T, atol=1e-12)


def test_classical_mds_of_the_cities_measured():
    """Geodesic distances are not planar: the measured error of the closed form, and that it
    is a good start (close to, but above, the S-stress floor f* = 1.2383e-8)."""
    d_km = load_cities().distances
    B = double_centre(d_km)
    w = np.sort(np.linalg.eigvalsh(B))[::-1]
    assert w[2] / w[1] == pytest.approx(0.00593, rel=1e-2)     # the Earth's curvature
    assert w[-1] / w[1] == pytest.approx(-0.00988, rel=1e-2)    # not Euclidean in any
    assert np.sum(w < -1.0) == 6                                 # dimension (B is not PSD)
    X = classical_mds(d_km)                                      # in km
    errors = distance_errors_km(X, scale=1.0)
    assert np.median(errors) == pytest.approx(1.40, abs=0.01)
    assert errors.max() == pytest.approx(36.9, abs=0.1)
    Xn = classical_mds(normalise(d_km))                          # the same map, normalised
    np.testing.assert_allclose(Xn * np.linalg.norm(d_km), X, rtol=1e-9, atol=1e-6)
    f = float(criterion(Xn, normalise(d_km)))
    assert 1.2383e-8 < f == pytest.approx(2.204e-8, rel=1e-3)
    assert np.median(map_errors_km(Xn)) < 5


@pytest.mark.parametrize("bad, match", [
    ([[0, 1], [2, 0]], "symmetric"),
    ([[0, -1], [-1, 0]], ">= 0"),
    (np.zeros(5), "square"),
    (np.zeros((3, 3)), "all the distances are 0"),
])
def test_classical_mds_refuses_what_is_not_a_distance_matrix(bad, match):
    with pytest.raises(ValueError, match=match):
        classical_mds(bad)


def test_classical_mds_names_a_dimension_it_cannot_give():
    line = pairwise(np.array([[0.0, 0.0], [1.0, 0.0], [3.0, 0.0]]))    # collinear
    with pytest.raises(ValueError, match=r"dim=2 needs 2 positive eigenvalues.*Try dim=1"):
        classical_mds(line)
    np.testing.assert_allclose(pairwise(classical_mds(line, dim=1)), line, atol=1e-12)
    for dim in (0, 3, 2.0, True):
        with pytest.raises(ValueError, match="dim must be a whole number from 1 to n - 1 = 2"):
            classical_mds(line, dim=dim)


def test_classical_mds_starts_solve():
    from optilab.cities import solve

    d_km = load_cities().distances
    t = solve("lbfgs", x0=classical_mds(normalise(d_km)), progress=False)
    assert t.status == "converged" and t.value == pytest.approx(1.2383e-8, rel=1e-4)
    assert t.values[0] == pytest.approx(2.204e-8, rel=1e-3)


# ----------------------------------------------------------------------------- exercises

def test_the_module_numbers_its_exercises_and_gives_three_hints_each():
    assert [q.number for q in EXERCISES.values()] == ["11.1", "11.2", "11.3", "11.4"]
    for q in EXERCISES.values():
        assert len(q.hints) >= 3 and len(set(q.hints)) == len(q.hints)
        assert f"Exercise {q.number}" in q.stub


@pytest.mark.parametrize("number", sorted(EXERCISES))
def test_solution_is_correct_and_stub_not_attempted(number):
    q = EXERCISES[number]
    assert q.check(*answers_of(q, q.solution())).status == "correct"
    result = q.check(*answers_of(q, q.stub))
    assert result.status == "not attempted", result


ALSO_CORRECT = {
    "11.1": """
        def armijo(f, x, d, t, c=1e-4):
            value, g = ag.value_and_grad(f)(x)
            decrease = float(f(x + t * d)) - float(value)
            return bool(decrease <= c * t * float(g @ d))
        """,
    "11.2": """
        def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
            fx, g = ag.value_and_grad(f)(x)
            if g @ d >= 0:
                raise ValueError("not a descent direction")
            trials = []
            while True:
                trials.append(t)
                if f(x + t * d) <= fx + c * t * (g @ d):
                    return trials
                t *= rho
        """,
    "11.3": """
        def strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9):
            slope = np.dot(ag.grad(f)(x), d)
            new_slope = np.dot(ag.grad(f)(x + t * d), d)
            armijo = f(x + t * d) <= f(x) + c1 * t * slope
            return armijo and -c2 * abs(slope) <= new_slope <= c2 * abs(slope)
        """,
    "11.4": """
        def classical_mds(D):
            n = D.shape[0]
            D2 = D ** 2
            B = -0.5 * (D2 - D2.mean(0) - D2.mean(1)[:, None] + D2.mean())
            w, V = np.linalg.eig(B)                 # unsorted, possibly complex-typed
            order = np.argsort(w.real)[::-1][:2]
            return -V[:, order].real * np.sqrt(w[order].real)   # a mirror image is fine
        """,
}


@pytest.mark.parametrize("number", sorted(ALSO_CORRECT))
def test_other_right_answers_pass(number):
    q = EXERCISES[number]
    result = q.check(*answers_of(q, ALSO_CORRECT[number]))
    assert result.status == "correct", result


ARMIJO = "def armijo(f, x, d, t, c=1e-4):\n    fx, g = ag.value_and_grad(f)(x)\n    return {}\n"
BACKTRACKING = """
def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
    fx, g = ag.value_and_grad(f)(x)
    slope = np.dot(g, d)
    if slope >= 0:
        raise ValueError("not a descent direction")
    trials = [t]
    while {test}:
        {shrink}
        trials.append(t)
    return {ret}
"""
WOLFE = """
def strong_wolfe(f, x, d, t, c1=1e-4, c2=0.9):
    fx, g = ag.value_and_grad(f)(x)
    ft, gt = ag.value_and_grad(f)(x + t * d)
    s, st = np.dot(g, d), np.dot(gt, d)
    return bool({})
"""
MDS = """
def classical_mds(D):
    n = len(D)
    J = np.eye(n) - np.ones((n, n)) / n
    B = {B}
    w, V = np.linalg.eigh(B)
    top = {top}
    return {ret}
"""
ARMIJO_OK = "ft <= fx + c1 * t * s"


def backtracking(test="f(x + t * d) > fx + c * t * slope", shrink="t = rho * t",
                 ret="trials"):
    return BACKTRACKING.format(test=test, shrink=shrink, ret=ret)


def mds(B="-J @ D ** 2 @ J / 2", top="[-1, -2]", ret="V[:, top] * np.sqrt(w[top])"):
    return MDS.format(B=B, top=top, ret=ret)


_WRONG_BY_NUMBER = {
    "11.1": [
        (ARMIJO.format("f(x + t * d) <= fx - c * t * np.dot(g, d)"), "wrong_sign"),
        (ARMIJO.format("f(x + t * d) <= fx - c * t * np.dot(g, g)"), "gradient_squared"),
        (ARMIJO.format("f(x + t * d) < fx"), "plain_decrease"),
        (ARMIJO.format("f(x + t * d) <= fx + c * np.dot(g, d)"), "forgot_t"),
        (ARMIJO.format("f(x + t * d) >= fx + c * t * np.dot(g, d)"), "reversed"),
        (ARMIJO.format("f(x + d) <= fx + c * t * np.dot(g, d)"), "point_without_t"),
        (ARMIJO.format("f(x + t * d) <= fx + c * t * g"), "not_one_verdict"),
        (ARMIJO.format("fx + c * t * np.dot(g, d) - f(x + t * d)"), "not_a_bool"),
    ],
    "11.2": [
        (backtracking(test="f(x + t * d) > fx + c * t * slope and len(trials) < 1"),
         "never_shrinks"),
        (backtracking(test="f(x + t * d) < fx + c * t * slope"), "reversed"),
        (backtracking(test="f(x + t * d) > fx - c * t * slope"), "wrong_sign"),
        (backtracking(test="f(x + t * d) >= fx"), "plain_decrease"),
        (backtracking(test="f(x + t * d) > fx - c * t * np.dot(g, g)"), "gradient_squared"),
        (backtracking(test="f(x + t * d) > fx + c * slope"), "forgot_t"),
        (backtracking(shrink="t = (1 - rho) * t"), "wrong_shrink"),
        (backtracking(shrink="t = t - rho"), "subtracted_rho"),
        (backtracking(shrink="t = t / rho"), "t_grows"),
        (backtracking(ret="trials[-1]"), "returned_t"),
        (backtracking(ret="trials[1:] if len(trials) > 1 else trials"), "wrong"),
        (backtracking(ret="trials[:-1]"), "accepted_missing"),
        (backtracking().replace('raise ValueError("not a descent direction")', "pass"),
         "unbounded"),
        (backtracking().replace('raise ValueError("not a descent direction")',
                                'raise RuntimeError("ascent")'), "wrong_exception"),
        ("""
         def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
             fx, g = ag.value_and_grad(f)(x)
             trials = [t]
             while f(x + t * d) > fx + c * t * np.dot(g, d):
                 t = rho * t
                 trials.append(t)
             return trials
         """, "unbounded"),
        ("""
         def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
             fx, g = ag.value_and_grad(f)(x)
             trials = [t]
             while f(x + t * d) > fx + c * t * np.dot(g, d):
                 trials.append(rho * t)            # t itself never changes
             return trials
         """, "never_stops"),
        ("""
         def backtracking(f, x, d, t=1.0, rho=0.5, c=1e-4):
             fx, g = ag.value_and_grad(f)(x)
             if np.dot(g, d) >= 0:
                 raise ValueError("ascent")
             trials = []
             while f(x + t * d) > fx + c * t * np.dot(g, d):
                 t = rho * t
                 trials.append(t)
             return trials
         """, "first_trial_missing"),
    ],
    "11.3": [
        (WOLFE.format(f"{ARMIJO_OK} and abs(st) >= c2 * abs(s)"), "curvature_reversed"),
        (WOLFE.format(f"{ARMIJO_OK} and st >= c2 * s"), "weak_wolfe"),
        (WOLFE.format(f"{ARMIJO_OK} and st <= c2 * s"), "weak_reversed"),
        (WOLFE.format("abs(st) <= c2 * abs(s)"), "no_armijo"),
        (WOLFE.format(ARMIJO_OK), "armijo_only"),
        (WOLFE.format("ft <= fx + c2 * t * s and abs(st) <= c1 * abs(s)"), "constants_swapped"),
        (WOLFE.format(f"{ARMIJO_OK} and abs(st) <= c2 * s"), "never_true"),
        (WOLFE.format(f"{ARMIJO_OK} and abs(s) <= c2 * abs(s)"), "never_true"),
        (WOLFE.format(f"{ARMIJO_OK} and abs(st) <= c2 * abs(s) and t < 0.2"), "wrong"),
    ],
    "11.4": [
        (mds(B="-D ** 2 / 2"), "no_double_centring"),
        (mds(B="-J @ D ** 2 / 2"), "one_sided_centring"),
        (mds(B="-J @ D @ J / 2"), "distances_not_squared"),
        (mds(B="-J @ D ** 2 @ J"), "forgot_half"),
        (mds(ret="V[:, top]"), "no_sqrt"),
        (mds(ret="V[:, top] * w[top]"), "eigenvalues_not_sqrt"),
        (mds(top="[0, 1]"), "smallest_eigenvalues"),
        (mds(ret="(V[:, top] * np.sqrt(w[top])).T"), "transposed"),
        (mds(ret="V[:, top] * np.sqrt(w[top]) * [1, 2]"), "wrong"),
    ],
}
# (exercise, code, the mistake its check must name): tests/test_exercises.py finds this list
WRONG = [(EXERCISES[number], code, key) for number, cases in _WRONG_BY_NUMBER.items()
         for code, key in cases]
@pytest.mark.parametrize("q,code,key", WRONG, ids=[f"{q.number}-{key}" for q, _, key in WRONG])
def test_wrong_answer_names_the_mistake(q, code, key):
    result = q.check(*answers_of(q, code))
    assert result.status == "incorrect", result
    assert result.mistake == key, result
    assert len(result.message) > 40


def test_a_runaway_search_is_stopped_quickly():
    """A search whose t grows evaluates f without end: the check stops it by counting calls
    (well before the 20 s time limit of every check)."""
    import time

    code = next(code for q, code, key in WRONG if key == "t_grows")
    start = time.perf_counter()
    result = nb11.q2.check(*answers_of(nb11.q2, code))
    assert time.perf_counter() - start < 5
    assert "t grew" in result.message and "rho < 1" in result.message


def test_messages_say_what_was_expected():
    code = backtracking(shrink="t = t - rho")
    message = nb11.q2.check(*answers_of(nb11.q2, code)).message
    assert "your trial steps are [1, 0.5, 0] (3 trials)" in message
    assert "should try [1, 0.5, 0.25, 0.125, 0.0625, 0.03125, ...] (11 trials)" in message
    code = ARMIJO.format("f(x + t * d) <= fx + c * t * np.dot(g, d) and t < 0.1")
    message = nb11.q1.check(*answers_of(nb11.q1, code)).message
    assert message.startswith("`armijo` answers False for rosen at x = (-1.175, 1.381), d = "
                              "(1.938, -4.556), t = 0.125, c=0.0001, where f(x + t d) <= f(x) "
                              "+ c t grad f(x).d is True."), message


@pytest.mark.skipif(not SOURCE.exists(), reason="the notebook source is not there yet")
def test_exercises_appear_in_number_order_in_the_notebook():
    text = SOURCE.read_text(encoding="utf-8")
    checks = [int(k) for k in re.findall(r"^q(\d+)\.check\(", text, re.MULTILINE)]
    assert checks == [1, 2, 3, 4]
    mentioned = []
    for k in re.findall(r"Exercise 11\.(\d+)", text):
        if int(k) not in mentioned:
            mentioned.append(int(k))
    assert mentioned == [1, 2, 3, 4]
    assert [int(k) for k in re.findall(r"^q(\d+)$", text, re.MULTILINE)] == [1, 2, 3, 4]
