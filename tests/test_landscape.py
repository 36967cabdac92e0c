"""optilab.landscape: slices of a net's loss (Li et al., 2018) and the lr range test."""

import textwrap

import matplotlib
import numpy as np
import pytest

from optilab.autograd.nn import Linear, MSELoss
from optilab.exercises import all_exercises
from optilab.exercises import nb13_landscape as nb13
from optilab.exercises.nb13_landscape import MLP, sine_data
from optilab.landscape import (
    filter_normalized,
    loss_landscape,
    lr_range_test,
    pca_directions,
    project,
    set_weights,
    weights_of,
)

matplotlib.use("agg")
EXERCISES = all_exercises()
XS, YS = sine_data()
X, Y = XS.reshape(-1, 1, 1), YS.reshape(-1, 1, 1)


def ours_loss(model):
    return MSELoss()(model(X), Y)


def small_net():
    return MLP([1, 6, 5, 1], seed=3)


def test_the_slice_is_the_loss_at_its_grid_points_with_our_engine():
    net = small_net()
    before = weights_of(net)
    scape = loss_landscape(net, ours_loss, n=7, span=0.8, seed=4)
    assert np.array_equal(weights_of(net), before)            # weights put back
    assert scape.alphas.tolist() == pytest.approx(np.linspace(-0.8, 0.8, 7).tolist())
    probe = small_net()
    for i, j in [(0, 0), (3, 3), (6, 1), (2, 5)]:
        w = before + scape.alphas[i] * scape.directions[0] + scape.betas[j] * scape.directions[1]
        set_weights(probe, w)
        assert scape.losses[j, i] == pytest.approx(float(ours_loss(probe).value), rel=1e-13)
    assert scape.loss_at_center == pytest.approx(float(ours_loss(net).value), rel=1e-13)
    assert scape.losses.std() > 0.01                          # a real landscape, not flat


def test_torch_gives_the_same_slice_and_its_own_direct_values():
    torch = pytest.importorskip("torch")
    from optilab.exercises.nb13_landscape import torch_copy

    net = small_net()
    tnet = torch_copy(net)
    tx, ty = torch.tensor(XS).reshape(-1, 1), torch.tensor(YS).reshape(-1, 1)
    torch_loss = lambda m: torch.nn.functional.mse_loss(m(tx), ty)   # noqa: E731
    assert np.array_equal(weights_of(tnet), weights_of(net))  # same order, same numbers
    ours = loss_landscape(net, ours_loss, n=9, seed=1)
    theirs = loss_landscape(tnet, torch_loss, n=9, seed=1)
    np.testing.assert_allclose(theirs.directions, ours.directions, rtol=0, atol=0)
    np.testing.assert_allclose(theirs.losses, ours.losses, rtol=1e-12)
    w = weights_of(tnet) + ours.alphas[2] * ours.directions[0] + ours.betas[7] * ours.directions[1]
    probe = torch_copy(small_net())
    set_weights(probe, w)
    with torch.no_grad():
        assert theirs.losses[7, 2] == pytest.approx(float(torch_loss(probe)), rel=1e-13)
    # a loss that vmap cannot batch (.item()) falls back to one point at a time
    unbatchable = lambda m: torch.tensor(torch_loss(m).item(), dtype=torch.float64)  # noqa: E731
    slow = loss_landscape(tnet, unbatchable, n=9, seed=1)
    np.testing.assert_allclose(slow.losses, ours.losses, rtol=1e-12)
    assert np.array_equal(weights_of(tnet), weights_of(net))


def test_filter_normalisation_matches_each_units_norm_and_zeroes_biases():
    net = small_net()
    d = filter_normalized(net, seed=0)
    start = 0
    for name, p in net.named_parameters():
        w = p.value
        part = d[start:start + w.size].reshape(w.shape)
        start += w.size
        if name.endswith("bias"):
            assert not part.any(), name
        else:
            np.testing.assert_allclose(np.linalg.norm(part, axis=1),
                                       np.linalg.norm(w, axis=1), rtol=1e-12)
            assert not np.allclose(part, w)                    # a random pattern, not w
    assert start == d.size
    assert not np.array_equal(d, filter_normalized(net, seed=1))


