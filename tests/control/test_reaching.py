"""The reaching arm: kinematics by hand, the same motion as the path integrators' data, the embedding."""

import math
import re
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from cogmap.envs import ARM_REACH_ID, make_env
from cogmap.envs.reaching import BatchedArmReach, hand_position
from cogmap.errors import CogmapError
from cogmap.pathint.data import GenerationConfig, integrate_joints
from cogmap.pathint.model import load_path_integrator
from cogmap.rl import load_policy, reach_episodes
from cogmap.rl.config import PPOConfig
from cogmap.rl.ppo import train

GRU = "pretrained/so3x2_gru.ckpt"


def _rx(angle):
    c, s = math.cos(angle), math.sin(angle)
    return torch.tensor([[1.0, 0, 0], [0, c, -s], [0, s, c]], dtype=torch.float64)


def test_hand_positions_by_hand():
    eye = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(hand_position(torch.stack([eye, eye])), torch.tensor([0, 0, 1.0], dtype=torch.float64))
    # A quarter turn about x at the shoulder lays the whole arm along -y ...
    quarter = _rx(math.pi / 2)
    assert torch.allclose(hand_position(torch.stack([quarter, eye])), torch.tensor([0, -1.0, 0], dtype=torch.float64),
                          atol=1e-12)
    # ... at the elbow only the forearm turns; with links 0.3 and 0.7 the hand is at (0, -0.7, 0.3).
    assert torch.allclose(hand_position(torch.stack([eye, quarter]), (0.3, 0.7)),
                          torch.tensor([0, -0.7, 0.3], dtype=torch.float64), atol=1e-12)


