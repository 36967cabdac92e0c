"""The Tensor object: values, accumulation, graph hygiene, and the errors that teach."""

import gc
import math
import warnings
import weakref

import numpy as np
import pytest

import optilab.autograd as ag
from optilab.autograd import Tensor, Variable


def test_float_becomes_float64_0d_array():
    x = Tensor(3)
    assert isinstance(x.value, np.ndarray)
    assert x.value.shape == () and x.dtype == np.float64
    assert x.data is x.value
    assert x.item() == 3.0 and float(x) == 3.0 and f"{x:.2f}" == "3.00"


def test_variable_is_tensor_and_tracks_by_default():
    assert Variable is Tensor
    assert Tensor(1.0).requires_grad
    assert not Tensor(1.0, requires_grad=False).requires_grad


def test_repr_shows_values():
    assert repr(Tensor([1.0, 2.5])) == "Tensor([1. , 2.5], requires_grad=True)"
    assert "op=multiply" in repr(Tensor(2.0) * 3)
    assert repr(Tensor(2.0, requires_grad=False)) == "Tensor(2.)"


def test_constructor_copies_input():
    a = np.array([1.0, 2.0])
    x = Tensor(a)
    a[0] = 100.0
    assert x.value[0] == 1.0


def test_detach_and_numpy():
    x = Tensor([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.numpy(), [2.0, 4.0])


def test_backward_accumulates_like_torch_until_zeroed():
    x = Tensor(2.0)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == 8.0  # 4 + 4
    x.zero_grad()
    assert x.grad is None
    (x * 3).backward()
    assert x.grad == 3.0


def test_grad_arrays_are_not_shared_between_leaves():
    a, b = Tensor([1.0]), Tensor([2.0])
    (a + b).sum().backward()
    a.grad[0] = 42.0
    assert b.grad[0] == 1.0


def test_operations_with_numbers_and_arrays_are_constants():
    x = Tensor([1.0, 2.0])
    y = (np.array([3.0, 4.0]) * x + 1.0 - 2.0 / x).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, [3.0 + 2.0, 4.0 + 0.5])
    assert isinstance(np.ones(2) * x, Tensor)  # numpy defers to the Tensor


def test_no_grad_records_nothing():
    x = Tensor(1.0)
    with ag.no_grad():
        y = x * 2
    assert not y.requires_grad and y.is_leaf
    assert ag.is_grad_enabled()


def test_comparisons_are_constant_boolean_tensors():
    x = Tensor([1.0, -1.0])
    m = x > 0
    assert not m.requires_grad
    np.testing.assert_array_equal(m.value, [True, False])
    y = ag.where(x > 0, x * 2, x * 3).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 3.0])


def test_iteration_unpacks_coordinates():
    p = Tensor([1.0, 2.0])
    x, y = p
    (x * y).backward()
    np.testing.assert_array_equal(p.grad, [2.0, 1.0])


def test_torch_spellings():
    x = Tensor([[1.0, -2.0], [3.0, 4.0]])
    y = x.clamp(min=-1.0, max=3.0).sum(dim=0).mean() + x.reshape(4).pow(2).sum()
    y.backward()
    assert x.grad.shape == (2, 2)
    assert x.T.shape == (2, 2) and x.transpose(1, 0).shape == (2, 2)


def test_deep_chain_has_no_recursion_limit():
    x = Tensor(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.000001
    y.backward()
    np.testing.assert_allclose(x.grad, 1.000001 ** 100_000, rtol=1e-9)


def test_graph_is_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = Tensor(np.ones(3))
        y = ((x * 2).sin() + x.exp()).sum()
        y.backward()
        probe = weakref.ref(y._args[0])  # an intermediate node
        del y
        assert probe() is None, "graph kept alive by a reference cycle"
    finally:
        gc.enable()


# ----------------------------------------------------------------- errors that teach

def test_non_scalar_backward_names_the_fix():
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2,\).*y.sum\(\)"):
        (Tensor([1.0, 2.0]) * 2).backward()


