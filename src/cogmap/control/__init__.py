"""Recurrent controllers trained by reinforcement learning, their environments, and the trained policies.

>>> from cogmap.control import load_policy
>>> policy = load_policy("pretrained/control/pendulum_po_gru.pt")   # a checkpoint or a run folder
>>> policy.reset(); action = policy.act(observation)                # raw Gymnasium observations in

Importing this package registers with Gymnasium ``cogmap/PendulumNoVelocity-v1`` (Pendulum-v1
without the angular velocity, the partially observable task of the ``pendulum_po_*`` policies)
and the commanded-velocity walkers ``cogmap/CheetahVelocity-v0`` and ``cogmap/AntVelocity-v0``
(:mod:`cogmap.control.locomotion`; making them needs ``pip install "gymnasium[mujoco]"``), and
``cogmap/ArmReach-v0``, reaching with the 3-D two-joint arm (:mod:`cogmap.control.reaching`), and
``cogmap/Reacher-v5``, Gymnasium's Reacher-v5 observed in full or blind, with a path integrator's
state added (:mod:`cogmap.control.reacher`).
"""

from cogmap.control.envs import (
                                 PENDULUM_NO_VELOCITY,
                                 BatchedPendulum,
                                 GymnasiumVectorEnv,
                                 Transition,
                                 VectorEnv,
                                 make_env,
                                 register,
)
from cogmap.control.locomotion import ANT_ID, CHEETAH_ID
from cogmap.control.locomotion import register as register_walkers
from cogmap.control.policies import AgentOutput, RecurrentActorCritic
from cogmap.control.policy import Policy, Recording, checkpoints, load_policy
from cogmap.control.ppo import PPOConfig, evaluate, evaluate_policy, load_agent, load_control_config, train
from cogmap.control.reacher import REACHER_ID, reacher_episodes
from cogmap.control.reacher import register as register_reacher
from cogmap.control.reaching import ARM_REACH_ID, BatchedArmReach, reach_episodes
from cogmap.control.reaching import register as register_reaching

register()
register_walkers()
register_reaching()
register_reacher()

__all__ = ["ANT_ID", "ARM_REACH_ID", "CHEETAH_ID", "PENDULUM_NO_VELOCITY", "REACHER_ID", "AgentOutput",
           "BatchedArmReach", "BatchedPendulum", "GymnasiumVectorEnv", "PPOConfig", "Policy", "Recording",
           "RecurrentActorCritic", "Transition", "VectorEnv", "checkpoints", "evaluate", "evaluate_policy", "load_agent",
           "load_control_config", "load_policy", "make_env", "reach_episodes", "reacher_episodes", "train"]
