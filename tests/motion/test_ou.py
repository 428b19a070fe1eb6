import math

import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.motion import OrnsteinUhlenbeck


def test_stationary_std_and_lag_one_autocorrelation():
    ou = OrnsteinUhlenbeck(sigma=1.0, theta=2.0)
    dt = 0.01
    v = ou.sample(4000, 300, 3, dt, torch.Generator().manual_seed(0), dtype=torch.float64).numpy()
    # Every entry is N(0, sigma^2) from the start (stationary initial velocity).
    assert abs(v[:, 0].std() - 1.0) < 0.02 and abs(v[:, -1].std() - 1.0) < 0.02
    lag1 = (v[:, 1:] * v[:, :-1]).mean() / (v * v).mean()
    assert abs(lag1 - math.exp(-2.0 * dt)) < 2e-3
    lag50 = (v[:, 50:] * v[:, :-50]).mean() / (v * v).mean()
    assert abs(lag50 - math.exp(-2.0 * dt * 50)) < 0.02


def test_filter_equals_the_plain_recursion():
    ou = OrnsteinUhlenbeck(sigma=0.7, theta=3.0)
    g = torch.Generator().manual_seed(1)
    v0 = torch.randn(5, 2, generator=g, dtype=torch.float64)
    eps = torch.randn(5, 150, 2, generator=g, dtype=torch.float64)
    a = math.exp(-3.0 * 0.05)
    expected, v = [], v0
    for t in range(150):
        v = a * v + 0.7 * math.sqrt(1 - a * a) * eps[:, t]
        expected.append(v)
    assert torch.allclose(ou.filter(v0, eps, 0.05), torch.stack(expected, 1), atol=1e-12)


def test_zero_initial_velocity_grows_to_stationary():
    ou = OrnsteinUhlenbeck(sigma=2.0, theta=1.0, initial="zero")
    dt = 0.1
    v = ou.sample(20000, 40, 1, dt, torch.Generator().manual_seed(2), dtype=torch.float64).numpy()[..., 0]
    t = np.arange(1, 41) * dt
    expected_std = 2.0 * np.sqrt(1 - np.exp(-2 * t))  # variance of an OU process started at 0
    np.testing.assert_allclose(v.std(0), expected_std, rtol=0.05)


def test_same_seed_same_bytes():
    ou = OrnsteinUhlenbeck()
    a = ou.sample(7, 11, 3, 0.01, torch.Generator().manual_seed(3))
    b = ou.sample(7, 11, 3, 0.01, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)


@pytest.mark.parametrize("kwargs", [{"sigma": 0}, {"sigma": -1}, {"theta": 0}, {"theta": float("nan")}, {"initial": "random"}])
def test_bad_parameters(kwargs):
    with pytest.raises(CogmapError):
        OrnsteinUhlenbeck(**kwargs)


def test_bad_sampling_arguments():
    ou = OrnsteinUhlenbeck()
    with pytest.raises(CogmapError, match="dt"):
        ou.sample(2, 10, 3, 0.0)
    with pytest.raises(CogmapError, match="steps"):
        ou.sample(2, 0, 3, 0.01)