def test_backward_with_gradient_argument_gives_vjp():
    x = Tensor([1.0, 2.0])
    (x * x).backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])
    with pytest.raises(ValueError, match="gradient must have the output's shape"):
        (x * x).backward(gradient=np.ones(3))


def test_backward_on_untracked_tensor():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (Tensor(1.0, requires_grad=False) * 2).backward()


@pytest.mark.parametrize("edit", [
    lambda x: x.value.__setitem__(0, 5.0),      # x.value[0] = 5
    lambda x: setattr(x, "value", x.value - 1),  # x.value -= 1 / x.data = ...
])
def test_in_place_edit_of_a_leaf_between_forward_and_backward(edit):
    x = Tensor([1.0, 2.0])
    y = (x * x).sum()
    edit(x)
    with pytest.raises(RuntimeError, match="modified in place.*between the forward pass and"):
        y.backward()


def test_in_place_edit_of_an_intermediate():
    x = Tensor([1.0, 2.0])
    h = x * 3
    y = h.sin().sum()
    h.value = np.zeros(2)
    with pytest.raises(RuntimeError, match="input of 'sin' was modified in place"):
        y.backward()


def test_edits_between_runs_are_fine():
    x = Tensor([1.0, 2.0])
    (x * x).sum().backward()
    x.value[0] = 3.0          # after backward: allowed
    x.zero_grad()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad, [6.0, 4.0])


def test_item_assignment_on_tensor_is_refused_with_a_hint():
    with pytest.raises(TypeError, match="not edited in place.*x.value = "):
        Tensor([1.0])[0] = 2.0


def test_bad_constructor_input():
    with pytest.raises(TypeError, match="a Tensor holds numbers.*got str"):
        Tensor("abc")


def test_len_of_scalar():
    with pytest.raises(TypeError, match="0-d Tensor"):
        len(Tensor(1.0))


def test_missing_rule_names_the_primitive():
    p = ag.primitive(lambda x: x * 2)
    with pytest.raises(NotImplementedError, match="no derivative rule for argument 0.*defvjp"):
        p(Tensor(1.0)).backward()


def test_defvjp_needs_a_primitive():
    with pytest.raises(TypeError, match="decorate the function with @primitive"):
        ag.defvjp(lambda x: x, lambda g, ans, x: g)


def test_importing_the_engine_is_cheap_and_never_imports_torch():
    import subprocess
    import sys

    code = ("import sys, optilab.autograd; "
            "print(sorted(m for m in ('torch', 'matplotlib', 'scipy', 'IPython') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_reductions_accept_torchs_spelling_dim_and_keepdim():
    x = Tensor(np.arange(6.0).reshape(2, 3))
    assert x.sum(dim=0, keepdim=True).shape == (1, 3)
    assert x.mean(dim=1).shape == (2,)
    assert x.logsumexp(dim=-1, keepdim=True).shape == (2, 1)


def test_a_python_float_inside_grad_is_named():
    with pytest.warns(ag.GradientLostWarning, match=r"math.sin\(x\) has derivative 0"):
        ag.grad(lambda x: math.sin(x) + x ** 2)(1.0)
    with pytest.warns(ag.GradientLostWarning, match=r"x.item\(\)"):
        ag.grad(lambda x: x.item() * x)(1.0)


def test_reading_a_number_outside_grad_is_quiet():
    x = ag.Tensor(2.0)
    loss = x * x
    loss.backward()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert float(loss) == 4.0 and loss.item() == 4.0     # logging a loss is fine


@pytest.mark.parametrize("f, x, message", [
    (ag.abs, 0.0, "f jumps at this point"),
    (lambda x: ag.relu(x), np.array([0.0, 1.0]), "f has a kink at this point"),
    (ag.log, np.nan, "argument 0 holds nan"),
    (ag.log, -1.0, "f is not finite at this point"),
])
def test_check_grads_blames_the_point_not_a_rule(f, x, message):
    with pytest.raises(ValueError, match=message):
        ag.check_grads(f)(x)
