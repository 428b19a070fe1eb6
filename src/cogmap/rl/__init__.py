"""The learner: recurrent PPO, the actor-critics it trains, trained policies and their episodes.

>>> from cogmap.rl import PPOConfig, train, load_policy
>>> train(PPOConfig(env="pendulum", env_kwargs={"observation": "partial"}, cell="gru"), "runs/control/pendulum_po_gru")
>>> policy = load_policy("runs/control/pendulum_po_gru")            # or cogmap.load(...)
>>> policy.reset(); action = policy.act(observation)                # raw observations in

- :mod:`cogmap.rl.config`: :class:`PPOConfig`, every setting of a run;
- :mod:`cogmap.rl.agents`: :class:`RecurrentActorCritic` (RNN, GRU, LSTM or an MLP control);
- :mod:`cogmap.rl.ppo`: the algorithm and :func:`train` (run folders, byte-exact resume);
- :mod:`cogmap.rl.policy`: :class:`Policy` (reset, act, record) and its checkpoints;
- :mod:`cogmap.rl.episodes`: deterministic episodes and their scores.

The environments are in :mod:`cogmap.envs`.
"""

from cogmap.rl.agents import CELLS, AgentOutput, RecurrentActorCritic
from cogmap.rl.config import PPOConfig, load_control_config, make_env_for
from cogmap.rl.episodes import evaluate, evaluate_policy, reach_episodes, reacher_episodes
from cogmap.rl.policy import Policy, Recording, checkpoints, load_agent, load_policy, make_agent, save_policy
from cogmap.rl.ppo import train

__all__ = ["CELLS", "AgentOutput", "PPOConfig", "Policy", "Recording", "RecurrentActorCritic", "checkpoints", "evaluate",
           "evaluate_policy", "load_agent", "load_control_config", "load_policy", "make_agent", "make_env_for",
           "reach_episodes", "reacher_episodes", "save_policy", "train"]
