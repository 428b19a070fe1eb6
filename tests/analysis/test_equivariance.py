"""Ranking, equivariance and distance-invariance measures against answers computed by hand or by a slow loop."""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.spatial.transform import Rotation

from cogmap.analysis.equivariance import (
    distance_invariance_error,
    equivariance_error,
    hits_among,
    hits_per_row,
    miss_summary,
    nearest_other,
    nearest_rivals,
    random_pairs,
    ranking_metrics,
)
from cogmap.errors import CogmapError


def slow_ranks(predicted, candidates, ties, over):
    """Every rank by a double loop; for ties="expected", the list of equally likely ranks."""
    rows, items = (predicted, candidates) if over == "candidates" else (candidates, predicted)
    ranks = []
    for i in range(len(rows)):
        own = sum((rows[i][d] - items[i][d]) ** 2 for d in range(len(rows[i])))
        closer = equal = 0
        for j in range(len(items)):
            if j == i:
                continue
            dist = sum((rows[i][d] - items[j][d]) ** 2 for d in range(len(rows[i])))
            closer += dist < own
            equal += dist == own
        if ties == "optimistic":
            ranks.append([closer + 1])
        elif ties == "pessimistic":
            ranks.append([closer + equal + 1])
        else:
            ranks.append(list(range(closer + 1, closer + equal + 2)))
    return ranks


@pytest.mark.parametrize("ties", ["pessimistic", "expected", "optimistic"])
@pytest.mark.parametrize("over", ["candidates", "predictions"])
def test_ranking_equals_a_double_loop_with_ties(ties, over):
    rng = np.random.default_rng(0)
    # Small integer latents, so that many distances tie exactly.
    candidates = rng.integers(0, 3, size=(40, 2)).astype(float)
    predicted = candidates + rng.integers(-1, 2, size=(40, 2))
    result = ranking_metrics(predicted, candidates, k=(1, 3, 10), ties=ties, over=over)
    ranks = slow_ranks(predicted.tolist(), candidates.tolist(), ties, over)
    for k in (1, 3, 10):
        expected = np.mean([np.mean([r <= k for r in row]) for row in ranks])
        assert result.hits[k] == pytest.approx(expected, abs=1e-12)
    assert result.mrr == pytest.approx(np.mean([np.mean([1 / r for r in row]) for row in ranks]), abs=1e-12)


def test_the_orientations_differ_and_the_published_one_ranks_predictions():
    # Two predictions land on candidate 0: from candidate 0's side, prediction 0 is second; from
    # prediction 0's side, candidate 0 is first.
    candidates = np.array([[0.0], [10.0], [20.0]])
    predicted = np.array([[0.5], [0.2], [20.0]])
    by_prediction = ranking_metrics(predicted, candidates, k=(1,), over="candidates")
    by_candidate = ranking_metrics(predicted, candidates, k=(1,))  # the default: the published orientation
    # Ranks by hand: over candidates 1, 2 (candidate 0 is nearer to prediction 1), 1; over predictions 2, 2
    # (prediction 0, at 9.5 from candidate 1, is nearer than prediction 1 at 9.8), 1.
    assert by_prediction.hits[1] == pytest.approx(2 / 3) and by_prediction.mrr == pytest.approx((1 + 1 / 2 + 1) / 3)
    assert by_candidate.hits[1] == pytest.approx(1 / 3) and by_candidate.mrr == pytest.approx((1 / 2 + 1 / 2 + 1) / 3)


@pytest.mark.parametrize("ties", ["pessimistic", "expected", "optimistic"])
def test_hits_per_row_average_to_hits_at_k_and_split_by_subset(ties):
    rng = np.random.default_rng(5)
    candidates = rng.integers(0, 3, size=(60, 2)).astype(float)
    predicted = candidates + rng.integers(-1, 2, size=(60, 2))
    rows = hits_per_row(predicted, candidates, k=3, ties=ties)
    assert rows.mean() == pytest.approx(ranking_metrics(predicted, candidates, k=3, ties=ties).hits[3], abs=1e-12)
    ranks = slow_ranks(predicted.tolist(), candidates.tolist(), ties, "predictions")
    assert np.allclose(rows, [np.mean([r <= 3 for r in row]) for row in ranks])


