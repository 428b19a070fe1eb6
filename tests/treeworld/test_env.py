import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import cogmap.treeworld  # noqa: F401  (registers the environment)
from cogmap.errors import CogmapError
from cogmap.treeworld import BatchedTreeWorld, TreeWorldConfig
from cogmap.treeworld.env import ENV_ID, TreeWorldEnv, TreeWorldVectorEnv, observation_layout

SMALL = {"embedding_dim": 16}


def test_the_registered_environment_passes_gymnasiums_checker():
    env = gym.make(ENV_ID, config=SMALL, render_mode="rgb_array")
    check_env(env.unwrapped, skip_render_check=False)
    assert env.spec.max_episode_steps == 1000


def test_observation_holds_smell_sight_health_and_heading_of_the_world():
    env = TreeWorldEnv(config=SMALL)
    observation, info = env.reset(seed=7)
    world = BatchedTreeWorld.random_from_config(TreeWorldConfig(**SMALL), [7])
    senses = world.sense()
    parts = observation_layout(env.config)
    assert np.allclose(observation[parts["smell"]], senses.smell.embedding[0].numpy(), atol=1e-6)
    assert np.allclose(observation[parts["sight"]], senses.sight.embedding[0].numpy())
    assert observation[parts["health"]].tolist() == [1.0] and observation[parts["heading"]].tolist() == [1.0, 0.0]
    assert info["world_seed"] == 7


def test_actions_move_within_the_bound_rest_and_reward_is_the_health_change():
    env = TreeWorldEnv(config={**SMALL, "tree_spacing": 1000.0, "num_trees": 1})
    env.reset(seed=0)
    _, reward, terminated, truncated, _ = env.step(np.array([3.0, 4.0, -1.0], np.float32))  # scaled into the unit disk
    assert torch.allclose(env.world.location[0], torch.tensor([6.0, 8.0]))
    assert reward == -2.0 and not terminated and not truncated
    _, reward, *_ = env.step(np.array([1.0, 0.0, 0.5], np.float32))  # rest
    assert reward == -1.0 and torch.allclose(env.world.location[0], torch.tensor([6.0, 8.0]))


def test_episode_terminates_at_death_and_truncates_at_the_step_limit():
    env = gym.make(ENV_ID, config={**SMALL, "max_health": 5.0, "num_trees": 1, "tree_spacing": 1000.0})
    env.reset(seed=0)
    ends = [env.step(np.array([1.0, 0.0, -1.0], np.float32))[2] for _ in range(3)]
    assert ends == [False, False, True]
    env = gym.make(ENV_ID, config=SMALL, max_episode_steps=4)
    env.reset(seed=0)
    truncations = [env.step(np.array([0.0, 0.0, 1.0], np.float32))[3] for _ in range(4)]
    assert truncations == [False, False, False, True]


def test_reset_with_a_seed_is_reproducible():
    env = TreeWorldEnv(config=SMALL)
    a = env.reset(seed=3)[0]
    env.step(env.action_space.sample())
    assert np.array_equal(a, env.reset(seed=3)[0])
    assert not np.array_equal(a, env.reset(seed=4)[0])


def test_vector_env_equals_single_envs_and_resets_finished_worlds():
    config = {**SMALL, "max_health": 40.0}
    vector = gym.make_vec(ENV_ID, num_envs=3, vectorization_mode="vector_entry_point", config=config,
                          max_episode_steps=30)
    assert isinstance(vector.unwrapped, TreeWorldVectorEnv)
    singles = [TreeWorldEnv(config=config) for _ in range(3)]
    observations, _ = vector.reset(seed=10)
    for i, env in enumerate(singles):
        # To float32 rounding: a product of one world and of three may round differently (CPU-dependent).
        assert np.allclose(observations[i], env.reset(seed=10 + i)[0], atol=1e-6)
    rng, ended = np.random.default_rng(0), 0
    for _ in range(40):
        actions = rng.uniform(-1, 1, size=(3, 3)).astype(np.float32)
        observations, rewards, terminated, truncated, info = vector.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, _ = env.step(actions[i])
            assert r == rewards[i] and te == terminated[i]
            expected = info["final_obs"][i] if "final_obs" in info and info["_final_obs"][i] else observations[i]
            assert np.allclose(o, expected, atol=1e-6)
            if te or truncated[i]:
                env.reset(seed=int(vector.unwrapped.world_seeds[i]))
        ended += int((terminated | truncated).sum())
    # Episodes ended (40 health at up to 2 a step, or 30 steps) and their worlds were replaced.
    assert ended >= 3 and int(vector.unwrapped.world.steps.max()) < 30


def test_vector_env_refuses_bad_input():
    with pytest.raises(CogmapError, match="num_envs"):
        TreeWorldVectorEnv(num_envs=0)
    env = TreeWorldVectorEnv(num_envs=2, config=SMALL)
    with pytest.raises(CogmapError, match="reset"):
        env.step(np.zeros((2, 3), np.float32))
    env.reset(seed=0)
    with pytest.raises(CogmapError, match="NaN"):
        env.step(np.full((2, 3), np.nan, np.float32))
