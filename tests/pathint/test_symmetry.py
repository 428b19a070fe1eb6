"""Equivariance of path integrators' states to turning the whole arm: known answers first."""

import numpy as np
import pytest
from scipy.stats import ortho_group

from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig
from cogmap.pathint.model import StateEstimationModel
from cogmap.pathint.symmetry import held_out_equivariance, symmetry_errors


def test_states_moved_by_an_orthogonal_map_are_equivariant_and_keep_distances():
    rng = np.random.default_rng(0)
    rho = ortho_group.rvs(6, random_state=1)
    states = rng.normal(size=(400, 6))
    turned = states @ rho.T
    pairs = np.roll(np.arange(100), 1)
    ee, die, unexplained = held_out_equivariance(states[:300], turned[:300], states[300:], turned[300:], pairs)
    assert ee < 1e-10 and die < 1e-10 and unexplained < 1e-10


def test_a_non_linear_change_is_left_unexplained_and_a_stretch_breaks_distances():
    rng = np.random.default_rng(2)
    states = rng.normal(size=(2000, 3))
    squared = states**2 - 1  # the rotation "squares" the states: no linear map does that
    pairs = np.roll(np.arange(1000), 1)
    _, _, unexplained = held_out_equivariance(states[:1000], squared[:1000], states[1000:], squared[1000:], pairs)
    assert unexplained > 0.7
    stretch = np.diag([3.0, 1.0, 1.0])
    ee, die, unexplained = held_out_equivariance(states[:1000], states[:1000] @ stretch, states[1000:],
                                                 states[1000:] @ stretch, pairs)
    assert ee < 1e-10 and unexplained < 1e-10  # linear, so equivariant ...
    # ... but not an isometry: |stretched distance - distance| averages about 0.6 of a state's norm.
    assert die > 0.3
    with pytest.raises(CogmapError, match="did not change"):
        held_out_equivariance(states[:1000], states[:1000], states[1000:], states[1000:], pairs)


def test_the_poses_are_exactly_equivariant_and_the_networks_are_measured():
    generation = GenerationConfig(seq_len=10)
    model = StateEstimationModel(hidden=12, generation=generation.to_dict())
    errors = symmetry_errors(model, elements=2, fit_trajectories=200, test_trajectories=60, every=2)
    assert set(errors.equivariance) == {"pose", "place-cell code", "trained network", "untrained network"}
    assert errors.equivariance["pose"].max() < 1e-6 and errors.unexplained_change["pose"].max() < 1e-6
    assert errors.distance_invariance["pose"].max() < 1e-6
    # The vMF code is not a linear representation: some of its change is left unexplained.
    assert errors.unexplained_change["place-cell code"].min() > 0.05
    summary = errors.to_json()
    assert len(summary["equivariance_error"]["trained network"]["per_element"]) == 2


def test_bad_settings_are_refused():
    model = StateEstimationModel(hidden=8, generation=GenerationConfig(seq_len=4).to_dict())
    with pytest.raises(CogmapError, match="every must be at most"):
        symmetry_errors(model, every=5)
    box = GenerationConfig(manifold="box", joints=1)
    boxed = StateEstimationModel(hidden=8, velocity_dim=2, joints=1, cells=32, generation=box.to_dict())
    with pytest.raises(CogmapError, match="SO\\(3\\)"):
        symmetry_errors(boxed)