def test_a_perfect_model_scores_one_and_a_collapsed_encoder_scores_no_better_than_chance():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(50, 4))
    perfect = ranking_metrics(z, z, k=(1, 5))
    assert perfect.hits == {1: 1.0, 5: 1.0} and perfect.mrr == 1.0
    constant = np.zeros((50, 4))
    assert ranking_metrics(constant, constant).hits[1] == 0.0  # every tie counted against
    expected = ranking_metrics(constant, constant, k=(1, 5), ties="expected")
    assert expected.hits[1] == pytest.approx(1 / 50) and expected.hits[5] == pytest.approx(5 / 50)
    assert expected.mrr == pytest.approx(sum(1 / r for r in range(1, 51)) / 50)  # chance: a random order
    published = ranking_metrics(constant, constant, ties="optimistic", over="predictions")
    assert published.hits[1] == 1.0 and published.mrr == 1.0  # what the published code reports for it


@pytest.mark.parametrize("ties", ["pessimistic", "optimistic"])
@pytest.mark.parametrize("k", [1, 2])
def test_hits_among_fewer_candidates_is_the_mean_over_every_subset(ties, k):
    # Every subset of size - 1 others beside each row's own item, ranked on its own: the exact expectation.
    rng = np.random.default_rng(7)
    candidates = rng.integers(0, 3, size=(9, 2)).astype(float)  # ties among distances, both rules differ
    predicted = candidates + rng.integers(-1, 2, size=(9, 2))
    sizes = [k, 3, 5, 9]
    got = hits_among(predicted, candidates, sizes, k=k, ties=ties)
    for size in sizes:
        shares = []
        for i in range(9):
            for others in itertools.combinations([j for j in range(9) if j != i], size - 1):
                keep = [i, *others]
                shares.append(hits_per_row(predicted[keep], candidates[keep], k=k, ties=ties)[0])
        assert got[size] == pytest.approx(np.mean(shares), abs=1e-12)
    assert got[9] == pytest.approx(ranking_metrics(predicted, candidates, k=k, ties=ties).hits[k], abs=1e-12)


def test_hits_among_candidates_by_hand():
    # Candidates at 0, 10, 20, ...; every prediction on its own but the first two, at 9 and 1: from candidate 0,
    # prediction 1 (1 away) beats its own (9 away), and from candidate 10 prediction 0 (1 away) beats its own (9).
    # Two rows with one item ahead: among 10 candidates each is first unless that one is among the 9 of 999 drawn.
    candidates = np.arange(1000, dtype=float)[:, None] * 10
    predicted = candidates.copy()
    predicted[0], predicted[1] = 9.0, 1.0
    result = hits_among(predicted, candidates, [10, 1000])
    assert result[1000] == pytest.approx(998 / 1000)
    assert result[10] == pytest.approx((998 + 2 * (1 - 9 / 999)) / 1000)


def test_the_nearest_rival_is_the_closest_other_item_by_a_double_loop():
    rng = np.random.default_rng(8)
    candidates = rng.integers(0, 4, size=(30, 2)).astype(float)
    predicted = candidates + rng.integers(-1, 2, size=(30, 2))
    for over in ("predictions", "candidates"):
        rows, items = (candidates, predicted) if over == "predictions" else (predicted, candidates)
        expected = []
        for i in range(30):
            distances = [((rows[i] - items[j]) ** 2).sum() if j != i else math.inf for j in range(30)]
            expected.append(int(np.argmin(distances)))  # the first of equal distances
        assert nearest_rivals(predicted, candidates, over=over).tolist() == expected


def test_the_nearest_other_item_in_blocks_is_the_double_loops():
    # 600 items of 100 numbers: the blocks hold 69 rows at a time, so block edges are crossed.
    items = torch.randn(600, 100, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    got = nearest_other(items, lambda a, b: (a - b).abs().sum(-1))
    by_hand = torch.cdist(items, items, p=1).fill_diagonal_(math.inf).min(1).values
    assert torch.allclose(got, by_hand)


def test_ranking_is_device_and_dtype_agnostic():
    z = torch.randn(30, 3, generator=torch.Generator().manual_seed(2))
    noisy = z + 0.3 * torch.randn(30, 3, generator=torch.Generator().manual_seed(3))
    a = ranking_metrics(noisy, z, k=(1, 2))
    b = ranking_metrics(noisy.float().numpy(), z.float().numpy(), k=(1, 2))
    assert a.hits == b.hits and a.mrr == pytest.approx(b.mrr)
    if torch.cuda.is_available():
        assert ranking_metrics(noisy.cuda(), z.cuda(), k=(1, 2)).hits == a.hits


def test_an_exactly_equivariant_map_has_no_errors_and_a_shifted_one_the_error_computed_by_hand():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(200, 3))
    g = Rotation.from_euler("z", 40, degrees=True).as_matrix()

    def rotate(v):
        return np.asarray(v) @ g.T

    # S = identity: S(g.x) = g.S(x) exactly.
    assert equivariance_error(x, rotate(x), rotate) == pytest.approx(0.0, abs=1e-12)
    # S(x) = x + c: g.S(x) - S(g.x) = g c - c for every x.
    c = np.array([1.0, 2.0, 0.5])
    by_hand = np.linalg.norm(g @ c - c) / np.linalg.norm(x + c, axis=1).mean()
    assert equivariance_error(x + c, rotate(x) + c, rotate) == pytest.approx(by_hand, rel=1e-12)
    # Rotation-valued latents (3 x 3 matrices) acted on by left multiplication.
    frames = Rotation.random(64, random_state=5).as_matrix()
    moved = np.einsum("ij,njk->nik", g, frames)
    assert equivariance_error(torch.tensor(frames), torch.tensor(moved), lambda m: torch.tensor(g) @ m) < 1e-12


