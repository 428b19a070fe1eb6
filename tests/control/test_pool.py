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


def test_more_copies_than_the_memory_holds_are_refused_before_any_is_made():
    with pytest.raises(CogmapError, match="need about"):
        make_env(f"envpool/{GO1}", 10 ** 7, env_kwargs={"num_threads": 1})


def test_bad_tasks_and_options_are_one_error():
    with pytest.raises(CogmapError, match="EnvPool has no task 'NoSuchTask-v0'"):
        make_env("envpool/NoSuchTask-v0", 2)
    with pytest.raises(CogmapError, match="has no setting 'no_such_option'$"):
        make_env(f"envpool/{GO1}", 2, env_kwargs={"no_such_option": 1})
    with pytest.raises(CogmapError, match="num_threads must be an integer >= 0"):
        make_env(f"envpool/{GO1}", 2, env_kwargs={"num_threads": -1})


@pytest.mark.parametrize(("options", "message"), [
    ({"tracking_sigmaa": 0.1}, "no setting 'tracking_sigmaa'; did you mean 'tracking_sigma'"),
    ({"tracking_sigma": "abc"}, "tracking_sigma .* must be a number \\(its default: 0.25\\), got 'abc'"),
    ({"tracking_sigma": True}, "tracking_sigma .* must be a number"),
    ({"tracking_sigma": 0}, "is a width and must be > 0, got 0"),
    ({"tracking_sigma": -1.0}, "is a width and must be > 0"),
    ({"tracking_sigma": float("nan")}, "must be a number"),
    ({"max_episode_steps": 1.5}, "max_episode_steps .* must be a whole number"),
])
def test_a_task_setting_envpool_would_take_wrongly_or_answer_obscurely_is_refused_in_one_line(options, message):
    with pytest.raises(CogmapError, match=message):
        make_env(f"envpool/{GO1}", 2, env_kwargs={"num_threads": 1, **options})


def test_the_task_settings_the_walkers_train_with_are_taken():
    env = make_env(f"envpool/{GO1}", 2, env_kwargs={"num_threads": 1, "tracking_sigma": 0.1, "max_episode_steps": 50,
                                                    "orientation_scale": -0.5})
    assert env.reset().shape == (2, 48)


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


def test_the_privileged_state_rides_after_the_observation_for_the_critic_and_ends_with_the_episode():
    from cogmap.envs.vector import WithPrivilegedState

    env = WithPrivilegedState(make_env(f"envpool/{GO1}", 2, seed=5, env_kwargs={"max_episode_steps": 3,
                                                                                   "num_threads": 1}))
    theirs = raw(2, 5, max_episode_steps=3)
    first, _ = theirs.reset()
    assert (env.observation_dim, env.critic_observation_dim) == (48, 123)
    expected = np.concatenate([first["state"], first["privileged_state"]], -1).astype(np.float32)
    assert np.allclose(env.reset().numpy(), expected)
    for _ in range(3):
        step = env.step(torch.zeros(2, 12))
        obs, *_ = theirs.step(np.zeros((2, 12)))
    assert step.truncated.all()
    ended = np.concatenate([obs["state"], obs["privileged_state"]], -1).astype(np.float32)
    assert np.allclose(step.final_observation.numpy(), ended)  # the state the episode ended in, both parts
    obs, *_ = theirs.step(np.zeros((2, 12)))  # EnvPool's own reset, a step later
    assert np.allclose(step.observation.numpy(), np.concatenate([obs["state"], obs["privileged_state"]], -1))
    with pytest.raises(CogmapError, match="critic=privileged needs an environment that gives a 'privileged_state'"):
        WithPrivilegedState(make_env("pendulum", 2))


def test_ppo_with_a_privileged_critic_saves_a_policy_that_acts_on_the_observation_alone(tmp_path):
    from cogmap import load
    from cogmap.config import load as load_config
    from cogmap.rl import PPOConfig, train

    config = PPOConfig(env=f"envpool/{GO1}", env_kwargs={"max_episode_steps": 16, "num_threads": 1}, cell="lstm",
                       hidden=16, head=16, encoder=(32,), num_envs=2, num_steps=8, bptt=4, minibatches=2, epochs=1,
                       total_steps=32, eval_episodes=2, noise_repeat=1, critic="privileged", critic_layers=(32,),
                       normalize_observations=True)
    train(config, tmp_path / "run", progress=False)
    assert load_config(PPOConfig, tmp_path / "run" / "config.yaml").critic == "privileged"
    policy = load(tmp_path / "run")
    assert policy.agent.critic_observation_dim == 123 and policy.agent.normalizer.shift.shape == (171,)
    assert float(policy.agent.normalizer.count) == 32  # every step's observation and privileged state seen
    # The task's own reward terms, averaged over each rollout, beside PPO's numbers: the tracking terms are
    # exp(-error^2 / 0.25) times their weights (1 and 0.5), so in (0, 1] and (0, 0.5].
    import csv

    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert all(0 < float(r["reward_tracking_lin_vel"]) <= 1 and 0 < float(r["reward_tracking_ang_vel"]) <= 0.5
               for r in rows)
    assert len([k for k in rows[0] if k.startswith("reward_")]) == 16
    env = make_env(f"envpool/{GO1}", 2, seed=3, env_kwargs={"num_threads": 1})
    policy.reset(2)
    assert policy.act(env.reset()).shape == (2, 12)
    with pytest.raises(CogmapError, match="critic=privileged needs"):
        train(PPOConfig(critic="privileged", total_steps=400, num_envs=2, minibatches=2), tmp_path / "pendulum",
              progress=False)
    assert not (tmp_path / "pendulum").exists()


def test_the_observation_can_leave_out_the_previous_action():
    ours = make_env(f"envpool/{GO1}", 2, seed=9, env_kwargs={"num_threads": 1, "without_last_action": True})
    theirs = raw(2, 9)
    assert ours.observation_dim == 36
    first, _ = theirs.reset()
    keep = np.r_[0:33, 45:48]
    assert np.allclose(ours.reset().numpy(), first["state"][:, keep].astype(np.float32))
    action = torch.linspace(-0.5, 0.5, 12).repeat(2, 1)
    for _ in range(2):
        step = ours.step(action)
        obs, *_ = theirs.step(action.double().numpy())
    assert np.allclose(obs["state"][:, 33:45], action.numpy())  # what was left out: the action of the step before
    assert np.allclose(step.observation.numpy(), obs["state"][:, keep].astype(np.float32))
    with pytest.raises(CogmapError, match="cogmap knows where the last action is only in"):
        make_env("envpool/Go1Getup-v1", 2, env_kwargs={"without_last_action": True})
