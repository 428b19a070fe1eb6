"""The quadrupeds' engines: EnvPool's Go1 (C++ threads) against Gymnasium's Ant (a Python loop of MuJoCo copies),
and cogmap's Python twin of the Go1 task (``go1``: the studies' engine, a Python loop of MuJoCo copies).

Two numbers per engine, in the same run: environment steps per second (random actions in
[-1, 1], 16 copies, resets included), and recurrent-PPO steps per second (cogmap's trainer on
the same 16 copies: an MLP of 512 and 256 before an LSTM of 128, 100 steps a copy per update,
4-step BPTT, 5 epochs). EnvPool runs at 1 and 2 threads (`num_threads`); Gymnasium's vector env
is synchronous, one thread. Needs `pip install envpool "gymnasium[mujoco]"`.

    python benchmarks/bench_envpool.py
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import torch

from cogmap.envs import make_env
from cogmap.rl import PPOConfig, train

GO1 = "envpool/Go1JoystickFlatTerrain-v1"
ANT = "Ant-v5"


def env_rate(name: str, env_kwargs: dict, num_envs: int, steps: int) -> float:
    env = make_env(name, num_envs, seed=0, env_kwargs=env_kwargs)
    env.reset()
    generator = torch.Generator().manual_seed(0)
    actions = [torch.rand(num_envs, env.action_dim, generator=generator) * 2 - 1 for _ in range(16)]
    for t in range(10):  # warm-up
        env.step(actions[t % 16])
    start = time.perf_counter()
    for t in range(steps):
        env.step(actions[t % 16])
    elapsed = time.perf_counter() - start
    env.close()
    return steps * num_envs / elapsed


def ppo_rate(name: str, env_kwargs: dict, num_envs: int, updates: int) -> float:
    config = PPOConfig(env=name, env_kwargs=env_kwargs, cell="lstm", encoder=(512, 256), hidden=128, head=128,
                       num_envs=num_envs, num_steps=100, bptt=4, minibatches=4, epochs=5, lr=3e-4, gamma=0.99,
                       reward_scale=1.0, log_std=-0.5, noise_repeat=1, normalize_observations=True,
                       total_steps=updates * num_envs * 100, eval_episodes=1)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        train(config, folder, progress=False, eval_env=make_env(name, 1, seed=99, env_kwargs={
            **env_kwargs, **({"max_episode_steps": 10} if name.startswith("envpool/") else {})}))
        elapsed = time.perf_counter() - start
    return config.updates * num_envs * 100 / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=1000, help="environment steps per copy timed (default 1000)")
    parser.add_argument("--updates", type=int, default=6, help="PPO updates timed (default 6)")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
          f"torch threads, {args.envs} copies")
    engines = [(f"Gymnasium {ANT} (sync vector env)", ANT, {}),
               (f"EnvPool {GO1[8:]}, 1 thread", GO1, {"num_threads": 1}),
               (f"EnvPool {GO1[8:]}, 2 threads", GO1, {"num_threads": 2}),
               ("cogmap go1 (the same task in Python)", "go1", {})]
    rows = []
    for label, name, kwargs in engines:
        rows.append((label, env_rate(name, kwargs, args.envs, args.steps), ppo_rate(name, kwargs, args.envs, args.updates)))
    reference = rows[0]
    print(f"{'engine':48} {'env steps/s':>12} {'ratio':>6} {'PPO steps/s':>12} {'ratio':>6}")
    for label, env_steps, ppo_steps in rows:
        print(f"{label:48} {env_steps:12,.0f} {env_steps / reference[1]:6.2f} {ppo_steps:12,.0f} "
              f"{ppo_steps / reference[2]:6.2f}")


if __name__ == "__main__":
    main()
