"""The commanded-velocity walkers (MuJoCo through Gymnasium) and the PPO pieces they need."""

import csv
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from cogmap.envs import ANT_ID, CHEETAH_ID
from cogmap.envs.pendulum import BatchedPendulum
from cogmap.errors import CogmapError
from cogmap.rl import load_policy
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.config import PPOConfig
from cogmap.rl.ppo import advantages, collect, sequence_forward, sequences, train


def test_the_cheetah_is_rewarded_for_tracking_its_command():
    env = gym.make(CHEETAH_ID, command_low=-2.0, command_high=3.0)
    observation, info = env.reset(seed=0)
    command = info["command"][0]
    assert observation.shape == (18,) and observation[-1] == pytest.approx(command) and -2 <= command <= 3
    rng = np.random.default_rng(0)
    for _ in range(5):
        action = rng.uniform(-1, 1, size=6).astype(np.float32)
        observation, reward, terminated, truncated, info = env.step(action)
        by_hand = -abs(info["x_velocity"] - command) - 0.05 * float(np.sum(action.astype(np.float64) ** 2))
        assert reward == pytest.approx(by_hand, abs=1e-6) and not terminated
        assert info["contacts"].shape == (2,) and info["contacts"].dtype == bool
    # Commands are redrawn every episode, reproducibly from the seed; a fixed command stays.
    drawn = [env.reset(seed=7)[1]["command"][0]] + [env.reset()[1]["command"][0] for _ in range(4)]
    again = [env.reset(seed=7)[1]["command"][0]] + [env.reset()[1]["command"][0] for _ in range(4)]
    assert drawn == again and len(set(drawn)) == 5
    assert env.reset(options={"command": -1.5})[1]["command"][0] == -1.5
    fixed = gym.make(CHEETAH_ID, command=2.0)
    assert all(fixed.reset(seed=s)[1]["command"][0] == 2.0 for s in range(3))
    with pytest.raises(CogmapError, match="command"):
        env.reset(options={"command": [1.0, 2.0]})


def test_making_a_walker_writes_nothing_to_the_console_or_the_working_directory(tmp_path, monkeypatch, capfd):
    # Gymnasium's XML uses an attribute MuJoCo deprecates; MuJoCo would say so on stderr and in a log file.
    monkeypatch.chdir(tmp_path)
    for env_id in (CHEETAH_ID, ANT_ID):
        gym.make(env_id).reset(seed=0)
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == "" and list(tmp_path.iterdir()) == []


def test_a_standing_cheetah_has_both_feet_on_the_floor():
    env = gym.make(CHEETAH_ID)
    env.reset(seed=0)
    for _ in range(20):
        _, _, _, _, info = env.step(np.zeros(6, dtype=np.float32))
    assert info["contacts"].tolist() == [True, True]


def test_the_ant_measures_its_velocity_in_its_own_heading():
    env = gym.make(ANT_ID)
    observation, info = env.reset(seed=0)
    assert observation.shape == (108,) and info["command"].shape == (3,)
    # Turn the torso to face +y (yaw 90 degrees) and push it along +y in the world: that is forward.
    inner = env.unwrapped
    qpos, qvel = inner.data.qpos.copy(), inner.data.qvel.copy()
    qpos[3:7] = [math.cos(math.pi / 4), 0.0, 0.0, math.sin(math.pi / 4)]
    qvel[:] = 0.0
    qvel[1] = 1.0
    inner.set_state(qpos, qvel)
    _, reward, _, _, info = env.step(np.zeros(8, dtype=np.float32))
    forward, lateral, turn = info["velocity"]
    assert forward > 0.5 and abs(lateral) < 0.2 * forward and abs(turn) < 0.5
    command = info["command"]
    by_hand = (info["reward_survive"] + math.exp(-((forward - command[0]) ** 2 + (lateral - command[1]) ** 2) / 0.1)
               + 0.5 * math.exp(-((turn - command[2]) ** 2) / 0.1) + info["reward_ctrl"] + info["reward_contact"])
    assert reward == pytest.approx(by_hand, abs=1e-9)
    # Standing still costs nothing, so no episode is worth ending early: an untrained ant's steps still pay.
    action = np.full(8, 0.5, dtype=np.float32)
    _, reward, _, _, info = env.step(action)
    assert info["reward_ctrl"] == pytest.approx(-0.05 * 8 * 0.25) and reward > 0.5
    assert info["contacts"].shape == (4,)


