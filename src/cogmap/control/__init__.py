"""The names ``from cogmap.control import ...`` gave before the controllers' code was split by job.

Nothing lives here any more; each name comes from its home:

- the learner (PPO, actor-critics, policies and their checkpoints, episodes): :mod:`cogmap.rl`;
- the environments (the pendulum, the reaching arm, Reacher, the walkers) and :func:`make_env`: :mod:`cogmap.envs`;
- the studies of trained controllers: :mod:`cogmap.studies`.

>>> from cogmap.control import load_policy           # still works; cogmap.load(path) is the one call for any file
"""

from cogmap.envs import (
    ANT_ID,
    ARM_REACH_ID,
    CHEETAH_ID,
    PENDULUM_NO_VELOCITY,
    REACHER_ID,
    BatchedArmReach,
    BatchedPendulum,
    GymnasiumVectorEnv,
    Transition,
    VectorEnv,
    make_env,
)
from cogmap.rl import (
    AgentOutput,
    Policy,
    PPOConfig,
    Recording,
    RecurrentActorCritic,
    checkpoints,
    evaluate,
    evaluate_policy,
    load_agent,
    load_control_config,
    load_policy,
    reach_episodes,
    reacher_episodes,
    train,
)

__all__ = ["ANT_ID", "ARM_REACH_ID", "CHEETAH_ID", "PENDULUM_NO_VELOCITY", "REACHER_ID", "AgentOutput",
           "BatchedArmReach", "BatchedPendulum", "GymnasiumVectorEnv", "PPOConfig", "Policy", "Recording",
           "RecurrentActorCritic", "Transition", "VectorEnv", "checkpoints", "evaluate", "evaluate_policy", "load_agent",
           "load_control_config", "load_policy", "make_env", "reach_episodes", "reacher_episodes", "train"]
