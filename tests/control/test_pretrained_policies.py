"""The shipped pendulum policies, run the way a user would: on Gymnasium's own environments, raw observations in."""

import math
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from cogmap.envs import PENDULUM_NO_VELOCITY, BatchedPendulum
from cogmap.rl import load_policy
from tests.manifest import recorded, shipped

PRETRAINED = Path(__file__).resolve().parents[2] / "pretrained" / "control"

# RESULTS.md, "Recurrent PPO on the pendulum", per-seed returns of seed 0 (the shipped runs) over
# 1,000 deterministic episodes of `cogmap control evaluate`.
# Recorded in pretrained/manifest.json.
RECORDED = {name[len("pendulum_"):]: recorded(f"control/{name}.pt")["return_mean"]
            for name in shipped("control") if name.startswith("pendulum_")}
EPISODES = 40


def play(policy, env, seed):
    observation, _ = env.reset(seed=seed)
    start = env.unwrapped.state.copy()
    policy.reset()
    total, done = 0.0, False
    while not done:
        action = policy.act(observation)
        assert action.shape == env.action_space.shape and action.dtype == np.float32
        observation, reward, terminated, truncated, _ = env.step(action)
        total += reward
        done = terminated or truncated
    return total, start


@pytest.mark.parametrize("name", list(RECORDED))
def test_shipped_policy_scores_its_recorded_return_on_gymnasiums_pendulum(name):
    policy = load_policy(PRETRAINED / f"pendulum_{name}.pt")
    assert policy.config.cell == name[3:] and policy.config.observation == ("full" if name[:2] == "fo" else "partial")
    env = gym.make("Pendulum-v1" if name.startswith("fo") else PENDULUM_NO_VELOCITY)
    returns, starts = zip(*(play(policy, env, seed) for seed in range(EPISODES)))
    returns = np.array(returns)
    # Within the noise of a 40-episode mean (3 standard errors) of the 1,000-episode figure...
    assert abs(returns.mean() - RECORDED[name]) < 3 * returns.std(ddof=1) / math.sqrt(EPISODES) + 1.0
    assert returns.mean() > -250  # ...and a swing-up, far from the untrained policy's -1,200
    # ...and episode by episode what cogmap's own batched pendulum gives from the same start states.
    batched = BatchedPendulum(EPISODES, policy.config.observation, autoreset=False)
    starts = np.array(starts)
    observation = batched.set_state(torch.tensor(starts[:, 0]), torch.tensor(starts[:, 1]))
    policy.reset(EPISODES)
    ours = torch.zeros(EPISODES)
    for _ in range(200):
        step = batched.step(policy.act(observation))
        ours += step.reward
        observation = step.observation
    assert np.allclose(ours.numpy(), returns, atol=0.1)