def test_the_ants_linear_penalty_adds_the_absolute_errors_by_hand():
    kernels, linear = gym.make(ANT_ID, command=(0.7, -0.2, 0.3)), \
        gym.make(ANT_ID, command=(0.7, -0.2, 0.3), linear_weight=2.0, turn_weight=0.25)
    kernels.reset(seed=3)
    linear.reset(seed=3)
    action = np.linspace(-0.8, 0.8, 8, dtype=np.float32)
    _, r0, _, _, info0 = kernels.step(action)
    _, r1, _, _, info1 = linear.step(action)
    np.testing.assert_allclose(info0["velocity"], info1["velocity"])  # same physics, another reward
    e = np.abs(info1["velocity"] - np.array([0.7, -0.2, 0.3]))
    turn_kernel = math.exp(-e[2] ** 2 / 0.1)
    by_hand = r0 - 0.5 * turn_kernel + 0.25 * turn_kernel - 2.0 * (e[0] + e[1] + 0.25 * e[2])
    assert r1 == pytest.approx(by_hand, abs=1e-9)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(CogmapError, match="linear_weight"):
            gym.make(ANT_ID, linear_weight=bad)


def test_bptt_sequences_start_from_the_recorded_states():
    # Cut into sequences, the rollout replays exactly: each piece starts from the state it had.
    agent = RecurrentActorCritic(3, cell="lstm", encoder=(16,))
    env = BatchedPendulum(4, "full", seed=0)
    data = collect(agent, env, env.reset(), agent.initial_state(4), torch.ones(4, dtype=torch.bool), 200,
                   torch.Generator().manual_seed(0))[0]
    adv, returns = advantages(data.rewards, data.values, data.next_values, data.terminated, data.done, 0.99, 0.95)
    for length in (200, 50, 8):
        seq = sequences(data, adv, returns, length)
        assert seq.observations.shape == (4 * 200 // length, length, 3)
        with torch.no_grad():
            mean, value = sequence_forward(agent, seq.observations, seq.states, seq.starts)[:2]
        log_prob = agent.distribution(mean).log_prob(seq.actions).sum(-1)
        assert torch.allclose(log_prob, seq.log_probs, atol=1e-4)
        assert torch.allclose(value, data.values.reshape(value.shape), atol=1e-4)
    with pytest.raises(CogmapError, match="multiple of bptt"):
        PPOConfig(num_steps=200, bptt=64)
    with pytest.raises(CogmapError, match="sequences"):
        PPOConfig(num_envs=2, minibatches=4)


def test_a_short_walker_run_trains_loads_and_acts_on_the_raw_environment(tmp_path):
    config = PPOConfig(env=CHEETAH_ID, cell="lstm", hidden=16, head=16, encoder=(16,), num_envs=2, num_steps=64,
                       bptt=16, minibatches=4, epochs=2, total_steps=256, normalize_observations=True,
                       eval_episodes=1, seed=0)
    train(config, tmp_path / "walker", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "walker" / "metrics.csv")))
    assert len(rows) == 2 and all(math.isfinite(float(r["approx_kl"])) for r in rows)
    policy = load_policy(tmp_path / "walker")
    assert policy.agent.normalizer.count > 0  # running statistics were gathered and saved
    env = gym.make(CHEETAH_ID, command=1.0)
    observation, _ = env.reset(seed=0)
    policy.reset()
    for _ in range(3):
        action = policy.act(observation)
        assert action.shape == (6,) and action.dtype == np.float32 and np.abs(action).max() <= 1
        observation, *_ = env.step(action)


def test_env_kwargs_reach_the_environment_in_training_and_in_the_study():
    from cogmap.envs import make_env
    from cogmap.rl.config import load_control_config, make_env_for

    config = load_control_config(None, [f"env={ANT_ID}", "env_kwargs={frame_skip: 5, tracking_sigma: 0.25}"])
    env = make_env_for(config, num_envs=2)
    inner = env.env.envs[0]
    assert inner.unwrapped.dt == pytest.approx(0.05) and inner.get_wrapper_attr("tracking_sigma") == 0.25
    assert make_env(ANT_ID, 1).env.envs[0].unwrapped.dt == pytest.approx(0.02)  # the default, 50 Hz
    with pytest.raises(CogmapError, match="cannot be made"):
        make_env(ANT_ID, 1, env_kwargs={"no_such_option": 1})
    with pytest.raises(CogmapError, match="pendulum: only observation"):
        make_env("pendulum", 1, env_kwargs={"g": 9.81})
