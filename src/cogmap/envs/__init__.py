"""The environments cogmap's controllers act in, by name: batched torch environments and Gymnasium ids.

:func:`make_env` makes ``num_envs`` copies of an environment behind the one protocol PPO trains
on (:class:`~cogmap.envs.vector.VectorEnv`). Its names are the batched torch environments of
:data:`BATCHED` (``pendulum``: :mod:`cogmap.envs.pendulum`; ``arm_reach``: the 3-D two-joint arm
of :mod:`cogmap.envs.reaching`; ``go1``); any other name is a Gymnasium id, made as a synchronous vector
environment (:class:`~cogmap.envs.vector.GymnasiumVectorEnv`); ``envpool/<Task>`` is an EnvPool task
(:mod:`cogmap.envs.pool`, e.g. ``envpool/Go1JoystickFlatTerrain-v1``); ``go1`` is the same Go1 task in
Python on MuJoCo, its command held, its feet's contacts reported, pushable (:mod:`cogmap.envs.go1`). A new batched environment is one
module with a ``make_batched`` factory and one line in :data:`BATCHED`.

Importing this package registers with Gymnasium ``cogmap/PendulumNoVelocity-v1`` (Pendulum-v1
without the angular velocity), the commanded-velocity walkers ``cogmap/CheetahVelocity-v0`` and
``cogmap/AntVelocity-v0`` (:mod:`cogmap.envs.locomotion`; making them needs
``pip install "gymnasium[mujoco]"``), ``cogmap/ArmReach-v0`` (one reaching arm) and
``cogmap/Reacher-v5`` (Gymnasium's Reacher-v5 observed in full or blind, with a path
integrator's state added: :mod:`cogmap.envs.reacher`).
"""

from __future__ import annotations

from collections.abc import Callable

from cogmap.envs import go1, locomotion, pendulum, pool, reacher, reaching
from cogmap.envs.locomotion import ANT_ID, CHEETAH_ID
from cogmap.envs.pendulum import OBSERVATION_MODES, PENDULUM_NO_VELOCITY, BatchedPendulum
from cogmap.envs.reacher import REACHER_ID
from cogmap.envs.reaching import ARM_REACH_ID, BatchedArmReach, PoseController
from cogmap.envs.vector import GymnasiumVectorEnv, Transition, VectorEnv

# name -> factory(num_envs, seed, device, env_kwargs): the batched torch environments.
BATCHED: dict[str, Callable[..., VectorEnv]] = {
    "pendulum": pendulum.make_batched,
    "arm_reach": reaching.make_batched,
    "go1": go1.make_batched,
}


def make_env(name: str, num_envs: int, seed: int = 0, device=None, env_kwargs: dict | None = None) -> VectorEnv:
    """``num_envs`` copies of the environment ``name`` (a key of :data:`BATCHED` or a Gymnasium id), seeded.

    ``env_kwargs`` are the environment's own settings, given to its constructor (e.g.
    ``{"observation": "full"}`` for the pendulum, ``{"observe": "pose"}`` for the arm,
    ``{"frame_skip": 5}`` for a Gymnasium id).
    """
    if name.startswith(pool.PREFIX):
        return pool.make_batched(name, num_envs, seed=seed, device=device, env_kwargs=env_kwargs)
    factory = BATCHED.get(name)
    if factory is None:
        return GymnasiumVectorEnv(name, num_envs, seed=seed, device=device, **(env_kwargs or {}))
    return factory(num_envs, seed=seed, device=device, env_kwargs=env_kwargs)


for _module in (pendulum, locomotion, reaching, reacher):
    _module.register()

__all__ = ["ANT_ID", "ARM_REACH_ID", "BATCHED", "CHEETAH_ID", "OBSERVATION_MODES", "PENDULUM_NO_VELOCITY", "REACHER_ID",
           "BatchedArmReach", "BatchedPendulum", "GymnasiumVectorEnv", "PoseController", "Transition", "VectorEnv",
           "make_env"]
