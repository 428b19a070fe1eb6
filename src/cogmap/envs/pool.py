"""EnvPool's batched C++ environments behind cogmap's :class:`~cogmap.envs.vector.VectorEnv`.

`EnvPool <https://envpool.readthedocs.io>`_ steps a batch of environments in C++ threads (no
Python loop over the copies); its MuJoCo Playground tasks include Unitree Go1 tracking a joystick
command (``Go1JoystickFlatTerrain-v1``: 12 position-controlled joints, a 48-d observation with the
command, a 123-d privileged state for a critic). :class:`EnvPoolVectorEnv` makes one such batch
look like every other environment of cogmap:

- a copy whose episode ends is reset in the same step (EnvPool's own reset comes one step later,
  that step's action ignored): the step returns the next episode's first observation and keeps
  the last one in ``final_observation``, as Gymnasium's ``SAME_STEP`` mode does;
- a dict observation gives the agent its ``state`` entry and keeps the others (``privileged_state``)
  in :attr:`EnvPoolVectorEnv.extras`, with the step's ``info`` (the reward terms, the command);
- ``num_threads`` (0: one per copy, EnvPool's default) is where a big machine spends its cores;
- ``without_last_action`` drops the previous action from the Go1 joystick tasks' observation (48 -> 36).

In :func:`cogmap.envs.make_env` a name ``envpool/<Task>`` is this class; ``env_kwargs`` go to
``envpool.make`` (e.g. ``{num_threads: 2, max_episode_steps: 1000}``). Needs ``pip install
envpool`` (cogmap's ``envpool`` extra).
"""

from __future__ import annotations

import difflib
import math

import numpy as np
import torch

from cogmap.envs.vector import Transition, action_bounds
from cogmap.errors import CogmapError, check_memory, check_positive_int

PREFIX = "envpool/"
ACTOR_KEY = "state"  # the entry of a dict observation the agent sees
# Where a task's observation holds the previous action (MuJoCo Playground's joystick tasks: linear velocity,
# gyro, gravity, joint angles and velocities, then the last action, then the command; measured on EnvPool).
LAST_ACTION = {"Go1JoystickFlatTerrain-v1": slice(33, 45), "Go1JoystickRoughTerrain-v1": slice(33, 45)}
# Memory per copy where it is known: EnvPool's MuJoCo Playground tasks load the model once per copy (the Go1's
# meshes and its data arena: 13.5 GB resident for 256 copies, measured), so many copies can exhaust a machine.
BYTES_PER_COPY = {"Go1JoystickFlatTerrain-v1": 55e6, "Go1JoystickRoughTerrain-v1": 55e6}


def check_options(task: str, defaults: dict, options: dict) -> None:
    """Refuse, in one line, a setting of ``task`` that EnvPool does not have or that cannot mean anything: a
    word for a number, a number for a switch, a width (``*sigma``) that is not positive. EnvPool itself
    answers a mistyped value with its C++ constructor's signature, and takes a sigma of -1 (which would
    turn a reward for being near the command into one for being far from it)."""
    for key, value in options.items():
        if key not in defaults:
            near = difflib.get_close_matches(key, list(defaults), n=1)
            hint = f"; did you mean {near[0]!r}?" if near else ""
            raise CogmapError(f"EnvPool's {task} has no setting {key!r}{hint}")
        default = defaults[key]
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise CogmapError(f"{key} of EnvPool's {task} is a switch (true or false), got {value!r}")
        elif isinstance(default, (int, float)):
            number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            if not number or (isinstance(default, int) and not isinstance(value, int)):
                kind = "a whole number" if isinstance(default, int) else "a number"
                raise CogmapError(f"{key} of EnvPool's {task} must be {kind} (its default: {default}), got {value!r}")
            if key.endswith("sigma") and value <= 0:
                raise CogmapError(f"{key} of EnvPool's {task} is a width and must be > 0, got {value!r}")


