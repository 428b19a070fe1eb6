import gymnasium as gym
import numpy as np
import pytest
import torch

from cogmap.envs.pendulum import BatchedPendulum
from cogmap.errors import CogmapError


def test_batched_pendulum_equals_gymnasium_over_random_action_sequences():
    envs = [gym.make("Pendulum-v1") for _ in range(4)]
    starts = [env.reset(seed=s)[0] for s, env in enumerate(envs)]
    batched = BatchedPendulum(4, autoreset=False)
    states = np.array([env.unwrapped.state for env in envs])
    observation = batched.set_state(torch.tensor(states[:, 0]), torch.tensor(states[:, 1]))
    assert np.allclose(observation.numpy(), np.array(starts), atol=1e-6)
    rng = np.random.default_rng(0)
    for t in range(200):
        torques = rng.uniform(-3, 3, size=4)  # beyond the limits too: both clip to [-2, 2]
        observation, reward, _, truncated, _ = batched.step(torch.tensor(torques))
        for i, env in enumerate(envs):
            o, r, terminated, gym_truncated, _ = env.step(np.array([torques[i]], dtype=np.float32))
            assert np.allclose(observation[i].numpy(), o, atol=1e-5), (t, i)
            assert reward[i].item() == pytest.approx(r, abs=1e-4)
            assert bool(truncated[i]) == gym_truncated
    assert truncated.all()  # 200 steps, as Gymnasium's TimeLimit


def test_partial_observation_hides_the_velocity_and_resets_are_seeded():
    a, b = BatchedPendulum(8, "partial", seed=3), BatchedPendulum(8, "partial", seed=3)
    oa, ob = a.reset(), b.reset()
    assert oa.shape == (8, 2) and torch.equal(oa, ob)
    assert torch.allclose(oa.pow(2).sum(-1), torch.ones(8))
    assert (a.theta.abs() <= np.pi).all() and (a.speed.abs() <= 1).all()
    a.step(torch.zeros(8))
    mask = torch.tensor([True] + [False] * 7)
    before = a.theta.clone()
    a.reset(mask)
    assert a.steps.tolist() == [0] + [1] * 7 and torch.equal(a.theta[1:], before[1:])


def test_finished_pendulums_restart_at_once_and_keep_their_final_observation():
    env = BatchedPendulum(3, "full", seed=5)
    env.reset()
    for _ in range(199):
        step = env.step(torch.zeros(3))
        assert not step.truncated.any() and torch.equal(step.observation, step.final_observation)
    before = env.observe()
    theta, speed = env.theta.clone(), env.speed.clone()
    step = env.step(torch.zeros(3))
    assert step.truncated.all() and not step.terminated.any()
    # The final observation is the 200th step's; the returned one starts a new episode.
    last = torch.stack([(theta + (speed + 15 * theta.sin() * 0.05).clamp(-8, 8) * 0.05).cos(),
                        (theta + (speed + 15 * theta.sin() * 0.05).clamp(-8, 8) * 0.05).sin(),
                        (speed + 15 * theta.sin() * 0.05).clamp(-8, 8)], -1).float()
    assert torch.allclose(step.final_observation, last, atol=1e-6) and not torch.allclose(step.observation, before)
    assert env.steps.tolist() == [0, 0, 0] and (env.speed.abs() <= 1).all()


def test_bad_torques_are_refused():
    env = BatchedPendulum(2)
    with pytest.raises(CogmapError, match="2 entries"):
        env.step(torch.zeros(3))
    with pytest.raises(CogmapError, match="NaN"):
        env.step(torch.tensor([float("nan"), 0.0]))
    with pytest.raises(CogmapError, match="observation"):
        BatchedPendulum(2, "hidden")