def test_filter_normalisation_of_a_torch_convolution_works_filter_by_filter():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    conv = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.BatchNorm2d(3))
    d = filter_normalized(conv, seed=0)
    w = conv[0].weight.detach().double().numpy()
    part = d[:w.size].reshape(w.shape)
    np.testing.assert_allclose(np.sqrt((part ** 2).sum(axis=(1, 2, 3))),
                               np.sqrt((w ** 2).sum(axis=(1, 2, 3))), rtol=1e-6)
    assert not d[w.size:].any()            # conv bias, batch-norm weight and bias: zero


def test_the_pca_slice_holds_a_planted_path_with_its_end_at_the_origin():
    net = small_net()
    theta = weights_of(net)
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(2, theta.size)) * 0.3
    t = np.linspace(1.0, 0.0, 30)[:, None]
    coords = np.hstack([2 * t, np.sin(4 * t)])              # a curve ending at (0, 0)
    path = theta + coords[:, :1] * u + coords[:, 1:] * v
    scape = loss_landscape(net, ours_loss, directions="pca", path=path, n=11)
    drawn, values = scape.paths["path"]
    np.testing.assert_allclose(drawn[-1], [0.0, 0.0], atol=1e-12)
    assert scape.captured["path"] == pytest.approx(1.0, abs=1e-12)
    assert scape.explained.sum() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(theta + drawn @ scape.directions, path, atol=1e-12)
    np.testing.assert_allclose(scape.directions @ scape.directions.T, np.eye(2), atol=1e-12)
    assert values[-1] == pytest.approx(float(ours_loss(net).value), rel=1e-12)
    # the grid covers the whole path, with room
    assert scape.alphas[0] < drawn[:, 0].min() and scape.alphas[-1] > drawn[:, 0].max()
    assert scape.betas[0] < drawn[:, 1].min() and scape.betas[-1] > drawn[:, 1].max()


def test_projection_solves_for_coordinates_along_any_two_directions():
    rng = np.random.default_rng(2)
    center = rng.normal(size=8)
    D = np.array([3 * rng.normal(size=8), 0.5 * rng.normal(size=8)])
    D[1] += 0.7 * D[0]                                  # not orthogonal, not unit
    truth = np.array([[0.3, -1.2], [2.0, 0.5]])
    np.testing.assert_allclose(project(center + truth @ D, center, D), truth, atol=1e-12)
    # off the plane: the closest point's coordinates (least squares)
    off = center + truth[0] @ D + np.linalg.svd(D)[2][-1]     # a normal to the plane
    np.testing.assert_allclose(project(off, center, D), truth[:1], atol=1e-12)


def test_pca_directions_fit_the_plane_through_the_end_not_through_the_mean():
    rng = np.random.default_rng(5)
    path = 3.0 + np.cumsum(rng.normal(size=(50, 6)) * [3, 2, 1, 0.3, 0.2, 0.1], axis=0)
    dirs, share = pca_directions(path)
    M = path - path[-1]
    held = lambda D: np.sum((M @ D.T) ** 2) / np.sum(M ** 2)      # noqa: E731
    centred = np.linalg.svd(path - path.mean(axis=0))[2][:2]
    assert held(dirs) == pytest.approx(share.sum(), rel=1e-12)
    assert held(dirs) > held(centred) + 1e-3
    assert np.all(np.abs(dirs).max(axis=1) == dirs.max(axis=1))  # largest component positive


