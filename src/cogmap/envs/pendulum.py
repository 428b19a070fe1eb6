"""A batched torch pendulum that matches Gymnasium's Pendulum-v1 step for step, and its partially observed task.

:class:`BatchedPendulum`: dynamics, reward, torque clipping and speed clipping follow
Pendulum-v1 (g = 10, m = l = 1, dt = 0.05, torque in [-2, 2], speed in [-8, 8], reward
``-(angle^2 + 0.1 speed^2 + 0.001 u^2)`` with the angle wrapped to [-pi, pi), start angle
U(-pi, pi) and speed U(-1, 1), truncation after 200 steps). The state is float64, as
Gymnasium's NumPy state is, so the two agree to rounding; observations are float32 like
Gymnasium's. Observation modes: ``full`` gives ``(cos theta, sin theta, angular velocity)``,
``partial`` gives ``(cos theta, sin theta)`` only, so that a controller must infer the
velocity from memory (the partially observable task of Huang, Singh & Rajan's learning-dynamics study).
``cogmap/PendulumNoVelocity-v1`` is Gymnasium's own pendulum observed the same partial way.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError, check_choice, check_positive_int

OBSERVATION_MODES = ("full", "partial")
PENDULUM_OBSERVATION = "partial"  # the registry's pendulum, as the learning-dynamics study trains it


def angle_normalize(x: torch.Tensor) -> torch.Tensor:
    return ((x + math.pi) % (2 * math.pi)) - math.pi


class BatchedPendulum:
    g, m, l, dt = 10.0, 1.0, 1.0, 0.05
    max_torque, max_speed, max_steps = 2.0, 8.0, 200
    action_dim = 1

    def __init__(self, num_envs: int = 16, observation: str = "full", seed: int = 0, device=None,
                 autoreset: bool = True):
        check_positive_int("num_envs", num_envs)
        check_choice("observation", observation, OBSERVATION_MODES)
        self.num_envs, self.observation, self.device = num_envs, observation, torch.device(device or "cpu")
        self.autoreset = autoreset
        self.generator = torch.Generator().manual_seed(seed)
        self.theta = torch.zeros(num_envs, dtype=torch.float64, device=self.device)
        self.speed = torch.zeros_like(self.theta)
        self.steps = torch.zeros(num_envs, dtype=torch.long, device=self.device)
        self.action_low = torch.full((1,), -self.max_torque, device=self.device)
        self.action_high = torch.full((1,), self.max_torque, device=self.device)

    @property
    def observation_dim(self) -> int:
        return 3 if self.observation == "full" else 2

    @property
    def observation_scale(self) -> torch.Tensor:
        """The velocity divided by its bound, so that every component lies in [-1, 1]."""
        scale = [1.0, 1.0, 1.0 / self.max_speed] if self.observation == "full" else [1.0, 1.0]
        return torch.tensor(scale, device=self.device)

    def observe(self) -> torch.Tensor:
        parts = [self.theta.cos(), self.theta.sin()] + ([self.speed] if self.observation == "full" else [])
        return torch.stack(parts, dim=-1).float()

    def set_state(self, theta: torch.Tensor, speed: torch.Tensor) -> torch.Tensor:
        """Put every pendulum in a given state (e.g. Gymnasium's after its reset); returns the observation."""
        self.theta = torch.as_tensor(theta, dtype=torch.float64, device=self.device).reshape(self.num_envs).clone()
        self.speed = torch.as_tensor(speed, dtype=torch.float64, device=self.device).reshape(self.num_envs).clone()
        self.steps = torch.zeros_like(self.steps)
        return self.observe()

    def state_dict(self) -> dict:
        """Everything that determines the future of these pendulums (to resume a run exactly)."""
        return {"theta": self.theta.cpu(), "speed": self.speed.cpu(), "steps": self.steps.cpu(),
                "generator": self.generator.get_state()}

    def load_state_dict(self, state: dict) -> None:
        self.theta, self.speed = state["theta"].to(self.device), state["speed"].to(self.device)
        self.steps = state["steps"].to(self.device)
        self.generator.set_state(state["generator"])

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

    def step(self, torque: torch.Tensor) -> Transition:
        """Apply torques ``(N,)`` or ``(N, 1)``.

        With ``autoreset`` (the default) pendulums whose 200 steps are over start a new episode
        at once (``final_observation`` keeps their last observation); without it they stay
        where they are until :meth:`reset` is called with a mask.
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
        truncated = self.steps >= self.max_steps
        observation = final = self.observe()
        if self.autoreset and bool(truncated.any()):
            observation = self.reset(truncated)
        return Transition(observation, (-cost).float(), torch.zeros_like(truncated), truncated, final)


def make_batched(num_envs: int, seed: int = 0, device=None, env_kwargs: dict | None = None) -> BatchedPendulum:
    """The registry's factory (:func:`cogmap.envs.make_env`): ``env_kwargs`` may set ``observation``
    (full or partial, default :data:`PENDULUM_OBSERVATION`), and nothing else."""
    settings = dict(env_kwargs or {})
    observation = settings.pop("observation", PENDULUM_OBSERVATION)
    if settings:
        raise CogmapError(f"env_kwargs for the batched pendulum: only observation (full or partial), got {sorted(settings)}")
    return BatchedPendulum(num_envs, observation, seed=seed, device=device)


PENDULUM_NO_VELOCITY = "cogmap/PendulumNoVelocity-v1"


def _pendulum_without_velocity(**kwargs):
    """Gymnasium's Pendulum-v1 observed through ``(cos theta, sin theta)`` only: the partially observable task."""
    import gymnasium as gym
    from gymnasium.envs.classic_control.pendulum import PendulumEnv

    class NoVelocity(gym.ObservationWrapper):
        def __init__(self, env):
            super().__init__(env)
            self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2,), dtype=np.float32)

        def observation(self, observation):
            return observation[:2]

    return NoVelocity(PendulumEnv(**kwargs))


def register() -> None:
    """Register :data:`PENDULUM_NO_VELOCITY` with Gymnasium (done when :mod:`cogmap.envs` is imported)."""
    import gymnasium as gym

    if PENDULUM_NO_VELOCITY not in gym.registry:
        gym.register(id=PENDULUM_NO_VELOCITY, entry_point=_pendulum_without_velocity, max_episode_steps=200)
