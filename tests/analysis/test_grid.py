"""Grid scores and rate maps: lattices with known spacing, orientation and symmetry, and a slow reference."""

import math

import numpy as np
import pytest
import scipy.ndimage

from cogmap.analysis import RateMapAccumulator, autocorrelogram, grid_scores, rate_maps
from cogmap.errors import CogmapError

BINS, SIDE = 20, 2.2
CENTRES = (np.arange(BINS) + 0.5) / BINS * SIDE
X, Y = np.meshgrid(CENTRES, CENTRES)  # rows are y


def hexagonal(spacing: float, angle: float = 0.0, x=X, y=Y) -> np.ndarray:
    """Three plane waves 60 degrees apart: a hexagonal lattice of the given spacing.

    A wave vector of length 4 pi / (sqrt 3 spacing) has fronts sqrt(3)/2 spacing apart, the
    row spacing of a hexagonal lattice of that side; the lattice's own vectors are
    perpendicular to the waves, at angle + 30 degrees (mod 60).
    """
    k = 4 * math.pi / (math.sqrt(3) * spacing)
    return sum(np.cos(k * (np.cos(angle + a) * x + np.sin(angle + a) * y)) for a in (0, math.pi / 3, 2 * math.pi / 3))


def square(spacing: float) -> np.ndarray:
    k = 2 * math.pi / spacing
    return np.cos(k * X) + np.cos(k * Y)


# -- a slow, loop-by-loop implementation of the reference's formulas, independent of ours ------------

def slow_sac(rate_map: np.ndarray) -> np.ndarray:
    n = rate_map.shape[0]
    out = np.zeros((2 * n - 1, 2 * n - 1))
    for dy in range(-(n - 1), n):
        for dx in range(-(n - 1), n):
            a, b = [], []
            for i in range(n):
                for j in range(n):
                    if 0 <= i + dy < n and 0 <= j + dx < n:
                        u, v = rate_map[i, j], rate_map[i + dy, j + dx]
                        if np.isfinite(u) and np.isfinite(v):
                            a.append(u)
                            b.append(v)
            if len(a) >= 2 and np.std(a) > 1e-9 and np.std(b) > 1e-9:
                out[n - 1 + dy, n - 1 + dx] = np.corrcoef(a, b)[0, 1]
    return out


def slow_scores(rate_map: np.ndarray) -> tuple[float, float]:
    n = rate_map.shape[0]
    sac = slow_sac(rate_map)
    size = 2 * n - 1
    best60 = best90 = -np.inf
    for outer in np.linspace(0.4, 1.0, 10):
        ring = np.zeros((size, size), dtype=bool)
        for i in range(size):
            for j in range(size):
                r = math.hypot(i - (n - 1), j - (n - 1))
                ring[i, j] = 0.2 * n < r <= outer * n
        values = sac[ring]
        mean = values.mean()
        variance = ((values - mean) ** 2).mean() + 1e-5
        r = {}
        for angle in (30, 45, 60, 90, 120, 135, 150):
            turned = scipy.ndimage.rotate(sac, angle, reshape=False)[ring]
            r[angle] = ((values - mean) * (turned - mean)).mean() / variance
        best60 = max(best60, (r[60] + r[120]) / 2 - (r[30] + r[90] + r[150]) / 3)
        best90 = max(best90, r[90] - (r[45] + r[135]) / 2)
    return best60, best90


def test_agrees_with_a_slow_implementation_of_the_reference():
    rng = np.random.default_rng(0)
    maps = [hexagonal(0.7, 0.3) + 0.3 * rng.normal(size=(BINS, BINS)), square(0.55),
            rng.normal(size=(BINS, BINS)), np.exp(-((X - 1) ** 2 + (Y - 0.8) ** 2) / 0.2)]
    holes = hexagonal(0.6)
    holes[rng.random((BINS, BINS)) < 0.1] = np.nan  # unvisited bins
    maps.append(holes)
    scores = grid_scores(np.stack(maps))
    offsets = np.arange(-(BINS - 1), BINS)
    scored = np.hypot(offsets[:, None], offsets[None, :]) <= BINS  # every lag a ring can reach
    for k, rate_map in enumerate(maps):
        ours, slow = autocorrelogram(rate_map), slow_sac(rate_map)
        np.testing.assert_allclose(ours[scored], slow[scored], atol=1e-9)
        if k != 3:  # the bump's far corners are flat to within rounding: 0 by our definition
            np.testing.assert_allclose(ours, slow, atol=1e-9)
        expected60, expected90 = slow_scores(rate_map)
        # The rotation's cubic spline carries the bump's far corners a little way inwards.
        tolerance = 1e-5 if k == 3 else 1e-7
        assert scores.score_60[k] == pytest.approx(expected60, abs=tolerance)
        assert scores.score_90[k] == pytest.approx(expected90, abs=tolerance)