def least_squares(seed=0):
    """A linear model on 3 features of different scales: the Hessian's eigenvalues known."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(40, 3)) * [1.0, 0.5, 0.2]
    target = feats @ [1.0, -2.0, 3.0] + 0.5 + 0.1 * rng.normal(size=40)
    phi = np.hstack([feats, np.ones((40, 1))])              # weights and the bias
    lam = np.linalg.eigvalsh(2 * phi.T @ phi / 40)
    return feats, target, lam


def test_the_lr_range_test_suggests_a_stable_rate_and_stops_past_the_limit():
    feats, target, lam = least_squares()
    x, y = feats.reshape(-1, 3, 1), target.reshape(-1, 1, 1)
    net = Linear((1, 3), seed=0)
    before = weights_of(net)
    test = lr_range_test(net, lambda m: MSELoss()(m(x), y), "sgd", lr_min=1e-4, lr_max=100)
    assert np.array_equal(weights_of(net), before)
    limit = 2 / lam[-1]                                     # GD is stable below it
    best = 2 / (lam[0] + lam[-1])                           # the best constant rate
    assert best / 10 < test.suggestion < limit, (test.suggestion, best, limit)
    assert test.min_tenth < limit
    stop = test.lrs[-1]        # GD converged first: the blow-up grows from a tiny error
    assert limit < stop < 10 * limit, (stop, limit)
    assert test.stopped.startswith("the loss exploded at lr")
    assert np.all(np.diff(np.log(test.lrs)) == pytest.approx(np.log(1e6) / 99))
    # GD at the suggestion converges; at the rate where the test stopped it does not
    for lr, converges in ((test.suggestion, True), (stop, False)):
        w = np.zeros(4)
        phi = np.hstack([feats, np.ones((40, 1))])
        with np.errstate(all="ignore"):
            for _ in range(300):
                w = w - lr * 2 * phi.T @ (phi @ w - target) / 40
        assert (np.mean((phi @ w - target) ** 2) < 0.02) == converges, lr


def test_the_lr_range_test_is_the_same_with_torch_and_uses_its_optimizers():
    torch = pytest.importorskip("torch")
    feats, target, _ = least_squares()
    x, y = feats.reshape(-1, 3, 1), target.reshape(-1, 1, 1)
    net = Linear((1, 3), seed=0)
    tnet = torch.nn.Linear(3, 1).double()
    set_weights(tnet, weights_of(net))
    tx, ty = torch.tensor(feats), torch.tensor(target).reshape(-1, 1)
    for name in ("sgd", "adam"):
        ours = lr_range_test(net, lambda m: MSELoss()(m(x), y), name)
        theirs = lr_range_test(tnet, lambda m: torch.nn.functional.mse_loss(m(tx), ty), name)
        np.testing.assert_allclose(theirs.losses, ours.losses, rtol=1e-9)
        assert theirs.suggestion == ours.suggestion
    assert np.array_equal(weights_of(tnet), weights_of(net))
    assert all(p.grad is None for p in tnet.parameters())
    fig = theirs.plot()
    assert fig.axes[0].get_xscale() == "log"
    assert "suggested lr" in fig.axes[0].get_legend().get_texts()[-1].get_text()


def test_pictures_are_drawn_with_the_plot_modules_contour_and_surface():
    net = small_net()
    path = [weights_of(net) + s * filter_normalized(net, seed=9) for s in (0.5, 0.2, 0.0)]
    scape = loss_landscape(net, ours_loss, n=9, path=path)
    fig = scape.plot()
    ax = fig.axes[0]
    assert "filter-normalised" in ax.get_xlabel()
    assert any(line.get_label() == "path" for line in ax.lines)
    surface = scape.plot("surface")
    assert surface.axes[0].get_zlabel() == "loss"
    png = fig._repr_png_()
    assert png[:4] == b"\x89PNG" and len(png) > 10_000


@pytest.mark.parametrize("kwargs, message", [
    (dict(n=1), "n must be a whole number from 2"),
    (dict(n=1000), "n must be a whole number from 2 to 401"),
    (dict(directions="random"), "directions must be 'filter', 'pca'"),
    (dict(directions="pca"), "needs the training path"),
    (dict(directions=np.zeros((2, 5))), "should have shape (2, 53)"),
    (dict(directions=np.ones((2, 53))), "parallel"),
    (dict(path=[np.zeros(3), np.zeros(3)]), "the path 'path' has weight vectors of 3 numbers"),
    (dict(path=[np.zeros(53)]), "at least 2 weight vectors"),
    (dict(span=(1, -1)), "low < high"),
])
def test_bad_landscape_requests_say_what_to_do(kwargs, message):
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(")
                       .replace(")", r"\)")):
        loss_landscape(small_net(), ours_loss, **kwargs)


def test_bad_models_losses_and_rates_are_refused_with_the_reason():
    with pytest.raises(TypeError, match="expected a model"):
        loss_landscape([np.zeros(3)], ours_loss)
    with pytest.raises(TypeError, match="loss must be a function of the model"):
        loss_landscape(small_net(), 3.0)
    with pytest.raises(ValueError, match="one number"):
        loss_landscape(small_net(), lambda m: m(X), n=3)
    with pytest.raises(ValueError, match="lr_max must be larger than lr_min"):
        lr_range_test(small_net(), ours_loss, lr_min=1.0, lr_max=0.1)
    with pytest.raises(ValueError, match="our engine's optimizers are 'sgd'.*Did you mean 'adam'"):
        lr_range_test(small_net(), ours_loss, "adma")
    with pytest.raises(ValueError, match="rule must be"):
        lr_range_test(small_net(), ours_loss, rule="valley")
    with pytest.raises(ValueError, match="too early to suggest"):
        lr_range_test(small_net(), ours_loss, lr_min=1e3, lr_max=1e6)
    with pytest.raises(ValueError, match="along a single line"):
        pca_directions(np.outer(np.arange(5.0), np.ones(4)))


# ------------------------------------------------------------------ notebook 13's exercises

def answers_of(exercise, code):
    namespace = {}
    exec(textwrap.dedent(code), namespace)
    return [namespace[name] for name in exercise.answers]


FN = "import numpy as np\nrows = lambda a: np.linalg.norm(a, axis=1, keepdims=True)\n" \
     "def filter_normalize(d, w):\n    return {}\n"
PCA = "import numpy as np\ndef pca_directions(path):\n    return {}\n"
PROJ = "import numpy as np\ndef project(theta, center, d1, d2):\n    D = np.stack([d1, d2])\n" \
       "    return {}\n"
_WRONG_BY_NUMBER = {
    "13.1": [(FN.format("d"), "not_normalised"),
             (FN.format("d * np.linalg.norm(w) / np.linalg.norm(d)"), "layer_not_filter"),
             (FN.format("d * np.linalg.norm(w, axis=0) / np.linalg.norm(d, axis=0)"), "columns"),
             (FN.format("d / rows(d)"), "unit_rows"),
             (FN.format("d * rows(w) ** 2 / rows(d) ** 2"), "squared_norms"),
             (FN.format("w"), "weights_returned"),
             (FN.format("d * rows(d) / rows(w)"), "inverted")],
    "13.2": [(PCA.format("np.linalg.svd(path)[2][:2]"), "raw_weights"),
             (PCA.format("np.linalg.svd(path - path[0])[2][:2]"), "from_start"),
             (PCA.format("np.linalg.svd(path - path.mean(axis=0))[2][:2]"), "centred"),
             (PCA.format("np.linalg.svd(path - path[-1])[0][:, :2].T"), "left_vectors"),
             (PCA.format("np.linalg.svd(path - path[-1])[2][:2].T"), "transposed"),
             (PCA.format("np.linalg.svd(path - path[-1])[2][1::-1]"), "order")],
    "13.3": [(PROJ.format("D @ (theta - center)"), "unnormalised_dots"),
             (PROJ.format("D @ (theta - center) / np.linalg.norm(D, axis=1)"), "dots_over_norm"),
             (PROJ.format("D @ (theta - center) / (D ** 2).sum(axis=1)"), "not_orthogonal"),
             (PROJ.format("np.linalg.solve(D @ D.T, D @ theta)"), "no_center"),
             (PROJ.format("np.linalg.solve(D @ D.T, D @ (theta - center))[::-1]"), "swapped")],
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


@pytest.mark.parametrize("q", [nb13.q1, nb13.q2, nb13.q3], ids=lambda q: q.number)
def test_solutions_are_correct_stubs_not_attempted_and_hints_come_in_three_levels(q):
    assert q.check(*answers_of(q, q.solution())).status == "correct"
    assert q.check(*answers_of(q, q.stub)).status == "not attempted"
    assert len(q.hints) >= 3
