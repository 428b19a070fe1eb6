"""Ornstein-Uhlenbeck angular velocities: smooth, mean-reverting random motion.

The process ``dv = -theta v dt + sigma sqrt(2 theta) dW`` has stationary standard
deviation ``sigma`` and autocorrelation ``exp(-theta * lag)``. It is sampled with its exact
discretisation ``v_{t+1} = a v_t + sigma sqrt(1 - a^2) eps_t`` with ``a = exp(-theta dt)``,
which is correct for any ``dt`` (an Euler step is not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cogmap.errors import check_choice, check_positive, check_positive_int
from cogmap.geometry.base import draw_normal

INITIAL_VELOCITIES = ("stationary", "zero")

# Steps per block of the blocked linear recursion below: a (B x B) lower-triangular
# matrix product replaces B sequential steps.
_BLOCK = 64


@dataclass(frozen=True)
class OrnsteinUhlenbeck:
    """Parameters of an OU velocity process (defaults: the reference setup's sigma=1.0, theta=2.0)."""

    sigma: float = 1.0
    theta: float = 2.0
    initial: str = "stationary"

    def __post_init__(self):
        check_positive("sigma", self.sigma)
        check_positive("theta", self.theta)
        check_choice("initial velocity", self.initial, INITIAL_VELOCITIES)

    def decay(self, dt: float) -> float:
        """Lag-1 autocorrelation ``a = exp(-theta dt)``."""
        return math.exp(-self.theta * dt)

    def sample(self, n: int, steps: int, dim: int, dt: float, generator: torch.Generator | None = None, *,
               device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Velocities ``v_1 .. v_steps`` of ``n`` independent processes, shape ``(n, steps, dim)``.

        ``v_0`` is drawn from the stationary distribution (or is zero) and not returned.
        The random numbers are drawn in the order ``v_0``, then the innovations, so the
        same generator state always gives the same velocities.
        """
        check_positive_int("n", n, minimum=0)
        check_positive_int("steps", steps)
        check_positive_int("dim", dim)
        check_positive("dt", dt)
        v0 = draw_normal((n, dim), generator, device, dtype) * self.sigma
        if self.initial == "zero":
            v0 = torch.zeros_like(v0)
        eps = draw_normal((n, steps, dim), generator, device, dtype)
        return self.filter(v0, eps, dt)

    def filter(self, v0: torch.Tensor, innovations: torch.Tensor, dt: float) -> torch.Tensor:
        """Run the recursion from ``v0 (n, dim)`` with standard-normal ``innovations (n, steps, dim)``."""
        a = self.decay(dt)
        scale = self.sigma * math.sqrt(max(0.0, 1.0 - a * a))
        n, steps, dim = innovations.shape
        block = min(_BLOCK, steps)
        lag = torch.arange(block, device=innovations.device, dtype=torch.float64)
        diff = lag[:, None] - lag[None, :]
        # transfer[t, s] = a^(t - s) for s <= t: the response of step t to innovation s.
        transfer = torch.where(diff >= 0, a ** diff.clamp_min(0), torch.zeros_like(diff)).to(innovations.dtype)
        carry_gain = (a ** (lag + 1)).to(innovations.dtype)
        out = torch.empty_like(innovations)
        v = v0
        for start in range(0, steps, block):
            e = innovations[:, start:start + block] * scale
            b = e.shape[1]
            out_block = torch.einsum("ts,nsd->ntd", transfer[:b, :b], e) + carry_gain[:b, None] * v[:, None, :]
            out[:, start:start + b] = out_block
            v = out_block[:, -1]
        return out
