"""The one protocol every batched environment of cogmap follows (:class:`VectorEnv`), and Gymnasium behind it.

Recurrent PPO (:mod:`cogmap.rl.ppo`) trains on anything with this shape: ``reset()`` and
``step(actions)`` on a batch of environments that reset themselves when an episode ends,
tensors in and out. :class:`GymnasiumVectorEnv` puts any Gymnasium environment with a
continuous (Box) action space behind it, so PPO trains on MuJoCo walkers as on the torch
pendulum.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol, runtime_checkable

import numpy as np
import torch

from cogmap.errors import CogmapError, check_positive_int


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


def action_bounds(space, device, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """A Box action space's bounds as flat float32 tensors; an unbounded one is refused (a tanh policy needs bounds)."""
    low = torch.as_tensor(space.low.reshape(-1), dtype=torch.float32, device=device)
    high = torch.as_tensor(space.high.reshape(-1), dtype=torch.float32, device=device)
    if not (torch.isfinite(low).all() and torch.isfinite(high).all()):
        raise CogmapError(f"{name} has an unbounded action space; a tanh policy needs finite bounds")
    return low, high


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
        self.action_low, self.action_high = action_bounds(action_space, self.device, f"env {self.env_id!r}")
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


class WithPrivilegedState:
    """An environment whose observations carry after them the privileged state it keeps beside them
    (``env.extras[key]``, e.g. EnvPool's ``privileged_state``), for an asymmetric critic.

    ``observation_dim`` stays the agent's own observation's (what a trained policy acts on);
    ``critic_observation_dim`` is the width of what follows it. A truncated episode's final
    observation carries the final privileged state, so its value is bootstrapped from the state
    it ended in.
    """

    def __init__(self, env, key: str = "privileged_state"):
        dims = getattr(env, "extra_dims", {})
        if key not in dims:
            raise CogmapError(f"critic=privileged needs an environment that gives a {key!r} beside its observation "
                              f"(EnvPool's MuJoCo Playground tasks do); this one gives {sorted(dims) or 'none'}")
        self.env, self.key = env, key
        self.critic_observation_dim = dims[key]
        for name in ("num_envs", "observation_dim", "action_dim", "action_low", "action_high", "observation_scale",
                     "device"):
            setattr(self, name, getattr(env, name))

    @property
    def info(self) -> dict:
        """The wrapped environment's ``info`` of its last step (EnvPool's reward terms), if it keeps one."""
        return getattr(self.env, "info", {})

    def reset(self) -> torch.Tensor:
        observation = self.env.reset()
        return torch.cat([observation, self.env.extras[self.key]], dim=-1)

    def step(self, action: torch.Tensor) -> Transition:
        step = self.env.step(action)
        return step._replace(observation=torch.cat([step.observation, self.env.extras[self.key]], dim=-1),
                             final_observation=torch.cat([step.final_observation, self.env.final_extras[self.key]],
                                                         dim=-1))

    def close(self) -> None:
        if hasattr(self.env, "close"):
            self.env.close()
