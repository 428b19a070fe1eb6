"""Principal components of population activity and the dimensionality they reveal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cogmap.errors import CogmapError


@dataclass(frozen=True)
class PCASummary:
    """Spectrum of the covariance of ``(samples, units)`` activity.

    Attributes:
        variances: eigenvalues of the covariance, largest first.
        explained_variance_ratio: ``variances / variances.sum()``.
        cumulative: running sum of the ratios.
        n_components_95: fewest components that explain at least 95% of the variance.
        participation_ratio: ``(sum l)^2 / sum l^2``, an effective dimensionality (Gao et al. 2017).
        components: principal axes, ``(n, units)``; ``projection``: the data on them, ``(samples, n)``.
    """

    variances: np.ndarray
    explained_variance_ratio: np.ndarray
    cumulative: np.ndarray
    n_components_95: int
    participation_ratio: float
    components: np.ndarray
    mean: np.ndarray

    def project(self, activity: np.ndarray, n: int = 2) -> np.ndarray:
        return (np.asarray(activity, dtype=np.float64) - self.mean) @ self.components[:n].T


def participation_ratio(variances: np.ndarray) -> float:
    variances = np.asarray(variances, dtype=np.float64)
    return float(variances.sum() ** 2 / np.square(variances).sum())


def pca_summary(activity: np.ndarray) -> PCASummary:
    """PCA of ``(samples, units)`` activity by an SVD of the centred data."""
    x = np.asarray(activity, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise CogmapError(f"activity must have shape (samples >= 2, units), got {x.shape}")
    if not np.isfinite(x).all():
        raise CogmapError("activity contains NaN or infinite values")
    mean = x.mean(0)
    _, s, vt = np.linalg.svd(x - mean, full_matrices=False)
    variances = s**2 / (x.shape[0] - 1)
    total = variances.sum()
    if total <= 0:
        raise CogmapError("activity has zero variance")
    ratio = variances / total
    cumulative = np.cumsum(ratio)
    n95 = int(np.searchsorted(cumulative, 0.95 - 1e-12) + 1)
    return PCASummary(variances, ratio, cumulative, n95, participation_ratio(variances), vt, mean)
