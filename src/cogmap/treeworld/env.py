"""Gymnasium environments: one Tree World (``cogmap/TreeWorld-v0``) and a batched vector version.

Observation (float32, flat, ``2 * embedding_dim + 3`` numbers): the smell embedding, the sight
embedding (zeros when no tree is in view), health as a fraction of the maximum, and the unit
heading; :func:`observation_layout` gives the slices. Action (``Box(-1, 1, (3,))``): the first
two numbers are the movement in units of ``max_move`` (longer vectors are scaled back to the
unit disk), the third rests instead of moving when positive. The agent faces where it moves.
Reward: the health change of the step. Termination: death (health <= 0). Truncation: the
step limit (1,000 steps for the registered id; ``max_episode_steps`` for the vector version).

Every episode is a new world: ``reset(seed=s)`` makes the world of seed ``s``; later resets
draw world seeds from the environment's seeded generator.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from cogmap.errors import CogmapError, check_positive_int
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.render import render_rgb
from cogmap.treeworld.world import BatchedTreeWorld, random_layout

ENV_ID = "cogmap/TreeWorld-v0"


def _config(config) -> TreeWorldConfig:
    if config is None:
        return TreeWorldConfig()
    if isinstance(config, dict):
        return TreeWorldConfig.from_dict(config)
    if not isinstance(config, TreeWorldConfig):
        raise CogmapError(f"config must be a TreeWorldConfig or a dict, got {type(config).__name__}")
    return config


def observation_layout(config: TreeWorldConfig) -> dict[str, slice]:
    d = config.embedding_dim
    return {"smell": slice(0, d), "sight": slice(d, 2 * d), "health": slice(2 * d, 2 * d + 1),
            "heading": slice(2 * d + 1, 2 * d + 3)}


def _observation_space(config: TreeWorldConfig) -> spaces.Box:
    # Smell sums at most num_trees unit vectors with weights <= 1; sight is one unit vector or
    # zero; health is a fraction of the maximum (negative only on the step of death); heading is a unit vector.
    layout = observation_layout(config)
    high = np.ones(2 * config.embedding_dim + 3, np.float32)
    high[layout["smell"]] = config.num_trees
    return spaces.Box(-high, high, dtype=np.float32)


def _observe(world: BatchedTreeWorld) -> np.ndarray:
    senses = world.sense()
    health = (world.health / world.config.max_health).clamp(-1.0, 1.0)[:, None]
    heading = world.heading.clamp(-1.0, 1.0)
    return torch.cat([senses.smell.embedding, senses.sight.embedding, health, heading], dim=1).cpu().numpy().astype(np.float32)


def _decode_actions(actions, num: int, config: TreeWorldConfig, device) -> tuple[torch.Tensor, torch.Tensor]:
    actions = torch.as_tensor(np.asarray(actions, dtype=np.float32), device=device).reshape(num, 3)
    if not torch.isfinite(actions).all():
        raise CogmapError("actions contain NaN or infinite values")
    move = actions[:, :2]
    move = move / move.norm(dim=1, keepdim=True).clamp_min(1.0)  # into the unit disk
    return move * config.max_move, actions[:, 2] > 0


class TreeWorldEnv(gym.Env):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 20}

    def __init__(self, config: TreeWorldConfig | dict | None = None, render_mode: str | None = None,
                 render_size: int = 256, device=None):
        self.config = _config(config)
        if render_mode not in (None, "rgb_array"):
            raise CogmapError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode, self.render_size, self.device = render_mode, render_size, device
        self.observation_space = _observation_space(self.config)
        self.action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.world: BatchedTreeWorld | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        world_seed = seed if seed is not None else int(self.np_random.integers(2**31 - 1))
        self.world = BatchedTreeWorld.random_from_config(self.config, [world_seed], allow_death=True, device=self.device)
        return _observe(self.world)[0], {"world_seed": world_seed}

    def step(self, action):
        if self.world is None:
            raise CogmapError("call reset() before step()")
        move, rest = _decode_actions(action, 1, self.config, self.world.device)
        outcome = self.world.step(move, rest)
        info = {"ate": bool(outcome.ate[0]), "ate_poison": bool(outcome.ate_poison[0])}
        return _observe(self.world)[0], float(outcome.health_change[0]), not bool(self.world.alive[0]), False, info

    def render(self):
        if self.render_mode == "rgb_array" and self.world is not None:
            return render_rgb(self.world, 0, self.render_size)
        return None


class TreeWorldVectorEnv(VectorEnv):
    """``num_envs`` Tree Worlds stepped as one batch; finished worlds are replaced in the same step.

    Autoreset mode ``SameStep``: the observation returned for a world that just ended is the
    first of its next episode; the last one is in ``info["final_obs"]`` (rows marked by
    ``info["_final_obs"]``).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 20, "autoreset_mode": AutoresetMode.SAME_STEP}

    def __init__(self, num_envs: int = 8, config: TreeWorldConfig | dict | None = None, max_episode_steps: int = 1000,
                 render_mode: str | None = None, render_size: int = 256, device=None):
        check_positive_int("num_envs", num_envs)
        check_positive_int("max_episode_steps", max_episode_steps)
        self.config, self.num_envs, self.max_episode_steps = _config(config), num_envs, max_episode_steps
        self.render_mode, self.render_size, self.device = render_mode, render_size, device
        self.single_observation_space = _observation_space(self.config)
        self.single_action_space = spaces.Box(-1.0, 1.0, shape=(3,), dtype=np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.world: BatchedTreeWorld | None = None
        self._rng = np.random.default_rng()

    def _new_seeds(self, count: int) -> list[int]:
        return [int(s) for s in self._rng.integers(2**31 - 1, size=count)]

    def reset(self, *, seed: int | list[int] | None = None, options: dict | None = None):
        if isinstance(seed, (list, tuple)):
            if len(seed) != self.num_envs:
                raise CogmapError(f"{len(seed)} seeds for {self.num_envs} environments")
            seeds, self._rng = [int(s) for s in seed], np.random.default_rng(list(seed))
        elif seed is not None:
            seeds, self._rng = [int(seed) + i for i in range(self.num_envs)], np.random.default_rng(seed)
        else:
            seeds = self._new_seeds(self.num_envs)
        self.world = BatchedTreeWorld.random_from_config(self.config, seeds, allow_death=True, device=self.device)
        self.world_seeds = np.array(seeds)
        return _observe(self.world), {"world_seed": self.world_seeds.copy()}

    def step(self, actions):
        if self.world is None:
            raise CogmapError("call reset() before step()")
        w = self.world
        move, rest = _decode_actions(actions, self.num_envs, self.config, w.device)
        outcome = w.step(move, rest)
        observation = _observe(w)
        reward = outcome.health_change.cpu().numpy().astype(np.float64)
        terminated = (~w.alive).cpu().numpy()
        truncated = (w.steps >= self.max_episode_steps).cpu().numpy() & ~terminated
        info = {"ate": outcome.ate.cpu().numpy(), "ate_poison": outcome.ate_poison.cpu().numpy()}
        done = terminated | truncated
        if done.any():
            info["final_obs"], info["_final_obs"] = observation.copy(), done
            self._replace(np.flatnonzero(done))
            observation = _observe(w)
        return observation, reward, terminated, truncated, info

    def _replace(self, rows: np.ndarray) -> None:
        """New worlds (fresh seeds) in ``rows``, with agents and trees reset."""
        seeds = self._new_seeds(len(rows))
        fresh = random_layout(self.config, seeds)
        w, index = self.world, torch.as_tensor(rows, device=self.world.device)
        w.layout.location[index] = fresh.location.to(w.device)
        w.layout.poisonous[index] = fresh.poisonous.to(w.device)
        w.layout.embeddings.coefficients[index] = fresh.embeddings.coefficients.to(w.device)
        for row, names in zip(rows, fresh.fruit_type):
            w.layout.fruit_type[row] = names
        self.world_seeds[rows] = seeds
        mask = torch.zeros(self.num_envs, dtype=torch.bool, device=w.device)
        mask[index] = True
        w.reset(mask)

    def render(self):
        if self.render_mode == "rgb_array" and self.world is not None:
            return tuple(render_rgb(self.world, i, self.render_size) for i in range(self.num_envs))
        return None


def register() -> None:
    if ENV_ID not in gym.registry:
        gym.register(id=ENV_ID, entry_point="cogmap.treeworld.env:TreeWorldEnv",
                     vector_entry_point="cogmap.treeworld.env:TreeWorldVectorEnv", max_episode_steps=1000)
