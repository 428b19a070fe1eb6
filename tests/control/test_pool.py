"""EnvPool's tasks behind cogmap's VectorEnv: same-step resets, seeded batches, PPO on the Go1 quadruped."""

import numpy as np
import pytest
import torch

from cogmap.envs import make_env
from cogmap.errors import CogmapError

envpool = pytest.importorskip("envpool")  # cogmap's envpool extra; CI installs it
GO1 = "Go1JoystickFlatTerrain-v1"


def raw(num_envs: int, seed: int, **options):
    return envpool.make(GO1, env_type="gymnasium", num_envs=num_envs, seed=seed, num_threads=1, **options)


def test_an_ended_episode_restarts_in_the_step_that_ends_it_as_envpool_restarts_it_a_step_later():
    # EnvPool's own reset comes one step after the end (that step's action ignored, reward 0);
    # the adapter resets in the same step. Same seed, same actions: the same observations, shifted.
    ours = make_env(f"envpool/{GO1}", 3, seed=7, env_kwargs={"max_episode_steps": 4, "num_threads": 1})
    theirs = raw(3, 7, max_episode_steps=4)
    generator = torch.Generator().manual_seed(0)
    actions = [torch.rand(3, 12, generator=generator) * 2 - 1 for _ in range(8)]
    first, _ = theirs.reset()
    assert np.allclose(ours.reset().numpy(), first["state"].astype(np.float32))
    assert np.allclose(ours.extras["privileged_state"].numpy(), first["privileged_state"].astype(np.float32))
    for t in range(4):
        step = ours.step(actions[t])
        obs, reward, terminated, truncated, _ = theirs.step(actions[t].double().numpy())
        assert np.allclose(step.reward.numpy(), reward.astype(np.float32))
        assert np.allclose(step.final_observation.numpy(), obs["state"].astype(np.float32))
    assert step.truncated.all() and not step.terminated.any()
    obs, reward, _, truncated, _ = theirs.step(actions[4].double().numpy())  # EnvPool's late reset: action ignored
    assert (reward == 0).all() and not truncated.any()
    assert np.allclose(step.observation.numpy(), obs["state"].astype(np.float32))  # ours began it a step earlier
    for t in range(4, 7):  # and from there on the two run alike
        step = ours.step(actions[t])
        obs, reward, *_ = theirs.step(actions[t].double().numpy())
        assert np.allclose(step.observation.numpy(), obs["state"].astype(np.float32))
        assert np.allclose(step.reward.numpy(), reward.astype(np.float32))
    assert "reward_tracking_lin_vel" in ours.info and ours.info["command"].shape == (3, 3)


def test_a_seed_gives_the_same_batch_and_another_seed_another():
    def rollout(seed):
        env = make_env(f"envpool/{GO1}", 2, seed=seed, env_kwargs={"num_threads": 1})
        out = [env.reset()]
        for _ in range(5):
            out.append(env.step(torch.full((2, 12), 0.3)).observation)
        return torch.stack(out)

    assert torch.equal(rollout(3), rollout(3)) and not torch.equal(rollout(3), rollout(4))


def test_bad_tasks_and_options_are_one_error():
    with pytest.raises(CogmapError, match="EnvPool has no task 'NoSuchTask-v0'"):
        make_env("envpool/NoSuchTask-v0", 2)
    with pytest.raises(CogmapError, match="cannot be made"):
        make_env(f"envpool/{GO1}", 2, env_kwargs={"no_such_option": 1})
    with pytest.raises(CogmapError, match="num_threads must be an integer >= 0"):
        make_env(f"envpool/{GO1}", 2, env_kwargs={"num_threads": -1})


def test_ppo_trains_on_the_quadruped_and_the_saved_policy_acts_on_its_observations(tmp_path):
    from cogmap import load
    from cogmap.rl import PPOConfig, train

    config = PPOConfig(env=f"envpool/{GO1}", env_kwargs={"max_episode_steps": 16, "num_threads": 1}, cell="lstm",
                       hidden=16, head=16, encoder=(32,), num_envs=2, num_steps=8, bptt=4, minibatches=2, epochs=1,
                       total_steps=32, eval_episodes=2, noise_repeat=1)
    train(config, tmp_path / "run", progress=False)
    policy = load(tmp_path / "run")
    env = make_env(f"envpool/{GO1}", 2, seed=11, env_kwargs={"num_threads": 1})
    policy.reset(2)
    action = policy.act(env.reset())
    assert action.shape == (2, 12) and bool(((action >= -1) & (action <= 1)).all())
