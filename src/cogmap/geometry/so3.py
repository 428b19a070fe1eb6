"""The rotation group SO(3): exponential and logarithm maps, geodesic distance, Haar sampling.

Rotations are ``(..., 3, 3)`` matrices and rotation vectors (axis times angle) are ``(..., 3)``.
Every function is batched, works on any device, in float32 and float64, and has finite
gradients at the identity and at angle pi, where the textbook formulas divide by zero.

References: Rodrigues' formula; Shepperd (1978) for a branch-stable matrix-to-quaternion
conversion; Higham (1986) for the derivative of the polar factor used by ``project``.
"""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_finite, check_trailing_shape
from cogmap.geometry.base import draw_normal

# Below this squared angle the series expansions are used; their truncation error
# (theta^6 / 5040) is far below float64 resolution there.
_SMALL_ANGLE_SQ = 1e-6


def hat(omega: torch.Tensor) -> torch.Tensor:
    """Skew-symmetric matrix ``[omega]_x`` with ``hat(a) @ b == cross(a, b)``."""
    x, y, z = omega.unbind(-1)
    o = torch.zeros_like(x)
    return torch.stack([o, -z, y, z, o, -x, -y, x, o], dim=-1).reshape(*omega.shape[:-1], 3, 3)


def vee(matrix: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`hat` applied to the skew part of ``matrix``."""
    return 0.5 * torch.stack([
        matrix[..., 2, 1] - matrix[..., 1, 2],
        matrix[..., 0, 2] - matrix[..., 2, 0],
        matrix[..., 1, 0] - matrix[..., 0, 1],
    ], dim=-1)


def exp(omega: torch.Tensor) -> torch.Tensor:
    """Rotation matrix of the rotation vector ``omega`` (Rodrigues' formula), ``(..., 3) -> (..., 3, 3)``.

    ``R = cos t I + (sin t / t) [w]_x + ((1 - cos t) / t^2) w w^T`` with the two ratios written
    as ``sinc`` (the second through the half angle, free of cancellation for small ``t``), so
    there is no division by zero and the derivative at ``omega = 0`` is exact. Assembling the
    nine entries directly is about 2.5x faster than composing ``hat`` and outer products.
    """
    check_trailing_shape("omega", omega, (3,))
    x, y, z = omega.unbind(-1)
    theta = torch.linalg.vector_norm(omega, dim=-1)  # its backward is finite (zero) at 0
    a = torch.sinc(theta / math.pi)
    b = 0.5 * torch.sinc(theta / (2 * math.pi)) ** 2
    c = 1 - theta * theta * b
    bx, by, bz = b * x, b * y, b * z
    ax, ay, az = a * x, a * y, a * z
    bxy, bxz, byz = bx * y, bx * z, by * z
    return torch.stack([c + bx * x, bxy - az, bxz + ay,
                        bxy + az, c + by * y, byz - ax,
                        bxz - ay, byz + ax, c + bz * z], dim=-1).reshape(*omega.shape[:-1], 3, 3)


def from_quaternion(q: torch.Tensor) -> torch.Tensor:
    """Rotation matrix of a (not necessarily unit) quaternion ``(w, x, y, z)``, ``(..., 4) -> (..., 3, 3)``."""
    check_trailing_shape("q", q, (4,))
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(*q.shape[:-1], 3, 3)


def to_quaternion(rotation: torch.Tensor) -> torch.Tensor:
    """Unit quaternion ``(w, x, y, z)`` with ``w >= 0`` of a rotation matrix, ``(..., 3, 3) -> (..., 4)``.

    Each of the four components can be recovered from a square root of a diagonal
    combination; using the largest one (Shepperd's method) keeps every division well
    conditioned, including at angle pi where ``w`` vanishes.
    """
    check_trailing_shape("rotation", rotation, (3, 3))
    r = rotation
    r00, r01, r02 = r[..., 0, 0], r[..., 0, 1], r[..., 0, 2]
    r10, r11, r12 = r[..., 1, 0], r[..., 1, 1], r[..., 1, 2]
    r20, r21, r22 = r[..., 2, 0], r[..., 2, 1], r[..., 2, 2]
    four_sq = torch.stack([1 + r00 + r11 + r22, 1 + r00 - r11 - r22,
                           1 - r00 + r11 - r22, 1 - r00 - r11 + r22], dim=-1)
    # The largest of the four is >= 1 (they sum to 4); clamping the others keeps their
    # gradients finite even though they are discarded.
    s = torch.sqrt(four_sq.clamp_min(0.1))
    candidates = torch.stack([
        torch.stack([s[..., 0] ** 2, r21 - r12, r02 - r20, r10 - r01], dim=-1) / (2 * s[..., 0:1]),
        torch.stack([r21 - r12, s[..., 1] ** 2, r01 + r10, r02 + r20], dim=-1) / (2 * s[..., 1:2]),
        torch.stack([r02 - r20, r01 + r10, s[..., 2] ** 2, r12 + r21], dim=-1) / (2 * s[..., 2:3]),
        torch.stack([r10 - r01, r02 + r20, r12 + r21, s[..., 3] ** 2], dim=-1) / (2 * s[..., 3:4]),
    ], dim=-2)
    best = four_sq.argmax(dim=-1)
    q = torch.gather(candidates, -2, best[..., None, None].expand(*best.shape, 1, 4)).squeeze(-2)
    q = q / torch.linalg.vector_norm(q, dim=-1, keepdim=True)
    return torch.where(q[..., :1] < 0, -q, q)


def log(rotation: torch.Tensor) -> torch.Tensor:
    """Rotation vector (axis times angle in [0, pi]) of a rotation matrix, ``(..., 3, 3) -> (..., 3)``.

    At exactly pi both ``+pi*n`` and ``-pi*n`` are correct; one of them is returned.
    """
    q = to_quaternion(rotation)
    w, v = q[..., :1], q[..., 1:]
    n_sq = (v * v).sum(-1, keepdim=True)
    small = n_sq < _SMALL_ANGLE_SQ
    n = torch.sqrt(torch.where(small, torch.ones_like(n_sq), n_sq))
    # angle / |v| = 2 atan2(|v|, w) / |v|; for small |v| (w close to 1) use its series.
    ratio = n_sq / (w * w).clamp_min(0.25)
    scale = torch.where(small, (2 / w.clamp_min(0.5)) * (1 - ratio / 3 + ratio**2 / 5),
                        2 * torch.atan2(n, w) / n)
    return scale * v


def distance(r1: torch.Tensor, r2: torch.Tensor) -> torch.Tensor:
    """Geodesic distance (rotation angle of ``r1^T r2``) in [0, pi], shape ``(...)``.

    ``atan2(sin, cos)`` keeps full precision near 0 and near pi, where ``acos`` of the
    trace loses it (and has an infinite derivative).
    """
    check_trailing_shape("r1", r1, (3, 3))
    check_trailing_shape("r2", r2, (3, 3))
    relative = r1.transpose(-1, -2) @ r2
    sin = torch.linalg.vector_norm(vee(relative), dim=-1)
    cos = 0.5 * (relative.diagonal(dim1=-2, dim2=-1).sum(-1) - 1)
    return torch.atan2(sin, cos)


def cosine_embedding(rotations: torch.Tensor) -> torch.Tensor:
    """Features ``(..., 9)`` with ``cos d(R, C) = (<f(R), f(C)> - 1) / 2``: the flattened matrix.

    ``tr(C^T R)`` is the Frobenius inner product, so a whole table of cosines is one matrix
    product; see :data:`COSINE_AFFINE`.
    """
    check_trailing_shape("rotations", rotations, (3, 3))
    return rotations.reshape(*rotations.shape[:-2], 9)


COSINE_AFFINE = (0.5, -0.5)  # cos d = scale * <f(x), f(c)> + shift


def pairwise_cos_distance(rotations: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
    """``cos`` of the geodesic distance from ``(..., 3, 3)`` rotations to ``(C, 3, 3)`` centres: ``(..., C)``."""
    check_trailing_shape("centres", centres, (3, 3), min_batch_dims=1)
    scale, shift = COSINE_AFFINE
    return (scale * (cosine_embedding(rotations) @ cosine_embedding(centres).reshape(-1, 9).T) + shift).clamp(-1.0, 1.0)


def random(n: int, generator: torch.Generator | None = None, *, device=None,
           dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``n`` Haar-uniform rotations, ``(n, 3, 3)``: a normalised 4-D Gaussian is uniform on the quaternion sphere."""
    return from_quaternion(draw_normal((n, 4), generator, device, dtype))


def integrate(rotation: torch.Tensor, omega: torch.Tensor, dt: float) -> torch.Tensor:
    """One body-frame step ``R @ exp(omega * dt)``: ``omega`` is the angular velocity in the joint's own frame."""
    check_trailing_shape("rotation", rotation, (3, 3))
    check_trailing_shape("omega", omega, (3,))
    return rotation @ exp(omega * dt)


class _NearestRotation(torch.autograd.Function):
    """Nearest rotation (in Frobenius norm) with an analytic backward.

    With ``M = U S V^T`` and ``d = det(U V^T)``, the answer is ``U diag(1, 1, d) V^T``. Writing
    ``V' = V diag(1, 1, d)`` and ``s' = (s1, s2, d s3)`` makes it a polar factor ``U V'^T``,
    whose derivative is ``U (F o (K - K^T)) V'^T`` with ``K = U^T G V'`` and
    ``F_ij = 1 / (s'_i + s'_j)`` (Higham 1986). Autograd through ``svd`` instead divides by
    ``s_i^2 - s_j^2``, which is zero for every matrix that is already a rotation.
    """

    @staticmethod
    def forward(ctx, matrix):
        u, s, vh = torch.linalg.svd(matrix)
        d = torch.sign(torch.linalg.det(u @ vh))
        d = torch.where(d == 0, torch.ones_like(d), d)
        flip = torch.ones_like(s)
        flip[..., -1] = d
        v = vh.transpose(-1, -2) * flip[..., None, :]
        ctx.save_for_backward(u, s * flip, v)
        return u @ v.transpose(-1, -2)

    @staticmethod
    def backward(ctx, grad):
        u, s, v = ctx.saved_tensors
        k = u.transpose(-1, -2) @ grad @ v
        denom = s[..., :, None] + s[..., None, :]
        tiny = torch.finfo(s.dtype).eps
        f = torch.where(denom.abs() > tiny, 1.0 / torch.where(denom.abs() > tiny, denom, torch.ones_like(denom)),
                        torch.zeros_like(denom))
        return u @ (f * (k - k.transpose(-1, -2))) @ v.transpose(-1, -2)


def project(matrix: torch.Tensor) -> torch.Tensor:
    """The rotation nearest to ``matrix`` in Frobenius norm, ``(..., 3, 3)``; used to remove numerical drift."""
    check_trailing_shape("matrix", matrix, (3, 3))
    check_finite("matrix", matrix)
    return _NearestRotation.apply(matrix)


def chordal_mean(rotations: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Weighted chordal L2 mean: the rotation nearest to ``sum_i w_i R_i``; ``(C,3,3)``, ``(..., C)`` -> ``(..., 3, 3)``."""
    check_trailing_shape("rotations", rotations, (3, 3), min_batch_dims=1)
    if weights.shape[-1] != rotations.shape[0]:
        raise CogmapError(f"weights must have {rotations.shape[0]} entries in the last axis, got shape {tuple(weights.shape)}")
    total = (weights @ rotations.reshape(-1, 9)).reshape(*weights.shape[:-1], 3, 3)
    return project(total)


class SO3:
    """The rotation group as a :class:`~cogmap.geometry.base.Manifold` (states are ``(..., 3, 3)`` matrices).

    It holds no state, so every method can be called on the class itself: ``SO3.exp(omega)``.
    """

    name = "so3"
    dim = 3
    point_shape = (3, 3)

    exp = staticmethod(exp)
    log = staticmethod(log)
    hat = staticmethod(hat)
    vee = staticmethod(vee)
    distance = staticmethod(distance)
    random = staticmethod(random)
    sample = staticmethod(random)
    integrate = staticmethod(integrate)
    project = staticmethod(project)
    from_quaternion = staticmethod(from_quaternion)
    to_quaternion = staticmethod(to_quaternion)
    pairwise_cos_distance = staticmethod(pairwise_cos_distance)
    cosine_embedding = staticmethod(cosine_embedding)
    cosine_affine = COSINE_AFFINE
    mean = staticmethod(chordal_mean)

    @staticmethod
    def pairwise_distance(x: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        # acos of the trace would be cheaper but has infinite slope at a centre.
        check_trailing_shape("centres", centres, (3, 3), min_batch_dims=1)
        return distance(x[..., None, :, :], centres)

    @staticmethod
    def evenly_spread(n: int, *, device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``n`` deterministic, nearly evenly spread rotations (super-Fibonacci spiral, Alexa 2022)."""
        i = torch.arange(n, dtype=torch.float64) + 0.5
        phi, psi = 2.0**0.5, 1.533751168755204288118041
        s = i / n
        r, big_r = torch.sqrt(s), torch.sqrt(1 - s)
        alpha, beta = 2 * torch.pi * i / phi, 2 * torch.pi * i / psi
        q = torch.stack([r * torch.sin(alpha), r * torch.cos(alpha), big_r * torch.sin(beta), big_r * torch.cos(beta)], -1)
        return from_quaternion(q).to(device=device, dtype=dtype)

    def __repr__(self) -> str:
        return "SO3()"
