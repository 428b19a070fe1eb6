import math

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import TreeWorldConfig
from cogmap.treeworld.kernels import apply_2d_translation, belief_mean, belief_mode, gaussian_belief, make_2d_translation_kernel
from cogmap.treeworld.localize import run_localization, summarize
from cogmap.treeworld.memory import LocationBeliefMemory
from cogmap.treeworld.tem import TEM2d


def test_kernel_values_from_the_seed():
    k = make_2d_translation_kernel(torch.tensor([1.0, 1.0]), gamma=1.0, filter_size=5)[0, 0]
    assert k[1, 1] == 1 and k.sum() == 1  # rows are y, columns are x
    k = make_2d_translation_kernel(torch.tensor([[1.0, 0.0], [-0.4, -0.25]]), gamma=1.0, filter_size=5)
    assert k[0, 0, 2, 1] == 1 and k[0, 0].sum() == 1
    # Fractional action: bilinear weights by hand. Mass at column 2.4, row 2.25.
    expected = torch.zeros(5, 5)
    expected[2, 2], expected[2, 3], expected[3, 2], expected[3, 3] = 0.6 * 0.75, 0.4 * 0.75, 0.6 * 0.25, 0.4 * 0.25
    assert torch.allclose(k[1, 0], expected)


def test_an_integer_action_moves_the_centre_of_mass_by_exactly_that_action():
    belief = gaussian_belief(41, 2.0, centre=(-6.0, 4.0), sigma=5.0)
    moved = apply_2d_translation(belief, torch.tensor([[6.0, -10.0]]), gamma=2.0, filter_size=11)
    assert torch.allclose(belief_mean(moved, 2.0), belief_mean(belief, 2.0) + torch.tensor([6.0, -10.0]), atol=1e-4)
    assert moved.sum().item() == pytest.approx(1.0, abs=1e-5)  # conserved away from the borders
    # A single cell moves cell for cell, in the right direction: +x is a later column, +y a later row.
    dot = torch.zeros(1, 9, 9)
    dot[0, 4, 4] = 1
    moved = apply_2d_translation(dot, torch.tensor([2.0, -1.0]), gamma=1.0, filter_size=5)
    assert moved[0, 3, 6] == 1


@pytest.mark.parametrize("action", [(3.0, 4.0), (-2.5, 1.25), (0.3, -0.7)])
def test_translation_round_trip(action):
    belief = gaussian_belief(61, 1.0, sigma=3.0)  # far from the borders: nothing is lost
    a = torch.tensor([action])
    there = apply_2d_translation(belief, a, 1.0, 11)
    back = apply_2d_translation(there, -a, 1.0, 11)
    assert torch.allclose(belief_mean(back, 1.0), belief_mean(belief, 1.0), atol=1e-4)
    if float(a.frac().abs().max()) == 0:
        assert torch.allclose(back, belief, atol=1e-6)


def test_blur_keeps_mass_and_spreads_the_belief():
    belief = torch.zeros(1, 21, 21)
    belief[0, 10, 10] = 1
    blurred = apply_2d_translation(belief, torch.zeros(1, 2), 1.0, 3, blur=1.5)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5) and blurred.max() < 0.1
    var_x = (blurred.sum(1) * (torch.arange(21.0) - 10) ** 2).sum()
    assert var_x.item() == pytest.approx(1.5**2, rel=0.05)  # sigma 1.5 cells, by hand: variance adds


def test_kernel_errors():
    with pytest.raises(CogmapError, match="filter_size 5 reaches only 2"):
        make_2d_translation_kernel(torch.tensor([3.0, 0.0]), 1.0, 5)
    with pytest.raises(CogmapError, match="odd"):
        make_2d_translation_kernel(torch.tensor([0.0, 0.0]), 1.0, 4)


def test_memory_reads_back_what_was_written_and_samples_where_it_was_sensed():
    memory = LocationBeliefMemory(grid_size=21, sensory_dim=8, batch_size=2, max_size=50)
    senses = torch.eye(8)
    places = [(-6.0, 4.0), (5.0, 5.0), (0.0, -7.0)]
    for i, (x, y) in enumerate(places):
        memory.write(gaussian_belief(21, 1.0, (x, y), sigma=0.7, batch=2), senses[[i, i + 3]])
    for i, (x, y) in enumerate(places):
        read = memory.read(gaussian_belief(21, 1.0, (x, y), sigma=0.7, batch=2))
        assert torch.allclose(read, senses[[i, i + 3]], atol=1e-3)
    found = memory.sample(senses[[1, 4]])  # world 0 sensed e1 at (5, 5); world 1 sensed e4 there too
    assert torch.allclose(belief_mean(found, 1.0), torch.tensor([[5.0, 5.0], [5.0, 5.0]]), atol=0.1)
    # With a reference far from every place where e1 was sensed, nothing is found.
    far = gaussian_belief(21, 1.0, (-9.0, -9.0), sigma=0.5, batch=2)
    assert memory.sample(senses[[1, 4]], reference_location=far, search_sigma=1.0).sum() == 0
    # Unknown sensations return nothing under a belief that overlaps no key.
    assert memory.read(gaussian_belief(21, 1.0, (9.0, -9.0), sigma=0.3, batch=2)).abs().max() < 1e-3


