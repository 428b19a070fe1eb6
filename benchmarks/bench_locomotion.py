"""Recurrent PPO on the commanded-velocity cheetah: cogmap against sb3-contrib's RecurrentPPO, same task and budget.

Both train an LSTM of 128 cells after an MLP layer of 128 on `cogmap/CheetahVelocity-v0` with 16
environments and running observation normalisation, for the same number of environment steps;
then each is evaluated on the same 16 deterministic episodes (seeds 50,000-50,015, commands drawn
from those seeds). cogmap: `configs/control/cheetah_speed_lstm.yaml` with `total_steps` set.
sb3-contrib: `RecurrentPPO("MlpLstmPolicy")` with `lstm_hidden_size=128`, `net_arch=[128]`,
`n_steps=200`, `batch_size=400`, its defaults otherwise, over a `DummyVecEnv` with `VecNormalize`
(observations only). Needs `pip install sb3-contrib "gymnasium[mujoco]"`.

    python benchmarks/bench_locomotion.py --steps 200000
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch

from cogmap.envs import CHEETAH_ID
from cogmap.rl import load_control_config, load_policy, train

CONFIG = "configs/control/cheetah_speed_lstm.yaml"
EVAL_SEEDS = range(50_000, 50_016)


def evaluate(act, reset_state) -> float:
    returns = []
    for seed in EVAL_SEEDS:
        env = gym.make(CHEETAH_ID)
        observation, _ = env.reset(seed=seed)
        state = reset_state()
        total, done = 0.0, False
        while not done:
            action, state = act(observation, state)
            observation, reward, terminated, truncated, _ = env.step(action)
            total += reward
            done = terminated or truncated
        returns.append(total)
    return float(np.mean(returns))


def ours(steps: int, seed: int) -> tuple[float, float]:
    config = load_control_config(CONFIG, [f"total_steps={steps}", f"seed={seed}", "eval_episodes=1"])
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(config, folder, progress=False)
        elapsed = time.perf_counter() - start
        policy = load_policy(folder)

    def act(observation, _):
        return policy.act(observation), None

    def reset():
        policy.reset()

    return config.updates * config.num_envs * config.num_steps / elapsed, evaluate(act, reset)


def theirs(steps: int, seed: int) -> tuple[float, float]:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    env = VecNormalize(make_vec_env(CHEETAH_ID, n_envs=16, seed=seed), norm_reward=False)
    model = RecurrentPPO("MlpLstmPolicy", env, seed=seed, verbose=0, device="cpu", n_steps=200, batch_size=400,
                         policy_kwargs={"lstm_hidden_size": 128, "net_arch": [128]})
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - start
    env.training = False

    def act(observation, state):
        lstm_state, first = state
        normalised = env.normalize_obs(observation[None])
        action, lstm_state = model.predict(normalised, state=lstm_state, episode_start=np.array([first]),
                                           deterministic=True)
        return action[0], (lstm_state, False)

    return model.num_timesteps / elapsed, evaluate(act, lambda: (None, True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; {args.steps} steps of {CHEETAH_ID}, 16 environments, LSTM 128")
    our_rate, our_return = ours(args.steps, args.seed)
    print(f"cogmap:      {our_rate:,.0f} steps/s, evaluation return {our_return:.1f}", flush=True)
    their_rate, their_return = theirs(args.steps, args.seed)
    print(f"sb3-contrib: {their_rate:,.0f} steps/s, evaluation return {their_return:.1f}")
    print(f"ratio of steps/s: {our_rate / their_rate:.1f}x")


if __name__ == "__main__":
    main()
