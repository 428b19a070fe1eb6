"""Batched environments for recurrent controllers, behind one small protocol (:class:`VectorEnv`).

:class:`BatchedPendulum` is a batched torch pendulum that matches Gymnasium's Pendulum-v1 step
for step: dynamics, reward, torque clipping and speed clipping follow Pendulum-v1 (g = 10,
m = l = 1, dt = 0.05, torque in [-2, 2], speed in [-8, 8], reward
``-(angle^2 + 0.1 speed^2 + 0.001 u^2)`` with the angle wrapped to [-pi, pi), start angle
U(-pi, pi) and speed U(-1, 1), truncation after 200 steps). The state is float64, as
Gymnasium's NumPy state is, so the two agree to rounding; observations are float32 like
Gymnasium's. Observation modes: ``full`` gives ``(cos theta, sin theta, angular velocity)``,
``partial`` gives ``(cos theta, sin theta)`` only, so that a controller must infer the
velocity from memory (the seed's partially observable task).

:class:`GymnasiumVectorEnv` puts any Gymnasium environment with a continuous (Box) action
space behind the same protocol, so recurrent PPO trains on MuJoCo walkers as on the pendulum.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from cogmap.errors import CogmapError, check_choice, check_positive_int

OBSERVATION_MODES = ("full", "partial")


class Transition(NamedTuple):
    """What one step of a batch of environments returns (Gymnasium's step, as tensors).

    ``observation`` is what the agent sees next: for a row whose episode just ended, the first
    observation of its next episode (the environments reset themselves). ``final_observation``
    holds, in those rows, the last observation of the ended episode (the one to bootstrap a
    truncated episode's value from); elsewhere it equals ``observation``.
    """

    observation: torch.Tensor  # (N, O) float32
    reward: torch.Tensor  # (N,) float32
    terminated: torch.Tensor  # (N,) bool: the episode ended in a terminal state (no value after it)
    truncated: torch.Tensor  # (N,) bool: the episode was cut off (by a step limit)
    final_observation: torch.Tensor  # (N, O)


@runtime_checkable
class VectorEnv(Protocol):
    """A batch of environments that reset themselves when an episode ends.

    ``observation_scale`` (or None) is the fixed factor the environment recommends for each
    observation component (the pendulum's velocity spans [-8, 8], its cos and sin [-1, 1]);
    a controller trained on it keeps the factor inside (see ``RecurrentActorCritic``).
    """

    num_envs: int
    observation_dim: int
    action_dim: int
    action_low: torch.Tensor  # (A,)
    action_high: torch.Tensor  # (A,)
    observation_scale: torch.Tensor | None  # (O,)
    device: torch.device

    def reset(self) -> torch.Tensor:
        """Start every environment afresh; the first observations ``(N, O)``."""
        ...

    def step(self, action: torch.Tensor) -> Transition:
        """Apply actions ``(N, A)``."""
        ...


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


class GymnasiumVectorEnv:
    """Any Gymnasium environment with Box spaces as a :class:`VectorEnv` of tensors.

    ``env`` is an environment id (``num_envs`` copies are made in a ``SyncVectorEnv`` that
    resets finished episodes in the same step, Gymnasium's ``SAME_STEP`` autoreset) or a
    Gymnasium vector environment already made with that autoreset mode. Resets are seeded
    ``seed, seed + 1, ...``. Observations are flattened to float32 tensors on ``device``;
    actions go back in the action space's shape and dtype.
    """

    def __init__(self, env, num_envs: int = 8, seed: int = 0, device=None, **make_kwargs):
        import gymnasium as gym
        from gymnasium.vector import AutoresetMode

        if isinstance(env, gym.vector.VectorEnv):
            mode = env.metadata.get("autoreset_mode")
            if mode != AutoresetMode.SAME_STEP:
                raise CogmapError(f"a Gymnasium vector env for cogmap must reset in the same step (autoreset_mode "
                                  f"SAME_STEP, e.g. gym.make_vec(..., vector_kwargs={{'autoreset_mode': "
                                  f"AutoresetMode.SAME_STEP}})), got {mode}")
            self.env, self.env_id = env, str(getattr(env.spec, "id", type(env).__name__))
        else:
            check_positive_int("num_envs", num_envs)
            try:
                spec = gym.spec(env)
            except gym.error.Error as error:
                raise CogmapError(f"env {env!r} is not a registered Gymnasium environment ({error})") from None
            try:
                self.env = gym.make_vec(spec.id, num_envs=num_envs, vectorization_mode="sync",
                                        vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP}, **make_kwargs)
            except (gym.error.Error, ImportError, ModuleNotFoundError, TypeError) as error:
                raise CogmapError(f"env {env!r} cannot be made: {error}") from None
            self.env_id = spec.id
        action_space, observation_space = self.env.single_action_space, self.env.single_observation_space
        if not isinstance(action_space, gym.spaces.Box) or not isinstance(observation_space, gym.spaces.Box):
            raise CogmapError(f"env {self.env_id!r} needs Box observation and action spaces, got "
                              f"{type(observation_space).__name__} and {type(action_space).__name__}")
        self.num_envs, self.seed = self.env.num_envs, seed
        self.device = torch.device(device or "cpu")
        self.observation_dim = int(np.prod(observation_space.shape))
        self.action_shape, self.action_dtype = action_space.shape, action_space.dtype
        self.action_dim = int(np.prod(action_space.shape))
        self.action_low = torch.as_tensor(action_space.low.reshape(-1), dtype=torch.float32, device=self.device)
        self.action_high = torch.as_tensor(action_space.high.reshape(-1), dtype=torch.float32, device=self.device)
        if not (torch.isfinite(self.action_low).all() and torch.isfinite(self.action_high).all()):
            raise CogmapError(f"env {self.env_id!r} has an unbounded action space; a tanh policy needs finite bounds")
        self.observation_scale = None
        self._resets = 0

    def _tensor(self, array) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=np.float32).reshape(self.num_envs, -1), device=self.device)

    def reset(self) -> torch.Tensor:
        seed = self.seed + 1_000_003 * self._resets  # a fresh, reproducible set of episodes at every reset
        self._resets += 1
        observation, _ = self.env.reset(seed=[seed + i for i in range(self.num_envs)])
        return self._tensor(observation)

    def step(self, action: torch.Tensor) -> Transition:
        action = torch.as_tensor(action).detach().reshape(self.num_envs, self.action_dim).cpu().numpy()
        observation, reward, terminated, truncated, info = self.env.step(
            action.astype(self.action_dtype).reshape(self.num_envs, *self.action_shape))
        observation = self._tensor(observation)
        final = observation.clone()
        rows = np.flatnonzero(info.get("_final_obs", np.zeros(self.num_envs, dtype=bool)))
        if len(rows):
            last = np.stack([np.asarray(info["final_obs"][i], dtype=np.float32).reshape(-1) for i in rows])
            final[torch.as_tensor(rows, device=self.device)] = torch.as_tensor(last, device=self.device)
        return Transition(observation, torch.as_tensor(np.asarray(reward, np.float32), device=self.device),
                          self._flags(terminated), self._flags(truncated), final)

    def _flags(self, array) -> torch.Tensor:
        return torch.as_tensor(np.asarray(array, dtype=bool), device=self.device)

    def close(self) -> None:
        self.env.close()


def make_env(name: str, num_envs: int, seed: int = 0, observation: str = "full", device=None,
             env_kwargs: dict | None = None) -> VectorEnv:
    """``pendulum`` (the batched torch pendulum, ``observation`` full or partial), ``arm_reach``
    (:class:`~cogmap.control.reaching.BatchedArmReach`, its options in ``env_kwargs``) or a Gymnasium id.

    ``env_kwargs`` go to the Gymnasium environment's constructor (e.g. ``{"frame_skip": 5}``).
    """
    if name == "arm_reach":
        from cogmap.control.reaching import BatchedArmReach

        try:
            return BatchedArmReach(num_envs, seed=seed, device=device, **(env_kwargs or {}))
        except TypeError as error:
            raise CogmapError(f"env_kwargs for arm_reach: {error}") from None
    if name == "pendulum":
        if env_kwargs:
            raise CogmapError(f"env_kwargs are for Gymnasium environments; the batched pendulum takes none, "
                              f"got {sorted(env_kwargs)}")
        return BatchedPendulum(num_envs, observation, seed=seed, device=device)
    return GymnasiumVectorEnv(name, num_envs, seed=seed, device=device, **(env_kwargs or {}))


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
    """Register :data:`PENDULUM_NO_VELOCITY` with Gymnasium (done when :mod:`cogmap.control` is imported)."""
    import gymnasium as gym

    if PENDULUM_NO_VELOCITY not in gym.registry:
        gym.register(id=PENDULUM_NO_VELOCITY, entry_point=_pendulum_without_velocity, max_episode_steps=200)