def test_distance_invariance_is_zero_for_isometries_and_measures_a_known_stretch():
    rng = np.random.default_rng(6)
    z = rng.normal(size=(100, 5))
    partner = random_pairs(100, seed=0)
    assert not (partner == np.arange(100)).any() and sorted(partner.tolist()) == list(range(100))
    assert (random_pairs(100, seed=0) == partner).all() and not (random_pairs(100, seed=1) == partner).all()
    q, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    w = z @ q.T
    assert distance_invariance_error(z, z[partner], w, w[partner]) == pytest.approx(0.0, abs=1e-12)
    # Scaling by s changes every distance by |1 - s| times itself.
    s = 1.5
    distances = np.linalg.norm(z - z[partner], axis=1)
    by_hand = abs(1 - s) * distances.mean() / np.linalg.norm(z, axis=1).mean()
    assert distance_invariance_error(z, z[partner], s * z, s * z[partner]) == pytest.approx(by_hand, rel=1e-12)
    assert distance_invariance_error(z, z[partner], s * z, s * z[partner], scale=2.0) == pytest.approx(
        abs(1 - s) * distances.mean() / 2.0, rel=1e-12)


@pytest.mark.parametrize("call, needle", [
    (lambda: ranking_metrics(np.zeros((4, 2)), np.zeros((4, 3))), "same shape"),
    (lambda: ranking_metrics(np.zeros((4, 2)), np.zeros((4, 2)), k=5), "k must be"),
    (lambda: ranking_metrics(np.zeros((4, 2)), np.zeros((4, 2)), k=0), "k must be"),
    (lambda: ranking_metrics(np.zeros((4, 2)), np.zeros((4, 2)), ties="random"), "ties must be"),
    (lambda: ranking_metrics(np.full((4, 2), math.nan), np.zeros((4, 2))), "NaN"),
    (lambda: ranking_metrics(np.zeros((0, 2)), np.zeros((0, 2))), "first dimension"),
    (lambda: equivariance_error(np.zeros((4, 2)), np.zeros((4, 2)), lambda z: z), "zero"),
    (lambda: equivariance_error(np.ones((4, 2)), np.ones((4, 3)), lambda z: z), "same shape"),
    (lambda: distance_invariance_error(np.ones((4, 2)), np.ones((3, 2)), np.ones((4, 2)), np.ones((4, 2))), "same shape"),
    (lambda: random_pairs(1), "at least 2"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), [2], ties="expected"), "for or against"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), [5]), "each size"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), [2], k=3), "each size"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), [True]), "each size"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), 3), "list of candidate counts"),
    (lambda: hits_among(np.zeros((4, 2)), np.zeros((4, 2)), [2], k=0), "k must be"),
    (lambda: nearest_rivals(np.zeros((1, 2)), np.zeros((1, 2))), "at least 2"),
    (lambda: nearest_other(torch.zeros(1, 2), lambda a, b: (a - b).sum(-1)), "at least 2"),
    (lambda: miss_summary([True, False], [1.0, 2.0], [1.0, 1.0], "deg"), "one rival distance per miss"),
    (lambda: miss_summary([True, False], [1.0], [1.0], "deg"), "one nearest distance per row"),
    (lambda: nearest_rivals(np.zeros((3, 2)), np.zeros((3, 2)), over="rows"), "over must be"),
])
def test_bad_input_is_one_clear_error(call, needle):
    with pytest.raises(CogmapError, match=needle):
        call()
