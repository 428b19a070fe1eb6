"""Tuning curves: mean activity of each unit as a function of a variable, and how selective it is."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cogmap.errors import CogmapError


@dataclass(frozen=True)
class TuningCurves:
    """``means[u, b]``: mean activity of unit ``u`` in bin ``b`` (NaN for empty bins).

    ``selectivity[u]`` is the fraction of the unit's variance explained by the binned variable
    (the between-bin variance over the total, an eta-squared): 0 for a unit that ignores the
    variable, 1 for one that is a function of it at the bins' resolution.
    """

    bin_centres: np.ndarray
    means: np.ndarray
    counts: np.ndarray
    selectivity: np.ndarray

    def most_selective(self, k: int) -> np.ndarray:
        return np.argsort(-np.nan_to_num(self.selectivity, nan=-1.0))[:k]


def tuning_curves(activity: np.ndarray, variable: np.ndarray, bins: int = 20,
                  value_range: tuple[float, float] | None = None) -> TuningCurves:
    """Tuning of ``(samples, units)`` activity to a scalar ``variable`` ``(samples,)``."""
    x = np.asarray(activity, dtype=np.float64)
    v = np.asarray(variable, dtype=np.float64)
    if x.ndim != 2 or v.shape != (x.shape[0],):
        raise CogmapError(f"activity (samples, units) and variable (samples,) must agree; got {x.shape} and {v.shape}")
    if bins < 2:
        raise CogmapError(f"bins must be >= 2, got {bins}")
    lo, hi = value_range if value_range is not None else (float(v.min()), float(v.max()))
    if not hi > lo:
        raise CogmapError("the variable takes a single value; no tuning can be measured")
    edges = np.linspace(lo, hi, bins + 1)
    index = np.clip(np.digitize(v, edges) - 1, 0, bins - 1)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    sums = np.zeros((bins, x.shape[1]))
    np.add.at(sums, index, x)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (sums / counts[:, None]).T
    grand = x.mean(0)
    between = (counts[None, :] * np.square(np.nan_to_num(means - grand[:, None]))).sum(1)
    total = np.square(x - grand).sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        selectivity = np.where(total > 0, between / total, np.nan)
    return TuningCurves((edges[:-1] + edges[1:]) / 2, means, counts, selectivity)
