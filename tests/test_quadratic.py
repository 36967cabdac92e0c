"""The quadratic model: rates against real torch runs and closed forms, the pictures, the
exercises of notebook 9."""

import math
import textwrap

import matplotlib
import numpy as np
import pytest

matplotlib.use("agg")
torch = pytest.importorskip("torch")

from optilab.exercises.nb09_quadratic import q1, q2, q3, q4  # noqa: E402
from optilab.optim import run  # noqa: E402
from optilab.plot import plot_momentum_region, plot_rates  # noqa: E402
from optilab.plot.rates import theoretical_rate  # noqa: E402
from optilab.quadratic import Quadratic, iteration_matrix, optimal, rate  # noqa: E402

SPECTRUM = [0.5, 3.0, 20.0]
BASIS = np.linalg.qr(np.random.default_rng(0).normal(size=(3, 3)))[0]


def torch_errors(q, x0, steps, **sgd):
    """|x_k - x*| of the hand-written torch.optim.SGD loop on q."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([x], **sgd)
    errors = [q.error(x0)]
    for _ in range(steps):
        opt.zero_grad()
        q(x).backward()
        opt.step()
        errors.append(q.error(x.detach().numpy()))
    return np.array(errors)


def measured_rate(errors, block=40):
    """The contraction per step of the error's upper envelope (block maxima), over the
    second half of the run: oscillations (complex roots) do not disturb it."""
    e = errors[len(errors) // 2:]
    peaks = np.array([e[i:i + block].max() for i in range(0, len(e) - block + 1, block)])
    return float((peaks[-1] / peaks[0]) ** (1 / (block * (len(peaks) - 1))))


SETTINGS = [dict(lr=0.05), dict(lr=0.09), dict(lr=0.02, momentum=0.5),
            dict(lr=0.06, momentum=0.7), dict(lr=0.03, momentum=0.3, nesterov=True),
            dict(lr=0.04, momentum=0.8, nesterov=True), dict(lr=0.05, momentum=0.6, dampening=0.4),
            dict(lr=0.05, momentum=0.5, weight_decay=0.3), dict(lr=0.12)]


@pytest.mark.parametrize("sgd", SETTINGS, ids=lambda s: ",".join(f"{k}={v}" for k, v in s.items()))
def test_rate_is_the_contraction_of_real_torch_runs(sgd):
    # minimiser at 0: floats keep their relative precision as the error falls many decades;
    # blocks of 100 steps span a period of the slowest spiral (complex roots)
    # (weight decay adds wd x to the gradient: the iteration of A + wd I, still centred at 0)
    q = Quadratic(SPECTRUM, basis=BASIS)
    predicted = rate(SPECTRUM, **sgd)
    steps, block = (1200, 100) if predicted < 1 else (50, 5)
    measured = measured_rate(torch_errors(q, [1.0, 1.0, 1.0], steps, **sgd), block)
    assert measured == pytest.approx(predicted, rel=2e-3), (measured, predicted)


def test_rate_above_one_means_the_torch_run_grows():
    q = Quadratic(SPECTRUM, basis=BASIS)
    sgd = dict(lr=0.06, momentum=0.9)          # 2 (1 + 0.9) / 20 = 0.19 > 0.06, but ...
    assert rate(SPECTRUM, **sgd) < 1
    grows = dict(lr=0.2, momentum=0.9)         # ... 0.2 is past the edge 2 (1 + beta) / L
    r = rate(SPECTRUM, **grows)
    assert r > 1
    errors = torch_errors(q, [1.0, 1.0, 1.0], 120, **grows)
    assert measured_rate(errors, block=6) == pytest.approx(r, rel=2e-3)


def test_closed_forms_at_the_optimal_parameters():
    for mu, L in [(1.0, 1000.0), (2.0, 50.0), (0.3, 0.9)]:
        k = L / mu
        gd, hb, nag = (optimal(mu, L, m) for m in ("gd", "heavy_ball", "nesterov"))
        assert gd.lr == pytest.approx(2 / (mu + L)) and gd.rate == pytest.approx((k - 1) / (k + 1))
        assert hb.lr == pytest.approx(4 / (math.sqrt(L) + math.sqrt(mu)) ** 2)
        assert hb.momentum == pytest.approx(((math.sqrt(k) - 1) / (math.sqrt(k) + 1)) ** 2)
        assert hb.rate == pytest.approx((math.sqrt(k) - 1) / (math.sqrt(k) + 1))
        assert nag.rate == pytest.approx(1 - 2 / math.sqrt(3 * k + 1))
        spectrum = np.linspace(mu, L, 101)           # every eigenvalue in between is as fast
        for t in (gd, hb, nag):
            # (a double root at the ends: rounding in t^2 - 4 beta shows as sqrt(eps))
            assert rate(spectrum, **t.kwargs) == pytest.approx(t.rate, rel=1e-7), t


def test_no_grid_point_beats_the_optimal_parameters():
    lam = [1.0, 100.0]
    lrs, betas = np.linspace(1e-4, 0.04, 400)[None, :], np.linspace(0.0, 0.99, 400)[:, None]
    for nesterov, method in ((False, "heavy_ball"), (True, "nesterov")):
        grid = rate(lam, lrs, np.maximum(betas, 1e-9), nesterov=nesterov)
        assert grid.min() >= optimal(1.0, 100.0, method).rate - 1e-12
        assert grid.min() < optimal(1.0, 100.0, method).rate + 5e-3     # and the grid gets near


def test_iteration_matrix_spectral_radius_is_the_rate():
    rng = np.random.default_rng(3)
    for _ in range(200):
        lam, lr, beta = rng.uniform(0.1, 10), rng.uniform(0.01, 0.5), rng.uniform(0.01, 0.99)
        for nesterov in (False, True):
            M = iteration_matrix(lam, lr, beta, nesterov=nesterov)
            radius = np.abs(np.linalg.eigvals(M)).max()
            assert rate([lam], lr, beta, nesterov=nesterov) == pytest.approx(radius, rel=1e-9)
    assert rate([1.0, 1000.0], lr=2 / 1000) == pytest.approx(1.0)   # the edge: no shrinking


@pytest.mark.parametrize("kwargs,words", [
    (dict(lr=0.0), "lr must be > 0"), (dict(lr=-0.1), "lr must be > 0"),
    (dict(lr=0.1, momentum=1.0), "momentum must be < 1"),
    (dict(lr=0.1, momentum=-0.2), "momentum must be >= 0"),
    (dict(lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (dict(lr=float("nan")), "finite"), (dict(lr="0.1"), "numbers")])
def test_rate_refuses_bad_settings(kwargs, words):
    with pytest.raises((ValueError, TypeError), match=words):
        rate([1.0, 2.0], **kwargs)


def test_optimal_refuses_bad_spectra():
    with pytest.raises(ValueError, match="swapped"):
        optimal(10.0, 1.0)
    with pytest.raises(ValueError, match="mu must be a positive number"):
        optimal(0.0, 1.0)
    with pytest.raises(ValueError, match="method must be one of"):
        optimal(1.0, 2.0, "adam")


def test_quadratic_runs_on_both_engines_and_has_its_spectrum():
    q = Quadratic([1.0, 1000.0], angle=30, center=[0.5, -1.0])
    assert np.linalg.eigvalsh(q.A) == pytest.approx([1.0, 1000.0])
    assert q.kappa == pytest.approx(1000.0) and q.mu == 1.0 and q.L == 1000.0
    x0 = [1.0, 0.0]
    for engine in ("torch", "optilab"):
        t = run(q, x0, "sgd", lr=1e-3, steps=5, engine=engine, progress=False)
        assert np.allclose(t.grads, q.gradient(t.points), rtol=1e-12, atol=1e-12)
        assert t.values[0] == pytest.approx(0.5 * (np.array(x0) - q.center) @ q.A
                                            @ (np.array(x0) - q.center))
    grid = q.test_function().grid(n=5)[2]
    assert grid.shape == (5, 5) and grid.min() >= 0
    m = Quadratic.from_matrix([[2.0, 1.0], [1.0, 2.0]])
    assert m.eigenvalues == pytest.approx([1.0, 3.0])
    with pytest.raises(ValueError, match="symmetric"):
        Quadratic.from_matrix([[2.0, 1.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="angle rotates a 2D bowl"):
        Quadratic([1.0, 2.0, 3.0], angle=10)
    with pytest.raises(ValueError, match="takes points of 2 coordinates"):
        q(np.zeros(3))


# ----------------------------------------------------------------------------- pictures

@pytest.fixture(scope="module")
def bowl_runs():
    q = Quadratic([1.0, 100.0], angle=30)
    runs = {m: run(q, [1.0, 0.0], "sgd", steps=150, progress=False, label=m,
                   **optimal(q.mu, q.L, m).kwargs) for m in ("gd", "heavy_ball", "nesterov")}
    return q, runs


def test_plot_rates_draws_each_run_and_its_theory_line(bowl_runs):
    q, runs = bowl_runs
    fig = plot_rates(runs, q, tol=1e-6)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log"
    labels = [line.get_label() for line in ax.lines]
    hits = np.flatnonzero(q.error(runs["heavy_ball"].points) <= 1e-6)
    assert f"heavy_ball, error <= 1e-06 at step {hits[0]}" in labels, labels
    assert "gd, not <= 1e-06 in 150 steps" in labels       # 0.98^150 = 0.05
    for name, t in runs.items():
        theory = next(line for line in ax.lines if line.get_label().startswith("  theory")
                      and f"{optimal(q.mu, q.L, name).rate:.6g}" in line.get_label())
        k = np.arange(t.steps + 1)
        assert np.allclose(theory.get_ydata(), q.error(t.points[0]) * theoretical_rate(t, q) ** k)
    gd_line = next(line for line in ax.lines if line.get_label().startswith("gd,"))
    assert np.allclose(gd_line.get_ydata(), q.error(runs["gd"].points))
    fig.canvas.draw()


def test_plot_rates_refuses_what_has_no_rate(bowl_runs):
    q, runs = bowl_runs
    adam = run(q, [1.0, 0.0], "adam", lr=0.1, steps=5, progress=False)
    with pytest.raises(ValueError, match="adaptive methods"):
        plot_rates(adam, q)
    scheduled = run(q, [1.0, 0.0], "sgd", lr=0.01, steps=5, scheduler="cosine", progress=False)
    with pytest.raises(ValueError, match="scheduler"):
        plot_rates(scheduled, q)
    other = Quadratic([1.0, 100.0], angle=60)
    with pytest.raises(ValueError, match="not a run on this quadratic: at step 0"):
        plot_rates(runs["gd"], other)
    with pytest.raises(TypeError, match="Quadratic.from_matrix"):
        plot_rates(runs["gd"], np.eye(2))
    with pytest.raises(TypeError, match="not a Trajectory"):
        plot_rates({"a": np.zeros((3, 2))}, q)
    with pytest.raises(ValueError, match="tol must be a positive"):
        plot_rates(runs, q, tol=-1)


def test_momentum_region_values_at_known_points(bowl_runs):
    q, runs = bowl_runs
    fig = plot_momentum_region(q, {"gd": runs["gd"], "heavy ball": runs["heavy_ball"],
                                   "pair": (0.01, 0.5)}, n=200)
    ax = fig.axes[0]
    image = ax.images[0]
    digits = image.get_array()
    left, right, bottom, top = image.get_extent()
    lrs, betas = np.linspace(right / 200, right, 200), np.linspace(0, 0.999, 200)

    def pixel(lr, beta):
        return digits[np.argmin(abs(betas - beta)), np.argmin(abs(lrs - lr))]

    for beta in (0.0, 0.5, 0.9):                   # the edge lr = 2 (1 + beta) / L
        edge = 2 * (1 + beta) / q.L
        assert not np.ma.is_masked(pixel(0.93 * edge, beta))
        assert np.ma.is_masked(pixel(1.07 * edge, beta))        # grey: rho >= 1
        i, j = np.argmin(abs(betas - beta)), np.argmin(abs(lrs - 0.5 * edge))
        assert digits[i, j] == pytest.approx(-np.log10(1 - rate(q.eigenvalues, lrs[j],
                                                                 betas[i])))
    marks = {line.get_label(): line.get_xydata()[0] for line in ax.lines}
    best = optimal(q.mu, q.L, "heavy_ball")
    assert marks[f"heavy ball: $\\rho$ = {best.rate:.6g}"] == pytest.approx([best.lr,
                                                                          best.momentum])
    assert "pair: $\\rho$ = " + f"{rate(q.eigenvalues, 0.01, 0.5):.6g}" in marks
    fig.canvas.draw()
    nag = plot_momentum_region(q.eigenvalues, [runs["nesterov"]], nesterov=True)
    assert nag.axes[0].get_xlim()[1] == pytest.approx(1.08 * 2 / q.L)


def test_momentum_region_refuses_bad_input(bowl_runs):
    q, runs = bowl_runs
    with pytest.raises(ValueError, match="nesterov=True"):
        plot_momentum_region(q, {"nag": runs["nesterov"]})
    with pytest.raises(ValueError, match="momentum must be in"):
        plot_momentum_region(q, {"p": (0.01, 1.2)})
    with pytest.raises(ValueError, match="lr must be > 0"):
        plot_momentum_region(q, {"p": (-0.01, 0.5)})
    with pytest.raises(ValueError, match="eigenvalues must be > 0"):
        plot_momentum_region([-1.0, 2.0])
    with pytest.raises(TypeError, match="pair"):
        plot_momentum_region(q, {"p": "fast"})
    with pytest.raises(ValueError, match="adam"):
        plot_momentum_region(q, [run(q, [1.0, 0.0], "adam", lr=0.1, steps=3, progress=False)])


# ----------------------------------------------------------------------------- exercises

def answer(code, name):
    namespace = {}
    exec(textwrap.dedent(code), namespace)
    return namespace[name]


def test_each_solution_checks_correct():
    for q in (q1, q2, q3, q4):
        ref = q.reference()
        result = q.check(*[ref[n] for n in q.answers])
        assert result.status == "correct", result
        assert len(q.hints) >= 3


WRONG = [
    (q1, "def best_step(mu, L):\n    return 1 / L, 1 - mu / L", "one_over_L"),
    (q1, "def best_step(mu, L):\n    return 2 / L, 1.0", "two_over_L"),
    (q1, "def best_step(mu, L):\n    return 2 / (L - mu), 0.5", "difference"),
    (q1, "def best_step(mu, L):\n    k = L / mu\n    return 2 / (mu + L), 1 - 1 / k",
     "rate_of_one_over_L"),
    (q1, "import math\ndef best_step(mu, L):\n    k = math.sqrt(L / mu)\n"
         "    return 2 / (mu + L), (k - 1) / (k + 1)", "sqrt_kappa"),
    (q1, "def best_step(mu, L):\n    lr = 2 / (mu + L)\n    return lr, 1 - lr * L", "no_abs"),
    (q1, "def best_step(mu, L):\n    lr = 2 / (mu + L)\n    return 1 - lr * mu, lr", "swapped"),
    (q1, "def best_step(mu, L):\n    return 2 / (mu + L)", "shape"),
    (q2, "import math\ndef steps_needed(rate, tol):\n    return math.log(tol) / math.log(rate)",
     "not_rounded"),
    (q2, "import math\ndef steps_needed(rate, tol):\n"
         "    return int(math.log(tol) / math.log(rate))", "rounded_down"),
    (q2, "import math\ndef steps_needed(rate, tol):\n"
         "    return math.ceil(math.log(tol) / (rate - 1))", "linearised"),
    (q2, "import math\ndef steps_needed(rate, tol):\n"
         "    return math.log(rate) / math.log(tol)", "inverted"),
    (q2, "import math\ndef steps_needed(rate, tol):\n"
         "    return math.ceil(math.log10(tol) / math.log(rate))", "mixed_logs"),
    (q3, "import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
         "    return max(abs(1 - lr * lam) for lam in eigenvalues)", "momentum_ignored"),
    (q3, "import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
         "    return max(np.linalg.eigvals(np.array([[1 + beta - lr * lam, -beta], [1, 0]]))"
         ".real.max() for lam in eigenvalues)", "no_modulus"),
    (q3, "import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
         "    return max(np.linalg.norm(np.array([[1 + beta - lr * lam, -beta], [1, 0]]), 2)"
         " for lam in eigenvalues)", "matrix_norm"),
    (q3, "import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
         "    lam = max(eigenvalues)\n"
         "    return np.abs(np.linalg.eigvals(np.array([[1 + beta - lr * lam, -beta], [1, 0]])"
         ")).max()", "largest_eigenvalue_only"),
    (q3, "import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
         "    return max(np.abs(np.linalg.eigvals(np.array([[1 + beta - lr * lam, beta], [1, 0]]"
         "))).max() for lam in eigenvalues)", "beta_sign"),
    (q4, "import math\ndef heavy_ball_tuning(mu, L):\n    r = (math.sqrt(L / mu) - 1) / "
         "(math.sqrt(L / mu) + 1)\n    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r, r",
     "beta_not_squared"),
    (q4, "import math\ndef heavy_ball_tuning(mu, L):\n    r = (math.sqrt(L / mu) - 1) / "
         "(math.sqrt(L / mu) + 1)\n    k = L / mu\n"
         "    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r * r, (k - 1) / (k + 1)",
     "rate_with_kappa"),
    (q4, "import math\ndef heavy_ball_tuning(mu, L):\n    r = (math.sqrt(L / mu) - 1) / "
         "(math.sqrt(L / mu) + 1)\n    return 2 / (mu + L), r * r, r", "lr_of_gd"),
    (q4, "import math\ndef heavy_ball_tuning(mu, L):\n    r = (math.sqrt(L / mu) - 1) / "
         "(math.sqrt(L / mu) + 1)\n    return 4 / (math.sqrt(L) + math.sqrt(mu)), r * r, r",
     "lr_not_squared"),
    (q4, "import math\ndef heavy_ball_tuning(mu, L):\n    r = (math.sqrt(L / mu) - 1) / "
         "(math.sqrt(L / mu) + 1)\n    return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r * r, "
         "r * r", "rate_is_beta"),
]


@pytest.mark.parametrize("exercise,code,key", WRONG,
                         ids=[f"{e.number}-{k}" for e, _, k in WRONG])
def test_each_planted_mistake_is_named(exercise, code, key):
    result = exercise.check(answer(code, exercise.answers[0]))
    assert result.status == "incorrect", result
    assert result.mistake == key, result
    assert len(result.message) > 40


def test_other_right_answers_pass():
    round_up = "import numpy as np\ndef steps_needed(rate, tol):\n" \
               "    return int(np.ceil(np.log10(tol) / np.log10(rate)))"
    assert q2.check(answer(round_up, "steps_needed")).status == "correct"
    loop = "def steps_needed(rate, tol):\n    k, e = 0, 1.0\n    while e > tol:\n" \
           "        e, k = e * rate, k + 1\n    return k"
    assert q2.check(answer(loop, "steps_needed")).status == "correct"
    closed = ("import numpy as np\ndef momentum_rate(lr, beta, eigenvalues):\n"
              "    out = 0\n    for lam in eigenvalues:\n        t = 1 + beta - lr * lam\n"
              "        d = t * t - 4 * beta\n"
              "        out = max(out, (abs(t) + d ** 0.5) / 2 if d >= 0 else beta ** 0.5)\n"
              "    return out")
    assert q3.check(answer(closed, "momentum_rate")).status == "correct"
