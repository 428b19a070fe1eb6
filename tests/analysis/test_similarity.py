"""Canonical correlations and Procrustes distance against answers known in closed form."""

import numpy as np
import pytest

from cogmap.analysis.similarity import canonical_correlations, procrustes_distance
from cogmap.errors import CogmapError


def test_any_invertible_linear_map_of_the_same_activity_is_perfectly_correlated():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 6))
    y = x @ rng.normal(size=(6, 9))  # more units, the same 6-D activity
    assert np.allclose(canonical_correlations(x, y, k=6), 1.0)


def test_one_shared_signal_under_noise_has_the_correlation_of_signal_and_noise():
    # x = [u, v], y = [u + s n, w] with u, v, w, n independent standard normals: the first canonical pair is
    # (u, u + s n), correlation 1 / sqrt(1 + s^2); nothing else is shared.
    rng = np.random.default_rng(1)
    u, v, w, n = rng.normal(size=(4, 200_000))
    s = 0.75
    rho = canonical_correlations(np.stack([u, v], 1), np.stack([u + s * n, w], 1), k=None)
    assert rho[0] == pytest.approx(1 / np.sqrt(1 + s ** 2), abs=0.005)
    assert rho[1] < 0.01


def test_procrustes_distance_is_zero_after_rotation_and_scaling_and_near_one_for_unrelated_activity():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 5))
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    assert procrustes_distance(x, 3.0 * x @ rotation + 1.0, k=None) == pytest.approx(0.0, abs=1e-12)
    assert procrustes_distance(x, rng.normal(size=(300, 5)), k=None) > 0.8
    # scipy.spatial.procrustes standardises alike; its disparity is the same number
    from scipy.spatial import procrustes

    y = x @ rotation + 0.5 * rng.normal(size=(300, 5))
    assert procrustes_distance(x, y, k=None) == pytest.approx(procrustes(y, x)[2], rel=1e-9)


def test_recordings_that_do_not_match_row_for_row_are_refused():
    with pytest.raises(CogmapError, match="same samples"):
        canonical_correlations(np.ones((10, 2)), np.ones((11, 2)))
    with pytest.raises(CogmapError, match="does not vary"):
        procrustes_distance(np.ones((10, 2)), np.random.default_rng(0).normal(size=(10, 2)))
