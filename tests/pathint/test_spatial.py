"""Grid analysis of path integrators in a flat arena: decoding, baselines and rate maps with known answers."""

import math

import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.motion.rat import SORSCHER_WALK
from cogmap.pathint.data import GenerationConfig, generate
from cogmap.pathint.spatial import arena_of, spatial_analysis, top_cells_decode
from cogmap.pathint.train import load_config

# 512 cells as the reference: with few DoG cells the third most active is often a far one (the
# code is flat away from its centre and dips in the surround), and top-3 decoding fails.
BOX = GenerationConfig(manifold="box", joints=1, cells=512, kernel="dog", cell_sigma=0.12, seq_len=10, dt=0.02,
                       surround_scale=math.sqrt(2), rat=SORSCHER_WALK)


def test_the_box_grid_config_is_the_reference_setting():
    config = load_config("configs/pathint/box_grid.yaml")
    generation = config.generation
    assert generation.rat == SORSCHER_WALK
    assert (generation.cells, generation.seq_len, generation.box_size, config.data.batch_size) == (512, 20, 2.2, 200)
    assert (config.model.cell, config.model.nonlinearity, config.model.bias, config.model.readout) == \
        ("rnn", "relu", False, "linear")
    assert (config.optim.optimizer, config.optim.lr, config.optim.recurrent_decay) == ("adam", 1e-4, 1e-4)
    # The DoG code equals Sorscher et al.'s formula: centre and surround softmaxes of -d^2 / (2 s sigma^2)
    # with s = 1 and s = 2 (their surround scale multiplies the variance), shifted to 0 and normalised.
    cells = generation.place_cells().populations[0]
    positions = torch.rand(50, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2.2
    d2 = ((positions[:, None] - cells.centres[None].double()) ** 2).sum(-1)
    reference = torch.softmax(-d2 / (2 * 0.12**2), -1) - torch.softmax(-d2 / (2 * 2 * 0.12**2), -1)
    reference = reference - reference.min(-1, keepdim=True).values
    reference = reference / reference.sum(-1, keepdim=True)
    assert torch.allclose(cells.encode(positions), reference, rtol=1e-9, atol=1e-15)


def test_top_cells_decode_averages_the_most_active_centres_and_wraps_on_a_torus():
    centres = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [5.0, 5.0]], dtype=torch.float64)
    codes = torch.tensor([[0.3, 0.3, 0.3, 0.1]], dtype=torch.float64)
    assert torch.allclose(top_cells_decode(codes, centres), torch.tensor([[1 / 3, 2 / 3]], dtype=torch.float64))
    seam = torch.tensor([[math.pi - 0.1, 0.0], [-math.pi + 0.1, 0.0], [0.0, 0.0]], dtype=torch.float64)
    decoded = top_cells_decode(torch.tensor([[0.45, 0.45, 0.1]], dtype=torch.float64), seam, k=2, periodic=True)
    assert abs(abs(decoded[0, 0].item()) - math.pi) < 1e-9  # across the seam, not the middle


def hexagon(xy: torch.Tensor, spacing: float, angle: float) -> torch.Tensor:
    k = 4 * math.pi / (math.sqrt(3) * spacing)
    return sum(torch.cos(k * (math.cos(angle + a) * xy[..., 0] + math.sin(angle + a) * xy[..., 1]))
               for a in (0, math.pi / 3, 2 * math.pi / 3))


def test_an_oracle_with_grid_units_is_found_and_its_errors_match_a_direct_computation():
    # A "network" whose code is the true place-cell code and whose units are hexagonal
    # functions of the true position: every grid unit must score high, the noise unit low, and
    # the errors must equal those computed here from the same trajectories.
    def respond(part):
        xy = part.states[:, :, 0].double()
        hidden = torch.stack([hexagon(xy, 0.6, 0.1), hexagon(xy, 0.8, 0.4),
                              torch.randn(xy.shape[:2], generator=torch.Generator().manual_seed(1))], -1)
        return part.targets.clamp_min(1e-30).log(), hidden

    n = 1500
    result = spatial_analysis(None, BOX, n_trajectories=n, bins=20, chunk=400, respond=respond)
    assert result.scores.score_60[0] > 0.8 and result.scores.score_60[1] > 0.8
    assert result.scores.score_60[2] < 0.3
    bin_cm = 2.2 / 20 * 100
    assert result.scores.spacing[0] * bin_cm == pytest.approx(60, abs=bin_cm)
    trajectories = generate(BOX, n, "val")
    truth = trajectories.states[:, :, 0].double()
    centres = BOX.place_cells().populations[0].centres.double()
    top3 = centres[trajectories.targets.topk(3, -1).indices].mean(-2)
    assert result.position_error == pytest.approx(100 * (top3 - truth).norm(dim=-1).mean().item(), rel=1e-9)
    start = trajectories.initial_states[:, None, 0].double()
    assert result.stay_still_error == pytest.approx(100 * (start - truth).norm(dim=-1).mean().item(), rel=1e-9)
    middle = torch.tensor([1.1, 1.1], dtype=torch.float64)
    assert result.centre_error == pytest.approx(100 * (middle - truth).norm(dim=-1).mean().item(), rel=1e-9)
    assert result.position_error < 10 < result.stay_still_error < result.centre_error
    summary = result.to_json()
    assert summary["best_units"][:2] in ([0, 1], [1, 0]) and summary["unit_of_length"] == "cm"
    assert summary["fraction_score_60_above_0.3"] == pytest.approx(2 / 3)
    # Over another trajectory's positions the grid units lose their lattice.
    assert summary["shuffled_fraction_above_0.3"] < 2 / 3 and result.null_scores.score_60[:2].max() < 0.5
    assert summary["fraction_above_shuffled_95th"] == pytest.approx(2 / 3)


def test_a_torus_arena_wraps():
    torus = GenerationConfig(manifold="torus2", joints=1, cells=32, seq_len=6)
    arena = arena_of(torus)
    assert arena.periodic and arena.bounds == ((-math.pi, math.pi), (-math.pi, math.pi))

    def respond(part):
        angles = part.states[:, :, 0].double()
        # Periodic on the torus: three waves with whole numbers of periods around it.
        hidden = (torch.cos(3 * angles[..., :1]) + torch.cos(3 * angles[..., 1:]))
        return part.targets.clamp_min(1e-30).log(), hidden

    result = spatial_analysis(None, torus, n_trajectories=1000, bins=18, respond=respond)
    assert result.scores.score_90[0] > 1.0
    assert np.isfinite(result.position_error) and result.position_error < result.centre_error


@pytest.mark.parametrize("generation", [GenerationConfig(), GenerationConfig(manifold="box", joints=2)])
def test_only_one_position_in_a_flat_arena_is_analysed(generation):
    with pytest.raises(CogmapError, match="one joint in a box"):
        arena_of(generation)


def test_a_response_that_misses_steps_is_refused():
    def respond(part):
        return part.targets.log()[:, :3], torch.zeros(part.targets.shape[0], 3, 2)

    with pytest.raises(CogmapError, match="every step"):
        spatial_analysis(None, BOX, n_trajectories=20, respond=respond)