@pytest.mark.parametrize("spacing, angle", [(0.5, 0.0), (0.7, 0.25), (0.9, 0.6)])
def test_a_hexagonal_lattice_scores_high_at_60_degrees_with_its_spacing_and_orientation(spacing, angle):
    scores = grid_scores(hexagonal(spacing, angle))
    assert scores.score_60 > 1.0
    assert scores.score_90 < 0.6
    bin_size = SIDE / BINS
    assert scores.spacing * bin_size == pytest.approx(spacing, abs=0.5 * bin_size)
    expected = math.degrees(angle + math.pi / 6) % 60
    assert min(abs(scores.orientation - expected), 60 - abs(scores.orientation - expected)) < 3.0


def test_a_square_lattice_scores_high_at_90_and_low_at_60_degrees():
    scores = grid_scores(square(0.55))
    assert scores.score_90 > 1.0
    assert scores.score_60 < 0.0
    assert scores.spacing * SIDE / BINS == pytest.approx(0.55, abs=0.5 * SIDE / BINS)


def test_a_single_field_and_noise_score_low():
    bump = np.exp(-((X - 1.3) ** 2 + (Y - 0.9) ** 2) / (2 * 0.3**2))
    assert abs(grid_scores(bump).score_60) < 0.3
    rng = np.random.default_rng(1)
    noise = grid_scores(rng.normal(size=(200, BINS, BINS)))
    assert abs(np.mean(noise.score_60)) < 0.1
    assert noise.fraction_above(0.3) < 0.1
    assert grid_scores(hexagonal(0.6)).score_60 > 0.3  # and the threshold separates a real grid


def test_scores_do_not_depend_on_the_rate_scale_or_offset():
    base = hexagonal(0.6, 0.2)
    a, b = grid_scores(np.stack([base, 5.0 * base + 3.0])).score_60
    assert a == pytest.approx(b, rel=1e-6)