def test_memory_is_bounded_and_forgets_the_oldest():
    memory = LocationBeliefMemory(grid_size=11, sensory_dim=3, batch_size=1, max_size=4, key_cells=4)
    for i in range(10):
        belief = torch.zeros(1, 11, 11)
        belief[0, i, 0] = 1
        memory.write(belief, torch.tensor([[float(i), 0.0, 1.0]]))
    assert memory.size.item() == 4 and memory.senses.shape[1] == 4
    assert sorted(memory.senses[0, :, 0].tolist()) == [6.0, 7.0, 8.0, 9.0]


def test_beliefs_stay_normalised_and_non_negative_with_and_without_memory():
    c = TreeWorldConfig(embedding_dim=16, num_trees=10, tree_spacing=30.0)
    for experiment in ("spiral-memory", "circle-memory", "noisy-actions-memory"):
        result = run_localization(experiment, c, steps=120, grid_size=41, grid_extent=400.0)
        beliefs = result.record["belief"]
        assert (beliefs >= 0).all()
        assert torch.allclose(beliefs.sum(dim=(-2, -1)), torch.ones(len(beliefs)), atol=1e-4)


def test_without_memory_the_belief_tracks_exact_actions_within_one_cell_for_1000_steps():
    c = TreeWorldConfig(embedding_dim=16)
    result = run_localization("spiral-no-memory", c, steps=1000)
    assert result.error_mean.max() < result.settings["grid_scale"]
    summary = summarize(result)
    assert summary["error_at_step"]["1000"] == pytest.approx(float(result.error_mean[-1]), abs=1e-3)


def test_the_phase_code_follows_a_spiral_out_of_tem2ds_map_and_tem2d_does_not():
    c = TreeWorldConfig(embedding_dim=16)
    phase = run_localization("spiral-far", c, steps=900, localizer="phase")
    grid = run_localization("spiral-far", c, steps=900, grid_size=51, grid_extent=500.0)
    assert float(phase.truth[-1].norm()) > 550  # the spiral has left the 500 x 500 map
    assert phase.error_mean.max() < 1e-3 and phase.belief_extent is None
    assert grid.error_mean[-1] > 50 and grid.belief_extent == pytest.approx(255.0)


def test_odometry_noise_makes_the_belief_drift():
    c = TreeWorldConfig(embedding_dim=16)
    exact = run_localization("noisy-actions", c, steps=300, action_noise=0.0)
    noisy = run_localization("noisy-actions", c, steps=300)
    assert exact.error_mean.max() < 10 and noisy.error_mean[-100:].mean() > 3 * exact.error_mean[-100:].mean()


def test_batched_tem_equals_one_tem_per_world():
    torch.manual_seed(0)
    b, s, d, steps = 3, 31, 6, 40
    actions = torch.randn(steps, b, 2) * 4
    senses = torch.randn(steps, b, d)
    batched = TEM2d(grid_size=s, sensory_dim=d, batch_size=b, grid_extent=300.0, memory_size=20, affinity_exponent=5)
    singles = [TEM2d(grid_size=s, sensory_dim=d, batch_size=1, grid_extent=300.0, memory_size=20, affinity_exponent=5)
               for _ in range(b)]
    belief, beliefs = None, [None] * b
    for t in range(steps):
        belief, loss, mix = batched(belief, actions[t], senses[t])
        for i, tem in enumerate(singles):
            beliefs[i], _, single_mix = tem(beliefs[i], actions[t, i:i + 1], senses[t, i:i + 1])
            assert torch.allclose(belief[i], beliefs[i][0], atol=1e-5), (t, i)
            assert torch.allclose(mix[i], single_mix[0], atol=1e-5)
    assert (mix > 0).any()  # the memory took part


def test_belief_mode_reads_the_peak_cell():
    belief = torch.zeros(1, 5, 5)
    belief[0, 4, 1] = 1  # row 4 (y = +2 cells), column 1 (x = -1 cell)
    assert belief_mode(belief, 10.0).tolist() == [[-10.0, 20.0]]
    assert not math.isnan(belief_mean(torch.zeros(1, 5, 5), 1.0)[0, 0].item())
