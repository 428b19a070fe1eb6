"""The phase-code localizer: von Mises algebra against scipy, decoding, exact tracking far beyond
TEM2d's grid, uncertainty under noise, and landmark correction from memory."""

import math

import numpy as np
import pytest
import torch
from scipy import optimize, special

from cogmap.errors import CogmapError
from cogmap.treeworld.phase import (
    KAPPA_MAX,
    PhaseCode,
    PhaseLocalizer,
    PhaseMemory,
    concentration,
    mean_resultant_length,
    wrap,
)


def test_mean_resultant_length_and_its_inverse_match_scipy():
    kappa = np.array([0.01, 0.3, 1.0, 2.5, 7.0, 30.0, 400.0, 5e4])
    r = mean_resultant_length(torch.tensor(kappa, dtype=torch.float64)).numpy()
    np.testing.assert_allclose(r, special.i1e(kappa) / special.i0e(kappa), rtol=1e-12)
    for target in (0.05, 0.4, 0.7, 0.9, 0.99, 0.9999):
        exact = optimize.brentq(lambda k, t=target: special.i1e(k) / special.i0e(k) - t, 1e-9, 1e7, xtol=1e-12)
        assert float(concentration(torch.tensor(target, dtype=torch.float64))) == pytest.approx(exact, rel=1e-4)


