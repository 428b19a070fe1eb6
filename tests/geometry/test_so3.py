import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.transform import Rotation

from cogmap.errors import CogmapError
from cogmap.geometry import SO3

DTYPES = [(torch.float64, 1e-12), (torch.float32, 2e-6)]


def rotvecs_near(angle: float, n: int = 200, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    return axes * angle


# Random rotation vectors plus ones within 1e-6 of angle 0 and of angle pi.
EDGE_ANGLES = [0.0, 1e-9, 1e-7, 1e-6, math.pi - 1e-6, math.pi - 1e-7, math.pi]


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_exp_matches_scipy(dtype, tol):
    rng = np.random.default_rng(1)
    vecs = np.concatenate([rng.normal(size=(500, 3)) * 2] + [rotvecs_near(a, 50) for a in EDGE_ANGLES])
    ours = SO3.exp(torch.tensor(vecs, dtype=dtype)).double().numpy()
    np.testing.assert_allclose(ours, Rotation.from_rotvec(vecs).as_matrix(), atol=tol * 4)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_log_matches_scipy_away_from_pi(dtype, tol):
    vecs = np.concatenate([rotvecs_near(a, 50, seed=i) for i, a in enumerate([0.0, 1e-9, 1e-7, 1e-6, 0.5, 2.0, 3.0])])
    vecs = np.concatenate([vecs, Rotation.random(500, random_state=3).as_rotvec()])
    matrices = Rotation.from_rotvec(vecs).as_matrix()
    ours = SO3.log(torch.tensor(matrices, dtype=dtype)).double().numpy()
    expected = Rotation.from_matrix(matrices).as_rotvec()
    # Near pi the sign of the vector is ambiguous; none of these are within 0.1 of it.
    np.testing.assert_allclose(ours, expected, atol=tol * 50 if dtype == torch.float32 else 1e-10)


@pytest.mark.parametrize("dtype,tol", DTYPES)
@pytest.mark.parametrize("angle", [math.pi - 1e-6, math.pi - 1e-7, math.pi])
def test_log_is_correct_at_and_near_pi(dtype, tol, angle):
    vecs = rotvecs_near(angle, 100, seed=5)
    matrices = torch.tensor(Rotation.from_rotvec(vecs).as_matrix(), dtype=dtype)
    logs = SO3.log(matrices).double()
    norms = logs.norm(dim=-1).numpy()
    np.testing.assert_allclose(norms, angle, atol=1e-9 if dtype == torch.float64 else 2e-3)
    # Same axis up to sign (both +pi n and -pi n are the rotation by pi).
    cosines = np.abs((logs.numpy() / norms[:, None] * vecs / angle).sum(-1))
    np.testing.assert_allclose(cosines, 1.0, atol=1e-9 if dtype == torch.float64 else 1e-5)
    np.testing.assert_allclose(SO3.exp(logs).numpy(), matrices.double().numpy(), atol=1e-9 if dtype == torch.float64 else 3e-6)


@pytest.mark.parametrize("dtype,tol", DTYPES)
def test_distance_matches_scipy(dtype, tol):
    r1 = Rotation.random(400, random_state=6)
    deltas = np.concatenate([rotvecs_near(a, 40, seed=i) for i, a in enumerate(EDGE_ANGLES)] +
                            [Rotation.random(120, random_state=7).as_rotvec()])
    r2 = r1 * Rotation.from_rotvec(deltas[:400])
    ours = SO3.distance(torch.tensor(r1.as_matrix(), dtype=dtype), torch.tensor(r2.as_matrix(), dtype=dtype))
    expected = (r1.inv() * r2).magnitude()
    np.testing.assert_allclose(ours.double().numpy(), expected, atol=1e-10 if dtype == torch.float64 else 1e-5)
    assert (ours >= 0).all() and (ours <= math.pi + 1e-6).all()


def test_composition_matches_scipy():
    a, b = Rotation.random(300, random_state=8), Rotation.random(300, random_state=9)
    ours = SO3.exp(torch.tensor(a.as_rotvec())) @ SO3.exp(torch.tensor(b.as_rotvec()))
    np.testing.assert_allclose(ours.numpy(), (a * b).as_matrix(), atol=1e-12)
    # integrate is the body-frame update R exp(omega dt).
    dt = 0.01
    omega = np.random.default_rng(10).normal(size=(300, 3))
    stepped = SO3.integrate(torch.tensor(a.as_matrix()), torch.tensor(omega), dt)
    np.testing.assert_allclose(stepped.numpy(), (a * Rotation.from_rotvec(omega * dt)).as_matrix(), atol=1e-12)


def test_quaternion_round_trip_matches_scipy():
    r = Rotation.random(300, random_state=11)
    q_scipy = r.as_quat()[:, [3, 0, 1, 2]]  # scipy stores (x, y, z, w)
    q_scipy *= np.sign(q_scipy[:, :1])
    ours = SO3.to_quaternion(torch.tensor(r.as_matrix())).numpy()
    np.testing.assert_allclose(ours, q_scipy, atol=1e-12)
    np.testing.assert_allclose(SO3.from_quaternion(torch.tensor(q_scipy)).numpy(), r.as_matrix(), atol=1e-12)


rotvec = st.lists(st.floats(-10, 10, allow_nan=False, allow_infinity=False), min_size=3, max_size=3)


@given(rotvec)
def test_exp_log_round_trip(v):
    r = SO3.exp(torch.tensor(v, dtype=torch.float64))
    assert torch.allclose(SO3.exp(SO3.log(r)), r, atol=1e-10)
    assert float(SO3.log(r).norm()) <= math.pi + 1e-12


@given(rotvec, rotvec, rotvec)
def test_distance_is_a_metric(a, b, c):
    ra, rb, rc = (SO3.exp(torch.tensor(v, dtype=torch.float64)) for v in (a, b, c))
    assert float(SO3.distance(ra, ra)) < 1e-7
    assert math.isclose(float(SO3.distance(ra, rb)), float(SO3.distance(rb, ra)), abs_tol=1e-12)
    assert float(SO3.distance(ra, rc)) <= float(SO3.distance(ra, rb)) + float(SO3.distance(rb, rc)) + 1e-10
    # Left invariance: rotating both by the same rotation leaves the distance unchanged.
    assert math.isclose(float(SO3.distance(rc @ ra, rc @ rb)), float(SO3.distance(ra, rb)), abs_tol=1e-10)


def _rotation_angle_cdf(t):
    # Haar measure on SO(3): the rotation angle has density (1 - cos t) / pi on [0, pi].
    return (t - np.sin(t)) / np.pi


def test_random_is_haar_uniform_by_kolmogorov_smirnov():
    g = torch.Generator().manual_seed(123)
    angles = SO3.log(SO3.random(20000, g, dtype=torch.float64)).norm(dim=-1).numpy()
    assert stats.kstest(angles, _rotation_angle_cdf).pvalue > 0.01


def test_kolmogorov_smirnov_rejects_a_non_haar_sampler():
    # Uniform rotation vectors in the ball of radius pi are not Haar; the test above must see it.
    g = torch.Generator().manual_seed(124)
    v = torch.randn(20000, 3, generator=g, dtype=torch.float64)
    v = v / v.norm(dim=-1, keepdim=True) * math.pi * torch.rand(20000, 1, generator=g, dtype=torch.float64) ** (1 / 3)
    angles = SO3.log(SO3.exp(v)).norm(dim=-1).numpy()
    assert stats.kstest(angles, _rotation_angle_cdf).pvalue < 1e-6


def test_random_is_seeded_and_orthonormal():
    a = SO3.random(50, torch.Generator().manual_seed(5))
    b = SO3.random(50, torch.Generator().manual_seed(5))
    assert torch.equal(a, b)
    assert torch.allclose(a.transpose(-1, -2) @ a, torch.eye(3).expand(50, 3, 3), atol=1e-6)
    assert torch.allclose(torch.linalg.det(a), torch.ones(50), atol=1e-6)


@pytest.mark.parametrize("angle", [0.0, 1e-8, math.pi - 1e-7, math.pi])
def test_gradients_are_finite_at_identity_and_pi(angle):
    axis = torch.tensor([0.6, -0.48, 0.64], dtype=torch.float64)
    omega = (axis * angle).requires_grad_()
    r = SO3.exp(omega)
    (SO3.log(r).sum() + SO3.distance(r, torch.eye(3, dtype=torch.float64)) + SO3.project(r).sum() + r.sum()).backward()
    assert torch.isfinite(omega.grad).all()


def test_exp_derivative_at_identity_is_the_generator():
    jac = torch.autograd.functional.jacobian(SO3.exp, torch.zeros(3, dtype=torch.float64))
    for k in range(3):
        e = torch.zeros(3, dtype=torch.float64)
        e[k] = 1
        assert torch.allclose(jac[..., k], SO3.hat(e))


def test_gradcheck_exp_log_project():
    g = torch.Generator().manual_seed(3)
    omega = torch.randn(4, 3, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(SO3.exp, (omega,))
    rot = SO3.exp(torch.randn(4, 3, generator=g, dtype=torch.float64))
    assert torch.autograd.gradcheck(SO3.log, (rot.requires_grad_(),))
    m = torch.randn(4, 3, 3, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(SO3.project, (m,))
    # Also at an exact rotation, where autograd through an SVD divides by zero.
    assert torch.autograd.gradcheck(SO3.project, (rot.detach().clone().requires_grad_(),))


def test_project_is_the_nearest_rotation():
    rng = np.random.default_rng(12)
    matrices = rng.normal(size=(200, 3, 3))
    ours = SO3.project(torch.tensor(matrices)).numpy()
    assert np.allclose(np.linalg.det(ours), 1.0)
    candidates = Rotation.random(2000, random_state=13).as_matrix()
    for m, r in zip(matrices[:50], ours[:50]):
        # The nearest rotation maximises tr(R^T M) over all rotations.
        assert np.trace(r.T @ m) >= (candidates * m).sum(axis=(1, 2)).max() - 1e-9
        if np.linalg.det(m) > 0:  # then it is the orthogonal Procrustes solution
            q, _ = orthogonal_procrustes(np.eye(3), m)
            np.testing.assert_allclose(r, q, atol=1e-10)


def test_project_removes_drift_over_long_integrations():
    g = torch.Generator().manual_seed(0)
    r = SO3.random(64, g)
    omega = torch.randn(10000, 64, 3, generator=g)
    eye = torch.eye(3)
    for t in range(10000):
        r = SO3.integrate(r, omega[t], 0.01)
        if t % 100 == 99:
            r = SO3.project(r)
    assert (r.transpose(-1, -2) @ r - eye).abs().max() < 1e-5


def test_bad_shapes_are_named():
    with pytest.raises(CogmapError, match="omega must have shape"):
        SO3.exp(torch.zeros(4, 2))
    with pytest.raises(CogmapError, match="r1 must have shape"):
        SO3.distance(torch.zeros(3), torch.eye(3))
    with pytest.raises(CogmapError, match="NaN"):
        SO3.project(torch.full((3, 3), float("nan")))
