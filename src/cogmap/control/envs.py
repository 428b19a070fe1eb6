"""A batched torch pendulum that matches Gymnasium's Pendulum-v1 step for step.

Dynamics, reward, torque clipping and speed clipping follow Pendulum-v1 (g = 10, m = l = 1,
dt = 0.05, torque in [-2, 2], speed in [-8, 8], reward ``-(angle^2 + 0.1 speed^2 + 0.001 u^2)``
with the angle wrapped to [-pi, pi), start angle U(-pi, pi) and speed U(-1, 1), truncation
after 200 steps). The state is float64, as Gymnasium's NumPy state is, so the two agree to
rounding; observations are float32 like Gymnasium's.

Observation modes: ``full`` gives ``(cos theta, sin theta, angular velocity)``, ``partial``
gives ``(cos theta, sin theta)`` only, so that a controller must infer the velocity from
memory (the seed's partially observable task).
"""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_choice, check_positive_int

OBSERVATION_MODES = ("full", "partial")


def angle_normalize(x: torch.Tensor) -> torch.Tensor:
    return ((x + math.pi) % (2 * math.pi)) - math.pi


class BatchedPendulum:
    g, m, l, dt = 10.0, 1.0, 1.0, 0.05
    max_torque, max_speed, max_steps = 2.0, 8.0, 200

    def __init__(self, num_envs: int = 16, observation: str = "full", seed: int = 0, device=None):
        check_positive_int("num_envs", num_envs)
        check_choice("observation", observation, OBSERVATION_MODES)
        self.num_envs, self.observation, self.device = num_envs, observation, torch.device(device or "cpu")
        self.generator = torch.Generator().manual_seed(seed)
        self.theta = torch.zeros(num_envs, dtype=torch.float64, device=self.device)
        self.speed = torch.zeros_like(self.theta)
        self.steps = torch.zeros(num_envs, dtype=torch.long, device=self.device)

    @property
    def observation_dim(self) -> int:
        return 3 if self.observation == "full" else 2

    def observe(self) -> torch.Tensor:
        parts = [self.theta.cos(), self.theta.sin()] + ([self.speed] if self.observation == "full" else [])
        return torch.stack(parts, dim=-1).float()

    def set_state(self, theta: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
        """Put every pendulum in a given state (e.g. Gymnasium's after its reset); returns the observation."""
        self.theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device).reshape(self.num_envs).clone()
        self.speed = torch.as_tensor(speed, dtype=torch.float64, device=self.device).reshape(self.num_envs).clone()
        self.steps = torch.zeros_like(self.steps)
        return self.observe()

    def _random_state(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        u = torch.rand(count, 2, generator=self.generator, dtype=torch.float64).to(self.device)
        return (2 * u[:, 0] - 1) * math.pi, 2 * u[:, 1] - 1

    def reset(self, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Random start states (all, or where ``mask``); returns the observation."""
        mask = torch.ones(self.num_envs, dtype=torch.bool, device=self.device) if mask is None else mask.to(self.device)
        theta, speed = self._random_state(self.num_envs)
        self.theta = torch.where(mask, theta, self.theta)
        self.speed = torch.where(mask, speed, self.speed)
        self.steps = torch.where(mask, torch.zeros_like(self.steps), self.steps)
        return self.observe()

    def step(self, torque: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Apply torques ``(N,)`` or ``(N, 1)``: observation, reward ``(N,)`` and truncation ``(N,)``.

        Truncated pendulums are not reset here (call :meth:`reset` with the mask) so that the
        caller can read the final observation.
        """
        torque = torch.as_tensor(torque, device=self.device).reshape(-1).to(torch.float64)
        if torque.shape[0] != self.num_envs:
            raise CogmapError(f"torque must have {self.num_envs} entries, got {tuple(torque.shape)}")
        if not torch.isfinite(torque).all():
            raise CogmapError("torque contains NaN or infinite values")
        u = torque.clamp(-self.max_torque, self.max_torque)
        cost = angle_normalize(self.theta) ** 2 + 0.1 * self.speed**2 + 0.001 * u**2
        speed = self.speed + (3 * self.g / (2 * self.l) * self.theta.sin() + 3.0 / (self.m * self.l**2) * u) * self.dt
        self.speed = speed.clamp(-self.max_speed, self.max_speed)
        self.theta = self.theta + self.speed * self.dt
        self.steps = self.steps + 1
        return self.observe(), (-cost).float(), self.steps >= self.max_steps