class EnvPoolVectorEnv:
    """``num_envs`` copies of the EnvPool task ``task``, seeded ``seed``, as a :class:`VectorEnv` of tensors."""

    def __init__(self, task: str, num_envs: int = 16, seed: int = 0, device=None, num_threads: int = 0,
                 without_last_action: bool = False, **options):
        check_positive_int("num_envs", num_envs)
        if without_last_action and task not in LAST_ACTION:
            raise CogmapError(f"without_last_action: cogmap knows where the last action is only in "
                              f"{', '.join(LAST_ACTION)}, not in {task!r}")
        check_positive_int("num_threads", num_threads, minimum=0)
        if task in BYTES_PER_COPY:
            check_memory(num_envs * BYTES_PER_COPY[task], f"{num_envs:,} copies of EnvPool's {task} (num_envs)",
                         "ask for fewer copies")
        try:
            import envpool
        except ImportError:
            raise CogmapError(f"env {PREFIX}{task} needs EnvPool: pip install envpool (cogmap's extra: "
                              "pip install -e '.[envpool]')") from None
        if task not in envpool.list_all_envs():
            raise CogmapError(f"EnvPool has no task {task!r}")
        check_options(task, envpool.make_spec(task).config._asdict(), options)
        try:
            self.env = envpool.make(task, env_type="gymnasium", num_envs=num_envs, seed=int(seed),
                                    num_threads=num_threads, **options)
        except (TypeError, ValueError, RuntimeError) as error:
            raise CogmapError(f"env {PREFIX}{task} cannot be made: {' '.join(str(error).split())[:300]}") from None
        self.task, self.num_envs, self.seed = task, num_envs, int(seed)
        self.device = torch.device(device or "cpu")
        space, actions = self.env.observation_space, self.env.action_space
        spaces = dict(space.spaces) if hasattr(space, "spaces") else {ACTOR_KEY: space}
        if ACTOR_KEY not in spaces:
            raise CogmapError(f"EnvPool task {task!r} has no {ACTOR_KEY!r} observation (it has {sorted(spaces)})")
        # The agent's observation without the previous action it took, where asked (a controller with no
        # such feedback, as Rush et al.'s walker has).
        self.keep = None
        width = int(np.prod(spaces[ACTOR_KEY].shape))
        if without_last_action:
            drop = LAST_ACTION[task]
            self.keep = np.r_[0:drop.start, drop.stop:width]
        self.observation_dim = width if self.keep is None else len(self.keep)
        self.extra_dims = {k: int(np.prod(v.shape)) for k, v in spaces.items() if k != ACTOR_KEY}
        self.action_shape = actions.shape
        self.action_dim = int(np.prod(actions.shape))
        self.action_low, self.action_high = action_bounds(actions, self.device, f"EnvPool task {task!r}")
        self.observation_scale = None
        self.extras: dict[str, torch.Tensor] = {}  # the dict observation's other entries, after the last call
        self.final_extras: dict[str, torch.Tensor] = {}  # the same at the last step of the episodes that just ended
        self.info: dict = {}  # EnvPool's info of the last step (reward terms, command, ...), in copy order

    def _split(self, observation, rows: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        if not isinstance(observation, dict):
            observation = {ACTOR_KEY: observation}
        flat = {k: np.asarray(v, dtype=np.float32).reshape(len(v), -1) for k, v in observation.items()}
        actor = flat.pop(ACTOR_KEY)
        return (actor if self.keep is None else actor[:, self.keep]), flat

    def _tensor(self, array: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(array, device=self.device)

    def reset(self) -> torch.Tensor:
        observation, info = self.env.reset()
        order = np.argsort(info["env_id"])
        actor, extras = self._split(observation)
        self.extras = {k: self._tensor(v[order]) for k, v in extras.items()}
        self.final_extras = dict(self.extras)
        return self._tensor(actor[order])

    def step(self, action: torch.Tensor) -> Transition:
        action = torch.as_tensor(action).detach().reshape(self.num_envs, self.action_dim).cpu().numpy()
        observation, reward, terminated, truncated, info = self.env.step(
            action.astype(np.float64).reshape(self.num_envs, *self.action_shape))
        order = np.argsort(info["env_id"])  # results in copy order, whatever order EnvPool returns them in
        actor, extras = self._split(observation)
        actor, extras = actor[order], {k: v[order] for k, v in extras.items()}
        terminated, truncated = np.asarray(terminated, bool)[order], np.asarray(truncated, bool)[order]
        final = actor.copy()
        self.final_extras = {k: self._tensor(v.copy()) for k, v in extras.items()}
        ended = np.flatnonzero(terminated | truncated)
        if len(ended):  # reset them now: the next step is their next episode's first
            fresh, fresh_info = self.env.reset(ended.astype(np.int32))
            rows = np.asarray(fresh_info["env_id"])
            fresh_actor, fresh_extras = self._split(fresh)
            actor[rows] = fresh_actor
            for key, value in fresh_extras.items():
                extras[key][rows] = value
        self.extras = {k: self._tensor(v) for k, v in extras.items()}
        self.info = {k: np.asarray(v)[order] for k, v in info.items() if isinstance(v, np.ndarray) and len(v) == self.num_envs}
        return Transition(self._tensor(actor), self._tensor(np.asarray(reward, np.float32)[order]),
                          self._tensor(terminated), self._tensor(truncated), self._tensor(final))

    def close(self) -> None:
        self.env.close()


def make_batched(name: str, num_envs: int, seed: int = 0, device=None, env_kwargs: dict | None = None) -> EnvPoolVectorEnv:
    """The registry's factory for ``envpool/<Task>`` (:func:`cogmap.envs.make_env`)."""
    return EnvPoolVectorEnv(name[len(PREFIX):], num_envs, seed=seed, device=device, **(env_kwargs or {}))