def test_the_hand_jacobian_against_finite_differences():
    from cogmap.envs.reaching import hand_jacobian
    from cogmap.geometry import so3

    rotations = so3.random(8, torch.Generator().manual_seed(0), dtype=torch.float64).reshape(4, 2, 3, 3)
    lengths, h = (0.3, 0.7), 1e-6
    numeric = torch.zeros(4, 3, 6, dtype=torch.float64)
    for k in range(6):
        omega = torch.zeros(4, 2, 3, dtype=torch.float64)
        omega[:, k // 3, k % 3] = h
        plus = hand_position(rotations @ so3.exp(omega), lengths)
        minus = hand_position(rotations @ so3.exp(-omega), lengths)
        numeric[..., k] = (plus - minus) / (2 * h)
    assert torch.allclose(hand_jacobian(rotations, lengths), numeric, atol=1e-8)


def test_the_pose_controller_shows_what_the_task_allows():
    from cogmap.envs.reaching import PoseController

    # 2 s of held decisions: every target is reached; the pilot's 1 s at +-3 rad/s is too short for many
    assert reach_episodes(PoseController(), 200, observe="pose", steps=40, action_repeat=5)["success_rate"] > 0.98
    assert reach_episodes(PoseController(), 200, observe="pose", steps=100)["success_rate"] < 0.85
    with pytest.raises(CogmapError, match="27 numbers"):
        PoseController().act(torch.zeros(2, 9))


def test_the_arm_moves_as_the_path_integrators_data_do():
    env = BatchedArmReach(5, seed=1, observe="pose", steps=50)
    first = env.reset()
    assert first.shape == (5, 27) and torch.allclose(first[:, 9:], torch.eye(3).flatten().repeat(5, 2))
    velocities = torch.rand(5, 30, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 8 - 4
    for t in range(30):
        transition = env.step(velocities[:, t])
    clipped = velocities.clamp(-3, 3)  # the action bounds
    reference = integrate_joints(GenerationConfig(dt=0.01), torch.eye(3, dtype=torch.float64).expand(5, 2, 3, 3),
                                 clipped)[:, -1]
    assert torch.allclose(env.rotations, reference, atol=1e-9)
    assert torch.allclose(transition.observation[:, 3:9], clipped[:, -1].float())
    assert torch.allclose(transition.reward.double(), -(hand_position(reference) - env.target).norm(dim=-1), atol=1e-6)


def test_episodes_end_after_their_steps_and_restart_straight_up():
    env = BatchedArmReach(3, seed=2, steps=4)
    env.reset()
    targets = env.target.clone()
    assert torch.all(targets.norm(dim=-1) <= 1.0 + 1e-9)  # reachable: the hand of some pose
    for t in range(4):
        transition = env.step(torch.ones(3, 6))
        assert bool(transition.truncated.all()) == (t == 3) and not transition.terminated.any()
    assert not torch.allclose(env.target, targets)  # new targets ...
    assert torch.allclose(env.rotations, torch.eye(3, dtype=torch.float64).expand(3, 2, 3, 3))  # ... from the start
    assert torch.allclose(transition.final_observation[:, 3:9], torch.ones(3, 6))
    assert torch.allclose(transition.observation[:, 3:9], torch.zeros(3, 6))


def test_the_embedding_is_the_integrators_state_on_the_applied_velocities():
    env = BatchedArmReach(4, seed=3, observe="embedding", integrator=GRU)
    model = load_path_integrator(GRU)
    assert env.reset().shape == (4, 9 + model.hparams.hidden)
    velocities = torch.randn(4, 25, 6, generator=torch.Generator().manual_seed(1)).clamp(-3, 3)
    for t in range(25):
        transition = env.step(velocities[:, t])
    start = model.place_cells().encode(torch.eye(3).expand(4, 2, 3, 3))
    with torch.no_grad():
        expected = model.get_hidden_states(velocities, start)[:, -1]
    assert torch.allclose(transition.observation[:, 9:], expected, atol=1e-5)


def test_a_held_action_is_that_many_steps_of_it_and_the_integrator_sees_each():
    velocities = torch.randn(3, 6, 6, generator=torch.Generator().manual_seed(2), dtype=torch.float64).clamp(-3, 3)
    held = BatchedArmReach(3, seed=4, observe="embedding", integrator=GRU, action_repeat=4)
    single = BatchedArmReach(3, seed=4, observe="embedding", integrator=GRU)
    held.reset(), single.reset()
    for t in range(6):
        transition = held.step(velocities[:, t])
        for _ in range(4):
            single.step(velocities[:, t])
    assert torch.allclose(held.rotations, single.rotations, atol=1e-12)
    model = load_path_integrator(GRU)
    start = model.place_cells().encode(torch.eye(3).expand(3, 2, 3, 3))
    with torch.no_grad():
        expected = model.get_hidden_states(velocities.float().repeat_interleave(4, dim=1), start)[:, -1]
    assert torch.allclose(transition.observation[:, 9:], expected, atol=1e-5)


def test_the_shaped_reward_by_hand():
    env = BatchedArmReach(4, seed=5, steps=3, action_repeat=2, progress_weight=0.3, success_bonus=2.0)
    env.reset()
    before = (torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64) - env.target).norm(dim=-1)  # straight up
    action = torch.randn(4, 6, generator=torch.Generator().manual_seed(3), dtype=torch.float64).clamp(-3, 3)
    reward = env.step(action).reward.double()
    after = (hand_position(env.rotations) - env.target).norm(dim=-1)
    assert torch.allclose(reward, -after + 0.3 * (before - after) / 0.02, atol=1e-5)
    env.target = hand_position(env.rotations).clone()  # on the target: the bonus, and the whole last distance as progress
    assert torch.allclose(env.step(torch.zeros(4, 6)).reward.double(), 2.0 + 0.3 * after / 0.02, atol=1e-5)


def test_the_final_distance_is_measured_before_the_reset():
    from cogmap.rl.agents import RecurrentActorCritic

    still = RecurrentActorCritic(9, 6, cell="mlp", hidden=4, head=4, action_low=[-3.0] * 6, action_high=[3.0] * 6)
    with torch.no_grad():  # the mean action is the centre of the range: the arm never moves
        still.policy[-1].weight.zero_()
    env = BatchedArmReach(7, seed=12345)
    env.reset()
    expected = (env.target - torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)).norm(dim=-1)  # straight up
    measured = reach_episodes(still, 7, seed=12345)
    assert measured["final_distance_mean"] == pytest.approx(float(expected.mean()), abs=1e-9)
    assert measured["success_rate"] == pytest.approx(float((expected < 0.1).double().mean()))


def test_the_integrators_drift_is_measured_against_its_own_prediction():
    from cogmap.geometry import so3
    from cogmap.rl.agents import RecurrentActorCritic

    model = load_path_integrator(GRU)
    still = RecurrentActorCritic(9 + model.hparams.hidden, 6, cell="mlp", hidden=4, head=4, action_low=[-3.0] * 6,
                                 action_high=[3.0] * 6)
    with torch.no_grad():
        still.policy[-1].weight.zero_()
    measured = reach_episodes(still, 3, seed=1, observe="embedding", integrator=GRU, steps=30)
    # the same network, run through its own prediction path on 30 zero velocities from straight up
    start = model.place_cells().encode(torch.eye(3).expand(3, 2, 3, 3))
    predicted = model.predict_states(torch.zeros(3, 30, 6), start)[:, -1]
    expected = torch.rad2deg(so3.distance(predicted.double(), torch.eye(3, dtype=torch.float64))).mean()
    assert measured["integrator_error_deg"] == pytest.approx(float(expected), abs=1e-3)


