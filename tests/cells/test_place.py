import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation
from scipy.special import softmax

from cogmap.cells import JointPlaceCells, PlaceCells, effective_number, place_centres
from cogmap.errors import CogmapError
from cogmap.geometry import SO3, Box, Torus


def so3_cells(kernel="vmf", n=32, seed=0, **kw):
    return PlaceCells.create(SO3(), n, "random", torch.Generator().manual_seed(seed), kernel=kernel, dtype=torch.float64, **kw)


def scipy_distances(states: np.ndarray, centres: np.ndarray) -> np.ndarray:
    r = Rotation.from_matrix(states)
    return np.stack([(Rotation.from_matrix(c).inv() * r).magnitude() for c in centres], axis=-1)


def test_effective_number_known_values():
    assert float(effective_number(torch.full((8,), 1 / 8))) == pytest.approx(8)
    assert float(effective_number(torch.tensor([1.0, 0, 0, 0]))) == pytest.approx(1)
    assert float(effective_number(torch.tensor([0.5, 0.5, 0, 0]))) == pytest.approx(2)


@pytest.mark.parametrize("kernel,kw", [("vmf", {"kappa": 5.0}), ("rbf", {"sigma": 0.4}), ("rbf_softmax", {"sigma": 0.4})])
def test_kernels_match_an_independent_computation(kernel, kw):
    cells = so3_cells(kernel, **kw)
    states = Rotation.random(300, random_state=1).as_matrix()
    d = scipy_distances(states, cells.centres.numpy())
    if kernel == "vmf":
        expected = softmax(5.0 * np.cos(d), axis=-1)
    elif kernel == "rbf":
        a = np.exp(-d**2 / (2 * 0.4**2))
        expected = a / a.sum(-1, keepdims=True)
    else:
        expected = softmax(np.exp(-d**2 / (2 * 0.4**2)), axis=-1)
    np.testing.assert_allclose(cells.encode(torch.tensor(states)).numpy(), expected, atol=1e-10)


def test_vmf_seed_settings_give_four_to_five_effective_cells():
    cells = PlaceCells.create(SO3(), 32, "random", torch.Generator().manual_seed(42))
    codes = cells.encode(SO3.random(5000, torch.Generator().manual_seed(7)))
    assert torch.allclose(codes.sum(-1), torch.ones(5000), atol=1e-5)
    assert 3.5 < float(effective_number(codes).mean()) < 6


def test_the_seeds_rbf_softmax_is_nearly_uniform_whatever_sigma():
    for sigma in (0.05, 0.3, 1.0):
        codes = so3_cells("rbf_softmax", sigma=sigma).encode(SO3.random(500, torch.Generator().manual_seed(1), dtype=torch.float64))
        # Softmax of values in (0, 1] cannot make any cell more than e times as likely as another.
        ratio = codes.max(-1).values / codes.min(-1).values
        assert (ratio <= math.e + 1e-9).all()
        assert float(effective_number(codes).mean()) > 30
    sharp = so3_cells("rbf", sigma=0.1).encode(SO3.random(500, torch.Generator().manual_seed(1), dtype=torch.float64))
    assert float(effective_number(sharp).mean()) < 1.5


def test_dog_codes_on_a_box():
    box = Box(2.2, 2.2)
    cells = PlaceCells.create(box, 64, "even", kernel="dog", sigma=0.2)
    x = box.random(1000, torch.Generator().manual_seed(0))
    codes = cells.encode(x)
    assert (codes >= 0).all() and torch.allclose(codes.sum(-1), torch.ones(1000), atol=1e-5)
    # The most active cell is (almost always) the nearest centre.
    nearest = box.pairwise_distance(x, cells.centres).argmin(-1)
    assert (codes.argmax(-1) == nearest).float().mean() > 0.95
    with pytest.raises(CogmapError, match="vmf kernel needs a compact manifold"):
        PlaceCells(box, cells.centres, "vmf")


def test_joint_codes_sum_to_one_per_joint():
    joint = JointPlaceCells.create(SO3(), 2, 32, "random", torch.Generator().manual_seed(3))
    states = torch.stack([SO3.random(100, torch.Generator().manual_seed(s)) for s in (1, 2)], dim=1)
    codes = joint.encode(states)
    assert codes.shape == (100, 64)
    assert torch.allclose(joint.split(codes).sum(-1), torch.ones(100, 2), atol=1e-5)
    # The joint code is the concatenation of the per-joint populations' codes.
    for k in range(2):
        assert torch.allclose(codes[:, 32 * k:32 * (k + 1)], joint.populations[k].encode(states[:, k]), atol=1e-6)


