import numpy as np
import pytest

from cogmap.analysis import linear_probe_r2, participation_ratio, pca_summary, tuning_curves
from cogmap.errors import CogmapError


def test_pca_of_a_known_covariance():
    rng = np.random.default_rng(0)
    stds = np.array([3.0, 2.0, 1.0, 0.1])
    rotation, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    x = (rng.normal(size=(200_000, 4)) * stds) @ rotation.T
    summary = pca_summary(x)
    np.testing.assert_allclose(summary.variances, stds**2, rtol=0.02)
    lam = stds**2
    assert summary.participation_ratio == pytest.approx(lam.sum() ** 2 / (lam**2).sum(), rel=0.02)
    # 9 + 4 = 13 of 14.01 is 92.8%; with the third component 99.9%.
    assert summary.n_components_95 == 3
    assert abs(abs(summary.components[0] @ rotation[:, 0]) - 1) < 1e-3
    assert summary.project(x[:5]).shape == (5, 2)


def test_participation_ratio_extremes():
    assert participation_ratio([1, 1, 1, 1]) == pytest.approx(4)
    assert participation_ratio([1, 0, 0, 0]) == pytest.approx(1)


def test_tuning_curves_find_the_tuned_unit():
    rng = np.random.default_rng(1)
    angle = rng.uniform(0, np.pi, 50_000)
    tuned = np.cos(angle)
    noise = rng.normal(size=angle.size)
    mixed = 0.5 * np.cos(angle) + rng.normal(scale=0.5, size=angle.size)
    curves = tuning_curves(np.stack([noise, tuned, mixed], 1), angle, bins=30, value_range=(0, np.pi))
    assert curves.selectivity[1] > 0.99 and curves.selectivity[0] < 0.01
    # The mixed unit's tuning explains var(0.5 cos) / (var(0.5 cos) + 0.25) = 0.125 / 0.375 of its variance.
    assert curves.selectivity[2] == pytest.approx(1 / 3, abs=0.02)
    assert list(curves.most_selective(2)) == [1, 2]
    np.testing.assert_allclose(curves.means[1], np.cos(curves.bin_centres), atol=0.01)
    with pytest.raises(CogmapError):
        tuning_curves(np.zeros((10, 2)), np.zeros(9))


def test_linear_probe_recovers_a_known_r2():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(20_000, 10))
    w = rng.normal(size=(10, 3))
    signal = x @ w
    noise_var = signal.var(0).mean()  # as much noise as signal: R^2 = 0.5
    y = signal + rng.normal(scale=np.sqrt(noise_var), size=signal.shape)
    expected = 1 - 3 * noise_var / (signal.var(0).sum() + 3 * noise_var)
    assert linear_probe_r2(x, y, groups=np.arange(20_000) // 100) == pytest.approx(expected, abs=0.02)
    assert linear_probe_r2(x, rng.normal(size=(20_000, 2))) < 0.01
