"""A flat rectangular arena with walls, the space of Banino et al. (2018)-style path integration."""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_positive, check_trailing_shape
from cogmap.geometry.base import draw_uniform


class Box:
    """The rectangle [0, width] x [0, height]; states are ``(..., 2)`` positions.

    ``integrate`` reflects a step that would cross a wall back into the box (a specular
    bounce), so a state can never leave it; motion models that steer away from walls
    (``cogmap.motion.rat``) rarely need that safety net.
    """

    dim = 2
    point_shape = (2,)
    name = "box"

    def __init__(self, width: float = 2.2, height: float = 2.2):
        check_positive("width", width)
        check_positive("height", height)
        self.width, self.height = float(width), float(height)

    @property
    def size(self) -> tuple[float, float]:
        return (self.width, self.height)

    def _extent(self, like: torch.Tensor) -> torch.Tensor:
        return torch.tensor([self.width, self.height], dtype=like.dtype, device=like.device)

    def reflect(self, position: torch.Tensor) -> torch.Tensor:
        """Fold positions back into the box as a ball bouncing off the walls would be."""
        extent = self._extent(position)
        folded = torch.remainder(position, 2 * extent)
        return torch.where(folded > extent, 2 * extent - folded, folded)

    def contains(self, position: torch.Tensor) -> torch.Tensor:
        extent = self._extent(position)
        return ((position >= 0) & (position <= extent)).all(-1)

    def random(self, n, generator=None, *, device=None, dtype=torch.float32):
        u = draw_uniform((n, 2), generator, device, dtype)
        return u * torch.tensor([self.width, self.height], dtype=dtype, device=u.device)

    sample = random

    def integrate(self, state, velocity, dt):
        check_trailing_shape("state", state, (2,))
        check_trailing_shape("velocity", velocity, (2,))
        return self.reflect(state + velocity * dt)

    def distance(self, x, y):
        return torch.linalg.vector_norm(y - x, dim=-1)

    def pairwise_distance(self, x, centres):
        check_trailing_shape("centres", centres, (2,), min_batch_dims=1)
        return torch.linalg.vector_norm(x[..., None, :] - centres, dim=-1)

    def mean(self, points, weights):
        if weights.shape[-1] != points.shape[0]:
            raise CogmapError(f"weights must have {points.shape[0]} entries in the last axis, got shape {tuple(weights.shape)}")
        return (weights @ points) / weights.sum(-1, keepdim=True)

    def evenly_spread(self, n: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
        """A regular grid of ``n = rows * cols`` cell centres with spacing as square as the box allows."""
        cols = max(1, round(math.sqrt(n * self.width / self.height)))
        if n % cols:
            divisors = [c for c in range(1, n + 1) if n % c == 0]
            cols = min(divisors, key=lambda c: abs(c - cols))
        rows = n // cols
        xs = (torch.arange(cols, dtype=torch.float64) + 0.5) * (self.width / cols)
        ys = (torch.arange(rows, dtype=torch.float64) + 0.5) * (self.height / rows)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(n, 2)
        return grid.to(device=device, dtype=dtype)

    def __repr__(self) -> str:
        return f"Box(width={self.width}, height={self.height})"
