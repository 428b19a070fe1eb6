import numpy as np
import pytest

from cogmap.analysis.cycles import average_cycles, cycle_starts, resample_cycles, smooth_cycle, speed_axis, split_cycles
from cogmap.errors import CogmapError


def gait(lengths, dims=3, seed=0):
    """A recording of cycles of the given lengths, each the same closed waveform sampled at its own rate."""
    parts = [np.stack([np.sin(2 * np.pi * (k + 1) * np.arange(n) / n) for k in range(dims)], 1) for n in lengths]
    return np.concatenate(parts), np.cumsum([0, *lengths])[:-1]


def test_cycles_start_where_a_foot_lifts_off():
    contact = np.array([1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0], dtype=bool)
    assert cycle_starts(~contact).tolist() == [2, 7, 9]
    assert cycle_starts(np.ones(5, dtype=bool)).tolist() == []
    flicker = np.array([0, 1, 0, 1, 1, 1, 0, 0, 1, 0, 1, 1], dtype=bool)  # lift-offs at 1, 3, 8, 10
    assert cycle_starts(flicker).tolist() == [1, 3, 8, 10]
    assert cycle_starts(flicker, min_gap=4).tolist() == [1, 8]


def test_the_most_common_cycle_length_is_averaged_step_by_step():
    lengths = [20, 20, 21, 20, 19, 21, 20]
    x, starts = gait(lengths)
    cycles = split_cycles(x, starts)
    assert [len(c) for c in cycles] == lengths[:-1]  # the last cycle has no end in the recording
    average = average_cycles(cycles)
    assert average.length == 20 and average.cycles_used == 3 and average.cycles_total == 6
    expected = np.stack([np.sin(2 * np.pi * (k + 1) * np.arange(20) / 20) for k in range(3)], 1)
    assert np.allclose(average.mean, expected)
    tie = average_cycles([np.zeros((5, 2)), np.ones((4, 2)), np.ones((4, 2)), np.zeros((5, 2))])
    assert tie.length == 4  # equally common: the shorter
    assert average_cycles(cycles, length=21).cycles_used == 2


def test_resampling_puts_cycles_of_any_length_on_one_phase_grid():
    x, starts = gait([30, 47, 61, 5], dims=2)  # the last cycle is unfinished and dropped
    cycles = split_cycles(x, starts)
    assert [len(c) for c in cycles] == [30, 47, 61]
    resampled = resample_cycles(cycles, points=50)
    assert resampled.shape == (3, 50, 2)
    phase = np.arange(50) / 50
    truth = np.stack([np.sin(2 * np.pi * phase), np.sin(4 * np.pi * phase)], 1)
    assert np.abs(resampled - truth).max() < 0.05  # linear interpolation of 30 to 61 samples a cycle


def test_a_periodic_spline_refines_a_cycle():
    n = 24
    cycle = np.stack([np.cos(2 * np.pi * np.arange(n) / n), np.sin(2 * np.pi * np.arange(n) / n)], 1)
    fine = smooth_cycle(cycle, factor=10)
    phase = np.arange(n * 10) / (n * 10)
    assert fine.shape == (240, 2)
    assert np.allclose(fine[::10], cycle) and np.abs(fine[:, 0] - np.cos(2 * np.pi * phase)).max() < 1e-3


def test_the_speed_axis_finds_the_direction_that_separates_the_speeds():
    rng = np.random.default_rng(0)
    dims, speeds = 12, [0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0]
    basis = np.linalg.qr(rng.normal(size=(dims, dims)))[0]
    direction = basis[:, 5]  # a direction outside the two large cycle dimensions
    phase = np.arange(40) * 2 * np.pi / 40
    conditions = []
    for s in speeds:
        cycle = 5 * np.cos(phase)[:, None] * basis[:, 0] + 5 * np.sin(phase)[:, None] * basis[:, 1]
        cycle = cycle + 0.3 * np.sin(2 * phase)[:, None] * basis[:, 2]  # a small shape common to all speeds
        conditions.append(cycle + (s - 1.4) * direction)  # each speed shifted along the direction
    found = speed_axis(conditions, speeds)
    assert abs(found.axis @ direction) > 0.999 and found.axis @ direction > 0  # oriented to grow with speed
    assert found.correlation == pytest.approx(1.0) and found.explained_across_conditions == pytest.approx(1.0)
    assert abs(found.axis @ basis[:, 0]) < 1e-9 and abs(found.axis @ basis[:, 1]) < 1e-9  # orthogonal to PCs 1-2
    projected = found.project(conditions[0])
    centred = conditions[0] - np.mean(conditions, axis=(0, 1))
    assert projected.shape == (40, 3) and np.allclose(projected[:, 2], centred @ found.axis)
    assert np.allclose(np.linalg.norm(projected[:, :2], axis=1), 5.0)  # PCs 1-2 span the big circle
    assert np.allclose(projected[:, 2], (0.8 - 1.4) * found.axis @ direction)  # the slowest speed sits lowest
    reversed_found = speed_axis(conditions, speeds[::-1])
    assert np.allclose(reversed_found.axis, -found.axis)


@pytest.mark.parametrize("call,match", [
    (lambda: average_cycles([]), "no cycles"),
    (lambda: average_cycles([np.zeros((3, 2)), np.zeros((3, 3))]), "same number of dimensions"),
    (lambda: split_cycles(np.zeros((10, 2)), [5, 3]), "increasing"),
    (lambda: resample_cycles([np.zeros((1, 2))]), "at least 2"),
    (lambda: speed_axis([np.zeros((4, 3))]), "two conditions"),
    (lambda: speed_axis([np.zeros((4, 3)), np.full((4, 3), np.nan)]), "NaN"),
])
def test_bad_inputs(call, match):
    with pytest.raises(CogmapError, match=match):
        call()