def test_concentrations_match_the_resultant_length_of_sampled_position_noise():
    code = PhaseCode(modules=4, min_period=20.0, ratio=2.0)
    sigma = 3.0
    kappa = code.concentrations(torch.tensor([sigma**2]))
    assert bool((code.concentrations(torch.zeros(1)) == KAPPA_MAX).all())
    noise = torch.randn(200_000, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * sigma
    sampled = torch.polar(torch.ones(200_000, code.size, dtype=torch.float64), noise @ code.wavevectors.T).mean(0).abs()
    np.testing.assert_allclose(mean_resultant_length(kappa[0]).numpy(), sampled.numpy(), atol=4e-3)
    assert bool((kappa[0, :3] < kappa[0, -3:]).all())  # the fine module loses its certainty first


def test_the_lattice_holds_the_points_of_zero_phase():
    code = PhaseCode(modules=3)
    for m in range(3):
        for column in code.lattices[m].T:
            phases = code.phases(column)[3 * m:3 * m + 3]
            np.testing.assert_allclose(phases.numpy(), 0.0, atol=1e-9)


@pytest.mark.slow
def test_exact_odometry_tracks_exactly_for_10000_steps_far_beyond_tem2ds_grid():
    # An outward spiral 50 times wider than TEM2d's 1,000 x 1,000 map.
    t = torch.arange(10_001, dtype=torch.float64)
    path = (5.0 * t)[:, None] * torch.stack([torch.cos(2 * math.pi * t / 400), torch.sin(2 * math.pi * t / 400)], -1)
    localizer = PhaseLocalizer(sensory_dim=3, use_memory_to_localize=False)
    errors = []
    for move, truth in zip(path[1:] - path[:-1], path[1:]):
        estimate, sd, _ = localizer(move[None], torch.ones(1, 3))
        errors.append(float((estimate[0] - truth).norm()))
    assert float(path[-1].norm()) == pytest.approx(50_000.0)
    assert max(errors) < 1e-6 and float(sd[0]) == 0.0


def test_under_noisy_odometry_the_estimate_is_the_integrated_report_and_its_sd_the_spread():
    worlds, steps, sigma = 256, 150, 1.0
    generator = torch.Generator().manual_seed(3)
    localizer = PhaseLocalizer(sensory_dim=1, batch_size=worlds, action_noise=sigma, use_memory_to_localize=False)
    truth = torch.zeros(worlds, 2, dtype=torch.float64)
    integrated = torch.zeros(worlds, 2, dtype=torch.float64)
    heading = torch.rand(worlds, dtype=torch.float64, generator=generator) * 2 * math.pi
    for _ in range(steps):
        heading = heading + 0.3 * torch.randn(worlds, dtype=torch.float64, generator=generator)
        move = 8.0 * torch.stack([heading.cos(), heading.sin()], -1)
        report = move + sigma * torch.randn(worlds, 2, dtype=torch.float64, generator=generator)
        truth, integrated = truth + move, integrated + report
        estimate, sd, _ = localizer(report, torch.ones(worlds, 1))
    # No lattice jump anywhere: the decoded phases are the integrated reports, in every world.
    torch.testing.assert_close(estimate, integrated, atol=1e-6, rtol=0)
    spread = float((estimate - truth).square().mean().sqrt())  # per axis
    assert float(sd[0]) == pytest.approx(sigma * math.sqrt(steps))
    assert spread == pytest.approx(float(sd[0]), rel=0.15)


def test_a_code_of_small_periods_decodes_uniquely_over_a_range_far_larger_than_any():
    code = PhaseCode(modules=6, min_period=25.0)  # the coarsest period 141 units
    truth = torch.tensor([[3_000.0, -1_700.0], [-4_400.0, 900.0], [12.0, 7.0]], dtype=torch.float64)
    mu = code.phases(truth)
    decoded = code.decode(mu, torch.full_like(mu, 1e6), radius=5_000.0)
    np.testing.assert_allclose(decoded.mean.numpy(), truth.numpy(), atol=1e-6)
    assert bool((decoded.margin > 100).all())  # no rival close in likelihood
    # Started near an estimate a few periods off, the tracking decoder finds it too.
    near = code.decode(mu, torch.full_like(mu, 1e6), near=truth + 60.0)
    np.testing.assert_allclose(near.mean.numpy(), truth.numpy(), atol=1e-6)


def test_decoding_error_grows_with_phase_noise_as_the_reported_uncertainty_says():
    code = PhaseCode(modules=6)
    generator = torch.Generator().manual_seed(1)
    truth = (torch.rand(400, 2, dtype=torch.float64, generator=generator) - 0.5) * 2_000
    rms = []
    for noise in (0.02, 0.05, 0.1):
        mu = wrap(code.phases(truth) + noise * torch.randn(400, code.size, dtype=torch.float64, generator=generator))
        decoded = code.decode(mu, torch.full_like(mu, 1 / noise**2), near=truth + 20.0)
        error = (decoded.mean - truth).square().sum(-1).mean().div(2).sqrt()  # per axis
        rms.append(float(error))
        # Least squares on phases with independent noise: cov = noise^2 (sum_k w_k w_k^T)^-1, by hand.
        expected = noise * math.sqrt(float(torch.linalg.inv(code.wavevectors.T @ code.wavevectors).trace()) / 2)
        assert float(decoded.sd[0]) == pytest.approx(expected, rel=1e-6)
        assert float(error) == pytest.approx(expected, rel=0.15)
    assert rms[0] < rms[1] < rms[2]


def _smell(position: torch.Tensor) -> torch.Tensor:
    """A smooth, place-specific sensation: random Fourier features of the true position."""
    generator = torch.Generator().manual_seed(7)
    frequencies = torch.randn(64, 2, dtype=torch.float64, generator=generator) / 40
    offsets = torch.rand(64, dtype=torch.float64, generator=generator) * 2 * math.pi
    return torch.cos(position @ frequencies.T + offsets).float()


def _circle_run(use_memory: bool, bias: float, steps: int = 600, action_noise: float = 0.5):
    t = torch.arange(steps + 1, dtype=torch.float64)
    path = 100 * torch.stack([torch.cos(2 * math.pi * t / 100) - 1, torch.sin(2 * math.pi * t / 100)], -1)
    # This sensation changes faster with place than Tree World's smell: a sharper landmark.
    localizer = PhaseLocalizer(sensory_dim=64, use_memory_to_localize=use_memory, action_noise=action_noise,
                               landmark_sigma=5.0, match_threshold=0.9)
    errors, sds, gates = [], [], []
    for i in range(steps):
        move = path[i + 1] - path[i]
        reported = move + (bias if i >= 100 else 0.0)  # the first lap's odometry is exact, then it drifts
        estimate, sd, gate = localizer(reported[None], _smell(path[i + 1])[None])
        errors.append(float((estimate[0] - path[i + 1]).norm()))
        sds.append(float(sd[0]))
        gates.append(float(gate[0]))
    return np.array(errors), np.array(sds), np.array(gates)


def test_a_revisited_landmark_pulls_a_drifted_estimate_back():
    drifting, sd_drifting, _ = _circle_run(use_memory=False, bias=0.3)
    corrected, sd_corrected, gates = _circle_run(use_memory=True, bias=0.3)
    assert drifting[-1] > 100  # 500 steps of 0.3 * sqrt(2) bias
    assert corrected[-100:].max() < 15 and corrected.mean() < drifting.mean() / 10
    assert gates[100:].max() > 0.3
    # Uncertainty grows under noisy odometry and shrinks when the memory corrects it.
    assert sd_drifting[-1] > sd_drifting[100] > sd_drifting[10]
    assert sd_corrected[-1] < sd_drifting[-1] / 2


def test_the_memory_is_bounded_and_overwrites_its_oldest_entries():
    memory = PhaseMemory(code_size=3, sensory_dim=2, batch_size=2, max_size=4)
    for i in range(6):
        memory.write(torch.full((2, 3), float(i)), torch.ones(2), torch.full((2, 2), float(i)), torch.ones(2, 2),
                     mask=torch.tensor([True, i % 2 == 0]))
    assert memory.size.tolist() == [4, 3]
    assert sorted(memory.position[0, :, 0].tolist()) == [2.0, 3.0, 4.0, 5.0]
    assert sorted(memory.position[1, :3, 0].tolist()) == [0.0, 2.0, 4.0]


def test_bad_inputs_get_one_clear_error():
    code = PhaseCode(modules=2)
    with pytest.raises(CogmapError, match="shape"):
        code.decode(torch.zeros(1, 5), torch.zeros(1, 6))
    with pytest.raises(CogmapError, match="ratio"):
        PhaseCode(ratio=1.0)
    with pytest.raises(CogmapError, match="too many"):
        code.decode(torch.zeros(1, 6), torch.ones(1, 6), radius=1e9)
    localizer = PhaseLocalizer(sensory_dim=2, use_memory_to_localize=False)
    with pytest.raises(CogmapError, match="NaN"):
        localizer(torch.tensor([[float("nan"), 0.0]]), torch.ones(1, 2))
    with pytest.raises(CogmapError, match="action_noise"):
        PhaseLocalizer(action_noise=-1.0)
    with pytest.raises(CogmapError, match="num_samples"):
        PhaseLocalizer(num_samples=0)
    with pytest.raises(CogmapError, match="sensations"):
        localizer(torch.zeros(1, 2), torch.ones(1, 3))
    with pytest.raises(CogmapError, match="movements"):
        localizer(torch.zeros(3), torch.ones(1, 2))


def test_a_position_fix_is_fused_by_its_variance_and_sets_the_phases_exactly():
    localizer = PhaseLocalizer(sensory_dim=4, batch_size=3, action_noise=2.0, use_memory_to_localize=False)
    localizer(torch.tensor([[30.0, -40.0], [5.0, 5.0], [1.0, 2.0]]), torch.zeros(3, 4))  # variance 4 in every world
    estimate = localizer.estimate.clone()
    fix = torch.tensor([[50.0, -20.0], [0.0, 0.0], [9.0, 9.0]], dtype=torch.float64)
    out = localizer.fix(fix, torch.tensor([12.0, 0.0, 1.0], dtype=torch.float64),
                        mask=torch.tensor([True, True, False]))
    # By hand: gain 4 / (4 + 12) = 1/4 and variance 4 * 12 / 16 = 3 in world 0; a snap (variance 0) in world 1.
    torch.testing.assert_close(out[0], estimate[0] + 0.25 * (fix[0] - estimate[0]))
    torch.testing.assert_close(out[1], fix[1])
    torch.testing.assert_close(out[2], estimate[2])  # masked out: unchanged
    assert localizer.variance.tolist() == pytest.approx([3.0, 0.0, 4.0])
    torch.testing.assert_close(localizer.mu[:2], localizer.code.phases(out[:2]))
    # The next step moves from the fixed position, exactly.
    moved, _, _ = localizer(torch.tensor([[1.0, 1.0]] * 3), torch.zeros(3, 4), action_noise=0.0)
    torch.testing.assert_close(moved, out + 1.0, atol=1e-6, rtol=0)
    with pytest.raises(CogmapError, match="finite positions"):
        localizer.fix(torch.full((3, 2), float("nan")))
    with pytest.raises(CogmapError, match="variance"):
        localizer.fix(fix, -1.0)


def test_path_integration_without_a_memory_steps_exactly_as_it_did_writing_one():
    # A localizer that never reads its memory need not write it; the slow reference keeps writing.
    generator = torch.Generator().manual_seed(4)
    kept = PhaseLocalizer(sensory_dim=6, batch_size=5, action_noise=1.5, use_memory_to_localize=False, keep_memory=True)
    lean = PhaseLocalizer(sensory_dim=6, batch_size=5, action_noise=1.5, use_memory_to_localize=False)
    assert kept.memory is not None and lean.memory is None
    for step in range(60):
        action = torch.randn(5, 2, generator=generator, dtype=torch.float64) * 4
        senses = torch.rand(5, 6, generator=generator)
        a, b = kept(action, senses), lean(action, senses)
        for x, y in zip(a, b):
            assert torch.equal(x, y), step
        if step == 30:  # a fix from outside, as the landmark forager takes one
            fix = torch.randn(5, 2, generator=generator, dtype=torch.float64) * 10
            assert torch.equal(kept.fix(fix, 2.0), lean.fix(fix, 2.0))
    assert float(lean.surprise.abs().sum()) == 0.0 and float(kept.surprise.abs().sum()) > 0
    with pytest.raises(CogmapError, match="leaves no memory to localize with"):
        PhaseLocalizer(sensory_dim=2, keep_memory=False)
