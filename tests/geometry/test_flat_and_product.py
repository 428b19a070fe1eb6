import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from cogmap.errors import CogmapError
from cogmap.geometry import SO3, Box, Manifold, Product, Torus, wrap


def test_every_space_follows_the_protocol():
    for space in (SO3(), Torus(1), Torus(3), Box(), Product([SO3(), Torus(1)])):
        assert isinstance(space, Manifold)


@given(st.floats(-100, 100, allow_nan=False))
def test_wrap_lands_in_range_and_keeps_the_angle(a):
    w = float(wrap(torch.tensor(a, dtype=torch.float64)))
    assert -math.pi <= w < math.pi
    assert math.isclose(math.cos(w), math.cos(a), abs_tol=1e-9) and math.isclose(math.sin(w), math.sin(a), abs_tol=1e-9)


def test_torus_distance_goes_the_short_way_round():
    t = Torus(2)
    x = torch.tensor([[3.0, -3.0]], dtype=torch.float64)
    y = torch.tensor([[-3.0, 3.0]], dtype=torch.float64)
    expected = math.hypot(2 * math.pi - 6, 2 * math.pi - 6)
    assert math.isclose(float(t.distance(x, y)), expected, rel_tol=1e-12)
    stepped = t.integrate(x, torch.tensor([[1.0, -1.0]], dtype=torch.float64), 0.5)
    assert torch.allclose(stepped, torch.tensor([[3.5 - 2 * math.pi, -3.5 + 2 * math.pi]], dtype=torch.float64))


def test_torus_circular_mean_and_grid():
    circle = Torus(1)
    points = torch.tensor([[math.pi - 0.1], [-math.pi + 0.1]], dtype=torch.float64)
    mean = circle.mean(points, torch.tensor([0.5, 0.5], dtype=torch.float64))
    assert math.isclose(abs(float(mean)), math.pi, abs_tol=1e-9)
    grid = Torus(2).evenly_spread(16)
    assert grid.shape == (16, 2) and len({tuple(p) for p in grid.tolist()}) == 16
    with pytest.raises(CogmapError, match="perfect"):
        Torus(2).evenly_spread(10)


def test_box_reflection_never_leaves_and_bounces_specularly():
    box = Box(2.0, 1.0)
    g = torch.Generator().manual_seed(0)
    x = box.random(1000, g)
    far = box.integrate(x, torch.randn(1000, 2, generator=g) * 50, 1.0)
    assert box.contains(far).all()
    # A step of 0.5 to the right from x=1.8 hits the wall at 2.0 and comes back to 1.7.
    bounced = box.integrate(torch.tensor([[1.8, 0.5]]), torch.tensor([[0.5, 0.0]]), 1.0)
    assert torch.allclose(bounced, torch.tensor([[1.7, 0.5]]))


def test_box_grid_and_distance():
    box = Box(2.0, 1.0)
    grid = box.evenly_spread(8)
    assert grid.shape == (8, 2) and box.contains(grid).all()
    assert math.isclose(float(box.distance(torch.tensor([0.0, 0.0]), torch.tensor([0.3, 0.4]))), 0.5, rel_tol=1e-6)
    with pytest.raises(CogmapError):
        Box(-1.0, 1.0)


def test_product_of_joints():
    arm = Product.power(SO3(), 2)
    assert arm.dim == 6 and arm.name == "so3xso3"
    g = torch.Generator().manual_seed(1)
    x = arm.random(10, g, dtype=torch.float64)
    omega = torch.randn(10, 6, generator=g, dtype=torch.float64)
    y = arm.integrate(x, omega, 0.1)
    expected0 = SO3.integrate(x[0], omega[:, :3], 0.1)
    assert torch.allclose(y[0], expected0)
    d = arm.distance(x, y)
    per = arm.factor_distances(x, y)
    assert torch.allclose(d, per.norm(dim=-1))
    assert np.allclose(per.numpy(), 0.1 * omega.reshape(10, 2, 3).norm(dim=-1).numpy(), atol=1e-9)
    with pytest.raises(CogmapError, match="tuple of 2"):
        arm.integrate(x[0], omega, 0.1)
