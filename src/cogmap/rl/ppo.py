"""Recurrent PPO for any batched environment, readable top to bottom (CleanRL's spirit).

Why PPO rather than A2C: several epochs of clipped updates per rollout get much more out of
each environment step, and our budgets are counted in steps (100k for the pendulum).

Each update collects ``num_steps`` steps of ``num_envs`` environments (a :class:`VectorEnv`:
the batched torch pendulum or any Gymnasium environment with Box spaces), carrying the
environments and the recurrent state over from one update to the next and zeroing the state
where an episode starts. Truncated BPTT then runs over each environment's whole rollout:
in one fused call of the core when no episode starts inside it (the pendulum: every rollout
is exactly one 200-step episode), step by step with the state reset at episode starts
otherwise. Truncation is not termination: a truncated episode's value is bootstrapped from
its final observation. Rewards are scaled by ``reward_scale``; observations are scaled inside
the agent (the environment's fixed factors, or running statistics with
``normalize_observations``), so a saved agent takes raw observations.

A run folder (:mod:`cogmap.runs`) holds ``config.yaml``, ``metrics.csv`` (one row per update,
appended as training goes: returns, losses, approximate KL, clip fraction, explained variance,
entropy, steps per second; the final evaluation in the last row; the same curves in
``tensorboard/`` when TensorBoard is installed), ``checkpoints/update_XXXX.pt`` after every
update (for learning-dynamics studies; load one with :func:`cogmap.rl.policy.load_policy`) and
``resume.pt``, everything needed to continue an interrupted run exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cogmap.config import load, to_dict
from cogmap.devices import resolve_device
from cogmap.envs import GymnasiumVectorEnv, VectorEnv
from cogmap.envs.vector import WithPrivilegedState
from cogmap.errors import CogmapError
from cogmap.files import load_torch_file
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.config import PPOConfig, make_env_for
from cogmap.rl.episodes import evaluate
from cogmap.rl.policy import env_description, load_policy, make_agent, save_policy
from cogmap.runs import (
    PPO_RESUME,
    Board,
    MetricsLog,
    changed_settings,
    check_header,
    check_run_folder,
    has_header,
    prepare_run_folder,
    save_checkpoint,
    save_config,
)


@dataclass
class Rollout:
    """``num_steps`` steps of every environment, ``(N, T, ...)``."""

    observations: torch.Tensor  # raw, as the environments returned them
    actions: torch.Tensor
    log_probs: torch.Tensor
    rewards: torch.Tensor  # unscaled
    values: torch.Tensor
    next_values: torch.Tensor  # the value after each step (0 after a termination)
    terminated: torch.Tensor  # bool
    done: torch.Tensor  # bool: terminated or truncated
    states: torch.Tensor  # the recurrent state before each step
    starts: torch.Tensor  # bool: the step's observation is the first of an episode


@torch.no_grad()
def collect(agent: RecurrentActorCritic, env: VectorEnv, observation: torch.Tensor, state: torch.Tensor,
            starts: torch.Tensor, num_steps: int, generator: torch.Generator | None = None, noise_repeat: int = 1,
            episode_returns: torch.Tensor | None = None, finished: list | None = None, reward_terms: dict | None = None):
    """Act ``num_steps`` times in every environment; returns the :class:`Rollout` and where things stand after it.

    ``noise_repeat`` > 1 holds each exploration noise draw for that many steps: a swing-up needs
    torque of one sign for many steps, which independent per-step noise rarely produces (the
    reason for gSDE's ``sde_sample_freq`` in Raffin et al. 2022). Each action's log-probability is
    still that of the per-step Gaussian, the usual approximation for correlated exploration.
    Noise is drawn on the CPU from ``generator``, so a seed gives the same run on any device.
    Returns of episodes that end are appended to ``finished``; where the environment reports its reward's
    terms (``env.info["reward_*"]``, as MuJoCo Playground's tasks do), ``reward_terms`` gets their means
    over the rollout.
    """
    keys = ("observations", "actions", "log_probs", "rewards", "values", "next_values", "terminated", "done",
            "states", "starts")
    out: dict[str, list] = {k: [] for k in keys}
    for t in range(num_steps):
        step = agent(observation, state)
        mean = step.mean
        if t % noise_repeat == 0:
            noise = torch.randn(mean.shape, generator=generator).to(mean.device)
        action = mean + agent.log_std.exp() * noise
        transition = env.step(action)
        done = transition.terminated | transition.truncated
        if reward_terms is not None:
            for key, value in getattr(env, "info", {}).items():
                if key.startswith("reward_"):
                    reward_terms[key] = reward_terms.get(key, 0.0) + float(np.mean(value)) / num_steps
        next_value = torch.zeros_like(step.value)
        if bool(transition.truncated.any()):
            # A cut-off episode still has a future: its value from the last observation it saw.
            next_value = torch.where(transition.truncated, agent(transition.final_observation, step.state).value,
                                     next_value)
        for key, value in (("observations", observation), ("actions", action), ("rewards", transition.reward),
                           ("log_probs", agent.distribution(mean).log_prob(action).sum(-1)), ("values", step.value),
                           ("next_values", next_value), ("terminated", transition.terminated), ("done", done),
                           ("states", state), ("starts", starts)):
            out[key].append(value)
        if episode_returns is not None:
            episode_returns += transition.reward
            if finished is not None and bool(done.any()):
                finished.extend(episode_returns[done].tolist())
            episode_returns[done] = 0.0
        observation, starts = transition.observation, done
        state = torch.where(done[:, None], torch.zeros_like(step.state), step.state)
    rollout = Rollout(**{k: torch.stack(v, dim=1) for k, v in out.items()})
    # Where the rollout stops mid-episode, bootstrap from the next observation's value.
    last_value = agent(observation, state).value
    following = torch.cat([rollout.values[:, 1:], last_value[:, None]], dim=1)
    rollout.next_values = torch.where(rollout.done, rollout.next_values, following)
    return rollout, observation, state, starts


def advantages(rewards: torch.Tensor, values: torch.Tensor, next_values: torch.Tensor, terminated: torch.Tensor,
               done: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over ``(N, T)`` steps: advantages and returns (advantages + values).

    ``next_values[:, t]`` is the value after step ``t`` (the bootstrap at a truncation or at the
    end of the rollout); nothing follows a termination, and no advantage flows back across the
    end of an episode.
    """
    n, t = rewards.shape
    adv = torch.zeros_like(rewards)
    running = torch.zeros(n, dtype=rewards.dtype, device=rewards.device)
    alive_after = (~terminated).to(rewards.dtype)
    continues = (~done).to(rewards.dtype)
    for k in reversed(range(t)):
        delta = rewards[:, k] + gamma * next_values[:, k] * alive_after[:, k] - values[:, k]
        running = delta + gamma * lam * running * continues[:, k]
        adv[:, k] = running
    return adv, adv + values


def sequence_forward(agent: RecurrentActorCritic, observations: torch.Tensor, state: torch.Tensor,
                     starts: torch.Tensor):
    """The agent over whole sequences ``(n, T, O)`` from ``state``, zeroing the state where an episode starts.

    Sequences without an episode start after their first step run through the core in one fused
    call; only those with one are stepped through, with the state reset there.
    """
    inside = starts[:, 1:].any(dim=1)
    if not bool(inside.any()):
        out = agent(observations, state)
        return out.mean, out.value
    mean = observations.new_empty(*observations.shape[:2], agent.action_dim)
    value = observations.new_empty(observations.shape[:2])
    plain = ~inside
    if bool(plain.any()):
        out = agent(observations[plain], state[plain])
        mean[plain], value[plain] = out.mean, out.value
    rows, h = inside.nonzero()[:, 0], state[inside]
    means, values = [], []
    for t in range(observations.shape[1]):
        if t:
            h = torch.where(starts[rows, t, None], torch.zeros_like(h), h)
        step = agent(observations[rows, t], h)
        means.append(step.mean)
        values.append(step.value)
        h = step.state
    mean[rows], value[rows] = torch.stack(means, 1), torch.stack(values, 1)
    return mean, value


@dataclass
class Sequences:
    """A rollout cut into BPTT sequences ``(N * K, L, ...)``, each with the recurrent state it started from."""

    observations: torch.Tensor
    actions: torch.Tensor
    log_probs: torch.Tensor
    advantages: torch.Tensor
    returns: torch.Tensor
    states: torch.Tensor  # (N * K, S)
    starts: torch.Tensor


def sequences(data: Rollout, advantages_: torch.Tensor, returns: torch.Tensor, length: int) -> Sequences:
    """Cut every environment's rollout into ``T / length`` consecutive sequences (environment-major)."""
    n, t = data.rewards.shape

    def cut(x: torch.Tensor) -> torch.Tensor:
        return x.reshape(n * (t // length), length, *x.shape[2:])

    return Sequences(cut(data.observations), cut(data.actions), cut(data.log_probs), cut(advantages_), cut(returns),
                     data.states[:, ::length].reshape(n * (t // length), -1), cut(data.starts))


def explained_variance(predicted: torch.Tensor, target: torch.Tensor) -> float:
    """``1 - Var(target - predicted) / Var(target)``: 1 for a perfect value function, 0 for a constant one."""
    variance = float(target.var())
    return float("nan") if variance == 0 else 1.0 - float((target - predicted).var()) / variance


METRICS = ("update", "steps", "train_return", "episodes", "policy_loss", "value_loss", "entropy", "approx_kl",
           "clip_fraction", "explained_variance", "std", "lr", "steps_per_s", "elapsed_s", "eval_return_mean",
           "eval_return_sd")


def resume_state(path: Path) -> dict:
    """What ``resume.pt`` holds, flat: the states (``agent``, ``optimizer``, ``generator``, ``env``,
    ``observation``, ``state``, ``starts``, ``episode_returns``) and ``update``, ``steps``, ``elapsed_s``.

    Reads the one checkpoint header of :mod:`cogmap.runs` and the flat files written before it, so a
    run begun by an earlier cogmap still resumes.
    """
    saved = load_torch_file(path, "resume state")
    if not has_header(saved):
        return saved
    check_header(saved, path, PPO_RESUME)
    state = dict(saved["state"])
    state["state"] = state.pop("recurrent_state")
    return {**state, **{key: saved[key] for key in ("update", "steps", "elapsed_s")}}


def _check_run_dir(run_dir: Path, config: PPOConfig, force: bool, resume: bool) -> None:
    """The run folder's rules (:mod:`cogmap.runs`), and what a resumed run needs: its state, its config."""
    check_run_folder(run_dir, force, resume)
    if resume:
        if not (run_dir / "resume.pt").is_file():
            raise CogmapError(f"--resume: {run_dir} holds no resume.pt; is it a control train run?")
        differs = changed_settings(to_dict(load(PPOConfig, run_dir / "config.yaml")), to_dict(config),
                                   may_change=("total_steps", "eval_episodes", "device"))
        if differs:
            raise CogmapError(f"--resume: the config differs from the run's in {', '.join(differs)}; only total_steps, "
                              "eval_episodes and device may change")


def initialise_from(agent: RecurrentActorCritic, source: str | Path) -> None:
    """Copy a saved agent's weights (observation statistics and action noise included) into ``agent``.

    The environment may differ (a fine-tune on a changed task), but observations and actions must
    have the same sizes and the network the same shape; anything else is one error naming the mismatch.
    """
    saved = load_policy(source).agent.state_dict()
    own = agent.state_dict()
    missing = sorted(set(own) ^ set(saved))
    shapes = [f"{k} {tuple(saved[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
              if k in saved and saved[k].shape != v.shape]
    if missing or shapes:
        raise CogmapError(f"init_from {source}: its network differs from this config's "
                          f"({', '.join(missing + shapes)[:300]})")
    agent.load_state_dict({k: v.to(own[k].device) for k, v in saved.items()})


def as_vector_env(env, device=None, critic: str = "shared") -> VectorEnv:
    """A :class:`VectorEnv` from a torch one (returned as is) or a Gymnasium vector environment (wrapped);
    with ``critic="privileged"``, one whose observations carry the privileged state after them."""
    import gymnasium as gym

    if critic == "privileged" and not isinstance(env, WithPrivilegedState):
        return WithPrivilegedState(as_vector_env(env, device))
    if isinstance(env, gym.vector.VectorEnv):
        return GymnasiumVectorEnv(env, device=device)
    missing = [name for name in ("num_envs", "observation_dim", "action_dim", "action_low", "action_high", "reset",
                                 "step") if not hasattr(env, name)]
    if missing:
        raise CogmapError(f"env must be a Gymnasium vector env or follow cogmap.envs.VectorEnv; "
                          f"{type(env).__name__} has no {', '.join(missing)}")
    return env


@dataclass
class Cursor:
    """Where the environments stand between updates: the last observation, the recurrent state, which
    copies start an episode at the next step, and the returns of the episodes under way."""

    observation: torch.Tensor
    state: torch.Tensor
    starts: torch.Tensor
    episode_returns: torch.Tensor

    @classmethod
    def fresh(cls, env: VectorEnv, agent: RecurrentActorCritic) -> Cursor:
        """New episodes in every copy."""
        observation = env.reset()
        device = observation.device
        return cls(observation, agent.initial_state(env.num_envs), torch.ones(env.num_envs, dtype=torch.bool, device=device),
                   torch.zeros(env.num_envs, device=device))

    def state_dict(self) -> dict:
        return {"observation": self.observation.cpu(), "recurrent_state": self.state.cpu(), "starts": self.starts.cpu(),
                "episode_returns": self.episode_returns.cpu()}

    @classmethod
    def from_saved(cls, saved: dict, device) -> Cursor:
        """The cursor of a :func:`resume_state` (which names the recurrent state ``state``)."""
        return cls(*(saved[key].to(device) for key in ("observation", "state", "starts", "episode_returns")))


LOSSES = ("policy_loss", "value_loss", "entropy", "approx_kl", "clip_fraction")


ADAPTIVE_LR_BOUNDS = (1e-5, 1e-2)


def adapt_learning_rate(optimiser: torch.optim.Optimizer, kl: float, desired_kl: float) -> None:
    """RSL-RL's adaptive step size: smaller after a minibatch that moved the policy too far (KL above twice
    the target), larger after one that barely moved it (below half). The rate lives in the optimiser's
    state, so a resumed run continues with it."""
    low, high = ADAPTIVE_LR_BOUNDS
    for group in optimiser.param_groups:
        if kl > 2 * desired_kl:
            group["lr"] = max(low, group["lr"] / 1.5)
        elif 0 <= kl < desired_kl / 2:
            group["lr"] = min(high, group["lr"] * 1.5)


def update_policy(agent: RecurrentActorCritic, optimiser: torch.optim.Optimizer, data: Rollout, config: PPOConfig,
                  generator: torch.Generator) -> tuple[dict, torch.Tensor]:
    """PPO's update on one rollout: ``config.epochs`` passes of clipped minibatch steps over its
    BPTT sequences, in an order drawn from ``generator``. Returns the mean of each of
    :data:`LOSSES` over the minibatches, and the (unscaled-reward) returns the values were fitted to."""
    adv, returns = advantages(data.rewards * config.reward_scale, data.values, data.next_values,
                              data.terminated, data.done, config.gamma, config.gae_lambda)
    sums = dict.fromkeys(LOSSES, 0.0)
    count = 0
    seq = sequences(data, adv, returns, config.sequence_length)
    device = data.rewards.device
    order = torch.randperm(config.sequences, generator=generator).to(device)
    for _ in range(config.epochs):
        for chunk in order.chunk(config.minibatches):
            mean, value = sequence_forward(agent, seq.observations[chunk], seq.states[chunk], seq.starts[chunk])[:2]
            dist = agent.distribution(mean)
            log_ratio = dist.log_prob(seq.actions[chunk]).sum(-1) - seq.log_probs[chunk]
            ratio = log_ratio.exp()
            a = seq.advantages[chunk]
            a = (a - a.mean()) / (a.std() + 1e-8)
            policy_loss = torch.max(-a * ratio, -a * ratio.clamp(1 - config.clip, 1 + config.clip)).mean()
            value_loss = 0.5 * (value - seq.returns[chunk]).pow(2).mean()
            entropy = dist.entropy().mean()
            loss = policy_loss + config.value_coef * value_loss - config.entropy_coef * entropy
            if config.lr_schedule == "adaptive":
                adapt_learning_rate(optimiser, float(((ratio - 1) - log_ratio).detach().mean()), config.desired_kl)
            optimiser.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(agent.parameters(), config.max_grad_norm)
            optimiser.step()
            with torch.no_grad():  # CleanRL's diagnostics of how far the update moved the policy
                for key, value_ in (("policy_loss", policy_loss), ("value_loss", value_loss), ("entropy", entropy),
                                    ("approx_kl", ((ratio - 1) - log_ratio).mean()),
                                    ("clip_fraction", ((ratio - 1).abs() > config.clip).float().mean())):
                    sums[key] += float(value_)
            count += 1
        order = order[torch.randperm(config.sequences, generator=generator).to(device)]
    return {key: total / count for key, total in sums.items()}, returns


def _closing(env, ours: bool) -> None:
    if ours and hasattr(env, "close"):
        env.close()


def train(config: PPOConfig, run_dir: str | Path, progress: bool = True, force: bool = False,
          resume: bool = False, env=None, eval_env=None) -> Path:
    """Train (or, with ``resume``, continue) a run in ``run_dir``; see the module's docstring for what it writes.

    The environments are ``config.env``'s, or ``env``: any :class:`VectorEnv` or Gymnasium vector
    environment (``SAME_STEP`` autoreset) of ``config.num_envs`` copies. The final evaluation
    runs ``config.eval_episodes`` episodes of ``config.env``, or one episode of each copy of
    ``eval_env``. The run folder follows :mod:`cogmap.runs`: an existing run is never overwritten
    unless ``force`` (which replaces the folder), and ``resume`` continues the one there.
    """
    from tqdm.auto import tqdm

    run_dir = Path(run_dir)
    device = resolve_device(config.device, "device")
    _check_run_dir(run_dir, config, force, resume)
    # An environment that cannot be made stops the run before any file is written.
    made = env is None  # environments made here are closed here; a caller's are left to the caller
    env = make_env_for(config, device=device, training=True) if made else as_vector_env(env, device, config.critic)
    if env.num_envs != config.num_envs:
        raise CogmapError(f"env has {env.num_envs} copies but num_envs is {config.num_envs}")
    described = env_description(env)
    with torch.random.fork_rng(devices=[]):  # seeded weights without touching the caller's random state
        torch.manual_seed(config.seed)
        agent = make_agent(config, described).to(device)
    if config.init_from is not None and not resume:
        initialise_from(agent, config.init_from)  # before any file is written: a bad source leaves nothing
    prepare_run_folder(run_dir, force, resume)
    (run_dir / "checkpoints").mkdir(exist_ok=True)
    save_config(run_dir, config)
    board = Board(run_dir, "ppo")
    optimiser = torch.optim.Adam(agent.parameters(), lr=config.lr, eps=1e-5)
    generator = torch.Generator().manual_seed(config.seed + 1)
    metrics = MetricsLog(run_dir, METRICS)
    first, steps, elapsed = 1, 0, 0.0
    if resume:
        saved = resume_state(run_dir / "resume.pt")
        agent.load_state_dict(saved["agent"])
        optimiser.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        if saved.get("env") is not None and hasattr(env, "load_state_dict"):
            env.load_state_dict(saved["env"])
            cursor = Cursor.from_saved(saved, device)
        else:  # an environment that cannot be saved starts new episodes
            cursor = Cursor.fresh(env, agent)
        first, steps, elapsed = saved["update"] + 1, saved["steps"], saved["elapsed_s"]
        metrics.keep(lambda row: int(row["update"]) < first)
    else:
        cursor = Cursor.fresh(env, agent)
        metrics.start()
    bar = tqdm(range(first, config.updates + 1), desc="updates", unit="update", disable=not progress,
               initial=first - 1, total=config.updates)
    for update in bar:
        start = time.perf_counter()
        if config.lr_schedule != "adaptive":  # the adaptive rate is the optimiser's own, changed as it updates
            lr = config.lr * (1 - (update - 1) / config.updates) if config.lr_schedule == "linear" else config.lr
            for group in optimiser.param_groups:
                group["lr"] = lr
        finished: list[float] = []
        terms: dict[str, float] = {}
        data, *where = collect(agent, env, cursor.observation, cursor.state, cursor.starts, config.num_steps, generator,
                               config.noise_repeat, cursor.episode_returns, finished, terms)
        cursor = Cursor(*where, cursor.episode_returns)  # collect() adds to the running returns in place
        steps += data.rewards.numel()
        losses, returns = update_policy(agent, optimiser, data, config, generator)
        lr = optimiser.param_groups[0]["lr"]
        if config.normalize_observations:
            agent.normalizer.update(data.observations)  # the next rollout and its training see the same statistics
        seconds = time.perf_counter() - start
        elapsed += seconds
        train_return = sum(finished) / len(finished) if finished else float("nan")
        row = {"update": update, "steps": steps, "train_return": round(train_return, 3), "episodes": len(finished),
               **{k: round(v, 6) for k, v in losses.items()},
               "explained_variance": round(explained_variance(data.values, returns), 4),
               "std": round(float(agent.log_std.detach().exp()[0]), 4), "lr": float(f"{lr:.6g}"),
               "steps_per_s": round(data.rewards.numel() / seconds, 1), "elapsed_s": round(elapsed, 2),
               "eval_return_mean": "", "eval_return_sd": ""}
        row.update({key: round(value, 6) for key, value in sorted(terms.items())})  # the task's own terms, if any
        metrics.append(row)  # on disk now: an interrupted run keeps its history
        board.log({k: v for k, v in row.items() if k not in ("update", "steps")}, steps)
        if update % config.checkpoint_every == 0 or update == config.updates:
            save_policy(run_dir / "checkpoints" / f"update_{update:04d}.pt", agent, config, described, update=update,
                        steps=steps, train_return=train_return)
        save_checkpoint(run_dir / "resume.pt", PPO_RESUME, to_dict(config), {
            "agent": agent.state_dict(), "optimizer": optimiser.state_dict(), "generator": generator.get_state(),
            "env": env.state_dict() if hasattr(env, "state_dict") else None, **cursor.state_dict()},
            update=update, steps=steps, elapsed_s=elapsed)
        bar.set_postfix(ret=f"{train_return:.1f}", std=row["std"], kl=f"{row['approx_kl']:.4f}")
    bar.close()
    made_eval = eval_env is None
    eval_env = make_env_for(config, num_envs=config.eval_episodes, seed=10_000 + config.seed, device=device) \
        if made_eval else as_vector_env(eval_env, device)
    returns = evaluate(agent, eval_env)
    final = {"eval_return_mean": round(float(returns.mean()), 3),
             "eval_return_sd": round(float(returns.std()), 3) if len(returns) > 1 else 0.0}
    metrics.update_last(final)
    board.log(final, steps)
    board.close()
    _closing(env, made)
    _closing(eval_env, made_eval)
    return run_dir
