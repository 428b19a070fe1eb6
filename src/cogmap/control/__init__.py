"""Recurrent controllers trained by reinforcement learning, their environments, and the trained policies.

>>> from cogmap.control import load_policy
>>> policy = load_policy("pretrained/control/pendulum_po_gru.pt")   # a checkpoint or a run folder
>>> policy.reset(); action = policy.act(observation)                # raw Gymnasium observations in

Importing this package registers ``cogmap/PendulumNoVelocity-v1`` with Gymnasium: Pendulum-v1
without the angular velocity, the partially observable task of the ``pendulum_po_*`` policies.
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
from cogmap.control.policies import AgentOutput, RecurrentActorCritic
from cogmap.control.policy import Policy, Recording, checkpoints, load_policy
from cogmap.control.ppo import PPOConfig, evaluate, evaluate_policy, load_agent, load_control_config, train

register()

__all__ = ["PENDULUM_NO_VELOCITY", "AgentOutput", "BatchedPendulum", "GymnasiumVectorEnv", "PPOConfig", "Policy", "Recording",
           "RecurrentActorCritic", "Transition", "VectorEnv", "checkpoints", "evaluate", "evaluate_policy",
           "load_agent", "load_control_config", "load_policy", "make_env", "train"]
