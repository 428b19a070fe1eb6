import numpy as np
import pytest

from cogmap.analysis.cycles import (
    area_bivector,
    average_cycles,
    cycle_starts,
    opposing_pairs,
    resample_cycles,
    rotation_direction,
    signed_area,
    smooth_cycle,
    speed_axis,
    split_cycles,
)
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


def _circle(points=60, radius=1.0, turns=1):
    t = 2 * np.pi * np.arange(points) / points
    return radius * np.stack([np.cos(turns * t), np.sin(turns * t)], axis=1)


def test_the_swept_area_of_a_square_is_its_area_with_the_sign_of_its_sense():
    square = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], dtype=float)
    assert signed_area(square) == pytest.approx(4.0)
    assert signed_area(square[::-1]) == pytest.approx(-4.0)


def test_rotation_direction_tells_co_from_counter_rotation_in_any_embedding():
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.normal(size=(12, 12)))  # the plane hidden in 12-D by a random rotation
    circle = np.pad(_circle(), ((0, 0), (0, 10))) @ basis
    offset = rng.normal(size=12) * 5  # a far-apart condition: separation is not rotation
    same = rotation_direction(circle, 0.5 * circle + offset)
    assert same.co_rotating and np.sign(same.areas[0]) == np.sign(same.areas[1])
    assert same.circularity[0] == pytest.approx(np.sin(2 * np.pi / 60) * 60 / (2 * np.pi), rel=1e-9)  # a 60-gon
    assert same.alignment == pytest.approx(1.0)
    opposite = rotation_direction(circle, circle[::-1] + offset)
    assert not opposite.co_rotating and opposite.alignment == pytest.approx(-1.0)
    other_plane = np.pad(_circle(), ((0, 0), (2, 8))) @ basis  # turning in a plane orthogonal to the first
    assert rotation_direction(circle, other_plane).alignment == pytest.approx(0.0, abs=1e-12)


def test_the_area_bivector_gives_the_swept_area_in_any_plane():
    rng = np.random.default_rng(3)
    path = rng.normal(size=(25, 5))
    u, v = np.linalg.qr(rng.normal(size=(5, 2)))[0].T
    assert u @ area_bivector(path) @ v == pytest.approx(signed_area(path @ np.stack([u, v], 1)))


def test_a_figure_eight_barely_turns():
    t = 2 * np.pi * np.arange(80) / 80
    eight = np.stack([np.sin(t), np.sin(2 * t)], axis=1)  # its two lobes turn in opposite senses
    assert rotation_direction(eight, _circle(80)).circularity[0] < 1e-9


def test_opposing_conditions_are_paired_by_their_mirrored_commands():
    go1 = [[1, 0, 0], [-1, 0, 0], [0, 0.5, 0], [0, -0.5, 0], [0.5, 0, 0.8], [0.5, 0, -0.8]]
    assert opposing_pairs(go1) == [(0, 1), (2, 3), (4, 5)]
    assert opposing_pairs([-2, -1.5, -1, 1, 1.5, 2, 2.5, 3]) == [(0, 5), (1, 4), (2, 3)]
    assert opposing_pairs([[1, 0, 0], [1.5, 0, 0]]) == []
