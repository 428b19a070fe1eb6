"""Persistent homology of point clouds: spaces whose homology is known by hand."""

import sys

import numpy as np
import pytest
from scipy.spatial import cKDTree
from scipy.spatial.transform import Rotation

from cogmap.analysis.topology import (
    density_filter,
    diagrams,
    gap_count,
    lifetimes,
    maxmin_landmarks,
    persistent_homology,
    principal_components,
    shuffled,
)
from cogmap.errors import CogmapError

pytest.importorskip("ripser", reason="the topology extra is installed in CI (pip install 'cogmap[topology]')")


def _circle(n, noise, seed):
    rng = np.random.default_rng(seed)
    a = rng.uniform(0, 2 * np.pi, n)
    return np.c_[np.cos(a), np.sin(a)] + noise * rng.standard_normal((n, 2))


@pytest.mark.parametrize("n", [30, 31])
def test_evenly_spaced_points_on_a_circle_have_the_known_barcode(n):
    # n evenly spaced points on the unit circle: the loop appears when neighbours connect (the chord
    # 2 sin(pi / n)) and dies at the first chord of k steps with k / n >= 1/3 (Adamaszek & Adams 2017,
    # the Vietoris-Rips complexes of a circle): sqrt(3) when 3 divides n.
    angles = 2 * np.pi * np.arange(n) / n
    h1 = diagrams(np.c_[np.cos(angles), np.sin(angles)], max_dim=1)[1]
    k = -(-n // 3)
    assert h1 == pytest.approx(np.array([[2 * np.sin(np.pi / n), 2 * np.sin(np.pi * k / n)]]), abs=1e-6)


def test_a_noisy_circle_has_one_loop_and_a_blob_none():
    circle = persistent_homology(_circle(1500, 0.05, 0), max_dim=1, landmarks=60)[2]
    assert circle.classes == {1: 1}
    blob = persistent_homology(np.random.default_rng(1).standard_normal((1500, 3)), max_dim=2, landmarks=80)[2]
    assert blob.classes == {1: 0, 2: 0}


def test_a_flat_torus_has_two_loops_and_one_void():
    angles = np.random.default_rng(2).uniform(0, 2 * np.pi, (3000, 2))
    torus = np.c_[np.cos(angles[:, 0]), np.sin(angles[:, 0]), np.cos(angles[:, 1]), np.sin(angles[:, 1])]
    result = persistent_homology(torus, max_dim=2, landmarks=100)[2]
    assert result.classes == {1: 2, 2: 1}


@pytest.mark.slow
def test_rotation_matrices_have_the_homology_of_real_projective_3_space():
    # SO(3) = RP^3: H1 = Z/2, H2 = 0, H3 = Z. Over Z/2 one class in each of H1, H2, H3
    # (universal coefficients: the Z/2 in H1 also gives one in H2); over Z/3 only H3's.
    rotations = Rotation.random(3000, random_state=3).as_matrix().reshape(-1, 9)
    result = persistent_homology(rotations, max_dim=3, coeffs=(2, 3), landmarks=100)
    assert result[2].classes == {1: 1, 2: 1, 3: 1}
    assert result[3].classes == {1: 0, 2: 0, 3: 1}
    assert result[2].null == result[3].null  # the shuffled copies are run once
    assert result[3].lifetimes[3][0] == pytest.approx(result[2].lifetimes[3][0])


def test_gap_count_by_hand():
    assert gap_count([1.0, 0.3, 0.28]) == 1
    assert gap_count([1.0, 0.95, 0.3, 0.29]) == 2
    assert gap_count([0.5, 0.45, 0.4, 0.38]) == 0  # no gap of 1.5
    assert gap_count([0.5, 0.4, 0.38], min_ratio=1.2) == 1  # 1.25 clears it, 1.05 does not
    assert gap_count([]) == 0 and gap_count([0.7]) == 1
    assert gap_count([0.3, 1.0, 0.28]) == 1  # sorted first
    # Only bars above the floor (the shuffled cloud's longest) can be counted, and the gap must
    # follow one of them: 0.36 clears the floor, but 0.36 / 0.26 is no gap of 1.5.
    assert gap_count([0.36, 0.26, 0.22, 0.1], floor=0.3) == 0
    assert gap_count([1.0, 0.9, 0.35, 0.1], floor=0.3) == 3  # 0.35 outlives the floor, then a gap
    assert gap_count([1.0, 0.9, 0.32, 0.3], floor=0.31) == 2
    assert gap_count([1.0, 0.9], floor=0.3) == 2 and gap_count([1.0, 0.9]) == 0
    assert gap_count([1.0, 0.0]) == 1  # a bar of no length is no bar
    assert gap_count([0.2, 0.05], floor=0.3) == 0


def test_maxmin_landmarks_match_a_brute_force_farthest_point_search():
    points = np.random.default_rng(4).normal(size=(300, 3))
    chosen = maxmin_landmarks(points, 25, seed=7)
    reference = [int(np.random.default_rng(7).integers(300))]
    for _ in range(24):
        d = np.array([min(np.linalg.norm(p - points[c]) for c in reference) for p in points])
        reference.append(int(np.argmax(d)))
    assert chosen.tolist() == reference
    # The landmarks are at least the final covering radius apart.
    cover = cKDTree(points[chosen]).query(points)[0].max()
    separation = cKDTree(points[chosen]).query(points[chosen], k=2)[0][:, 1].min()
    assert separation >= cover - 1e-12
    with pytest.raises(CogmapError, match="cannot choose"):
        maxmin_landmarks(points, 301)


def test_density_filter_drops_the_sparse_points_and_agrees_with_brute_force():
    rng = np.random.default_rng(5)
    cluster = rng.normal(scale=0.1, size=(500, 2))
    outliers = rng.uniform(5, 10, size=(20, 2))
    points = np.vstack([cluster, outliers])
    kept = density_filter(points, keep=0.95, k=10)
    assert len(kept) == round(0.95 * 520) and not np.any(kept >= 500)
    # By brute force: every point's sorted distances to all points, the 11th (the 10th neighbour).
    kth = np.sort(np.linalg.norm(points[:, None] - points[None], axis=-1), axis=1)[:, 10]
    assert set(kept.tolist()) == set(np.argsort(kth, kind="stable")[:len(kept)].tolist())
    with pytest.raises(CogmapError, match="keep"):
        density_filter(points, keep=0)


def test_principal_components_shuffling_and_diagram_helpers():
    rng = np.random.default_rng(6)
    flat = rng.normal(size=(200, 2)) @ np.array([[3.0, 0, 0, 0], [0, 1.0, 0, 0]])  # a plane in 4-D
    reduced = principal_components(flat, 2)
    assert reduced.shape == (200, 2)
    assert np.allclose(np.linalg.norm(reduced, axis=1), np.linalg.norm(flat - flat.mean(0), axis=1))
    mixed = shuffled(flat, seed=1)
    assert all(sorted(mixed[:, j]) == sorted(flat[:, j]) for j in range(4))
    assert not np.allclose(mixed, flat)
    bars = np.array([[0.0, np.inf], [0.1, 0.5], [0.2, 0.25]])
    assert lifetimes(bars).tolist() == pytest.approx([0.4, 0.05])
    h0 = diagrams(np.array([[0.0], [1.0], [3.0]]), max_dim=0)[0]  # components merge at 1 and 2
    assert sorted(h0[np.isfinite(h0[:, 1]), 1].tolist()) == pytest.approx([1.0, 2.0])


def test_bad_input_and_a_missing_ripser_are_one_clear_error(monkeypatch):
    with pytest.raises(CogmapError, match="non-finite"):
        persistent_homology(np.array([[0.0, np.nan], [1.0, 1.0]]))
    with pytest.raises(CogmapError, match="coeff"):
        diagrams(np.zeros((3, 2)), coeff=4)
    with pytest.raises(CogmapError, match="point cloud"):
        persistent_homology(np.zeros(5))
    monkeypatch.setitem(sys.modules, "ripser", None)
    with pytest.raises(CogmapError, match=r"pip install 'cogmap\[topology\]'"):
        diagrams(np.random.default_rng(0).normal(size=(10, 2)))