def test_decoding_exact_codes_recovers_the_state_on_so3():
    cells = so3_cells()
    truth = SO3.random(300, torch.Generator().manual_seed(9), dtype=torch.float64)
    estimate = cells.decode(cells.encode(truth))
    errors = SO3.distance(estimate, truth)
    assert float(errors.max()) < math.radians(1.0)
    # The population mean alone is far off with 32 random cells: the refinement matters.
    rough = cells.decode(cells.encode(truth), refine_steps=0)
    assert float(SO3.distance(rough, truth).mean()) > math.radians(5)


def test_decoding_works_under_no_grad_and_inference_mode():
    cells = so3_cells()
    truth = SO3.random(20, torch.Generator().manual_seed(4), dtype=torch.float64)
    codes = cells.encode(truth)
    with torch.inference_mode():
        in_inference = cells.decode(codes.clone())
    with torch.no_grad():
        in_no_grad = cells.decode(codes)
    assert float(SO3.distance(in_inference, truth).max()) < math.radians(1)
    assert torch.allclose(in_inference, in_no_grad)


def test_decoding_on_torus_and_box():
    ring = PlaceCells.create(Torus(1), 16, "even", kappa=3.0, dtype=torch.float64)
    angles = Torus(1).random(200, torch.Generator().manual_seed(1), dtype=torch.float64)
    assert float(Torus(1).distance(ring.decode(ring.encode(angles)), angles).max()) < 1e-2
    box = Box(1.0, 1.0)
    field = PlaceCells.create(box, 25, "even", kernel="rbf", sigma=0.15, dtype=torch.float64)
    xy = box.random(200, torch.Generator().manual_seed(2), dtype=torch.float64)
    assert float(box.distance(field.decode(field.encode(xy)), xy).max()) < 1e-2


def test_joint_decode_shapes():
    joint = JointPlaceCells.create(SO3(), 2, 32, "random", torch.Generator().manual_seed(3), dtype=torch.float64)
    states = torch.stack([SO3.random(20, torch.Generator().manual_seed(s), dtype=torch.float64) for s in (1, 2)], dim=1)
    decoded = joint.decode(joint.encode(states).reshape(4, 5, 64))
    assert decoded.shape == (4, 5, 2, 3, 3)
    assert float(SO3.distance(decoded.reshape(20, 2, 3, 3), states).max()) < math.radians(1)


def test_even_layout_on_so3_is_more_even_than_random():
    even = place_centres(SO3(), 64, "even", dtype=torch.float64)
    rand = place_centres(SO3(), 64, "random", torch.Generator().manual_seed(0), dtype=torch.float64)

    def min_gap(c):
        d = SO3.distance(c[:, None], c[None])
        return float((d + 100 * torch.eye(64, dtype=torch.float64)).min())

    assert min_gap(even) > 2 * min_gap(rand)


@pytest.mark.parametrize("kwargs,match", [
    ({"kappa": 0.0}, "kappa"), ({"kappa": -5.0}, "kappa"), ({"sigma": 0.0}, "sigma"),
    ({"kernel": "laplace"}, "kernel"),
])
def test_bad_cell_parameters(kwargs, match):
    centres = SO3.random(4, torch.Generator().manual_seed(0))
    with pytest.raises(CogmapError, match=match):
        PlaceCells(SO3(), centres, **kwargs)


def test_bad_inputs_to_cells():
    with pytest.raises(CogmapError, match="number of cells"):
        PlaceCells.create(SO3(), 0)
    cells = so3_cells()
    with pytest.raises(CogmapError, match="states must have shape"):
        cells.encode(torch.zeros(5, 3))
    with pytest.raises(CogmapError, match="probabilities must have shape"):
        cells.decode(torch.ones(5, 31) / 31)
    with pytest.raises(CogmapError, match="NaN"):
        cells.decode(torch.full((5, 32), float("nan")))
    with pytest.raises(CogmapError, match="same number of cells"):
        JointPlaceCells([so3_cells(n=8), so3_cells(n=16)])
