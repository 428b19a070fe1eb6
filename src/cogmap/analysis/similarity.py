"""How alike two networks' activity is, up to a change of basis: canonical correlations and Procrustes.

Two agents trained from different seeds can carry the same dynamics in different units. Both
measures compare activity recorded under the same conditions (rows matched one to one: the same
condition and phase), after each side is reduced to its top ``k`` principal components:

- :func:`canonical_correlations`, CCA (Hotelling 1936): the correlations of the best-matched pairs
  of linear readouts, one per dimension; their mean is 1 when one side is any invertible linear
  map of the other (the measure of Raghu et al. 2017's SVCCA, and of Sussillo et al. 2015 between
  networks and cortex);
- :func:`procrustes_distance`: what is left after the best rotation (and uniform scaling) of one
  side onto the other (scipy's orthogonal Procrustes), from 0 (the same shape) to 1.
"""

from __future__ import annotations

import numpy as np

from cogmap.errors import CogmapError


def _pair(x, y, k: int | None) -> tuple[np.ndarray, np.ndarray]:
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2:
        raise CogmapError(f"activity must be (samples, units) arrays, got shapes {a.shape} and {b.shape}")
    if len(a) != len(b):
        raise CogmapError(f"the two recordings must have the same samples (rows matched), got {len(a)} and {len(b)}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise CogmapError("activity must be finite")
    return _top_components(a, k), _top_components(b, k)


def _top_components(a: np.ndarray, k: int | None) -> np.ndarray:
    centred = a - a.mean(0)
    u, s, _ = np.linalg.svd(centred, full_matrices=False)
    keep = int((s > s[0] * 1e-10).sum()) if len(s) and s[0] > 0 else 0
    if k is not None:
        if not isinstance(k, int) or k < 1:
            raise CogmapError(f"k must be a positive integer, got {k!r}")
        keep = min(keep, k)
    if keep == 0:
        raise CogmapError("activity does not vary; there is nothing to compare")
    return u[:, :keep] * s[:keep]


def canonical_correlations(x, y, k: int | None = 10) -> np.ndarray:
    """The canonical correlations of ``x`` ``(T, D1)`` and ``y`` ``(T, D2)`` on their top ``k`` PCs, largest first."""
    a, b = _pair(x, y, k)
    if len(a) <= max(a.shape[1], b.shape[1]):
        raise CogmapError(f"{len(a)} samples cannot fit {max(a.shape[1], b.shape[1])} dimensions; use fewer (k)")
    qa, _ = np.linalg.qr(a)
    qb, _ = np.linalg.qr(b)
    return np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)


def procrustes_distance(x, y, k: int | None = 10) -> float:
    """1 - (the share of ``y``'s variance that the best rotation and scaling of ``x`` reproduces), on top-``k`` PCs."""
    from scipy.linalg import orthogonal_procrustes

    a, b = _pair(x, y, k)
    width = max(a.shape[1], b.shape[1])
    a = np.pad(a, ((0, 0), (0, width - a.shape[1])))
    b = np.pad(b, ((0, 0), (0, width - b.shape[1])))
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    rotation, scale = orthogonal_procrustes(a, b)
    return float(max(0.0, 1.0 - scale ** 2))
