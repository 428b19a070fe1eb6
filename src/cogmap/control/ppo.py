"""Recurrent PPO for the batched pendulum, readable top to bottom (CleanRL's spirit).

Why PPO rather than A2C: several epochs of clipped updates per rollout get much more out of
each environment step, and the issue's budget is steps (100k). Every rollout is exactly one
200-step episode of each of ``num_envs`` pendulums (Pendulum-v1 always truncates at 200), so
the recurrent state starts at zero at the start of every sequence and truncated BPTT runs over
whole episodes, with no hidden-state bookkeeping across resets. Truncation is not termination:
the value of the final observation is bootstrapped. Observations are scaled by fixed factors
(the velocity by 1/8) and rewards by ``reward_scale``, so runs do not depend on running
statistics. A checkpoint (weights and the update's numbers) is written after every update.
"""

from __future__ import annotations

import csv
import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import yaml

from cogmap.control.envs import OBSERVATION_MODES, BatchedPendulum
from cogmap.control.policies import CELLS, RecurrentActorCritic
from cogmap.errors import CogmapError, check_choice, check_positive, check_positive_int
from cogmap.files import atomic_path, read_yaml_mapping, write_text_atomic
from cogmap.typed import from_flat_dict, parse_overrides


@dataclass
class PPOConfig:
    # The defaults are the first runs' settings (RESULTS.md), kept because tests size their runs
    # by them; configs/control/pendulum_*.yaml hold the tuned settings behind the results.
    observation: str = "partial"  # "full": cos, sin, velocity; "partial": cos, sin
    cell: str = "rnn"
    hidden: int = 64
    head: int = 64
    total_steps: int = 100_000
    num_envs: int = 8  # each update collects num_envs x 200 steps
    epochs: int = 10
    minibatches: int = 4  # sequences are split among this many minibatches
    lr: float = 3e-3  # decays linearly to 0
    gamma: float = 0.95
    gae_lambda: float = 0.95
    clip: float = 0.2
    value_coef: float = 0.5
    entropy_coef: float = 0.0
    max_grad_norm: float = 0.5
    reward_scale: float = 0.1
    log_std: float = 0.0
    noise_repeat: int = 1  # exploration noise is redrawn every this many steps (held in between)
    eval_episodes: int = 20
    seed: int = 0

    def __post_init__(self):
        check_choice("observation", self.observation, OBSERVATION_MODES)
        check_choice("cell", self.cell, CELLS)
        for name in ("hidden", "head", "total_steps", "num_envs", "epochs", "minibatches", "eval_episodes",
                     "noise_repeat"):
            check_positive_int(name, getattr(self, name))
        for name in ("lr", "clip", "max_grad_norm", "reward_scale"):
            check_positive(name, getattr(self, name))
        for name in ("gamma", "gae_lambda"):
            if not 0 < getattr(self, name) <= 1:
                raise CogmapError(f"{name} must be in (0, 1], got {getattr(self, name)!r}")
        if self.minibatches > self.num_envs:
            raise CogmapError(f"minibatches ({self.minibatches}) cannot exceed num_envs ({self.num_envs})")

    @property
    def updates(self) -> int:
        return max(1, self.total_steps // (self.num_envs * BatchedPendulum.max_steps))


def load_control_config(path=None, overrides=()) -> PPOConfig:
    values = read_yaml_mapping(path) if path is not None else {}
    values.update(parse_overrides(overrides, nested=False))
    return from_flat_dict(PPOConfig, values, "control config")


def scale_observations(observations: torch.Tensor) -> torch.Tensor:
    if observations.shape[-1] == 3:
        return observations * torch.tensor([1.0, 1.0, 1 / BatchedPendulum.max_speed])
    return observations


def make_agent(config: PPOConfig) -> RecurrentActorCritic:
    return RecurrentActorCritic(3 if config.observation == "full" else 2, 1, config.cell, config.hidden, config.head,
                                BatchedPendulum.max_torque, config.log_std)


@torch.no_grad()
def rollout(agent: RecurrentActorCritic, env: BatchedPendulum, deterministic: bool = False,
            generator: torch.Generator | None = None, noise_repeat: int = 1) -> dict[str, torch.Tensor]:
    """One 200-step episode of every pendulum: observations, actions, log-probs, rewards, values, states, angles.

    ``noise_repeat`` > 1 holds each exploration noise draw for that many steps: a swing-up needs
    torque of one sign for many steps, which independent per-step noise rarely produces (the
    reason for gSDE's ``sde_sample_freq`` in Raffin et al. 2022). Each action's log-probability is
    still that of the per-step Gaussian, the usual approximation for correlated exploration.
    """
    n, steps = env.num_envs, env.max_steps
    observation = scale_observations(env.reset())
    state = agent.initial_state(n)
    keys = ("observations", "actions", "log_probs", "rewards", "values", "states", "angles", "speeds")
    out: dict[str, list] = {k: [] for k in keys}
    for t in range(steps):
        mean, value, _, next_state = agent(observation[:, None], state)
        mean = mean[:, 0]
        if deterministic:
            action = mean
        else:
            if t % noise_repeat == 0:
                noise = torch.randn(mean.shape, generator=generator)
            action = mean + agent.log_std.exp() * noise
        out["observations"].append(observation)
        out["actions"].append(action)
        out["log_probs"].append(agent.distribution(mean).log_prob(action).sum(-1))
        out["values"].append(value[:, 0])
        out["states"].append(state)
        out["angles"].append(env.theta.float().clone())
        out["speeds"].append(env.speed.float().clone())
        next_observation, reward, _ = env.step(action[:, 0])
        out["rewards"].append(reward)
        observation, state = scale_observations(next_observation), next_state
    result = {k: torch.stack(v, dim=1) for k, v in out.items()}
    _, final_value, _, _ = agent(observation[:, None], state)
    result["final_value"] = final_value[:, 0]
    return result


def advantages(rewards: torch.Tensor, values: torch.Tensor, final_value: torch.Tensor, gamma: float,
               lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over ``(N, T)`` rewards and values, bootstrapping the truncated end with ``final_value``."""
    n, t = rewards.shape
    adv = torch.zeros_like(rewards)
    running = torch.zeros(n)
    for k in reversed(range(t)):
        next_value = final_value if k == t - 1 else values[:, k + 1]
        delta = rewards[:, k] + gamma * next_value - values[:, k]
        running = delta + gamma * lam * running
        adv[:, k] = running
    return adv, adv + values


def evaluate_policy(agent: RecurrentActorCritic, observation: str, episodes: int, seed: int) -> torch.Tensor:
    """Undiscounted returns of ``episodes`` deterministic (mean-action) episodes."""
    env = BatchedPendulum(episodes, observation, seed=seed)
    return rollout(agent, env, deterministic=True)["rewards"].sum(dim=1)


def train(config: PPOConfig, run_dir: str | Path, progress: bool = True) -> Path:
    """Train and write ``config.yaml``, ``metrics.csv`` and ``checkpoints/update_XXXX.pt`` to ``run_dir``."""
    run_dir = Path(run_dir)
    if (run_dir / "metrics.csv").exists():
        raise CogmapError(f"{run_dir} already holds a run; choose another --out")
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    write_text_atomic(run_dir / "config.yaml", yaml.safe_dump(dataclasses.asdict(config), sort_keys=False))
    torch.manual_seed(config.seed)
    agent = make_agent(config)
    optimiser = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=1e-5)
    env = BatchedPendulum(config.num_envs, config.observation, seed=config.seed)
    generator = torch.Generator().manual_seed(config.seed + 1)
    rows, start, steps = [], time.perf_counter(), 0
    for update in range(1, config.updates + 1):
        for group in optimiser.param_groups:  # linear learning-rate decay
            group["lr"] = config.lr * (1 - (update - 1) / config.updates)
        data = rollout(agent, env, generator=generator, noise_repeat=config.noise_repeat)
        steps += data["rewards"].numel()
        rewards = data["rewards"] * config.reward_scale
        adv, returns = advantages(rewards, data["values"], data["final_value"], config.gamma, config.gae_lambda)
        order = torch.randperm(config.num_envs, generator=generator)
        for _ in range(config.epochs):
            for chunk in order.chunk(config.minibatches):
                mean, value, _, _ = agent(data["observations"][chunk], data["states"][chunk, 0])
                dist = agent.distribution(mean)
                log_prob = dist.log_prob(data["actions"][chunk]).sum(-1)
                ratio = (log_prob - data["log_probs"][chunk]).exp()
                a = adv[chunk]
                a = (a - a.mean()) / (a.std() + 1e-8)
                policy_loss = torch.max(-a * ratio, -a * ratio.clamp(1 - config.clip, 1 + config.clip)).mean()
                value_loss = 0.5 * (value - returns[chunk]).pow(2).mean()
                loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * dist.entropy().mean()
                optimiser.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
                optimiser.step()
            order = order[torch.randperm(config.num_envs, generator=generator)]
        episode_return = float(data["rewards"].sum(dim=1).mean())
        row = {"update": update, "steps": steps, "train_return": round(episode_return, 3),
               "policy_loss": round(float(policy_loss.detach()), 5), "value_loss": round(float(value_loss.detach()), 5),
               "std": round(float(agent.log_std.detach().exp()[0]), 4), "elapsed_s": round(time.perf_counter() - start, 2)}
        rows.append(row)
        with atomic_path(run_dir / "checkpoints" / f"update_{update:04d}.pt") as tmp:
            torch.save({"state_dict": agent.state_dict(), "config": dataclasses.asdict(config), "update": update,
                        "steps": steps, "train_return": episode_return}, tmp)
        if progress:
            print(f"update {update:3d}/{config.updates}  steps {steps:6d}  return {episode_return:8.1f}  "
                  f"std {row['std']:.3f}", flush=True)
    returns = evaluate_policy(agent, config.observation, config.eval_episodes, seed=10_000 + config.seed)
    rows[-1]["eval_return_mean"] = round(float(returns.mean()), 3)
    rows[-1]["eval_return_sd"] = round(float(returns.std()), 3)
    with atomic_path(run_dir / "metrics.csv") as tmp:
        with open(tmp, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[-1]))
            writer.writeheader()
            writer.writerows(rows)
    return run_dir


def load_agent(checkpoint: str | Path) -> tuple[RecurrentActorCritic, PPOConfig]:
    path = Path(checkpoint)
    if not path.is_file():
        raise CogmapError(f"no checkpoint at {path}")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    config = PPOConfig(**saved["config"])
    agent = make_agent(config)
    agent.load_state_dict(saved["state_dict"])
    return agent, config
