"""Deterministic episodes of a trained controller, and what they score.

:func:`run_episodes` is the one runner: one deterministic episode in each environment of any
batched :class:`~cogmap.envs.vector.VectorEnv`, with what the study asks to watch or record.
:func:`evaluate` returns the undiscounted returns (what PPO reports at the end of a run);
:func:`reach_episodes` adds the reaching arm's success rate, final
distances and the integrator's drift; :func:`reacher_episodes` does the same on Gymnasium's
Reacher, one seeded episode at a time (Gymnasium's single environment, whose MuJoCo state the
drift is read from). Each takes a :class:`~cogmap.rl.policy.Policy`, a bare
agent, or any controller with ``reset(n)`` and ``act(observations)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from cogmap.envs import BatchedArmReach, BatchedPendulum, VectorEnv
from cogmap.envs.reacher import REACHER_ID
from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.geometry import so3
from cogmap.rl.config import make_env_for
from cogmap.rl.policy import Policy


@dataclass(frozen=True)
class Episodes:
    """What :func:`run_episodes` saw: one deterministic episode per environment of a batch."""

    returns: torch.Tensor  # (N,) undiscounted, the rewards up to and including each episode's last step
    steps: int  # steps taken (the longest episode)
    last: Transition  # the last step's transition (its final_observation is the episodes' last observation)
    watched: dict  # name -> (N, steps, ...) what each probe read from the environment before every step


@torch.no_grad()
def run_episodes(policy, env: VectorEnv, steps: int | None = None, watch: dict | None = None, record: bool = False,
                 max_steps: int = 100_000) -> Episodes:
    """The one episode runner: one deterministic episode of ``policy`` in each environment of ``env``.

    ``policy`` is a :class:`~cogmap.rl.policy.Policy`, a bare agent, or any controller with
    ``reset(n)`` and ``act(observations)``. It runs until every episode has ended, or exactly
    ``steps`` steps when given (tasks whose episodes all end together). ``watch`` maps names to
    functions of the environment read before every step (the pendulum's angle, ...); with
    ``record`` the policy records its layers (:meth:`~cogmap.rl.policy.Policy.recording`).
    Every evaluation of a trained controller on a batched task goes through here.
    """
    policy = policy if hasattr(policy, "act") else Policy(policy)
    observation = env.reset()
    policy.reset(env.num_envs)
    alive = torch.ones(env.num_envs, dtype=torch.bool, device=observation.device)
    rewards, watched = [], {name: [] for name in (watch or {})}
    transition = None
    while (len(rewards) < steps) if steps is not None else bool(alive.any()):
        if len(rewards) >= max_steps:
            raise CogmapError(f"evaluation: episodes still running after {max_steps} steps")
        for name, probe in (watch or {}).items():
            watched[name].append(probe(env))
        action = policy.act(observation, deterministic=True, record=True) if record else \
            policy.act(observation, deterministic=True)
        transition = env.step(action)
        rewards.append(transition.reward * alive.to(transition.reward.dtype))
        alive &= ~(transition.terminated | transition.truncated)
        observation = transition.observation
    return Episodes(torch.stack(rewards, dim=1).sum(dim=1), len(rewards), transition,
                    {name: torch.stack(values, dim=1) for name, values in watched.items()})


def evaluate(policy, env: VectorEnv, max_steps: int = 100_000) -> torch.Tensor:
    """Undiscounted return of every environment's first episode under the deterministic (mean) policy.

    ``policy`` is a :class:`~cogmap.rl.policy.Policy` or a bare agent.
    """
    return run_episodes(policy, env, max_steps=max_steps).returns


def evaluate_policy(policy, observation: str, episodes: int, seed: int) -> torch.Tensor:
    """Returns of ``episodes`` deterministic pendulum episodes (``observation`` full or partial), start states seeded."""
    return evaluate(policy, BatchedPendulum(episodes, observation, seed=seed, device=_device_of(policy)))


def _device_of(policy) -> torch.device:
    agent = getattr(policy, "agent", policy)
    return agent.log_std.device


@torch.no_grad()
def reach_episodes(policy, episodes: int = 200, seed: int = 12345, **env_kwargs) -> dict:
    """Deterministic episodes of ``policy`` (a :class:`~cogmap.rl.policy.Policy`, its agent, or any
    controller with ``reset(n)``, ``act(observations)`` and ``device``, e.g. :class:`~cogmap.envs.reaching.PoseController`):
    the success rate, the final distances' mean and median, and the returns' mean and sd (the
    episodes of ``make_env("arm_reach", episodes, seed)``, as :func:`evaluate` runs them);
    with ``observe="embedding"`` also ``integrator_error_deg``, the mean geodesic error (per joint)
    of the pose the integrator's last state decodes to."""
    policy = policy if hasattr(policy, "act") else Policy(policy)  # a trained agent is wrapped; a controller acts
    env = BatchedArmReach(episodes, seed=seed, device=policy.device, **env_kwargs)
    run = run_episodes(policy, env, steps=env.steps)  # every episode ends at the same step
    total, transition = run.returns.double().cpu(), run.last
    final = env.last_distance.double().cpu()  # before the last step's reset
    result = {"episodes": episodes, "success_rate": float((final < env.success_radius).double().mean()),
              "final_distance_mean": float(final.mean()), "final_distance_median": float(final.median()),
              "return_mean": float(total.mean()), "return_sd": float(total.std())}
    if env.integrator is not None:  # how far the integrator's belief had drifted from the pose by the end
        believed = env.integrator.decode_hidden(transition.final_observation[:, 9:])
        error = so3.distance(believed.double(), env.last_rotations.cpu())
        result["integrator_error_deg"] = float(torch.rad2deg(error).mean())
    return result


@torch.no_grad()
def reacher_episodes(policy, episodes: int = 100, seed: int = 12345, success_radius: float = 0.02,
                     **env_kwargs) -> dict:
    """Deterministic episodes of ``policy`` on ``cogmap/Reacher-v5`` (``env_kwargs``: observe,
    integrator), seeded ``seed, seed + 1, ...``: the success rate (the fingertip within
    ``success_radius`` of the target at the last step; 0.02 m is a tenth of the arm's reach, as
    0.1 m is for the 3-D arm), the final distances' mean and median, the returns' mean and sd, and
    with an integrator ``integrator_error_deg``: the mean error (per joint) of the angles its last
    state decodes to."""
    import gymnasium as gym

    check_positive_int("episodes", episodes)
    check_positive("success_radius", success_radius)
    policy = policy if hasattr(policy, "act") else Policy(policy)
    env = gym.make(REACHER_ID, **env_kwargs)
    model = env.get_wrapper_attr("model")
    finals, returns, errors = [], [], []
    for episode in range(episodes):
        observation, _ = env.reset(seed=seed + episode)
        policy.reset()
        total, done = 0.0, False
        while not done:
            observation, reward, terminated, truncated, info = env.step(policy.act(observation, deterministic=True))
            total, done = total + float(reward), terminated or truncated
        finals.append(info["distance"])
        returns.append(total)
        if model is not None:  # the integrator's belief against MuJoCo's joint angles at the end
            believed = model.decode_hidden(torch.as_tensor(observation[-model.hparams.hidden:])[None])[0, :, 0]
            drift = np.angle(np.exp(1j * (believed.numpy() - env.unwrapped.data.qpos[:2])))
            errors.append(np.degrees(np.abs(drift)).mean())
    finals, returns = np.array(finals), np.array(returns)
    result = {"episodes": episodes, "success_rate": float((finals < success_radius).mean()),
              "final_distance_mean": float(finals.mean()), "final_distance_median": float(np.median(finals)),
              "return_mean": float(returns.mean()), "return_sd": float(returns.std(ddof=1)) if episodes > 1 else 0.0}
    if model is not None:
        result["integrator_error_deg"] = float(np.mean(errors))
    return result


def score_policy(policy: Policy, episodes: int, seed: int) -> dict:
    """The return's mean and sd over ``episodes`` deterministic episodes of the policy's own task, start states seeded.

    On the reaching tasks (the arm on SO(3), Gymnasium's Reacher) the same episodes also give the
    success rate and the mean final distance (:func:`reach_episodes`, :func:`reacher_episodes`).
    """
    check_positive_int("episodes", episodes)
    reaching = {"arm_reach": reach_episodes, REACHER_ID: reacher_episodes}.get(policy.config.env)
    if reaching is not None:
        measured = reaching(policy, episodes, seed, **policy.config.env_kwargs)
        return {key: value for key, value in measured.items() if isinstance(value, (int, float))}
    returns = evaluate(policy, make_env_for(policy.config, num_envs=episodes, seed=seed))
    return {"return_mean": float(returns.mean()), "return_sd": float(returns.std())}
