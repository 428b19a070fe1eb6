"""Linear read-outs: how much of a variable can a linear decoder recover from activity?"""

from __future__ import annotations

import numpy as np

from cogmap.errors import CogmapError


def linear_probe_r2(activity: np.ndarray, targets: np.ndarray, groups: np.ndarray | None = None,
                    test_fraction: float = 0.3, alpha: float = 1e-3, seed: int = 0) -> float:
    """Held-out R^2 of a ridge regression from ``(samples, units)`` activity to ``(samples, outputs)`` targets.

    Samples sharing a ``group`` (e.g. the steps of one trajectory) go to the same side of the
    split, so the score measures generalisation to new trajectories. R^2 is computed over all
    outputs together: ``1 - SSE / total sum of squares about the training mean``.
    """
    from sklearn.linear_model import Ridge

    x = np.asarray(activity, dtype=np.float64)
    y = np.asarray(targets, dtype=np.float64)
    if y.ndim == 1:
        y = y[:, None]
    if x.ndim != 2 or y.shape[0] != x.shape[0]:
        raise CogmapError(f"activity (samples, units) and targets (samples, outputs) must agree; got {x.shape}, {y.shape}")
    if not 0 < test_fraction < 1:
        raise CogmapError(f"test_fraction must be in (0, 1), got {test_fraction}")
    groups = np.arange(x.shape[0]) if groups is None else np.asarray(groups)
    unique = np.unique(groups)
    rng = np.random.default_rng(seed)
    test_groups = rng.choice(unique, size=max(1, int(round(test_fraction * len(unique)))), replace=False)
    test = np.isin(groups, test_groups)
    if test.all() or not test.any():
        raise CogmapError("need at least two groups to hold some out")
    model = Ridge(alpha=alpha).fit(x[~test], y[~test])
    residual = np.square(y[test] - model.predict(x[test])).sum()
    total = np.square(y[test] - y[~test].mean(0)).sum()
    return float(1 - residual / total)