def test_the_periodic_autocorrelogram_of_a_torus_pattern():
    # Waves with a whole number of periods across the square torus, so the pattern is periodic
    # on it: the circular SAC is then exactly 1 at the lattice's periods and the map scores high.
    n = 24
    grid = (np.arange(n) + 0.5) / n
    gx, gy = np.meshgrid(grid, grid)
    torus_map = np.cos(2 * math.pi * 4 * gx) + np.cos(2 * math.pi * 4 * gy)
    sac = autocorrelogram(torus_map, periodic=True)
    assert sac.shape == (2 * n - 1, 2 * n - 1)
    assert sac[n - 1, n - 1 + 6] == pytest.approx(1.0)   # one period (24 / 4 bins) to the right
    assert sac[n - 1 + n // 2, n - 1] == pytest.approx(sac[n - 1 - n // 2, n - 1])  # lags wrap around
    assert grid_scores(torus_map, periodic=True).score_90 > 1.0
    # The open-arena SAC of the same map is not the same: it sees only the overlap.
    assert not np.allclose(autocorrelogram(torus_map), sac)


def test_rate_maps_average_each_bin_and_leave_unvisited_bins_nan():
    positions = np.array([[0.05, 0.05], [0.06, 0.04], [2.15, 0.05], [2.2, 2.2], [5.0, 1.0]])
    activity = np.array([[1.0, 0.0], [3.0, 2.0], [4.0, 4.0], [7.0, 1.0], [100.0, 100.0]])
    maps = rate_maps(positions, activity, ((0, SIDE), (0, SIDE)), bins=BINS)
    assert maps.maps.shape == (2, BINS, BINS)
    assert maps.maps[0, 0, 0] == 2.0 and maps.maps[1, 0, 0] == 1.0
    assert maps.maps[0, 0, BINS - 1] == 4.0          # x is the column, y the row
    assert maps.maps[0, BINS - 1, BINS - 1] == 7.0    # the upper edge belongs to the last bin
    assert maps.counts.sum() == 4                     # the sample outside the arena is left out
    assert np.isnan(maps.maps[0, 5, 5])
    assert maps.bin_size == pytest.approx(SIDE / BINS)


def test_rate_maps_accumulated_in_chunks_equal_one_pass():
    rng = np.random.default_rng(4)
    positions, activity = rng.random((3000, 2)) * SIDE, rng.normal(size=(3000, 7))
    whole = rate_maps(positions, activity, ((0, SIDE), (0, SIDE)), bins=12, smoothing=1.0)
    chunks = RateMapAccumulator(((0, SIDE), (0, SIDE)), bins=12)
    for part in np.array_split(np.arange(3000), 5):
        chunks.add(positions[part], activity[part])
    np.testing.assert_allclose(chunks.result(smoothing=1.0).maps, whole.maps, rtol=1e-12)
    with pytest.raises(CogmapError, match="same units"):
        chunks.add(positions, activity[:, :3])


def test_smoothed_rate_maps_keep_a_constant_rate_under_uneven_occupancy():
    rng = np.random.default_rng(2)
    positions = rng.random((5000, 2)) ** 2 * SIDE  # crowded in one corner
    maps = rate_maps(positions, np.full(5000, 3.0), ((0, SIDE), (0, SIDE)), bins=BINS, smoothing=1.5)
    visited = np.isfinite(maps.maps)
    np.testing.assert_allclose(maps.maps[visited], 3.0)
    torus = rate_maps(positions, np.full(5000, 3.0), ((0, SIDE), (0, SIDE)), bins=BINS, smoothing=1.5, periodic=True)
    np.testing.assert_allclose(torus.maps[np.isfinite(torus.maps)], 3.0)


def test_rate_maps_recover_a_hexagonal_unit_from_samples():
    rng = np.random.default_rng(3)
    positions = rng.random((40_000, 2)) * SIDE
    activity = np.maximum(hexagonal(0.7, 0.1, positions[:, 0], positions[:, 1]), 0)
    maps = rate_maps(positions, activity, ((0, SIDE), (0, SIDE)), bins=BINS)
    assert grid_scores(maps.maps).score_60 > 0.8


def test_constant_and_empty_maps_score_nan():
    maps = np.stack([np.ones((BINS, BINS)), np.full((BINS, BINS), np.nan), hexagonal(0.6)])
    scores = grid_scores(maps)
    assert np.isnan(scores.score_60[:2]).all() and np.isnan(scores.spacing[:2]).all()
    assert np.isfinite(scores.score_60[2])
    assert list(scores.best(2)) == [2, 0]  # NaN scores rank last


@pytest.mark.parametrize("call, match", [
    (lambda: grid_scores(np.zeros((4, 5))), "square"),
    (lambda: grid_scores(np.zeros(5)), "dimensions"),
    (lambda: autocorrelogram(np.zeros((1, 1))), "2 x 2"),
    (lambda: rate_maps(np.zeros((3, 2)), np.zeros(4), ((0, 1), (0, 1))), "agree"),
    (lambda: rate_maps(np.zeros((3, 2)), np.zeros(3), ((0, 1), (0, 1)), bins=1), "bins"),
    (lambda: rate_maps(np.zeros((3, 2)), np.zeros(3), ((1, 0), (0, 1))), "max > min"),
    (lambda: rate_maps(np.zeros((3, 2)), np.zeros(3), "box"), "bounds"),
    (lambda: rate_maps(np.full((3, 2), 5.0), np.zeros(3), ((0, 1), (0, 1))), "inside the arena"),
    (lambda: rate_maps(np.zeros((3, 2)), np.array([0, np.nan, 0]), ((0, 1), (0, 1))), "finite"),
    (lambda: rate_maps(np.zeros((3, 2)), np.zeros(3), ((0, 1), (0, 1)), smoothing=-1), "smoothing"),
])
def test_bad_inputs_get_one_clear_error(call, match):
    with pytest.raises(CogmapError, match=match):
        call()
