"""Every exercise: its solution checks correct, its stub "not attempted", and typical wrong
answers "incorrect" with the mistake named; hints progress; results display everywhere."""

import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from optilab.exercises import all_exercises, diagnose
from optilab.exercises.base import Exercise, Mistake, Result, is_stub

EXERCISES = all_exercises()
PRELUDE = "import numpy as np\nimport optilab.autograd as ag\n"


def answers_of(exercise, code):
    """Run ``code`` in a fresh namespace; return the values of the exercise's answer names."""
    namespace = {}
    exec(compile(PRELUDE + textwrap.dedent(code), f"<answer {exercise.number}>", "exec"),
         namespace)
    return [namespace[name] for name in exercise.answers]


# Typical wrong answers: (code, the mistake's key the check must name).  Every exercise
# needs at least one (test_every_exercise_has_wrong_answers).
WRONG = {
    # ------------------------------------------------------------------ notebook 1
    "1.1": [("""
        def dfdx(x):
            u = (x - 3) ** (2 / x)
            du = u * (-2 / x ** 2 * np.log(x - 3) + 2 / (x * (x - 3)))
            return (x - 1) * (u - 1) ** (x - 2) * du
        """, "power_rule_outer"),
            ("""
        def dfdx(x):
            u = (x - 3) ** (2 / x)
            du = (2 / x) * (x - 3) ** (2 / x - 1)
            f = (u - 1) ** (x - 1)
            return f * (np.log(u - 1) + (x - 1) * du / (u - 1))
        """, "power_rule_inner")],
    "1.2": [("""
        def numerical_gradient(f, x, h=1e-6):
            g = np.zeros_like(x)
            for i in range(len(x)):
                e = np.zeros_like(x)
                e[i] = h
                g[i] = (f(x + e) - f(x)) / h
            return g
        """, "forward_difference"),
            ("""
        def numerical_gradient(f, x, h=1e-6):
            g = np.zeros_like(x)
            for i in range(len(x)):
                e = np.zeros_like(x)
                e[i] = h
                g[i] = (f(x + e) - f(x - e)) / h
            return g
        """, "factor"),
            ("""
        def numerical_gradient(f, x, h=1e-6):
            g = np.zeros_like(x)
            for i in range(len(x)):
                x[i] += h
                up = f(x)
                x[i] -= 2 * h
                g[i] = (up - f(x)) / (2 * h)
            return g
        """, "mutated_input"),
            ("""
        def numerical_gradient(f, x, h=1e-6):
            return np.full(len(x), (f(x + h) - f(x - h)) / (2 * h))
        """, "all_at_once"),
            ("""
        def numerical_gradient(f, x, h=1e-6):
            g = np.zeros_like(x)
            for i in range(len(x)):
                e = np.zeros_like(x)
                e[i] = 1e-5                      # a fixed step: the argument h is ignored
                g[i] = (f(x + e) - f(x - e)) / 2e-5
            return g
        """, "ignores_h")],
    "1.4": [("""
        def softplus_vjp(g, ans, x):
            return ag.sigmoid(x)
        """, "ignores_g"),
            ("""
        def softplus_vjp(g, ans, x):
            return g / (1 + np.exp(-np.asarray(x)))
        """, "second_derivative")],
    "1.3": [("grad_after_two = 12.0", "overwritten")],
    # ------------------------------------------------------------------ notebook 2
    "2.1": [("""
        def gd_step(f, x, lr):
            return x + lr * ag.grad(f)(x)
        """, "wrong_sign"),
            ("""
        def gd_step(f, x, lr):
            x - lr * ag.grad(f)(x)
        """, "returned_none"),
            ("""
        def gd_step(f, x, lr):
            return ag.grad(f)(x)
        """, "returned_gradient"),
            ("""
        def gd_step(f, x, lr):
            x -= lr * ag.grad(f)(x)
            return x
        """, "mutated_input")],
    "2.2": [("""
        def log_error_slope(lr):
            return np.log(abs(1 - 2 * lr))
        """, "natural_log"),
            ("""
        def log_error_slope(lr):
            return np.log10(1 - 2 * lr)
        """, "missing_abs"),
            ("""
        def log_error_slope(lr):
            return np.log10(abs(1 - lr))
        """, "missing_factor_2")],
    "2.3": [("""
        def gradient_descent(f, x0, lr, steps):
            x = ag.Tensor(x0)
            points = [x.value.copy()]
            for _ in range(steps):
                f(x).backward()                  # x.grad never reset
                x.value = x.value - lr * x.grad
                points.append(x.value.copy())
            return np.array(points)
        """, "accumulated_gradient"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = np.array(x0, dtype=float)
            points = [x]
            for _ in range(steps):
                x -= lr * ag.grad(f)(x)
                points.append(x)
            return points
        """, "aliasing"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = np.array(x0, dtype=float)
            points = [x.copy()]                  # x_0 copied, the rest the same array
            for _ in range(steps):
                x -= lr * ag.grad(f)(x)
                points.append(x)
            return points
        """, "aliasing"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = np.array(x0, dtype=float)
            points = [x]
            for _ in range(steps):
                x = x - 1e30 * lr * ag.grad(f)(x)    # steps so long that the path overflows
                points.append(x)
            return points
        """, "blew_up"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = ag.Tensor(x0)
            points = []
            for _ in range(steps):
                x.grad = None
                f(x).backward()
                x.value = x.value - lr * x.grad
                points.append(x.value.copy())
            return points
        """, "missing_x0"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = ag.Tensor(x0)
            points = [x.value.copy()]
            for _ in range(steps):
                x.grad = None
                f(x).backward()
                x.value = x.value + lr * x.grad
                points.append(x.value.copy())
            return points
        """, "wrong_sign"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = ag.Tensor(x0)
            points = [x.value.copy()]
            for _ in range(steps):
                x.grad = None
                f(x).backward()
                x.value = x.value - 2 * lr * x.grad
                points.append(x.value.copy())
            return points
        """, "lr_factor"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = ag.Tensor(x0)
            points = [x.value.copy()]
            for _ in range(steps + 1):
                x.grad = None
                f(x).backward()
                x.value = x.value - lr * x.grad
                points.append(x.value.copy())
            return points
        """, "step_count"),
            ("""
        def gradient_descent(f, x0, lr, steps):
            x = np.array(x0, dtype=float)
            g = ag.grad(f)(x)
            points = [x.copy()]
            for _ in range(steps):
                x = x - lr * g
                points.append(x.copy())
            return points
        """, "frozen_gradient")],
    "2.4": [("lr_max = 0.1", "one_over_L"), ("lr_max = 1.0", "flat_direction"),
            ("lr_max = 0.4", "coefficient_not_curvature")],
    "2.5": [("reach_global = {1, 2, 3}", "local_minimum"), ("reach_global = {2, 4}", "one_based"),
            ("reach_global = {1}", "missed_global"), ("reach_global = {0, 1, 3}", "plateau")],
    "2.6": [("""
        def perceptron_grad(w, b, X, y):
            p = np.tanh(X @ w + b)
            r = 2 * (p - y) / len(y)
            return X.T @ r, r.sum()
        """, "missing_tanh_derivative"),
            ("""
        def perceptron_grad(w, b, X, y):
            p = np.tanh(X @ w + b)
            r = 2 * (p - y) * (1 - p ** 2)
            return X.T @ r, r.sum()
        """, "sum_not_mean"),
            ("""
        def perceptron_grad(w, b, X, y):
            p = np.tanh(X @ w + b)
            r = (p - y) * (1 - p ** 2) / len(y)
            return X.T @ r, r.sum()
        """, "missing_factor_2")],
    # ------------------------------------------------------------------ notebook 3
    "3.1": [("""
        import torch
        def descend(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                f(x).backward()
                x.data -= lr * x.grad            # no x.grad.zero_()
                points.append(x.detach().clone().numpy())
            return points
        """, "accumulated_gradient"),
            ("""
        import torch
        def descend(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                f(x).backward()
                x = x - lr * x.grad
                points.append(x.detach().clone().numpy())
            return points
        """, "exception"),
            ("""
        import torch
        def descend(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            points = [x.detach().numpy()]
            for _ in range(steps):
                f(x).backward()
                x.data -= lr * x.grad
                x.grad.zero_()
                points.append(x.detach().numpy())
            return points
        """, "aliasing")],
    "3.2": [("""
        import torch
        def train_adam(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            optimizer = torch.optim.Adam([x], lr=lr)
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                f(x).backward()
                optimizer.step()
                points.append(x.detach().clone().numpy())
            return points
        """, "accumulated_gradient"),
            ("""
        import torch
        def train_adam(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            optimizer = torch.optim.SGD([x], lr=lr)
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                optimizer.zero_grad()
                f(x).backward()
                optimizer.step()
                points.append(x.detach().clone().numpy())
            return points
        """, "wrong_optimizer"),
            ("""
        import torch
        def train_adam(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            optimizer = torch.optim.AdamW([x], lr=lr)     # decoupled weight decay 0.01
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                optimizer.zero_grad()
                f(x).backward()
                optimizer.step()
                points.append(x.detach().clone().numpy())
            return points
        """, "adamw"),
            ("""
        import torch
        def train_adam(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)
            optimizer = torch.optim.RMSprop([x], lr=lr)
            points = [x.detach().clone().numpy()]
            for _ in range(steps):
                optimizer.zero_grad()
                f(x).backward()
                optimizer.step()
                points.append(x.detach().clone().numpy())
            return points
        """, "rmsprop")],
    "3.3": [("""
        def momentum_step(x, v, g, lr, beta):
            v = beta * v + (1 - beta) * g
            return x - lr * v, v
        """, "ema_momentum"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            return x - lr * v, beta * v + g
        """, "old_velocity"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            v = beta * v + g
            return x - lr * (g + beta * v), v          # torch's nesterov=True
        """, "nesterov"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            v = beta * v + g
            return v, x - lr * v
        """, "swapped_pair"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            v = beta * v - lr * g                      # Sutskever et al. 2013
            return x + v, v
        """, "sutskever_convention"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            v = beta * v + lr * g                      # torch's docs' note on Sutskever
            return x - v, v
        """, "sutskever_plus"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            return x - lr * (beta * v + g), beta * v
        """, "wrong_velocity"),
            ("""
        def momentum_step(x, v, g, lr, beta):
            return x - lr * beta * v, beta * v + g
        """, "wrong_point")],
    "3.4": [("""
        def adam_first_step(x0, g, lr):
            return x0 - lr * g
        """, "sgd_step"),
            ("""
        def adam_first_step(x0, g, lr):
            m, v = (1 - 0.9) * g, (1 - 0.999) * g ** 2
            return x0 - lr * m / (np.sqrt(v) + 1e-8)
        """, "no_bias_correction"),
            ("""
        def adam_first_step(x0, g, lr):
            m, v = (1 - 0.9) * g, (1 - 0.999) * g ** 2
            return x0 - lr * (m / (1 - 0.9)) / (np.sqrt(v) + 1e-8)
        """, "bias_correction_m_only"),
            ("""
        def adam_first_step(x0, g, lr):
            m, v = (1 - 0.9) * g, (1 - 0.999) * g ** 2
            return x0 - lr * m / np.sqrt(v / (1 - 0.999))
        """, "bias_correction_v_only"),
            ("""
        def adam_first_step(x0, g, lr):
            return x0 - lr * g / g ** 2
        """, "no_sqrt")],
    # ------------------------------------------------------------------ notebook 4
    "4.1": [("""
        def step_lr(lr0, step_size, gamma, k):
            return lr0 * gamma ** k
        """, "decays_every_step"),
            ("""
        def step_lr(lr0, step_size, gamma, k):
            return lr0 * gamma ** (k / step_size)
        """, "no_floor")],
    "4.2": [("""
        def multistep_lr(lr0, milestones, gamma, k):
            return lr0 * gamma ** sum(m < k for m in milestones)
        """, "one_step_late")],
    "4.5": [("""
        def cosine_lr(lr0, T_max, k):
            return lr0 * (1 + np.cos(np.pi * k / T_max))
        """, "missing_half"),
            ("""
        def cosine_lr(lr0, T_max, k):
            return lr0 * np.cos(np.pi * k / T_max)
        """, "missing_one_plus")],
    "4.3": [("""
        import torch
        def train(x0, lr, gamma, steps):
            x = torch.tensor([x0], requires_grad=True)
            optimizer = torch.optim.SGD([x], lr=lr)
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
            points = [x.item()]
            for _ in range(steps):
                optimizer.zero_grad()
                (5 * x.abs().sum()).backward()
                scheduler.step()
                optimizer.step()
                points.append(x.item())
            return points
        """, "scheduler_before_optimizer"),
            ("""
        import torch
        def train(x0, lr, gamma, steps):
            x = torch.tensor([x0], requires_grad=True)
            optimizer = torch.optim.SGD([x], lr=lr)
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
            points = [x.item()]
            for _ in range(steps):
                optimizer.zero_grad()
                (5 * x.abs().sum()).backward()
                optimizer.step()
                points.append(x.item())
            return points
        """, "scheduler_never_stepped"),
            ("""
        import torch
        def train(x0, lr, gamma, steps):
            x = torch.tensor([x0], requires_grad=True)
            optimizer = torch.optim.SGD([x], lr=lr)
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=gamma)
            points = [x.item()]
            for _ in range(steps):
                (5 * x.abs().sum()).backward()
                optimizer.step()
                scheduler.step()
                points.append(x.item())
            return points
        """, "accumulated_gradient")],
    "4.4": [("""
        def warmup(k):
            return min(1.0, k / 5)
        """, "zero_first_rate"),
            ("""
        def warmup(k):
            return (k + 1) / 5
        """, "no_clamp")],
    "4.6": [("first_drop = 4", "patience_off_by_one"),
            ("first_drop = 9", "compared_with_previous")],
    # ------------------------------------------------------------------ notebook 5
    "5.1": [("lr_max = 2 / 10", "ignored_cross_term"), ("lr_max = 1 / 12", "one_over_L"),
            ("lr_max = 2 / 6", "coefficients_not_curvature")],
    "5.2": [("""
        def lr_limit(f, x):
            return 2 / np.linalg.eigvalsh(ag.hessian(f)(x))[0]
        """, "smallest_eigenvalue"),
            ("""
        def lr_limit(f, x):
            return 2 / np.linalg.norm(ag.hessian(f)(x))
        """, "frobenius_norm"),
            ("""
        def lr_limit(f, x):
            return 2 / ag.hessian(f)(x).diagonal().max()
        """, "diagonal_only")],
    # ------------------------------------------------------------------ notebook 6
    "6.1": [("""
        def criterion(X, D):
            squared = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
            return ((squared - D ** 2) ** 2).sum()
        """, "ordered_pairs"),
            ("""
        def criterion(X, D):
            squared = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
            return (np.triu(squared - D ** 2, 1)).sum()
        """, "residual_not_squared")],
    "6.2": [("""
        def criterion_grad(X, D):
            diff = X[:, None, :] - X[None, :, :]
            r = (diff ** 2).sum(-1) - D ** 2
            return 8 * (r[:, :, None] * diff).sum(1)
        """, "ordered_pairs"),
            ("""
        def criterion_grad(X, D):
            diff = X[None, :, :] - X[:, None, :]
            r = (diff ** 2).sum(-1) - D ** 2
            return 4 * (r[:, :, None] * diff).sum(1)
        """, "wrong_axis"),
            ("""
        def criterion_grad(X, D):
            diff = X[:, None, :] - X[None, :, :]
            r = (diff ** 2).sum(-1) - D ** 2
            return 4 * (r[:, :, None] * diff).sum(0)     # summed over the wrong axis
        """, "wrong_axis")],
    "6.3": [("lr = 0.5", "lr_too_big"), ("lr = 0.001", "lr_too_small")],
    # ------------------------------------------------------------------ notebook 7
    "7.1": [("""
        def fit_line(x, y, lr, steps):
            a, b = ag.Tensor(0.0), ag.Tensor(0.0)
            for _ in range(steps):
                ((a * x + b - y) ** 2).mean().backward()
                a.value = a.value - lr * a.grad
                b.value = b.value - lr * b.grad
            return float(a.value), float(b.value)
        """, "accumulated_gradient"),
            ("""
        def fit_line(x, y, lr, steps):
            a, b = ag.Tensor(0.0), ag.Tensor(0.0)
            for _ in range(steps):
                a.grad = b.grad = None
                ((a * x + b - y) ** 2).sum().backward()
                a.value = a.value - lr * a.grad
                b.value = b.value - lr * b.grad
            return float(a.value), float(b.value)
        """, "sum_not_mean")],
    "7.2": [("""
        def poly_features(x, degree):
            return np.vander(x, degree + 1)
        """, "decreasing_powers"),
            ("""
        def poly_features(x, degree):
            return np.stack([x ** k for k in range(1, degree + 1)], axis=1)
        """, "missing_constant")],
    "7.3": [("""
        def count_parameters(sizes):
            return sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
        """, "no_biases")],
    "7.4": [("""
        def mlp_forward(params, x):
            (W1, b1), (W2, b2) = params
            return W2 @ (W1 @ x + b1) + b2
        """, "no_activation"),
            ("""
        def mlp_forward(params, x):
            (W1, b1), (W2, b2) = params
            return np.tanh(W2 @ np.tanh(W1 @ x + b1) + b2)
        """, "activation_on_output"),
            ("""
        def mlp_forward(params, x):
            (W1, b1), (W2, b2) = params
            return W2 @ np.tanh(np.asarray(W1 @ x + b1)) + b2
        """, "not_differentiable")],
    # ------------------------------------------------------------------ notebook 8
    "8.1": [("""
        def newton_step(x, g, H):
            return x - H @ g
        """, "multiplied_by_hessian"),
            ("""
        def newton_step(x, g, H):
            return x - g / np.diag(H)
        """, "diagonal_only")],
    "8.2": [("""
        def rosenbrock_hessian(x, y):
            return np.array([[2 + 800 * x ** 2, -400 * x], [-400 * x, 200.0]])
        """, "gauss_newton_only"),
            ("""
        def rosenbrock_hessian(x, y):
            return np.array([[2 - 400 * (y - x ** 2) + 800 * x ** 2, 400 * x],
                             [400 * x, 200.0]])
        """, "off_diagonal_sign")],
    "8.3": [("""
        def newton(f, x0, steps):
            x = np.array(x0, dtype=float)
            points = [x.copy()]
            for _ in range(steps):
                x = x + np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))
                points.append(x.copy())
            return points
        """, "wrong_sign"),
            ("""
        def newton(f, x0, steps):
            x = np.array(x0, dtype=float)
            points = []
            for _ in range(steps):
                x = x - np.linalg.solve(ag.hessian(f)(x), ag.grad(f)(x))
                points.append(x.copy())
            return points
        """, "missing_x0")],
    "8.4": [("""
        def hvp_fd(grad, x, v, h=1e-5):
            return (grad(x + h * v) - grad(x)) / h
        """, "forward_difference"),
            ("""
        def hvp_fd(grad, x, v, h=1e-5):
            return (grad(x + h * v) - grad(x - h * v)) / h
        """, "factor"),
            ("""
        def hvp_fd(grad, x, v, h=1e-5):
            return (grad(x + 1e-5 * v) - grad(x - 1e-5 * v)) / 2e-5    # h ignored
        """, "ignores_h")],
    # ------------------------------------------------------------------ notebook 9
    # (every planted mistake of notebook 9: tests/test_quadratic.py)
    "9.1": [("""
        def best_step(mu, L):
            return 1 / L, 1 - mu / L
        """, "one_over_L")],
    "9.2": [("""
        import math
        def steps_needed(rate, tol):
            return int(math.log(tol) / math.log(rate))
        """, "rounded_down")],
    "9.3": [("""
        def momentum_rate(lr, beta, eigenvalues):
            return max(abs(1 - lr * lam) for lam in eigenvalues)
        """, "momentum_ignored")],
    "9.4": [("""
        import math
        def heavy_ball_tuning(mu, L):
            r = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)
            return 4 / (math.sqrt(L) + math.sqrt(mu)) ** 2, r, r
        """, "beta_not_squared")],
    # ------------------------------------------------------------------ notebook 10
    # (every planted mistake of notebook 10: tests/test_stochastic.py)
    "10.1": [("""
        def minibatch_grad(w, X, y):
            return X.T @ (X @ w - y)
        """, "not_averaged")],
    "10.2": [("""
        def epoch_batches(n, batch_size, rng):
            rows = rng.integers(0, n, size=n)
            return [rows[i:i + batch_size] for i in range(0, n, batch_size)]
        """, "with_replacement")],
    "10.3": [("""
        def predict_floor(floor0, lr0, b0, lr, b):
            return floor0 * (lr / lr0) * np.sqrt(b0 / b)
        """, "sqrt_batch")],
    "10.4": [("""
        def decay(k):
            return 0.99 ** k
        """, "summable")],
}


# Other right answers, written differently (float32 torch tensors, lists, loops): still correct.
ALSO_CORRECT = {
    "1.4": """
        def softplus_vjp(g, ans, x):
            return g / (1 + np.exp(-x))          # numpy's exp hands a Tensor to the engine
        """,
    "1.2": ["""
        def numerical_gradient(f, x, h=1e-6):
            g = []
            for i in range(len(x)):
                up, down = x.copy(), x.copy()
                up[i] += h
                down[i] -= h
                g.append((f(up) - f(down)) / (2 * h))
            return g
        """, """
        def numerical_gradient(f, x, h=1e-6):
            g = np.zeros_like(x)
            for i in range(len(x)):
                x[i] += h                        # undone by arithmetic: x is back to rounding
                up = f(x)
                x[i] -= 2 * h
                down = f(x)
                x[i] += h
                g[i] = (up - down) / (2 * h)
            return g
        """],
    "2.3": """
        def gradient_descent(f, x0, lr, steps):
            x, points = np.asarray(x0, dtype=float), [np.asarray(x0, dtype=float)]
            for _ in range(steps):
                x = x - lr * ag.grad(f)(x)
                points.append(x)
            return points
        """,
    "2.5": "reach_global = [3, 1]",
    "3.1": """
        import torch
        def descend(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)          # float32
            points = [x.detach().clone()]
            for _ in range(steps):
                f(x).backward()
                with torch.no_grad():
                    x -= lr * x.grad
                x.grad = None
                points.append(x.detach().clone())
            return points
        """,
    "3.2": """
        import torch
        def train_adam(f, x0, lr, steps):
            x = torch.tensor(x0, requires_grad=True)          # float32
            optimizer = torch.optim.Adam([x], lr=lr)
            points = [x.tolist()]
            for _ in range(steps):
                optimizer.zero_grad()
                loss = f(x)
                loss.backward()
                optimizer.step()
                points.append(x.tolist())
            return points
        """,
    "3.4": """
        def adam_first_step(x0, g, lr, b1=0.9, b2=0.999, eps=1e-8):
            m, v = (1 - b1) * g, (1 - b2) * g ** 2        # the full rule, eps included
            m_hat, v_hat = m / (1 - b1), v / (1 - b2)
            return x0 - lr * m_hat / (np.sqrt(v_hat) + eps)
        """,
    "4.3": """
        import torch
        def train(x0, lr, gamma, steps):
            x = torch.tensor(x0, requires_grad=True)          # a float32 scalar
            optimizer = torch.optim.SGD([x], lr=lr)
            scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma)
            points = [float(x)]
            for _ in range(steps):
                optimizer.zero_grad()
                (5 * x.abs()).backward()
                optimizer.step()
                scheduler.step()
                points.append(float(x))
            return points
        """,
    "5.1": "lr_max = 0.1667          # 1/6 to the 4 significant digits the statement asks for",
    "5.2": """
        def lr_limit(f, x):
            H = ag.hessian(f)(x)
            return 2 / max(np.linalg.eigvals(H).real)
        """,
    "6.1": """
        def criterion(X, D):
            total = 0
            for i in range(len(D)):
                for j in range(i + 1, len(D)):
                    total = total + (((X[i] - X[j]) ** 2).sum() - D[i, j] ** 2) ** 2
            return total
        """,
    "7.2": """
        def poly_features(x, degree):
            return np.vander(x, degree + 1, increasing=True)
        """,
    "7.4": """
        def mlp_forward(params, x):
            (W1, b1), (W2, b2) = params
            return W2 @ (W1 @ x + b1).tanh() + b2    # as the statement says: .tanh()
        """,
    "8.1": """
        def newton_step(x, g, H):
            return x - np.linalg.inv(H) @ g
        """,
}


@pytest.mark.parametrize("number", sorted(ALSO_CORRECT))
def test_other_right_answers_pass(number):
    exercise = EXERCISES[number]
    answers = ALSO_CORRECT[number]
    for code in answers if isinstance(answers, list) else [answers]:
        result = exercise.check(*answers_of(exercise, code))
        assert result.status == "correct", result


@pytest.fixture(params=sorted(EXERCISES), ids=lambda n: f"ex{n}")
def exercise(request):
    ex = EXERCISES[request.param]
    ex._hints_given = 0
    return ex


def test_there_are_enough_exercises():
    assert len(EXERCISES) >= 25
    modules = {n.split(".")[0] for n in EXERCISES}
    assert modules >= {"1", "2", "3", "4", "6", "7", "8"}


SOURCES = sorted((Path(__file__).resolve().parents[1] / "notebooks" / "src").glob("0[1-9]_*.py"))


def test_each_module_numbers_its_exercises_q1_q2_in_order():
    import importlib

    from optilab.exercises import MODULES

    for name in MODULES:
        module = importlib.import_module(f"optilab.exercises.{name}")
        chapter = str(int(name[2:4]))
        found = {a: getattr(module, a).number for a in vars(module)
                 if a[:1] == "q" and a[1:].isdigit() and isinstance(getattr(module, a), Exercise)}
        assert found == {f"q{k}": f"{chapter}.{k}" for k in range(1, len(found) + 1)}, name


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_exercises_appear_in_number_order_in_each_notebook(source):
    """The check cells run q1, q2, ... in order, and the first mention of each "Exercise N.k"
    (a stub's message) comes in increasing k: a student meets 1.3 before 1.4."""
    text = source.read_text(encoding="utf-8")
    checks = [int(k) for k in re.findall(r"^q(\d+)\.check\(", text, re.MULTILINE)]
    assert checks == list(range(1, len(checks) + 1)), (source.name, checks)
    chapter = str(int(source.name[:2]))
    mentioned = []
    for k in re.findall(rf"Exercise {chapter}\.(\d+)", text):
        if int(k) not in mentioned:
            mentioned.append(int(k))
    assert mentioned == sorted(mentioned) == checks, (source.name, mentioned)
    shown = [int(k) for k in re.findall(r"^q(\d+)$", text, re.MULTILINE)]   # q1 shows 1.1
    assert shown == checks, (source.name, shown)


def test_solution_checks_correct(exercise):
    result = exercise.check(*answers_of(exercise, exercise.solution()))
    assert result.status == "correct", result
    assert result and result.mistake is None


def test_stub_is_not_attempted(exercise):
    result = exercise.check(*answers_of(exercise, exercise.stub))
    assert result.status == "not attempted", result
    assert not result


def test_stub_compiles_and_tells_what_to_do(exercise):
    assert "Exercise" in exercise.stub
    assert f"Exercise {exercise.number}" in exercise.stub


def _wrong_answers_elsewhere() -> set[str]:
    """Exercises whose typical wrong answers live with their notebook's own tests: a module
    ``tests/test_*.py`` with a list ``WRONG`` of (exercise, code, mistake) triples."""
    import importlib

    found = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        if path.stem == Path(__file__).stem or "WRONG = [" not in path.read_text("utf-8"):
            continue
        module = importlib.import_module(path.stem)
        found |= {entry[0].number for entry in module.WRONG if isinstance(entry[0], Exercise)}
    return found


def test_every_exercise_has_wrong_answers():
    missing = sorted(set(EXERCISES) - set(WRONG) - _wrong_answers_elsewhere())
    assert not missing, f"add typical wrong answers for {missing}"


CASES = [(number, i) for number in sorted(WRONG) for i in range(len(WRONG[number]))]


@pytest.mark.parametrize("number,i", CASES, ids=[f"ex{n}-{i}" for n, i in CASES])
def test_wrong_answer_names_the_mistake(number, i):
    exercise = EXERCISES[number]
    code, key = WRONG[number][i]
    result = exercise.check(*answers_of(exercise, code))
    assert result.status == "incorrect", result
    assert result.mistake == key, result
    assert len(result.message) > 20


def test_hints_progress(exercise):
    total = len(exercise.hints)
    first = exercise.hint()
    assert first.startswith(f"**Hint 1/{total}**") and exercise.hints[0] in first
    if total > 1:
        assert exercise.hints[1] in exercise.hint()
    assert exercise.hints[-1] in exercise.hint(total)
    assert "No more hints" in exercise.hint()
    assert exercise.hints[0] in exercise.hint(1)          # going back is fine
    assert "hints 1 to" in exercise.hint(total + 1)


def _giveaways(solution: str) -> list[str]:
    """What a first hint must not say: the solution's code lines (imports, def lines and short
    lines aside) and the expressions it returns or assigns (``24.0``, ``x - lr * v``)."""
    found = []
    for line in solution.splitlines():
        code = " ".join(line.split("#")[0].split())
        if not code or code.startswith(("import ", "from ", "def ")):
            continue
        if len(code) >= 10:
            found.append(code)
        match = re.fullmatch(r"(?:return |[\w, ()]+ = )(.+)", code)
        if match and len(match.group(1)) >= 3 and not match.group(1).isidentifier():
            found.append(match.group(1))
    return found


def test_every_exercise_has_three_hint_levels_and_the_first_gives_nothing_away(exercise):
    """A nudge, the idea, then the near-solution (solution() stays the last resort)."""
    hints = exercise.hints
    assert len(hints) >= 3, f"exercise {exercise.number} has {len(hints)} hints"
    assert len(set(hints)) == len(hints) and all(len(h) > 30 for h in hints)
    first = " ".join(hints[0].split())
    for code in _giveaways(exercise.solution()):
        assert not re.search(rf"(?<![\w.]){re.escape(code)}(?![\w.])", first), \
            f"hint 1 of exercise {exercise.number} gives away {code!r}"


def test_the_hint_test_catches_a_giveaway():
    ex = Exercise("9.9", "Demo", "Write f.", answers="f", check=lambda f: None,
                  hints=["Nothing to think about: just write `return 2 * x`.", "b" * 40, "c" * 40],
                  solution="def f(x):\n    return 2 * x\n", stub="f = ...  # Exercise 9.9\n")
    assert "2 * x" in _giveaways(ex.solution())
    with pytest.raises(AssertionError, match="gives away"):
        test_every_exercise_has_three_hint_levels_and_the_first_gives_nothing_away(ex)


def test_solution_is_displayable_code(exercise):
    code = exercise.solution()
    assert isinstance(code, str) and code.strip()
    assert code._repr_markdown_().startswith("```python\n")
    compile(code, "<solution>", "exec")


def test_use_gives_the_reference_until_solved(exercise, capsys):
    stub = answers_of(exercise, exercise.stub)
    used = exercise.use(*stub)
    reference = exercise.reference()
    expected = [reference[n] for n in exercise.answers]
    assert used is expected[0] if len(expected) == 1 else list(used) == expected
    said = capsys.readouterr().out
    assert "using the reference solution for the cells below" in said
    assert f"exercise {exercise.number} is not attempted yet" in said
    exercise.print("the answer is", 0.1667)              # a line that would give it away
    hidden = capsys.readouterr().out
    assert "0.1667" not in hidden and f"hidden until exercise {exercise.number}" in hidden
    mine = answers_of(exercise, exercise.solution())
    assert exercise.use(*mine) is mine[0] if len(mine) == 1 else True
    exercise.print("the answer is", 0.1667)              # solved: printed as print() would
    assert capsys.readouterr().out == "the answer is 0.1667\n"


# ----------------------------------------------------------------------------- the machinery

def _demo(check, **kw):
    return Exercise("9.1", "Demo", "Write f.", answers="f", check=check, hints=["h1", "h2"],
                    solution="def f(x):\n    return 2 * x\n",
                    stub='def f(x):\n    raise NotImplementedError("Exercise 9.1: double x")\n',
                    **kw)


def test_exceptions_in_student_code_become_incorrect_with_a_summary():
    ex = _demo(lambda f: None if f(1) == 2 else "x")

    def f(x):
        return x / 0

    result = ex.check(f)
    assert result.status == "incorrect" and result.mistake == "exception"
    assert "ZeroDivisionError" in result.message
    assert "return x / 0" in result.message                 # the student's line


def test_an_endless_loop_is_stopped_and_named(monkeypatch):
    import time

    from optilab.exercises import base

    monkeypatch.setattr(base, "TIME_LIMIT", 0.3)
    ex = _demo(lambda f: None if f(1) == 2 else "x")

    def f(x):
        while True:
            try:  # noqa: SIM105 - a student's broad except, on purpose
                time.sleep(0.01)
            except Exception:                  # a broad except must not swallow the limit
                pass

    start = time.perf_counter()
    result = ex.check(f)
    assert time.perf_counter() - start < 5
    assert result.status == "incorrect" and result.mistake == "too_slow"
    assert "did not return within 0.3 s" in result.message


@pytest.mark.parametrize("stop", [SystemExit, KeyboardInterrupt])
def test_exit_and_interrupt_in_student_code_are_answers_not_crashes(stop):
    def f(x):
        raise stop

    result = _demo(lambda f: None if f(1) == 2 else "x").check(f)
    assert result.status == "incorrect" and stop.__name__ in result.message


def test_not_attempted_sentinels():
    ex = _demo(lambda f: None)
    assert ex.check(...).status == "not attempted"
    assert ex.check([1.0, ...]).status == "not attempted"
    assert ex.check().status == "not attempted"
    assert ex.check(lambda x: ...).status == "correct"      # the demo check never calls f
    ex2 = _demo(lambda f: diagnose.compare(diagnose.to_array([f(1)]), [2.0]))
    assert ex2.check(lambda x: ...).status == "not attempted"
    assert is_stub((1, {"a": ...})) and not is_stub([1, 2])


def test_results_show_in_every_front_end():
    ok = Result("correct", "well done", "2.1", "Step")
    bad = Result("incorrect", "use `x - lr * g`", "2.1", "Step", "wrong_sign")
    todo = Result("not attempted", "fill it in", "2.1", "Step")
    assert repr(ok).startswith("✔ Exercise 2.1 (Step): correct")
    assert "#2e7d32" in ok._repr_html_() and "#c62828" in bad._repr_html_()
    assert "#e65100" in todo._repr_html_()
    assert "<code>x - lr * g</code>" in bad._repr_html_()
    assert "<script>" not in Result("incorrect", "<script>", "1", "t")._repr_html_()
    assert bad._repr_markdown_().startswith("🔴")
    assert bool(ok) and not bad and not todo


def test_compare_names_generic_patterns():
    assert diagnose.compare([1.0, 2.0], [1.0, 2.0]) is None
    assert diagnose.compare([2.0, 1.0], [1.0, 2.0]).key == "swapped"
    assert diagnose.compare([[1.0, 3.0], [2.0, 4.0]], [[1.0, 2.0], [3.0, 4.0]]).key == \
        "transposed"
    assert diagnose.compare([1.0, 2.0, 3.0], [1.0, 2.0]).key == "shape"
    assert diagnose.compare([np.nan], [1.0]).key == "not_finite"
    assert "2 times" in diagnose.compare([2.0, 4.0], [1.0, 2.0]).message


def test_check_lrs_names_scheduler_timing():
    want = 0.1 * 0.9 ** np.arange(40)
    assert diagnose.check_lrs(want[:10], want) is None
    assert diagnose.check_lrs(want[1:11], want).key == "scheduler_before_optimizer"
    assert diagnose.check_lrs(np.full(10, 0.1), want).key == "scheduler_never_stepped"
    assert diagnose.check_lrs(want[:20:2], want).key == "scheduler_stepped_twice"
    assert diagnose.check_lrs(np.r_[0.1, want[:9]], want).key == "scheduler_late"


def test_torch_path_switches_reproduce_the_mistakes():
    f = lambda x: (x ** 2).sum()
    good, _ = diagnose.torch_path(f, [1.0], "sgd", 0.1, 3)
    acc, _ = diagnose.torch_path(f, [1.0], "sgd", 0.1, 3, zero_grad=False)
    assert np.allclose(good.ravel(), [1.0, 0.8, 0.64, 0.512])
    assert np.allclose(acc.ravel(), [1.0, 0.8, 0.44, -0.008])   # grads 2, 3.6, 4.48
    assert diagnose.check_gd_path(acc, lambda x: 2 * x, 1.0, 0.1, 3).key == \
        "accumulated_gradient"
    with pytest.raises(Mistake, match="same object"):
        x = np.array([1.0])
        diagnose.as_path([x, x, x])


def test_a_library_notimplementederror_is_not_taken_for_a_stub():
    import optilab.autograd as ag

    cube = ag.primitive(lambda x: x ** 3)                    # no derivative rule given
    ex = _demo(lambda f: None if ag.grad(f)(2.0) == 12 else "x")
    result = ex.check(lambda x: cube(x))
    assert result.status == "incorrect" and "no derivative rule" in result.message


def test_solution_displays_once_in_a_kernel(monkeypatch):
    from IPython import display as ipy_display

    from optilab.exercises import base

    shown = []
    monkeypatch.setattr(base, "_in_kernel", lambda: True)
    monkeypatch.setattr(ipy_display, "display", lambda obj, raw=False: shown.append(obj))
    ex = _demo(lambda f: None)
    code = ex.solution()
    assert len(shown) == 1 and shown[0]["text/markdown"].startswith("```python\ndef f(x):")
    code._ipython_display_()                 # the cell's value: not shown a second time
    assert len(shown) == 1
    code._ipython_display_()                 # shown again when asked again
    assert len(shown) == 2
    namespace = {}
    exec(code, namespace)
    assert namespace["f"](2) == 4


ODD_ANSWERS = [None, 0, "0.2", [1.0, 2.0], {"a": 1}, np.full((3, 3), np.nan),
               lambda *a, **k: None, lambda *a, **k: 1 / 0, lambda *a, **k: np.nan,
               lambda *a, **k: "text", lambda *a, **k: [1.0, 2.0], lambda *a, **k: (1.0, 2.0),
               lambda *a, **k: np.zeros((2, 2, 2))]


def test_odd_answers_never_raise_and_are_never_correct(exercise):
    for odd in ODD_ANSWERS:
        result = exercise.check(*[odd] * len(exercise.answers))
        assert isinstance(result, Result)
        assert result.status in ("incorrect", "not attempted"), (odd, result)
        assert result.message
