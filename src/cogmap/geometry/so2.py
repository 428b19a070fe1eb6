"""Circles and tori: states are angles in [-pi, pi) that wrap around."""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_positive_int, check_trailing_shape
from cogmap.geometry.base import draw_uniform


def wrap(angle: torch.Tensor) -> torch.Tensor:
    """Angles mapped into [-pi, pi)."""
    return torch.remainder(angle + math.pi, 2 * math.pi) - math.pi


class Torus:
    """The flat torus (S^1)^dim; ``Torus(1)`` is the circle SO(2).

    States are ``(..., dim)`` angles; the distance is the Euclidean norm of the wrapped
    coordinate differences (the flat metric).
    """

    def __init__(self, dim: int = 1):
        check_positive_int("dim", dim)
        self.dim = dim
        self.point_shape = (dim,)
        self.name = "so2" if dim == 1 else f"torus{dim}"

    def random(self, n, generator=None, *, device=None, dtype=torch.float32):
        return (draw_uniform((n, self.dim), generator, device, dtype) * 2 - 1) * math.pi

    sample = random

    def integrate(self, state, velocity, dt):
        check_trailing_shape("state", state, self.point_shape)
        check_trailing_shape("velocity", velocity, (self.dim,))
        return wrap(state + velocity * dt)

    def difference(self, x, y):
        """Shortest signed coordinate differences ``y - x``, each in [-pi, pi)."""
        return wrap(y - x)

    def distance(self, x, y):
        check_trailing_shape("x", x, self.point_shape)
        check_trailing_shape("y", y, self.point_shape)
        return torch.linalg.vector_norm(wrap(y - x), dim=-1)

    def pairwise_distance(self, x, centres):
        check_trailing_shape("centres", centres, self.point_shape, min_batch_dims=1)
        return torch.linalg.vector_norm(wrap(x[..., None, :] - centres), dim=-1)

    def cosine_embedding(self, x):
        """Features ``(..., 2 dim)`` = (cos, sin) of each angle, so that :meth:`pairwise_cos_distance`
        is ``cosine_affine[0] * <f(x), f(c)> + cosine_affine[1]``, one matrix product."""
        check_trailing_shape("x", x, self.point_shape)
        return torch.cat([torch.cos(x), torch.sin(x)], dim=-1)

    @property
    def cosine_affine(self) -> tuple[float, float]:
        return (1.0 / self.dim, 0.0)

    def pairwise_cos_distance(self, x, centres):
        """Mean over coordinates of ``cos`` of the angle differences (``cos d`` itself on the circle).

        With this similarity the von Mises-Fisher kernel is a product of von Mises tuning
        curves, one per coordinate, each with concentration ``kappa / dim``.
        """
        check_trailing_shape("centres", centres, self.point_shape, min_batch_dims=1)
        return (self.cosine_embedding(x) @ self.cosine_embedding(centres).T) / self.dim

    def mean(self, points, weights):
        """Weighted circular mean of each coordinate (the population-vector estimate)."""
        check_trailing_shape("points", points, self.point_shape, min_batch_dims=1)
        if weights.shape[-1] != points.shape[0]:
            raise CogmapError(f"weights must have {points.shape[0]} entries in the last axis, got shape {tuple(weights.shape)}")
        return torch.atan2(weights @ torch.sin(points), weights @ torch.cos(points))

    def evenly_spread(self, n: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
        """A regular grid of ``n = m**dim`` angles."""
        m = round(n ** (1 / self.dim))
        if m**self.dim != n:
            raise CogmapError(f"evenly spread cells on a {self.dim}-torus need a perfect {self.dim}-th power, got {n}")
        axis = torch.arange(m, dtype=torch.float64) * (2 * math.pi / m) - math.pi
        grid = torch.stack(torch.meshgrid(*[axis] * self.dim, indexing="ij"), dim=-1).reshape(n, self.dim)
        return grid.to(device=device, dtype=dtype)

    def __repr__(self) -> str:
        return f"Torus(dim={self.dim})"


SO2 = Torus  # SO2() is Torus(1): the circle of planar rotations, parameterised by angle.
