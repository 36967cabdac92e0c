r"""Exercises of notebook 10, "Stochastic gradients".

* ``q1`` the gradient of a least-squares minibatch loss,
  :math:`\nabla f_B(w) = X_B^\top (X_B w - y_B) / b`;
* ``q2`` one epoch of minibatches: a shuffle of the n samples cut into batches, every
  sample exactly once;
* ``q3`` the noise floor of constant-rate SGD predicted for another lr and batch size
  (it grows like lr / b);
* ``q4`` a learning-rate decay that meets Robbins and Monro's conditions,
  :math:`\sum_k \eta_k = \infty` and :math:`\sum_k \eta_k^2 < \infty`.

    >>> from optilab.exercises.nb10_stochastic import q3
    >>> q3.check(lambda floor0, lr0, b0, lr, b: floor0 * lr / lr0 * b0 / b).status
    'correct'
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .base import Exercise, Mistake, call
from .diagnose import as_number, close, compare_function, to_array

__all__ = ["q1", "q2", "q3", "q4"]


# ----------------------------------------------------------------------------- q1

def _batch_gradient(w: np.ndarray, X: np.ndarray, y: np.ndarray) -> np.ndarray:
    return X.T @ (X @ w - y) / len(y)


def _gradient_cases() -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(10)
    cases = []
    for b, d in ((1, 2), (5, 2), (16, 3), (40, 2)):
        X = np.column_stack([np.ones(b), rng.normal(size=(b, d - 1))])
        cases.append((rng.normal(size=d), X, rng.normal(size=b)))
    return cases


def _fixed_divisor(student: Any, cases: list[tuple[np.ndarray, ...]]) -> float | None:
    """N when the student's gradients are X^T r / N for one N over batches of several sizes
    (divided by a fixed number, the data size n, say, instead of the batch's b)."""
    divisors = []
    for w, X, y in cases:
        got = to_array(call(student, w, X, y, name="minibatch_grad"), "minibatch_grad")
        total = X.T @ (X @ w - y)
        if got.shape != total.shape or not np.any(got):
            return None
        scale = float(np.vdot(got, total) / np.vdot(got, got))
        if not close(got * scale, total, 1e-6, 1e-12):
            return None
        divisors.append(scale)
    if np.allclose(divisors, divisors[0], rtol=1e-6) and abs(divisors[0] - 1) > 1e-6:
        return divisors[0]
    return None


def _check_q1(minibatch_grad: Any) -> str:
    cases = _gradient_cases()
    alternatives = {
        "not_averaged": (lambda w, X, y: X.T @ (X @ w - y),
                         "your gradient is the sum over the batch, b times the gradient of the "
                         "batch's loss: the loss is a mean, f_B = 1/(2b) sum (x_i.w - y_i)^2, "
                         "so keep its 1/b. Without it the step grows with the batch size, and "
                         "the learning rate that works for one batch size diverges for another."),
        "factor_2": (lambda w, X, y: 2 * X.T @ (X @ w - y) / len(y),
                     "an extra factor 2: the loss has a 1/2 in front, f_B = 1/(2b) sum r_i^2, "
                     "which cancels the 2 of d(r^2)/dr = 2r."),
    }
    mistake = compare_function(minibatch_grad, _batch_gradient, cases,
                               what="minibatch_grad(w, X, y)", alternatives=alternatives)
    if mistake and mistake.key in ("factor", "wrong"):
        divisor = _fixed_divisor(minibatch_grad, cases)
        if divisor is not None:
            raise Mistake("divided_by_n", f"you divided X^T (X w - y) by the same number, "
                          f"{divisor:.6g}, for batches of 1, 5, 16 and 40 samples: divide by "
                          f"the size of the batch you were given, len(y) (the loss is the mean "
                          f"over the batch, not over the whole data set).")
    if mistake:
        if mistake.key == "factor" and "-1 times" in mistake.message:
            raise Mistake("wrong_sign", "your gradient has the wrong sign: the derivative of "
                          "(x_i.w - y_i)^2 / 2 is (x_i.w - y_i) x_i, residual = prediction - "
                          "target. With y - Xw, SGD would climb.")
        raise mistake
    return ("the mean of the per-sample gradients (x_i.w - y_i) x_i: an unbiased estimate of "
            "the full gradient, whatever the batch size.")


q1 = Exercise(
    "10.1", "The gradient of a minibatch",
    r"""The loss of a batch $B$ of $b$ samples (rows of `X`, targets `y`) is
$f_B(w) = \frac{1}{2b} \sum_{i \in B} (x_i^\top w - y_i)^2$. Write
`minibatch_grad(w, X, y)` returning $\nabla f_B(w)$ (a numpy array shaped like `w`), for a
batch of any size.""",
    answers="minibatch_grad",
    check=_check_q1,
    hints=["Differentiate one term first: d/dw of (x_i.w - y_i)^2 / 2 is a multiple of x_i.",
           "Each sample contributes r_i x_i with the residual r_i = x_i.w - y_i; the batch's "
           "gradient is the mean of these over the batch (the 1/b stays).",
           "In matrix form: r = X @ w - y, then X.T @ r divided by the batch size len(y)."],
    solution="""
import numpy as np


def minibatch_grad(w, X, y):
    r = X @ w - y                  # residuals of the batch, shape (b,)
    return X.T @ r / len(y)        # the mean of r_i x_i over the batch
""",
    stub="""
import numpy as np


def minibatch_grad(w, X, y):
    raise NotImplementedError("Exercise 10.1: return the gradient of the batch's loss")
""",
)


# ----------------------------------------------------------------------------- q2

def _batches(epoch_batches: Any, n: int, size: int, seed: int) -> list[np.ndarray]:
    out = call(epoch_batches, n, size, np.random.default_rng(seed), name="epoch_batches")
    try:
        batches = [np.asarray(b) for b in out]
    except TypeError:
        raise Mistake("not_a_list", f"`epoch_batches` should return a list of index arrays, "
                      f"one per batch; got {type(out).__name__}.") from None
    for b in batches:
        if b.ndim != 1 or not (np.issubdtype(b.dtype, np.integer) or b.size == 0):
            raise Mistake("not_indices", f"each batch should be a 1-D array of row indices "
                          f"(integers), got one of shape {b.shape} and dtype {b.dtype}.")
    return batches


def _check_q2(epoch_batches: Any) -> str:
    for n, size in ((23, 5), (200, 50), (12, 12), (7, 1)):
        batches = _batches(epoch_batches, n, size, seed=1)
        rows = np.concatenate(batches) if batches else np.arange(0)
        counts = np.bincount(rows[(rows >= 0) & (rows < n)], minlength=n)
        if rows.size and (rows.min() < 0 or rows.max() >= n):
            raise Mistake("out_of_range", f"for n = {n} the row indices go from 0 to {n - 1}; "
                          f"yours reach {rows.min()} .. {rows.max()}.")
        if counts.max() > 1:
            inside = any(len(np.unique(b)) < len(b) for b in batches)
            if inside:
                raise Mistake("with_replacement", f"for n = {n}, batch_size = {size} some "
                              f"samples appear twice and others never: that is sampling with "
                              f"replacement (rng.integers, or rng.choice without "
                              f"replace=False). An epoch uses every sample exactly once: "
                              f"shuffle the indices once, rng.permutation(n), and cut.")
            raise Mistake("independent_batches", f"for n = {n}, batch_size = {size} each batch "
                          f"has distinct samples, but a sample appears in two batches of the "
                          f"epoch and another in none: the batches were drawn independently. "
                          f"An epoch uses every sample exactly once: draw one permutation and "
                          f"cut it into consecutive batches.")
        sizes = [len(b) for b in batches]
        want = [size] * (n // size) + ([n % size] if n % size else [])
        if counts.min() == 0:
            if sizes == want[:-1] and n % size:
                raise Mistake("dropped_last", f"for n = {n}, batch_size = {size} the last, "
                              f"smaller batch of {n % size} samples is missing, so those "
                              f"samples are never used in this epoch: keep the last batch.")
            raise Mistake("missing_samples", f"for n = {n}, batch_size = {size} the samples "
                          f"{np.flatnonzero(counts == 0)[:5].tolist()} never appear: every "
                          f"sample should be in exactly one batch.")
        if sizes != want:
            raise Mistake("batch_sizes", f"for n = {n}, batch_size = {size} the batches should "
                          f"have {want} samples (the last one smaller when batch_size does not "
                          f"divide n), got {sizes}.")
    batches = _batches(epoch_batches, 200, 50, seed=1)
    if np.array_equal(np.concatenate(batches), np.arange(200)):
        raise Mistake("not_shuffled", "the batches take the samples in their stored order "
                      "(0, 1, 2, ...): every epoch would show the same batches, and data sorted "
                      "by label or by time would make each batch unrepresentative. Shuffle "
                      "first: rng.permutation(n).")
    again = _batches(epoch_batches, 200, 50, seed=1)
    other = _batches(epoch_batches, 200, 50, seed=2)
    same = all(np.array_equal(a, b) for a, b in zip(batches, again))
    if not same or all(np.array_equal(a, b) for a, b in zip(batches, other)):
        raise Mistake("ignores_rng", "draw the shuffle from the generator you are given, "
                      "rng.permutation(n): "
                      + ("the same rng seed gave different batches (np.random's global "
                         "generator?), so a run cannot be repeated." if not same else
                         "two different rng seeds gave the same batches (a fixed seed "
                         "inside?)."))
    return ("every sample once per epoch, in a new random order each epoch: what "
            "run(..., data=, batch_size=) draws (with rng.permutation, the very same batches).")


q2 = Exercise(
    "10.2", "One epoch of minibatches",
    r"""Write `epoch_batches(n, batch_size, rng)`: the batches of one epoch over $n$ samples,
as a list of integer index arrays. Every sample appears in exactly one batch, the order is
random (drawn from the numpy generator `rng`), and every batch has `batch_size` samples
except the last, which has the rest when `batch_size` does not divide $n$.""",
    answers="epoch_batches",
    check=_check_q2,
    hints=["Drawing each batch at random on its own cannot promise that every sample is used "
           "exactly once. Decide the order of all n samples first.",
           "`rng.permutation(n)` is the n indices in a random order; an epoch walks through it "
           "from the start, batch_size indices at a time.",
           "Cut the permutation into slices: `rows[i:i + batch_size]` for `i` in "
           "`range(0, n, batch_size)` (the last slice is shorter by itself)."],
    solution="""
def epoch_batches(n, batch_size, rng):
    rows = rng.permutation(n)                       # every sample once, in a random order
    return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
""",
    stub="""
def epoch_batches(n, batch_size, rng):
    raise NotImplementedError("Exercise 10.2: return the list of index arrays of one epoch")
""",
)


# ----------------------------------------------------------------------------- q3

_FLOOR_CASES = [(2e-3, 0.05, 4, 0.1, 4), (2e-3, 0.05, 4, 0.05, 16), (5e-4, 0.1, 8, 0.02, 2),
                (1e-2, 0.2, 1, 0.1, 10)]


def _check_q3(predict_floor: Any) -> str:
    truth = lambda F, lr0, b0, lr, b: F * (lr / lr0) * (b0 / b)
    alternatives = {
        "sqrt_batch": (lambda F, lr0, b0, lr, b: F * (lr / lr0) * math.sqrt(b0 / b),
                       "you divided by sqrt(b): that is how the standard deviation of the "
                       "minibatch gradient falls. Its variance falls like 1/b, and the floor "
                       "follows the variance (the noise each step adds, lr^2 sigma^2 / b, "
                       "balances the pull lr lambda of the minimum)."),
        "batch_squared": (lambda F, lr0, b0, lr, b: F * (lr / lr0) * (b0 / b) ** 2,
                          "you divided by b^2: the variance of a mean of b samples is "
                          "sigma^2 / b, and the floor follows the variance: one power of b."),
        "lr_squared": (lambda F, lr0, b0, lr, b: F * (lr / lr0) ** 2 * (b0 / b),
                       "the floor grows like lr, not lr^2: each step adds noise lr^2 sigma^2 / b "
                       "but the minimum pulls back a fraction lr lambda per step, so the spread "
                       "settles where the two balance, at lr sigma^2 / (2 lambda b)."),
        "sqrt_lr": (lambda F, lr0, b0, lr, b: F * math.sqrt(lr / lr0) * (b0 / b),
                    "the floor is an excess loss, a squared distance: it grows like lr, not "
                    "sqrt(lr)."),
        "batch_inverted": (lambda F, lr0, b0, lr, b: F * (lr / lr0) * (b / b0),
                           "a larger batch lowers the floor (it averages more samples, so its "
                           "gradient is less noisy): divide by b, do not multiply."),
        "lr_inverted": (lambda F, lr0, b0, lr, b: F * (lr0 / lr) * (b0 / b),
                        "a smaller learning rate lowers the floor (smaller noisy steps): "
                        "multiply by lr / lr0."),
    }
    student = lambda *args: as_number(call(predict_floor, *args, name="predict_floor"),
                                      "predict_floor(...)")
    mistake = compare_function(student, truth, _FLOOR_CASES, what="predict_floor(...)",
                               alternatives=alternatives, rtol=1e-6)
    if mistake:
        raise mistake
    return ("floor = floor0 (lr / lr0) (b0 / b): halve the rate or double the batch and the "
            "floor halves (the notebook measures how well that holds).")


q3 = Exercise(
    "10.3", "Predict the noise floor",
    r"""With a constant learning rate, SGD stalls where its noise balances the pull of the
minimum; for a small rate the floor (the excess loss $f - f^*$ it hovers at) is proportional to
$\eta\,\sigma^2 / b$, where $\sigma^2$ is the variance of one sample's gradient. Write
`predict_floor(floor0, lr0, b0, lr, b)`: the floor at rate `lr` and batch size `b`, given the
floor `floor0` measured at rate `lr0` and batch size `b0`.""",
    answers="predict_floor",
    check=_check_q3,
    hints=["The constant of proportionality (sigma^2, the curvature) is the same for both runs: "
           "work with the ratio floor / floor0.",
           "floor / floor0 = (lr / lr0) * (what for the batches?): the floor is inversely "
           "proportional to b.",
           "Return floor0 * (lr / lr0) * (b0 / b)."],
    solution="""
def predict_floor(floor0, lr0, b0, lr, b):
    return floor0 * (lr / lr0) * (b0 / b)    # the floor is proportional to lr / b
""",
    stub="""
def predict_floor(floor0, lr0, b0, lr, b):
    raise NotImplementedError("Exercise 10.3: return the floor at (lr, b)")
""",
)


# ----------------------------------------------------------------------------- q4

_FAR = (10 ** 3, 10 ** 4, 10 ** 5, 10 ** 6, 10 ** 7, 10 ** 8, 10 ** 9, 10 ** 10)


def _decay_values(decay: Any) -> list[float]:
    """decay(k) at k = 0 and at the powers of ten in _FAR, checked to be positive numbers."""
    try:
        first = as_number(call(decay, 0, name="decay"), "decay(0)")
    except ZeroDivisionError:
        first = math.inf
    if not math.isfinite(first):
        raise Mistake("infinite_at_zero", "decay(0) divides by zero: LambdaLR asks for "
                      "k = 0 first (the rate of the first step). Shift the count: 1 / (1 + k), "
                      "or 1 / (1 + k / k0) to decay more slowly.")
    values = [first] + [as_number(call(decay, k, name="decay"), f"decay({k})") for k in _FAR]
    for k, v in zip((0, *_FAR), values):
        if not math.isfinite(v) or v < 0 or (v == 0 and k == 0):
            raise Mistake("not_positive", f"decay({k}) = {v!r}: a learning rate must be a "
                          f"positive (finite) number.")
        if v == 0:
            raise Mistake("summable", f"decay({k:.0e}) is exactly 0: your rate falls so fast "
                          f"(geometrically, or to zero) that the sum of the rates is finite: "
                          f"the steps add up to a finite distance, and a run that starts far "
                          f"away stops short of the minimum. Decay like 1/k.")
    return values


def _check_q4(decay: Any) -> str:
    values = _decay_values(decay)
    if not close(values[0], 1.0, 1e-9, 0.0):
        raise Mistake("not_one_at_zero", f"decay(0) = {values[0]:.6g}: LambdaLR multiplies the "
                      f"learning rate you set by decay(k), so decay(0) should be 1 (the first "
                      f"step uses lr as set); then let it fall.")
    far = values[1:]
    if np.allclose(far, values[0], rtol=1e-9):
        raise Mistake("constant", "your decay stays at 1: a constant rate keeps SGD at its "
                      "noise floor, hovering at a distance proportional to lr / b from the "
                      "minimum. Let the rate fall to 0, like 1 / (1 + k / k0).")
    # the tail exponent p of decay(k) ~ k^-p, from the last decade: p = log10(d(k) / d(10k))
    p = math.log10(far[-2] / far[-1])
    steepest = max(math.log10(a / b) for a, b in zip(far, far[1:]))
    if p > 1.02 or steepest > 1.5:
        kind = "geometrically" if steepest > 1.5 else f"like k^-{p:.2g}"
        raise Mistake("summable", f"your rate falls {kind}, so the sum of the rates converges "
                      f"(Robbins and Monro ask for sum_k lr_k = infinity): the steps add up to "
                      f"a finite distance, and a run that starts far from the minimum freezes "
                      f"before it gets there. Fall no faster than 1/k.")
    if p < 0.02:
        raise Mistake("constant", f"decay(k) levels off (about {far[-1]:.3g} from k = 1e9 on): "
                      f"a rate that stays above 0 keeps a noise floor. Let it fall to 0, like "
                      f"1 / (1 + k / k0).")
    if p <= 0.52:
        which = "1/sqrt(k)" if abs(p - 0.5) < 0.02 else f"k^-{p:.2g}"
        raise Mistake("not_square_summable", f"your rate falls like {which}, so the sum of the "
                      f"squared rates diverges (for 1/sqrt(k), sum 1/k): the noise the steps "
                      f"add, about lr_k^2 sigma^2 / b each, is not summable, which Robbins and "
                      f"Monro's theorem needs. Fall faster than 1/sqrt(k): k^-p with "
                      f"1/2 < p <= 1, e.g. 1 / (1 + k / k0).")
    return (f"your rate falls like k^-{p:.2g} (1/2 < p <= 1): sum lr = infinity, so the steps "
            f"can travel any distance, and sum lr^2 < infinity, so the noise they add stays "
            f"finite.")


q4 = Exercise(
    "10.4", "A decay that reaches the minimum",
    r"""`torch.optim.lr_scheduler.LambdaLR` sets the rate of step $k$ to
$\eta_k = \eta_0 \cdot$ `decay(k)`. Write `decay(k)` (for $k = 0, 1, 2, \dots$) with
`decay(0) == 1` such that the rates meet Robbins and Monro's conditions:
$\sum_k \eta_k = \infty$ and $\sum_k \eta_k^2 < \infty$. (The check reads `decay` up to
$k = 10^{10}$.)""",
    answers="decay",
    check=_check_q4,
    hints=["Try powers: decay(k) ~ k^-p. For which p does sum k^-p diverge, and for which "
           "does sum k^-2p converge?",
           "sum k^-p diverges for p <= 1 and sum k^-2p converges for p > 1/2: any p in "
           "(1/2, 1] works. Geometric decay (gamma^k) is summable: it stops too soon.",
           "decay(k) = 1 / (1 + k / k0) (p = 1) with k0 a few hundred steps: 1 at k = 0, "
           "half the rate at k = k0."],
    solution="""
def decay(k):
    return 1 / (1 + k / 200)       # p = 1: sum lr = infinity, sum lr^2 < infinity
""",
    stub="""
def decay(k):
    raise NotImplementedError("Exercise 10.4: return the factor lr_k / lr_0")
""",
)
