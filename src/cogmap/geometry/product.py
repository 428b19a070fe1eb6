"""Products of manifolds: an articulated arm with K free joints lives on SO(3)^K."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from cogmap.errors import CogmapError, check_trailing_shape


class Product:
    """The Cartesian product of factor manifolds with the product (root-sum-of-squares) metric.

    A state is a tuple with one state per factor; a velocity is the concatenation of the
    factors' velocities along the last axis, ``(..., sum(dims))``.
    """

    def __init__(self, factors: Sequence):
        if len(factors) == 0:
            raise CogmapError("a product manifold needs at least one factor")
        self.factors = tuple(factors)
        self.dims = tuple(f.dim for f in self.factors)
        self.dim = sum(self.dims)
        self.point_shape = tuple(f.point_shape for f in self.factors)
        self.name = "x".join(f.name for f in self.factors)

    @classmethod
    def power(cls, factor, k: int) -> "Product":
        """``factor`` to the power ``k``, e.g. ``Product.power(SO3(), 2)`` for a 2-joint arm."""
        return cls([factor] * k)

    def _check_state(self, state) -> None:
        if not isinstance(state, (tuple, list)) or len(state) != len(self.factors):
            raise CogmapError(f"a state of {self.name} must be a tuple of {len(self.factors)} tensors")

    def split_velocity(self, velocity: torch.Tensor) -> tuple[torch.Tensor, ...]:
        check_trailing_shape("velocity", velocity, (self.dim,))
        return tuple(velocity.split(self.dims, dim=-1))

    def random(self, n, generator=None, *, device=None, dtype=torch.float32):
        return tuple(f.random(n, generator, device=device, dtype=dtype) for f in self.factors)

    sample = random

    def integrate(self, state, velocity, dt):
        self._check_state(state)
        return tuple(f.integrate(s, v, dt) for f, s, v in zip(self.factors, state, self.split_velocity(velocity)))

    def distance(self, x, y):
        self._check_state(x)
        self._check_state(y)
        squares = [f.distance(a, b) ** 2 for f, a, b in zip(self.factors, x, y)]
        return torch.sqrt(torch.stack(torch.broadcast_tensors(*squares), dim=0).sum(0))

    def factor_distances(self, x, y) -> torch.Tensor:
        """Per-factor distances stacked along a last axis, ``(..., K)``."""
        return torch.stack(torch.broadcast_tensors(*[f.distance(a, b) for f, a, b in zip(self.factors, x, y)]), dim=-1)

    def __repr__(self) -> str:
        return f"Product({list(self.factors)!r})"
