
import numpy as np
import pytest
import torch

from cogmap.analysis.tangling import max_tangling, tangle_analysis, tangling
from cogmap.errors import CogmapError


def brute_force(conditions, dt, eps):
    """The formula, literally: two loops over all pairs of time points (an independent reference)."""
    states = np.concatenate(conditions)
    flows = []
    for c in conditions:
        d = np.diff(c, axis=0) / dt
        flows.append(np.concatenate([d[:1], d]))
    flows = np.concatenate(flows)
    q = np.zeros(len(states))
    for i in range(len(states)):
        best = 0.0
        for j in range(len(states)):
            if i != j:
                best = max(best, np.sum((flows[i] - flows[j]) ** 2) / (np.sum((states[i] - states[j]) ** 2) + eps))
        q[i] = best
    return q


def test_a_circle_is_tangled_only_by_its_antipode_as_computed_by_hand():
    r, w, n = 2.0, 3.0, 64  # radius, angular speed, samples per turn (even: every antipode is a sample)
    theta = np.arange(n) * 2 * np.pi / n
    states = torch.as_tensor(np.stack([r * np.cos(theta), r * np.sin(theta)], 1))
    flows = torch.as_tensor(np.stack([-r * w * np.sin(theta), r * w * np.cos(theta)], 1))  # the exact velocity
    eps, d = 0.5, 2 * r  # opposite points are d apart and move in opposite directions at speed r w
    q, partner = max_tangling(states, flows, eps)
    assert np.allclose(q.numpy(), w**2 * d**2 / (d**2 + eps), rtol=1e-12)
    assert np.array_equal(partner.numpy(), (np.arange(n) + n // 2) % n)
    # From samples, with backward differences: the chord speed 2 r sin(w dt / 2) / dt replaces r w.
    dt = 2 * np.pi / n / w
    sampled = tangling(states.numpy(), dt=dt, eps=eps)
    chord = 2 * np.sin(w * dt / 2) / dt
    middle = sampled[1:n // 2]  # away from the first sample, whose derivative is the second's (as in the reference)
    assert np.allclose(middle, chord**2 * d**2 / (d**2 + eps), rtol=1e-9)


def test_a_figure_eight_is_most_tangled_where_it_crosses_itself():
    n = 400
    t = np.arange(n) * (2 * np.pi / n)
    eight = np.stack([np.sin(t), np.sin(2 * t)], 1)  # passes through the origin at t = 0 and t = pi
    eps = 0.1 * eight.var(0, ddof=1).sum()
    q = tangling(eight, dt=2 * np.pi / n)
    flow = np.diff(eight, axis=0) / (2 * np.pi / n)
    flow = np.concatenate([flow[:1], flow])
    at_crossing = np.sum((flow[0] - flow[n // 2]) ** 2) / eps  # same state, two directions: the states' term is 0
    assert q[n // 2] == pytest.approx(at_crossing, rel=1e-9)
    assert q.argmax() in (0, n // 2) and q.max() == pytest.approx(at_crossing, rel=1e-9)
    assert q[n // 4] < 0.5 * at_crossing  # far from the crossing (t = pi / 2)


def test_lifting_the_crossing_into_a_third_dimension_untangles_the_curve():
    t = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    peaks = []
    for b in (0.0, 0.1, 0.3, 0.6, 1.0):  # from the crossing figure-eight to a circle in projection (the seed)
        curve = np.stack([np.sin(t), b * np.cos(t), np.cos(2 * t)], 1)  # crosses itself only at b = 0
        peaks.append(tangling(curve, dt=t[1]).max())
    assert all(a > b for a, b in zip(peaks, peaks[1:])), peaks


def test_chunked_tangling_equals_the_brute_force_formula_over_several_conditions():
    rng = np.random.default_rng(0)
    conditions = [np.cumsum(rng.normal(size=(n, 5)), axis=0) for n in (40, 55, 31)]
    eps = 0.1 * np.concatenate(conditions).var(0, ddof=1).sum()
    expected = brute_force(conditions, 0.02, eps)
    got = tangling(conditions, dt=0.02)
    assert isinstance(got, list) and [len(g) for g in got] == [40, 55, 31]
    assert np.allclose(np.concatenate(got), expected, rtol=1e-10)
    # The same with tiny chunks (one row of pairs at a time).
    states = torch.as_tensor(np.concatenate(conditions))
    flows = torch.cat([torch.cat([d[:1], d]) for d in (torch.as_tensor(c).diff(dim=0) / 0.02 for c in conditions)])
    q, partner = max_tangling(states, flows, eps, chunk_entries=1)
    assert np.allclose(q.numpy(), expected, rtol=1e-10) and partner.shape == (126,)


def test_stacked_conditions_tensors_and_projections():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 50, 6))
    q = tangling(x)
    assert q.shape == (3, 50) and np.allclose(q.reshape(-1), np.concatenate(tangling(list(x))))
    as_tensor = tangling(torch.as_tensor(x))
    assert torch.is_tensor(as_tensor) and np.allclose(as_tensor.numpy(), q)
    # Projecting on all principal components changes nothing (distances are rotation and shift invariant).
    assert np.allclose(tangling(x, n_pcs=6), q, rtol=1e-9)
    # The eps argument is the literal constant.
    assert np.allclose(tangling(x[0], eps=2.0), brute_force([x[0]], 1.0, 2.0), rtol=1e-10)


def test_tangle_analysis_follows_the_reference_preprocessing():
    rng = np.random.default_rng(2)
    conditions = [rng.normal(size=(60, 12)) * np.arange(1, 13) + 5, rng.normal(size=(45, 12))]
    result = tangle_analysis(conditions, dt=0.01, n_pcs=8, soften_norm=5.0)
    # By hand: soft-normalise by range + 5, centre, project on the top 8 PCs, eps = 0.1 x their summed variances.
    a = np.concatenate(conditions)
    a = a / (a.max(0) - a.min(0) + 5.0)
    a = a - a.mean(0)
    _, _, vt = np.linalg.svd(a, full_matrices=False)
    x = a @ vt[:8].T
    eps = 0.1 * x.var(0, ddof=1).sum()
    expected = brute_force([x[:60], x[60:]], 0.01, eps)
    assert result.eps == pytest.approx(eps, rel=1e-10) and result.n_pcs == 8
    assert np.allclose(result.q, expected, rtol=1e-8) and result.condition.tolist() == [0] * 60 + [1] * 45
    within = tangle_analysis(conditions, dt=0.01, within_conditions_only=True, soften_norm=5.0)
    assert np.allclose(within.per_condition()[1], brute_force([x[60:]], 0.01, eps), rtol=1e-8)
    assert np.all(within.condition[within.partner] == within.condition)
    every_third = tangle_analysis(conditions, dt=0.01, soften_norm=5.0, time_step=3)
    assert len(every_third.q) == 35


@pytest.mark.parametrize("bad,match", [
    (np.zeros((1, 3)), "at least 2"),
    (np.array([[0.0, 1.0], [np.nan, 2.0]]), "NaN"),
    ([np.zeros((5, 3)), np.zeros((5, 4))], "same number of dimensions"),
    (np.zeros(5), "shape"),
])
def test_bad_inputs_are_refused_with_one_clear_error(bad, match):
    with pytest.raises(CogmapError, match=match):
        tangling(bad)


def test_bad_settings_are_refused():
    x = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(CogmapError, match="dt"):
        tangling(x, dt=0)
    with pytest.raises(CogmapError, match="eps"):
        tangling(x, eps=-1.0)
    with pytest.raises(CogmapError, match="n_pcs"):
        tangling(x, n_pcs=0)
