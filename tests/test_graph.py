"""draw_graph: the right boxes, values and adjoints, a real picture, and clear refusals."""

import numpy as np
import pytest

import optilab.autograd as ag


def messy(x):
    return ((x - 3.0) ** (2.0 / x) - 1) ** (x - 1.0)


def by_label(picture, label):
    return [n for n in picture.nodes if n["label"] == label]


def test_nodes_carry_values_and_the_adjoints_of_the_reverse_sweep():
    x = ag.Tensor(10.0)
    y = messy(x)
    picture = ag.draw_graph(y, names={x: "x"})
    (xnode,) = by_label(picture, "x")
    assert xnode["kind"] == "input" and xnode["value"] == 10.0
    assert xnode["grad"] == pytest.approx(float(ag.grad(messy)(10.0)), rel=1e-12)
    out = picture.nodes[-1]
    assert out["kind"] == "output" and out["grad"] == 1.0
    assert out["value"] == pytest.approx(float(y.value), rel=1e-15)
    # dy/d(x - 3) by the chain rule, compared with the box of the subtraction whose value is 7
    (sub7,) = [n for n in by_label(picture, "−") if n["value"] == 7.0]
    t = ag.Tensor(7.0)
    expected = ag.grad(lambda t: (t ** 0.2 - 1) ** 9.0)(7.0)
    assert sub7["grad"] == pytest.approx(float(expected), rel=1e-12)
    assert {n["kind"] for n in picture.nodes} == {"input", "op", "output", "constant"}
    assert t.grad is None and x.grad is None      # drawing never writes .grad


def test_columns_follow_the_longest_path_and_constants_sit_next_to_their_user():
    x = ag.Tensor(2.0)
    y = (x * x).sin() + x
    picture = ag.draw_graph(y, names={x: "x"})
    column = {n["label"]: n["column"] for n in picture.nodes}
    assert column == {"x": 0, "×": 1, "sin": 2, "+": 3}
    assert len(picture.edges) == 5                # x twice into ×, × -> sin, sin and x -> +
    z = x * 3.0 + 1.0
    columns = {n["value"]: n["column"] for n in ag.draw_graph(z).nodes if n["kind"] == "constant"}
    assert columns == {3.0: 0, 1.0: 1}


def test_arrays_are_summarised_by_shape_and_first_values():
    w = ag.Tensor(np.arange(6.0).reshape(2, 3))
    loss = (w ** 2).sum()
    picture = ag.draw_graph(loss, names={w: "W"})
    (wnode,) = by_label(picture, "W")
    assert wnode["value"] == "2×3 [0, 1, 2, …]"
    assert wnode["grad"] == "2×3 [0, 2, 4, …]"


def test_the_picture_is_a_real_png_and_saves_as_svg(tmp_path):
    x = ag.Tensor(1.5)
    picture = ag.draw_graph(x.exp() * x, names={x: "x"})
    png = picture._repr_png_()
    assert png.startswith(b"\x89PNG") and len(png) > 2000
    svg = picture.save(tmp_path / "graph.svg").read_text()
    assert "<svg" in svg
    assert repr(picture) == "<GraphPicture: 3 nodes, 3 edges>"


def test_options_hide_values_and_gradients():
    x = ag.Tensor(1.0)
    picture = ag.draw_graph(x.tanh(), show_values=False, show_grads=False)
    assert all(n["value"] is None and n["grad"] is None for n in picture.nodes)


def test_a_non_scalar_output_is_drawn_without_adjoints():
    x = ag.Tensor(np.ones(3))
    picture = ag.draw_graph(x * 2.0)
    assert all(n["grad"] is None for n in picture.nodes)


def test_refuses_huge_graphs_quickly_and_without_recursion():
    x = ag.Tensor(0.0)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    with pytest.raises(ValueError, match="more than max_nodes=60 nodes"):
        ag.draw_graph(y)


def test_refuses_things_that_are_not_tensors():
    with pytest.raises(TypeError, match="expects an optilab.autograd Tensor, got float"):
        ag.draw_graph(3.0)