def test_bad_settings_are_one_clear_error():
    with pytest.raises(CogmapError, match="observe"):
        BatchedArmReach(2, observe="vision")
    with pytest.raises(CogmapError, match="needs integrator"):
        BatchedArmReach(2, observe="embedding")
    with pytest.raises(CogmapError, match="only with observe=embedding"):
        BatchedArmReach(2, observe="pose", integrator=GRU)
    with pytest.raises(CogmapError, match="SO\\(3\\) x SO\\(3\\)"):
        BatchedArmReach(2, observe="embedding", integrator="pretrained/box_grid_dog.ckpt")
    with pytest.raises(CogmapError, match="dt 0.01"):
        BatchedArmReach(2, observe="embedding", integrator=GRU, dt=0.02)
    with pytest.raises(CogmapError, match="does not exist"):
        BatchedArmReach(2, observe="embedding", integrator="pretrained/nothing.ckpt")
    for lengths in ((0.5, -1), ("a", "b"), 5, (0.5, float("nan"))):
        with pytest.raises(CogmapError, match="lengths must be two positive"):
            BatchedArmReach(2, lengths=lengths)
    for name, value in (("progress_weight", -1.0), ("success_bonus", "a"), ("progress_weight", True),
                        ("success_bonus", float("inf"))):
        with pytest.raises(CogmapError, match=f"{name} must be a non-negative number"):
            BatchedArmReach(2, **{name: value})
    with pytest.raises(CogmapError, match="action_repeat"):
        BatchedArmReach(2, action_repeat=0)
    with pytest.raises(CogmapError, match="non-finite"):
        BatchedArmReach(2).step(torch.full((2, 6), float("nan")))
    with pytest.raises(CogmapError, match="env_kwargs for arm_reach"):
        make_env("arm_reach", 2, env_kwargs={"colour": "red"})


def test_the_gymnasium_environment_passes_gymnasiums_checker():
    from gymnasium.utils.env_checker import check_env

    env = gym.make(ARM_REACH_ID, observe="pose", steps=5)
    with warnings.catch_warnings():  # it recommends actions in [-1, 1]; ours are in rad/s, on purpose
        warnings.simplefilter("error")
        warnings.filterwarnings("ignore", message=".*symmetric and normalized space.*")
        check_env(env.unwrapped, skip_render_check=True)
    observation, _ = env.reset(seed=4)
    again, _ = env.reset(seed=4)
    assert observation.shape == (27,) and np.array_equal(observation, again)  # seeded targets
    for _ in range(5):
        observation, reward, terminated, truncated, info = env.step(env.action_space.sample())
    assert truncated and not terminated and info["distance"] == pytest.approx(-reward)


def test_ppo_trains_on_the_arm_and_the_policy_acts_on_gymnasium_observations(tmp_path, cli):
    config = PPOConfig(env="arm_reach", env_kwargs={"observe": "embedding", "integrator": GRU, "steps": 10},
                       cell="gru", hidden=8, head=8, total_steps=160, num_envs=4, num_steps=20, epochs=1,
                       minibatches=2, eval_episodes=2)
    train(config, tmp_path / "run", progress=False)
    policy = load_policy(tmp_path / "run")
    result = reach_episodes(policy, 6, observe="embedding", integrator=GRU, steps=10)
    assert result["episodes"] == 6 and 0 <= result["success_rate"] <= 1 and result["final_distance_mean"] > 0
    env = gym.make(ARM_REACH_ID, observe="embedding", integrator=GRU, steps=10)
    observation, _ = env.reset(seed=0)
    policy.reset()
    action = policy.act(observation)
    assert action.shape == (6,) and env.action_space.contains(action)
    evaluated = cli("control", "evaluate", tmp_path / "run", "episodes=3", "--out", tmp_path / "evaluation")
    assert evaluated.returncode == 0
    assert re.search(r"over 3 episodes; success \d+\.\d%, final distance \d\.\d{3} \(mean\)", evaluated.stdout)


@pytest.mark.parametrize("name", ["reach_pose_mlp", "reach_embedding_mlp", "reach_velocities_gru", "reach_velocities_mlp"])
def test_the_reaching_configs_make_their_arm(name):
    from cogmap.rl import load_control_config
    from cogmap.rl.config import make_env_for
    from cogmap.rl.policy import make_agent

    config = load_control_config(f"configs/control/{name}.yaml")
    env = make_env_for(config, num_envs=2)
    expected = {"pose": 27, "embedding": 9 + 256, "velocities": 9}[config.env_kwargs["observe"]]
    assert env.observation_dim == expected and make_agent(config, env).observation_dim == expected


def test_reach_episodes_are_the_episodes_ppo_evaluates():
    from cogmap.rl.episodes import evaluate

    policy = load_policy(Path(__file__).resolve().parents[2] / "pretrained" / "control" / "reach_pose_mlp_seed0.pt")
    returns = evaluate(policy, make_env("arm_reach", 8, seed=5, env_kwargs=policy.config.env_kwargs))
    measured = reach_episodes(policy, 8, 5, **policy.config.env_kwargs)
    assert measured["return_mean"] == pytest.approx(float(returns.mean()), rel=1e-6)
    assert measured["return_sd"] == pytest.approx(float(returns.std()), rel=1e-5)
