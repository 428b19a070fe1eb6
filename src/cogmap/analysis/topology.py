"""Persistent homology of population activity (optional extra ``topology``: ``pip install cogmap[topology]``).

A point cloud of neural states is first reduced to its top principal components, thinned of
sparse outliers (the points farthest from their ``k``-th nearest neighbour are dropped: noise
makes short-lived spurious cycles, and a few stray states can fill a real one), and then
subsampled to well-spread landmarks by farthest-point (max-min) sampling, which keeps the
shape while bounding the cost of the Vietoris-Rips filtration (ripser). Gardner et al. 2022
(Nature 602, 123) use the same three steps, with a fuzzy density weighting in place of our
nearest-neighbour rule.

Which bars are classes of the underlying space and which are sampling noise: a bar counts
when (a) it outlives every bar of the same dimension in the same cloud with each coordinate
shuffled independently (which keeps every coordinate's distribution and destroys the joint
structure), and (b) the counted bars stand above a clear gap: they are the top ``k`` of the
bars passing (a), for the ``k`` with the largest ratio ``l_k / l_{k+1}`` of consecutive sorted
lifetimes, and that ratio must be at least ``min_ratio``. Rule (a) alone is too lenient with
few landmarks: a cloud's own noise bars can outlive a shuffled cloud's (seen on SO(3) with 100
landmarks), and rule (b) alone would count a lone noise bar in a cloud with no structure.

Known answers the tests check: a circle has one H1 class; a torus two in H1 and one in H2;
rotation matrices on SO(3) = RP^3 one class in each of H1, H2 and H3 with Z/2 coefficients, and
with Z/3 only the one in H3 (the projective space's torsion is 2-torsion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from cogmap.errors import CogmapError, check_positive_int


def _ripser():
    try:
        from ripser import ripser
    except ImportError as error:  # an optional extra: say how to get it, in one line
        raise CogmapError("persistent homology needs ripser: pip install 'cogmap[topology]'") from error
    return ripser


def _cloud(points) -> np.ndarray:
    x = np.asarray(points, dtype=float)
    if x.ndim != 2 or len(x) < 2:
        raise CogmapError(f"a point cloud must be (points >= 2, dims), got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise CogmapError("the point cloud has non-finite values")
    return x


def principal_components(points, n_pcs: int) -> np.ndarray:
    """The centred cloud projected on its top ``n_pcs`` principal axes (all of them if fewer)."""
    x = _cloud(points)
    check_positive_int("n_pcs", n_pcs)
    x = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(x, full_matrices=False)
    return x @ vt[:n_pcs].T


def density_filter(points, keep: float = 0.9, k: int = 15) -> np.ndarray:
    """Indices of the ``keep`` fraction of points closest to their ``k``-th nearest neighbour
    (the densest ones), in their original order."""
    from scipy.spatial import cKDTree

    x = _cloud(points)
    check_positive_int("k", k)
    if not 0 < keep <= 1:
        raise CogmapError(f"keep must be in (0, 1], got {keep}")
    if k >= len(x):
        raise CogmapError(f"k must be less than the {len(x)} points, got {k}")
    kth = cKDTree(x).query(x, k=k + 1)[0][:, k]  # neighbour 0 is the point itself
    n_keep = max(2, int(round(keep * len(x))))
    return np.sort(np.argsort(kth, kind="stable")[:n_keep])


def maxmin_landmarks(points, n: int, seed: int = 0) -> np.ndarray:
    """``n`` indices chosen by farthest-point sampling from a seeded random first point: each
    next landmark is the point farthest from those already chosen."""
    x = _cloud(points)
    check_positive_int("n", n)
    if n > len(x):
        raise CogmapError(f"cannot choose {n} landmarks from {len(x)} points")
    chosen = np.empty(n, dtype=int)
    chosen[0] = np.random.default_rng(seed).integers(len(x))
    nearest = np.linalg.norm(x - x[chosen[0]], axis=1)
    for i in range(1, n):
        chosen[i] = int(np.argmax(nearest))
        nearest = np.minimum(nearest, np.linalg.norm(x - x[chosen[i]], axis=1))
    return chosen


def diagrams(points, max_dim: int = 1, coeff: int = 2) -> list[np.ndarray]:
    """Vietoris-Rips persistence diagrams ``[(bars, 2)]`` for H0..H``max_dim`` with coefficients
    in Z/``coeff`` (a prime), of all the given points (subsample first)."""
    x = _cloud(points)
    if not isinstance(max_dim, int) or max_dim < 0:
        raise CogmapError(f"max_dim must be an integer >= 0, got {max_dim!r}")
    if coeff not in (2, 3, 5, 7, 11, 13):
        raise CogmapError(f"coeff must be a small prime (2, 3, 5, 7, 11 or 13), got {coeff!r}")
    return [np.asarray(d, dtype=float).reshape(-1, 2)
            for d in _ripser()(cdist(x, x), maxdim=max_dim, coeff=coeff, distance_matrix=True)["dgms"]]


def lifetimes(diagram: np.ndarray) -> np.ndarray:
    """Finite lifetimes (death - birth) of a diagram, longest first (H0's infinite bar dropped)."""
    d = np.asarray(diagram, dtype=float).reshape(-1, 2)
    life = d[:, 1] - d[:, 0]
    return np.sort(life[np.isfinite(life)])[::-1]


def gap_count(life, min_ratio: float = 1.5, max_classes: int = 6, floor: float = 0.0) -> int:
    """How many of the longest bars are classes: the bars longer than ``floor`` are candidates,
    and the count is the ``k`` (at most ``max_classes`` and the number of candidates) with the
    largest ratio of consecutive sorted lifetimes ``l_k / l_{k+1}``, or 0 if that ratio is below
    ``min_ratio``. The last bar of all is compared with ``floor`` when that is positive (and not
    at all when it is 0); a lone bar counts."""
    life = np.sort(np.asarray(life, dtype=float))[::-1]
    life = life[life > 0]
    candidates = min(int(np.sum(life > floor)), max_classes)
    if candidates == 0 or len(life) == 1:
        return candidates
    following = np.append(life[1:], floor)[:candidates]
    ratios = np.divide(life[:candidates], following, out=np.zeros(candidates), where=following > 0)
    best = int(np.argmax(ratios))
    return best + 1 if ratios[best] >= min_ratio else 0


@dataclass(frozen=True)
class Homology:
    """Persistent homology of one cloud: ``lifetimes[d]`` longest first for H``d`` (d >= 1), the
    shuffled clouds' longest bar per dimension (``null``), and ``classes[d]``, the bars that pass
    both rules of the module's docstring."""

    coeff: int
    lifetimes: dict[int, np.ndarray]
    null: dict[int, float]
    classes: dict[int, int]
    landmarks: int

    def to_json(self, bars: int = 5) -> dict:
        return {"coeff": self.coeff, "landmarks": self.landmarks,
                "classes": {f"H{d}": c for d, c in self.classes.items()},
                "longest_bars": {f"H{d}": np.round(v[:bars], 4).tolist() for d, v in self.lifetimes.items()},
                "shuffled_longest_bar": {f"H{d}": round(v, 4) for d, v in self.null.items()}}


def shuffled(points, seed: int = 0) -> np.ndarray:
    """The cloud with each coordinate permuted independently across points."""
    x = _cloud(points)
    rng = np.random.default_rng(seed)
    return np.stack([rng.permutation(column) for column in x.T], axis=1)


def persistent_homology(points, max_dim: int = 1, coeffs: int | tuple[int, ...] = 2, n_pcs: int | None = None,
                        keep: float = 1.0, k: int = 15, landmarks: int = 100, shuffles: int = 1,
                        min_ratio: float = 1.5, seed: int = 0) -> dict[int, Homology]:
    """The whole pipeline, ``{coeff: Homology}``: top ``n_pcs`` components (None keeps all), the
    ``keep`` densest points (1 keeps all), ``landmarks`` max-min landmarks, Rips persistence up to
    H``max_dim`` over Z/``coeff`` for each of ``coeffs``, and the classes counted against
    ``shuffles`` coordinate-shuffled copies reduced the same way. The shuffled copies are run
    once, with the first coefficient: their bars are of noise, which has no torsion to tell the
    fields apart (on SO(3)'s shuffled clouds Z/2 and Z/3 give the same bars)."""
    x = _cloud(points)
    coeffs = (coeffs,) if isinstance(coeffs, int) else tuple(coeffs)
    if not coeffs:
        raise CogmapError("coeffs must name at least one prime")
    check_positive_int("shuffles", shuffles)
    check_positive_int("landmarks", landmarks)
    if not min_ratio > 1:
        raise CogmapError(f"min_ratio must be > 1, got {min_ratio}")
    if n_pcs is not None:
        x = principal_components(x, n_pcs)
    if keep < 1:
        x = x[density_filter(x, keep, k)]
    landmarks = min(landmarks, len(x))

    def bars(cloud: np.ndarray, coeff: int) -> dict[int, np.ndarray]:
        dgms = diagrams(cloud[maxmin_landmarks(cloud, landmarks, seed)], max_dim, coeff)
        return {d: lifetimes(dgms[d]) for d in range(1, max_dim + 1)}

    null = {d: 0.0 for d in range(1, max_dim + 1)}
    for s in range(shuffles):
        for d, v in bars(shuffled(x, seed + 1 + s), coeffs[0]).items():
            null[d] = max(null[d], float(v[0]) if v.size else 0.0)
    out = {}
    for coeff in coeffs:
        life = bars(x, coeff)
        classes = {d: gap_count(v, min_ratio, floor=null[d]) for d, v in life.items()}
        out[coeff] = Homology(coeff, life, null, classes, landmarks)
    return out
