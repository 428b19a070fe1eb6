"""The rigid-object domain: the renderer against a sphere shaded by hand, its symmetry, the actions."""

import math

import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels import ACTION_NAMES, Ellipsoid, action_rotations, render


def test_a_sphere_renders_as_the_disc_shaded_by_hand():
    radius, albedo, ambient, size = 0.6, 0.7, 0.2, 33
    sphere = (Ellipsoid((0.0, 0.0, 0.0), (radius,) * 3, (0.0, 0.0, 0.0), albedo),)
    light = np.array([0.3, -0.2, 1.0]) / np.linalg.norm([0.3, -0.2, 1.0])
    image = render(torch.eye(3, dtype=torch.float64)[None], size, sphere, scale=1.0, light=light.tolist(),
                   ambient=ambient)[0].numpy()
    expected = np.zeros((size, size))
    for row in range(size):
        for col in range(size):
            x, y = -1 + (2 * col + 1) / size, 1 - (2 * row + 1) / size
            if x * x + y * y < radius * radius:
                normal = np.array([x, y, math.sqrt(radius * radius - x * x - y * y)]) / radius
                expected[row, col] = albedo * (ambient + (1 - ambient) * max(0.0, normal @ light))
    assert np.allclose(image, expected, atol=1e-9)


def test_the_nearer_surface_hides_the_farther_one():
    front = Ellipsoid((0.0, 0.0, 0.5), (0.2, 0.2, 0.2), (0.0, 0.0, 0.0), 1.0)
    back = Ellipsoid((0.0, 0.0, -0.5), (0.6, 0.6, 0.2), (0.0, 0.0, 0.0), 0.3)
    image = render(torch.eye(3)[None], 21, (back, front), scale=1.0, light=(0, 0, 1), ambient=0.0)[0]
    assert image[10, 10] == pytest.approx(1.0, abs=1e-5)  # the centre: the front sphere, facing the light
    # Column 4 meets only the back ellipsoid, whose normal there is Q (x, 0, w), Q = diag(1/0.36, 1/0.36, 1/0.04).
    x = -1 + 9 / 21
    w = 0.2 * math.sqrt(1 - x * x / 0.36)
    assert image[10, 4] == pytest.approx(0.3 * (w / 0.04) / math.hypot(x / 0.36, w / 0.04), abs=1e-5)
    # Seen from behind (turned 180 degrees about y), the big back ellipsoid covers the front sphere.
    turned = so3.exp(torch.tensor([[0.0, math.pi, 0.0]]))
    assert render(turned, 21, (back, front), scale=1.0, light=(0, 0, 1), ambient=0.0)[0][10, 10] < 0.31


def test_rolling_the_object_rolls_its_image():
    # With the light on the viewing axis, turning the object by 90 degrees about it turns the
    # image by 90 degrees counter-clockwise, pixel for pixel: (x, y) -> (-y, x).
    poses = so3.random(6, torch.Generator().manual_seed(0), dtype=torch.float64)
    roll = so3.exp(torch.tensor([0.0, 0.0, math.pi / 2], dtype=torch.float64))
    images = render(poses, 32, light=(0, 0, 1))
    rolled = render(roll @ poses, 32, light=(0, 0, 1))
    assert torch.allclose(rolled, torch.rot90(images, 1, dims=(-2, -1)), atol=1e-9)
    assert not torch.allclose(rolled, images, atol=1e-2)


def test_the_actions_are_rotations_about_the_world_axes_by_the_step():
    g = action_rotations(math.pi / 6, dtype=torch.float64)
    assert g.shape == (6, 3, 3) and len(ACTION_NAMES) == 6
    for i, name in enumerate(ACTION_NAMES):
        axis = {"pitch": 0, "yaw": 1, "roll": 2}[name[:-1]]
        assert torch.allclose(g[i] @ g[i ^ 1], torch.eye(3, dtype=torch.float64), atol=1e-12)  # + then -
        assert torch.allclose(torch.linalg.matrix_power(g[i], 12), torch.eye(3, dtype=torch.float64), atol=1e-12)
        assert g[i][axis, axis] == pytest.approx(1.0)  # the axis is fixed
        assert torch.trace(g[i]) == pytest.approx(1 + 2 * math.cos(math.pi / 6))
    # roll+ turns x towards y (counter-clockwise in the image)
    assert torch.allclose(g[4] @ torch.tensor([1.0, 0, 0], dtype=torch.float64),
                          torch.tensor([math.cos(math.pi / 6), math.sin(math.pi / 6), 0], dtype=torch.float64))


def test_poses_far_apart_rarely_render_alike():
    # Identifiability, measured: turning a pose by 10 degrees changes its image by some amount;
    # among pairs of poses more than 60 degrees apart, hardly any render closer than that.
    generator = torch.Generator().manual_seed(1)
    poses = so3.random(300, generator, dtype=torch.float64)
    axes = torch.nn.functional.normalize(torch.randn(300, 3, generator=generator, dtype=torch.float64), dim=1)
    images = render(poses, 32).reshape(300, -1)
    change = {deg: (render(so3.exp(axes * math.radians(deg)) @ poses, 32).reshape(300, -1) - images).norm(dim=1).median()
              for deg in (5, 10, 20)}
    assert change[5] < change[10] < change[20]
    far = so3.distance(poses[:, None], poses[None]) > math.radians(60)
    alike = (torch.cdist(images, images) < change[10]) & far
    assert float(alike.sum() / far.sum()) < 0.01


@pytest.mark.parametrize("call, needle", [
    (lambda: render(torch.eye(3)), "shape"),
    (lambda: render(torch.full((1, 3, 3), math.nan)), "NaN"),
    (lambda: render(torch.eye(3)[None], size=1), "size"),
    (lambda: action_rotations(0.0), "step"),
])
def test_bad_input_is_one_clear_error(call, needle):
    with pytest.raises(CogmapError, match=needle):
        call()
