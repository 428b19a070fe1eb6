"""Recurrent PPO on the partially observable pendulum: cogmap against sb3-contrib's RecurrentPPO.

Same task (Pendulum-v1 with the angular velocity removed from the observation), same step
budget, same machine, one run: environment steps per second of training and the mean return
of 20 deterministic evaluation episodes afterwards. cogmap: `configs/control/pendulum_po_lstm.yaml`
(LSTM 64, its batched pendulums). sb3-contrib: RecurrentPPO with an LSTM of 64 units, as many
environments (DummyVecEnv) as the config's ``num_envs``, its default PPO settings otherwise.
Needs `pip install sb3-contrib`.

    python benchmarks/bench_control.py                     # 100k steps, seed 0
    python benchmarks/bench_control.py --steps 20000 --seeds 0,1
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch

from cogmap.envs import PENDULUM_NO_VELOCITY
from cogmap.rl import evaluate_policy, load_control_config, load_policy, train

CONFIG = "configs/control/pendulum_po_lstm.yaml"


def ours(steps: int, seed: int) -> tuple[float, float]:
    config = load_control_config(CONFIG, [f"total_steps={steps}", f"seed={seed}"])
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(config, folder, progress=False)
        elapsed = time.perf_counter() - start
        policy = load_policy(folder)
    returns = evaluate_policy(policy, "partial", 20, seed=20_000 + seed)
    return config.updates * config.num_envs * 200 / elapsed, float(returns.mean())


def theirs(steps: int, seed: int, num_envs: int) -> tuple[float, float]:
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(PENDULUM_NO_VELOCITY, n_envs=num_envs, seed=seed)
    model = RecurrentPPO("MlpLstmPolicy", env, seed=seed, verbose=0, device="cpu",
                         policy_kwargs={"lstm_hidden_size": 64, "net_arch": [64]})
    start = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - start
    returns = []
    for episode in range(20):
        single = gym.make(PENDULUM_NO_VELOCITY)
        observation, _ = single.reset(seed=20_000 + seed * 100 + episode)
        state, start_flag, total = None, np.ones((1,), dtype=bool), 0.0
        for _ in range(200):
            action, state = model.predict(observation[None], state=state, episode_start=start_flag, deterministic=True)
            observation, reward, terminated, truncated, _ = single.step(action[0])
            total += reward
            start_flag = np.zeros((1,), dtype=bool)
        returns.append(total)
    return model.num_timesteps / elapsed, float(np.mean(returns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--seeds", default="0")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}; {args.steps} steps, partially observable pendulum")
    num_envs = load_control_config(CONFIG, []).num_envs
    print(f"{num_envs} environments on both sides")
    print(f"{'seed':>5} {'cogmap steps/s':>15} {'sb3 steps/s':>12} {'ratio':>6} {'cogmap return':>14} {'sb3 return':>11}")
    for seed in [int(s) for s in args.seeds.split(",")]:
        our_rate, our_return = ours(args.steps, seed)
        their_rate, their_return = theirs(args.steps, seed, num_envs)
        print(f"{seed:>5} {our_rate:>15,.0f} {their_rate:>12,.0f} {our_rate / their_rate:>6.1f} "
              f"{our_return:>14.1f} {their_return:>11.1f}", flush=True)


if __name__ == "__main__":
    main()
