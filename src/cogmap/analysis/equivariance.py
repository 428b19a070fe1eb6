"""Measures of a learned world model's latent space: ranking of predictions, equivariance, distance invariance.

The measures of C-SWM (Kipf et al. 2020, ICLR) and of symmetric embedding networks (Park, Biza,
Zhao, van de Meent, Walters 2022, ICML), written for any latent and any group action
given as a function, so that they apply as well to a path integrator's hidden states.

**Ranking.** Row ``i`` of ``predicted`` is a model's prediction of the latent of observation
``i``; ``candidates`` are the latents of all observations. With ``over="predictions"`` (the
default, the published code's orientation and that of cogmap's world-model evaluation) every
candidate (a true next latent) ranks all predictions by distance, and the rank of its own is
what counts; with ``over="candidates"`` every prediction ranks all candidates. Hits@k is the fraction ranked within the first ``k``, MRR the
mean reciprocal rank. Exact ties matter: an encoder that maps everything to one point ties every
pair. The published code breaks ties in the prediction's favour (a collapsed encoder scores
Hits@1 = MRR = 1); here a tie counts against it by default (``ties="pessimistic"``: it scores 0),
``ties="expected"`` averages over a uniformly random tie order (it scores exactly chance,
Hits@1 = 1/N), and ``ties="optimistic"`` reproduces the published convention.

**Equivariance error** of an encoder ``S`` under a group element ``g`` acting on inputs and,
in a known way, on latents: ``EE = mean_i ||g.S(x_i) - S(g.x_i)|| / mean_i ||S(x_i)||``.

**Distance-invariance error** of pairs of latents ``(a_i, b_i)`` and their counterparts
``(a'_i, b'_i)`` computed from transformed inputs: ``DIE = mean_i | ||a_i - b_i|| - ||a'_i - b'_i|| |
/ scale``, ``scale`` by default ``mean_i ||a_i||``. The published evaluation pairs each
n-step prediction with the true latent of another, random sample (:func:`random_pairs`) and
divides by the mean norm of the current latents.

Norms are Euclidean over all of a latent's numbers (a latent may be a vector, a matrix or any
array; its first dimension indexes samples). Inputs may be NumPy arrays or tensors on any device;
results are Python floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from cogmap.errors import CogmapError

TIES = ("pessimistic", "expected", "optimistic")
OVER = ("candidates", "predictions")
_CHUNK = 1 << 22  # distances computed per block, so that N x N never needs N^2 x D numbers at once


@dataclass(frozen=True)
class Ranking:
    hits: dict  # k -> fraction of rows whose own item ranks within the first k
    mrr: float  # mean reciprocal rank
    ties: str
    over: str
    size: int  # items ranked per row

    def to_json(self) -> dict:
        return {**{f"hits@{k}": v for k, v in self.hits.items()}, "mrr": self.mrr, "ties": self.ties,
                "over": self.over, "size": self.size}


def _flat(value, what: str) -> torch.Tensor:
    if torch.is_tensor(value):
        t = value.detach()
    else:
        try:
            t = torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as error:
            raise CogmapError(f"{what} must be an array of numbers: {error}") from None
    if t.dim() < 1 or t.shape[0] == 0:
        raise CogmapError(f"{what} must have a first dimension of samples, got shape {tuple(t.shape)}")
    if not t.is_floating_point():
        t = t.double()
    t = t.reshape(t.shape[0], -1)
    if not torch.isfinite(t).all():
        raise CogmapError(f"{what} holds NaN or infinite values")
    return t


def _same_shape(a: torch.Tensor, b: torch.Tensor, names: str) -> None:
    if a.shape != b.shape:
        raise CogmapError(f"{names} must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def _squared_distances_to_own(rows: torch.Tensor, items: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """For each row i: (#items j != i strictly closer to row i than item i, #items j != i exactly as close).

    Differences, not the expansion |a|^2 - 2ab + |b|^2, so that identical latents are at distance
    exactly 0 and ties are exact.
    """
    n, d = rows.shape
    own = ((rows - items) ** 2).sum(1)
    closer = torch.zeros(n, dtype=torch.long, device=rows.device)
    equal = torch.zeros(n, dtype=torch.long, device=rows.device)
    block = max(1, _CHUNK // max(1, n * d))
    for start in range(0, n, block):
        stop = min(n, start + block)
        dist = ((rows[start:stop, None, :] - items[None, :, :]) ** 2).sum(-1)  # (b, n)
        reference = own[start:stop, None]
        index = torch.arange(start, stop, device=rows.device)
        is_self = torch.zeros_like(dist, dtype=torch.bool)
        is_self[torch.arange(stop - start, device=rows.device), index] = True
        closer[start:stop] = ((dist < reference) & ~is_self).sum(1)
        equal[start:stop] = ((dist == reference) & ~is_self).sum(1)
    return closer, equal


def ranking_metrics(predicted, candidates, k: int | Sequence[int] = (1,), ties: str = "pessimistic",
                    over: str = "predictions") -> Ranking:
    """Hits@k (for each k) and mean reciprocal rank of ``predicted[i]`` against ``candidates[i]``; see the module."""
    ks, best, spread = _ranks(predicted, candidates, k, ties, over)
    # The rank is uniform on best .. best + spread (one value unless ties are "expected").
    hits = {int(value): float(_hit_fraction(best, spread, value).mean()) for value in ks}
    # mean of 1/r for r in best .. best + spread: (H(best + spread) - H(best - 1)) / (spread + 1)
    harmonic = torch.special.digamma(best + spread + 1) - torch.special.digamma(best)
    mrr = float(torch.where(spread == 0, 1 / best, harmonic / (spread + 1)).mean())
    return Ranking(hits, mrr, ties, over, len(best))


def hits_per_row(predicted, candidates, k: int = 1, ties: str = "pessimistic", over: str = "predictions") -> np.ndarray:
    """Each row's share of Hits@k ``(N,)`` (0 or 1, a fraction under ``ties="expected"``): their mean is
    :func:`ranking_metrics`' Hits@k, and a mean over a subset of rows is that subset's (e.g. one action's)."""
    _, best, spread = _ranks(predicted, candidates, k, ties, over)
    return _hit_fraction(best, spread, k).cpu().numpy()


# Candidate counts at which the world models' evaluation gives Hits@1 besides its own (all its test
# trajectories): 30 is the count the seed's per-axis Hits@1 were taken over (every value a multiple of 1/30).
CANDIDATE_COUNTS = (10, 30, 100, 300, 1000, 3000)


def candidate_counts(n: int) -> list:
    """The counts of :data:`CANDIDATE_COUNTS` below ``n``, and ``n`` itself."""
    return sorted({size for size in CANDIDATE_COUNTS if size < n} | {n})


def hits_among(predicted, candidates, sizes: Sequence[int], k: int = 1, ties: str = "pessimistic",
               over: str = "predictions") -> dict:
    """Hits@k had each row's own item competed with ``size - 1`` others only, for each of ``sizes``.

    How a score depends on how densely the candidates cover the space: a model that confuses only
    near neighbours loses Hits@1 among 1,000 candidates and none among 30. The others are
    a uniformly random subset of the ``N - 1`` (without replacement), and the value is the exact
    expectation over subsets, not a sample: with ``b`` items ranked ahead of a row's own
    (``ties`` says whether an exact tie is ahead), its rank among ``size`` is 1 plus a
    hypergeometric draw, ``P(rank <= k) = sum_{x < k} C(b, x) C(N - 1 - b, size - 1 - x) / C(N - 1, size - 1)``.
    At ``size = N`` this is :func:`ranking_metrics`' Hits@k. ``ties="expected"`` is not offered
    (a tie's share would depend on which tied items the subset keeps).
    """
    if ties == "expected":
        raise CogmapError('hits_among counts a tie for or against the model: ties="pessimistic" or "optimistic"')
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise CogmapError(f"k must be a positive whole number, got {k!r}")
    _, best, _ = _ranks(predicted, candidates, 1, ties, over)
    n = len(best)
    if isinstance(sizes, (int, np.integer)) or not len(sizes):
        raise CogmapError(f"sizes must be a list of candidate counts, got {sizes!r}")
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not k <= size <= n:
            raise CogmapError(f"each size must be a whole number from k={k} to the {n} items ranked, got {size!r}")
    ahead = (best - 1).cpu().double()
    others = float(n - 1)

    def log_choose(a, b):  # log C(a, b) for b <= a, elementwise
        return torch.lgamma(a + 1) - torch.lgamma(b + 1) - torch.lgamma(a - b + 1)

    result = {}
    for size in sizes:
        draws = float(size - 1)
        total = torch.zeros(n, dtype=torch.float64)
        for x in range(min(k, size)):  # x of the items ahead drawn into the subset
            x_ = torch.tensor(float(x), dtype=torch.float64)
            possible = (x_ <= ahead) & (draws - x <= others - ahead)
            log_p = (log_choose(ahead, x_.expand_as(ahead).minimum(ahead))
                     + log_choose(others - ahead, (draws - x_).expand_as(ahead).minimum(others - ahead))
                     - log_choose(torch.tensor(others, dtype=torch.float64), torch.tensor(draws, dtype=torch.float64)))
            total += torch.where(possible, log_p.exp(), torch.zeros_like(log_p))
        result[int(size)] = float(total.clamp(0, 1).mean())
    return result


def nearest_rivals(predicted, candidates, over: str = "predictions") -> np.ndarray:
    """For each row, the index of the other item nearest to it (``(N,)``): what a missed row was taken for.

    The rows and items are as in :func:`ranking_metrics` (by default, each true latent ``candidates[i]``
    against the predictions ``predicted[j]``, ``j != i``); among exactly equal distances the lowest index.
    """
    p, c = _flat(predicted, "predicted"), _flat(candidates, "candidates")
    _same_shape(p, c, "predicted and candidates")
    if over not in OVER:
        raise CogmapError(f"over must be one of {', '.join(OVER)}, got {over!r}")
    if len(p) < 2:
        raise CogmapError("a rival needs at least 2 items")
    c = c.to(device=p.device, dtype=torch.promote_types(p.dtype, c.dtype))
    p = p.to(c.dtype)
    rows, items = (p, c) if over == "candidates" else (c, p)
    n, d = rows.shape
    rival = torch.empty(n, dtype=torch.long, device=rows.device)
    block = max(1, _CHUNK // max(1, n * d))
    for start in range(0, n, block):
        stop = min(n, start + block)
        dist = ((rows[start:stop, None, :] - items[None, :, :]) ** 2).sum(-1)
        dist[torch.arange(stop - start, device=rows.device), torch.arange(start, stop, device=rows.device)] = math.inf
        rival[start:stop] = dist.argmin(1)
    return rival.cpu().numpy()


def nearest_other(items: torch.Tensor, distance: Callable) -> torch.Tensor:
    """Each item's distance to the nearest other item, ``(N,)`` float64.

    ``distance(a, b)`` gives the ``(len(a), len(b))`` distances between two stacks of items, broadcast from
    ``a[:, None]`` and ``b[None]``; it is called on blocks of rows, so that ``N x N`` item-sized
    intermediates never sit in memory at once.
    """
    n = len(items)
    if n < 2:
        raise CogmapError("a nearest other item needs at least 2 items")
    nearest = torch.empty(n, dtype=torch.float64)
    block = max(1, _CHUNK // max(1, n * items[0].numel()))
    for start in range(0, n, block):
        d = distance(items[start:start + block, None], items[None]).double().cpu()
        d[torch.arange(len(d)), torch.arange(start, start + len(d))] = math.inf
        nearest[start:start + len(d)] = d.min(1).values
    return nearest


def miss_summary(hit, to_rival, nearest, unit: str) -> dict:
    """What the missed rows were taken for, from distances in the domain's own terms (degrees, grid cells).

    ``hit`` ``(N,)`` marks the rows ranked first, ``nearest`` ``(N,)`` is each row's distance to the
    nearest other candidate's true state, ``to_rival`` ``(misses,)`` each missed row's distance to its
    rival's (:func:`nearest_rivals`), in the order of the missed rows. Misses about as far as the nearest
    candidate say the candidates are denser than the model is precise; far misses, that it confuses
    distinct states. The result: ``count``, ``unit``, the median nearest distance of all rows and of the
    missed ones, the rivals' quartiles and maximum, the share of misses taken for the nearest candidate
    there is, and both distances of each miss (``each``).
    """
    hit = torch.as_tensor(np.asarray(hit), dtype=torch.bool)
    nearest = torch.as_tensor(np.asarray(nearest, dtype=np.float64))
    to_rival = torch.as_tensor(np.asarray(to_rival, dtype=np.float64)).reshape(-1)
    missed = ~hit
    if nearest.shape != hit.shape or len(to_rival) != int(missed.sum()):
        raise CogmapError(f"need one nearest distance per row ({len(hit)}, got {tuple(nearest.shape)}) and one rival "
                          f"distance per miss ({int(missed.sum())}, got {len(to_rival)})")
    result = {"count": int(missed.sum()), "unit": unit, "nearest": {"all": float(nearest.quantile(0.5))}}
    if not missed.any():
        return result
    q25, median, q75 = (float(v) for v in to_rival.quantile(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64)))
    result["nearest"]["missed"] = float(nearest[missed].quantile(0.5))
    result["rival"] = {"q25": q25, "median": median, "q75": q75, "max": float(to_rival.max())}
    # taken for the nearest candidate there is (up to rounding): the model's precision, not a confusion
    result["rival_is_nearest"] = float((to_rival <= nearest[missed] + 1e-9).double().mean())
    result["each"] = {"rival": to_rival.tolist(), "nearest": nearest[missed].tolist()}
    return result


def _hit_fraction(best: torch.Tensor, spread: torch.Tensor, k: int) -> torch.Tensor:
    return ((k - best + 1).clamp(0, None)).minimum(spread + 1) / (spread + 1)


def _ranks(predicted, candidates, k, ties: str, over: str):
    """The checked ks and, per row, the best rank of its own item and how many more ranks a tie spreads it over."""
    p, c = _flat(predicted, "predicted"), _flat(candidates, "candidates")
    _same_shape(p, c, "predicted and candidates")
    if ties not in TIES:
        raise CogmapError(f"ties must be one of {', '.join(TIES)}, got {ties!r}")
    if over not in OVER:
        raise CogmapError(f"over must be one of {', '.join(OVER)}, got {over!r}")
    ks = [k] if isinstance(k, (int, np.integer)) else list(k)
    n = p.shape[0]
    for value in ks:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= n:
            raise CogmapError(f"k must be whole numbers from 1 to the {n} items ranked, got {value!r}")
    c = c.to(device=p.device, dtype=torch.promote_types(p.dtype, c.dtype))
    p = p.to(c.dtype)
    rows, items = (p, c) if over == "candidates" else (c, p)
    closer, equal = _squared_distances_to_own(rows, items)
    closer, equal = closer.double(), equal.double()
    if ties == "optimistic":
        return ks, closer + 1, torch.zeros_like(closer)
    if ties == "pessimistic":
        return ks, closer + equal + 1, torch.zeros_like(closer)
    return ks, closer + 1, equal


def equivariance_error(latents, transformed_latents, act: Callable) -> float:
    """``mean ||act(S(x)) - S(g.x)|| / mean ||S(x)||``: ``latents`` = S(x), ``transformed_latents`` = S(g.x).

    ``act`` maps a batch of latents (shaped like ``latents``) to the known action of ``g`` on
    them, e.g. ``lambda z: R @ z`` for rotation-valued latents.
    """
    z = latents if torch.is_tensor(latents) else torch.as_tensor(np.asarray(latents, dtype=np.float64))
    moved = act(z)
    if not torch.is_tensor(moved):
        moved = torch.as_tensor(np.asarray(moved, dtype=np.float64))
    a, b, base = _flat(moved, "act(latents)"), _flat(transformed_latents, "transformed_latents"), _flat(z, "latents")
    _same_shape(a, b, "act(latents) and transformed_latents")
    b = b.to(device=a.device, dtype=a.dtype)
    norm = float(base.norm(dim=1).mean())
    if norm == 0:
        raise CogmapError("every latent is zero; the equivariance error is relative to their norm")
    return float((a - b).norm(dim=1).mean()) / norm


def distance_invariance_error(first, second, first_transformed, second_transformed, scale: float | None = None) -> float:
    """``mean_i | ||a_i - b_i|| - ||a'_i - b'_i|| | / scale`` over pairs (``first``, ``second``); see the module."""
    a, b = _flat(first, "first"), _flat(second, "second")
    a2, b2 = _flat(first_transformed, "first_transformed"), _flat(second_transformed, "second_transformed")
    for other, name in ((b, "second"), (a2, "first_transformed"), (b2, "second_transformed")):
        _same_shape(a, other, f"first and {name}")
    b, a2, b2 = (t.to(device=a.device, dtype=a.dtype) for t in (b, a2, b2))
    if scale is None:
        scale = float(a.norm(dim=1).mean())
    if not scale > 0:
        raise CogmapError(f"scale must be positive, got {scale}")
    return float(((a - b).norm(dim=1) - (a2 - b2).norm(dim=1)).abs().mean()) / scale


def random_pairs(n: int, seed: int | np.random.Generator | None = None) -> np.ndarray:
    """A permutation of ``range(n)`` with no fixed point, to pair each sample with another at random.

    Indexes NumPy arrays and tensors alike: ``distance_invariance_error(z, z[p], w, w[p])``.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 2:
        raise CogmapError(f"pairs need at least 2 samples, got {n!r}")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    partner = np.empty(n, dtype=np.int64)
    partner[order] = np.roll(order, -int(rng.integers(1, n)))  # a cyclic shift within a random order moves every sample
    return partner
