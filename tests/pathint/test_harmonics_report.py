"""The harmonic analysis of SO(3) path integrators: units with known spectra are found where they are."""

import numpy as np
import pytest
import torch

from cogmap.analysis.harmonics import wigner_d
from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig
from cogmap.pathint.harmonics import harmonic_analysis
from cogmap.pathint.model import StateEstimationModel

GEN = GenerationConfig(seq_len=5)


def test_units_built_from_known_harmonics_are_placed_at_their_degrees_and_joints():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict())

    def respond(part):
        poses = part.states.double()                             # (B, T, 2, 3, 3)
        flat_first, flat_second = poses[:, :, 0].reshape(-1, 3, 3).numpy(), poses[:, :, 1].reshape(-1, 3, 3).numpy()
        first = wigner_d(flat_first, 1)[:, 0, 0]
        second = wigner_d(flat_second, 2)[:, 1, 1]
        both = first * wigner_d(flat_second, 1)[:, 2, 1]
        units = np.stack([first, second, both], axis=-1).reshape(*poses.shape[:2], 3)
        return torch.as_tensor(units)

    result = harmonic_analysis(model, n_trajectories=1500, max_degree=3, joint_degree=1, chunk=500, respond=respond)
    first, second = result.model["joint 1"], result.model["joint 2"]
    assert first[0, 1] > 0.98 and second[0, 1:].sum() < 0.02      # unit 0: degree 1 of joint 1 only
    assert second[1, 2] > 0.98 and first[1, 1:].sum() < 0.02      # unit 1: degree 2 of joint 2 only
    assert first[2, 1:].sum() < 0.02 and second[2, 1:].sum() < 0.02  # unit 2: neither joint alone ...
    assert result.joint[2, 1, 1] > 0.98                           # ... but both together
    assert result.joint[0, 1, 0] > 0.98 and result.joint[1].sum() < 0.05  # degree 2 is above joint_degree
    peaks = result.peaks(first)
    assert peaks == pytest.approx({"degree 1": 1 / 3, "degree >= 2": 0.0, "untuned": 2 / 3})
    assert result.code["joint 1"].shape == (32, 4)
    # The place-cell code of a joint is a function of that joint alone: its cells are nearly all
    # tuned, and mostly at low degrees (vMF, kappa 5).
    assert result.peaks(result.code["joint 1"])["untuned"] == 0.0
    assert result.population(result.code["joint 1"])[1:].sum() > 0.8
    summary = result.to_json()
    assert summary["samples"] == 1500 and set(summary["model"]) == {"joint 1", "joint 2"}


def test_the_untrained_twin_and_the_model_are_different_networks():
    model = StateEstimationModel(hidden=8, generation=GEN.to_dict())
    result = harmonic_analysis(model, n_trajectories=400, max_degree=2, joint_degree=1)
    assert result.model["joint 1"].shape == result.untrained["joint 1"].shape == (8, 3)
    assert not np.allclose(result.model["joint 1"], result.untrained["joint 1"])


def test_only_so3_models_are_analysed():
    box = GenerationConfig(manifold="box", joints=1)
    model = StateEstimationModel(hidden=8, velocity_dim=2, joints=1, cells=32, generation=box.to_dict())
    with pytest.raises(CogmapError, match="SO\\(3\\)"):
        harmonic_analysis(model)


def test_periodicity_is_zero_for_smooth_units_and_positive_for_degree_two_units():
    from cogmap.pathint.harmonics import HarmonicAnalysis

    fractions = np.array([[0.0, 0.9, 0.0, 0.0], [0.0, 0.0, 0.9, 0.0], [0.0, 0.01, 0.02, 0.0]])
    scores = HarmonicAnalysis.periodicity(fractions)
    assert scores[0] == pytest.approx(0.0, abs=1e-12)
    assert scores[1] == pytest.approx(0.45, abs=2e-3)  # chi_2 / 5: from -0.25 back up to 0.2
    assert np.isnan(scores[2])  # under 10% of its variance on this joint: not tuned
