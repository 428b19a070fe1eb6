import math

import numpy as np
import pytest
import torch
from scipy.optimize import brentq
from torch import nn

from cogmap.analysis.dynamics import (
    find_fixed_points,
    is_stable,
    jacobians,
    recurrent_step,
    sorted_eigenvalues,
    timescale_intervals,
    timescales,
)
from cogmap.errors import CogmapError


def linear_system():
    a = torch.tensor([[0.9, 0.2, 0.0], [-0.1, 0.5, 0.1], [0.0, 0.3, -0.4]], dtype=torch.float64)
    b = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    return a, b, (lambda h, u: h @ a.T + b)


def test_linear_rnn_has_one_fixed_point_with_the_eigenvalues_of_a():
    a, b, step = linear_system()
    starts = torch.randn(20, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 5
    found = find_fixed_points(step, starts, torch.zeros(1, dtype=torch.float64), iterations=3000, lr=0.05,
                              q_tolerance=1e-12)
    expected = torch.linalg.solve(torch.eye(3, dtype=torch.float64) - a, b)  # h* = (I - A)^-1 b, by hand
    assert len(found.states) == 1 and found.converged == 20
    assert torch.allclose(found.states[0], expected, atol=1e-5)
    by_numpy = sorted(np.linalg.eigvals(a.numpy()), key=abs, reverse=True)
    assert np.allclose(found.eigenvalues[0].numpy(), by_numpy, atol=1e-8)
    assert bool(found.stable[0])
    # Timescales: |1 / ln|lambda||, by hand for each eigenvalue of A.
    assert np.allclose(timescales(found.eigenvalues[0]).numpy(), [abs(1 / math.log(abs(v))) for v in by_numpy])


def test_one_unit_tanh_with_gain_two_has_three_fixed_points_two_stable():
    step = lambda h, u: torch.tanh(2 * h)  # noqa: E731
    positive = brentq(lambda x: math.tanh(2 * x) - x, 0.5, 1.0)  # h* = tanh(2 h*), solved independently
    starts = torch.linspace(-1.5, 1.5, 31, dtype=torch.float64)[:, None]
    found = find_fixed_points(step, starts, torch.zeros(1, dtype=torch.float64), iterations=3000, lr=0.02,
                              q_tolerance=1e-12, unique_tolerance=1e-3)
    values = sorted(found.states[:, 0].tolist())
    assert np.allclose(values, [-positive, 0.0, positive], atol=1e-5)
    stability = {round(v, 3): bool(s) for v, s in zip(found.states[:, 0].tolist(), found.stable.tolist())}
    assert stability == {round(-positive, 3): True, 0.0: False, round(positive, 3): True}
    # Slopes by hand: 2 at the origin (unstable), 2 (1 - h*^2) at the others.
    slopes = {round(v, 3): e.real for v, e in zip(found.states[:, 0].tolist(), found.eigenvalues[:, 0].tolist())}
    assert slopes[0.0] == pytest.approx(2.0, abs=1e-6)
    assert slopes[round(positive, 3)] == pytest.approx(2 * (1 - positive**2), abs=1e-5)


@pytest.mark.parametrize("cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_recurrent_step_equals_the_module_and_jacobians_match_finite_differences(cls):
    torch.manual_seed(0)
    module = cls(3, 4, batch_first=True).double()
    step = recurrent_step(module)
    size = 8 if cls is nn.LSTM else 4
    states, inputs = torch.randn(5, size, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    if cls is nn.LSTM:
        _, (h, c) = module(inputs[:, None], (states[None, :, :4].contiguous(), states[None, :, 4:].contiguous()))
        expected = torch.cat([h[0], c[0]], -1)
    else:
        expected = module(inputs[:, None], states[None].contiguous())[1][0]
    assert torch.allclose(step(states, inputs), expected, atol=1e-12)
    j_state, j_input = jacobians(step, states, inputs)
    eps = 1e-6
    for k in range(size):
        bump = torch.zeros(size, dtype=torch.float64)
        bump[k] = eps
        numeric = (step(states + bump, inputs) - step(states - bump, inputs)) / (2 * eps)
        assert torch.allclose(j_state[:, :, k], numeric, atol=1e-7)
    for k in range(3):
        bump = torch.zeros(3, dtype=torch.float64)
        bump[k] = eps
        numeric = (step(states, inputs + bump) - step(states, inputs - bump)) / (2 * eps)
        assert torch.allclose(j_input[:, :, k], numeric, atol=1e-7)


def test_gru_fixed_points_are_fixed():
    torch.manual_seed(1)
    module = nn.GRU(2, 6).double()
    step = recurrent_step(module)
    found = find_fixed_points(step, torch.randn(16, 6, dtype=torch.float64), torch.zeros(2, dtype=torch.float64),
                              iterations=3000, lr=0.02, q_tolerance=1e-12)
    assert len(found.states) >= 1
    residual = (step(found.states, torch.zeros(len(found.states), 2, dtype=torch.float64)) - found.states).norm(dim=-1)
    assert residual.max() < 1e-5


def test_eigenvalue_sorting_stability_and_timescale_intervals():
    matrices = torch.diag_embed(torch.tensor([[0.5, -0.99, 0.1], [1.2, 0.3, 0.0]], dtype=torch.float64))
    values = sorted_eigenvalues(matrices)
    assert values.abs().tolist() == [[0.99, 0.5, 0.1], [1.2, 0.3, 0.0]]
    assert is_stable(values).tolist() == [True, False]
    points = torch.tensor([[0.9, 0.5], [0.92, 0.5], [0.88, 0.5]], dtype=torch.complex128)
    summary = timescale_intervals(points, top=2, confidence=0.99)
    tau = np.array([[1 / -math.log(v) for v in row] for row in [[0.9, 0.5], [0.92, 0.5], [0.88, 0.5]]])
    assert np.allclose(summary.mean, np.exp(np.log(tau).mean(0)))  # geometric mean
    # 99% Student-t interval of log tau, by hand (t quantile for 2 degrees of freedom: 9.925).
    half = 9.925 * np.log(tau[:, 0]).std(ddof=1) / np.sqrt(3)
    assert summary.lower[0] == pytest.approx(np.exp(np.log(tau[:, 0]).mean() - half), rel=1e-3)
    assert summary.lower[0] < summary.mean[0] < summary.upper[0]
    assert summary.upper[1] == pytest.approx(summary.lower[1])  # identical across points: no spread
    with pytest.raises(CogmapError, match="confidence"):
        timescale_intervals(points, confidence=1.5)


def test_timescales_are_ranked_by_tau_not_by_magnitude():
    # 1.05 has the largest |lambda| but a short timescale (1 / ln 1.05 = 20.5 steps); 0.99 is the
    # slowest mode (99.5 steps), then 0.9 (9.5 steps). Ranked by |lambda| the first "slowest" would be 20.5.
    points = torch.tensor([[1.05, 0.99, 0.9], [0.9, 1.05, 0.99]], dtype=torch.complex128)
    summary = timescale_intervals(points, top=3)
    expected = sorted([1 / math.log(1.05), -1 / math.log(0.99), -1 / math.log(0.9)], reverse=True)
    assert np.allclose(summary.mean, expected) and np.all(np.diff(summary.mean) <= 0)


def test_recurrent_step_refuses_unsupported_modules():
    with pytest.raises(CogmapError, match="one-layer"):
        recurrent_step(nn.GRU(2, 3, num_layers=2))
