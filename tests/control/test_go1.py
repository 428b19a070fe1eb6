"""The Go1 joystick task in Python (cogmap.envs.go1) against EnvPool's C++ task, step for step, and what it adds."""

import numpy as np
import pytest
import torch

from cogmap.envs import make_env
from cogmap.envs.go1 import FEET, LAST_ACTION, Go1Joystick
from cogmap.errors import CogmapError

envpool = pytest.importorskip("envpool")  # its asset package carries the model files; CI installs the extra
pytest.importorskip("mujoco")
GO1 = "Go1JoystickFlatTerrain-v1"


def envpool_start(num_envs: int, seed: int):
    env = envpool.make(GO1, env_type="gymnasium", num_envs=num_envs, seed=seed, num_threads=1, noise_level=0.0)
    obs, info = env.reset()
    order = np.argsort(info["env_id"])
    return env, obs["state"][order], obs["privileged_state"][order]


def test_the_python_task_steps_as_envpools_from_the_same_start_with_the_same_actions():
    # EnvPool's starts are random (heading, velocities); reset_like reads them back from its first
    # observations, then both run the same random actions. States and every reward term must agree to
    # float precision until an episode ends (the command is copied across, since EnvPool resamples it).
    env, state, privileged = envpool_start(6, seed=3)
    twin = Go1Joystick(6)
    assert np.allclose(twin.reset_like(state, privileged).numpy(), state, atol=1e-6)
    rng = np.random.default_rng(0)
    compared = 0
    for _ in range(30):
        action = rng.normal(0, 0.2, (6, 12))
        twin.set_command(state[:, 45:48])  # the command EnvPool uses in this step (it shows any new one after)
        obs, reward, terminated, truncated, info = env.step(action)
        order = np.argsort(info["env_id"])
        step = twin.step(action)
        state = obs["state"][order]
        assert np.abs(step.final_observation.numpy()[:, :45] - state[:, :45]).max() < 1e-5
        assert np.allclose(step.reward.numpy(), reward[order], atol=1e-6)
        for key, value in twin.info.items():
            if key.startswith("reward_"):
                assert np.allclose(value, info[key][order], atol=1e-9), key
        assert (step.terminated.numpy() == terminated[order]).all()
        compared += 1
        if (terminated | truncated).any():
            break
    assert compared >= 20  # long enough to have left the start


def test_without_the_heading_the_twin_drifts_apart_so_the_heading_is_read_back():
    # MuJoCo's friction pyramids are fixed in the world: the same body-frame start turned about the vertical
    # slides differently. The test above would fail without the privileged state; this checks it really matters.
    env, state, privileged = envpool_start(4, seed=5)
    turned, level = Go1Joystick(4), Go1Joystick(4)
    turned.reset_like(state, privileged)
    level.reset_like(state)
    action = np.zeros((4, 12))
    for _ in range(5):
        a, b = turned.step(action).observation.numpy(), level.step(action).observation.numpy()
    assert np.abs(a - b).max() > 1e-3


def test_the_command_is_held_and_shown_in_the_observation():
    env = Go1Joystick(3, command=[[0.5, 0.0, 0.0], [0.0, -0.4, 0.0], [0.3, 0.0, 1.0]], seed=1)
    env.reset()
    for _ in range(60):
        obs = env.step(np.zeros((3, 12))).observation.numpy()
    assert np.allclose(obs[:, 45:48], [[0.5, 0.0, 0.0], [0.0, -0.4, 0.0], [0.3, 0.0, 1.0]])


def test_feet_touch_the_floor_when_standing_and_none_do_in_the_air():
    env = Go1Joystick(2, seed=0)
    env.reset_like(np.zeros((2, 48)))  # standing still at the home pose
    for _ in range(50):  # the robot settles on its four feet
        env.step(np.zeros((2, 12)))
    assert env.contacts.all() and env.contacts.shape == (2, len(FEET))
    data = env.data[1]
    data.qpos[2] += 1.0  # one robot lifted a metre: no foot can touch
    env.mujoco.mj_forward(env.model, data)
    env.step(np.zeros((2, 12)))
    assert env.contacts[0].all() and not env.contacts[1].any()


def test_a_push_adds_its_velocity_in_the_trunks_frame():
    env = Go1Joystick(3, seed=2)
    env.reset()
    env.step(np.zeros((3, 12)))
    before = env.body_velocity
    env.push([[1.0, 0.0], [0.0, -0.5], [0.0, 0.0]])
    change = env.body_velocity - before
    assert np.allclose(change, [[1.0, 0.0, 0.0], [0.0, -0.5, 0.0], [0.0, 0.0, 0.0]], atol=1e-9)


def test_without_last_action_drops_the_previous_action_and_the_twin_is_in_the_registry():
    full, short = Go1Joystick(2, seed=4), make_env("go1", 2, seed=4, env_kwargs={"without_last_action": True})
    assert short.observation_dim == 36
    a, b = full.reset().numpy(), short.reset().numpy()
    keep = np.r_[0:LAST_ACTION.start, LAST_ACTION.stop:48]
    action = np.full((2, 12), 0.1)
    for _ in range(3):
        a, b = full.step(action).observation.numpy(), short.step(action).observation.numpy()
    assert np.allclose(a[:, keep], b) and np.allclose(a[:, LAST_ACTION], 0.1)


@pytest.mark.parametrize("command", [(2.0, 0.0, 0.0), (0.0, 0.0, float("nan")), (0.5, 0.0)])
def test_impossible_commands_are_refused(command):
    with pytest.raises(CogmapError, match="command"):
        Go1Joystick(1, command=command)


def test_impossible_actions_and_pushes_are_refused():
    with pytest.raises(CogmapError, match="need about"):
        Go1Joystick(10 ** 8)  # checked before a single copy is made
    with pytest.raises(CogmapError, match="noise_level"):
        Go1Joystick(1, noise_level=-1)
    env = Go1Joystick(2)
    env.reset()
    with pytest.raises(CogmapError, match=r"shape \(2, 12\)"):
        env.step(np.zeros((2, 11)))
    with pytest.raises(CogmapError, match="finite"):
        env.step(np.full((2, 12), np.nan))
    with pytest.raises(CogmapError, match="finite"):
        env.push([np.inf, 0.0])


def test_a_policy_acts_alike_on_envpool_and_on_the_twin():
    # The promise to users: a policy trained on EnvPool's observation acts on the twin's raw observation.
    from cogmap.rl.agents import RecurrentActorCritic
    from cogmap.rl.policy import Policy

    torch.manual_seed(0)
    policy = Policy(RecurrentActorCritic(48, 12, cell="lstm", hidden=16, head=16, encoder=(32,)))
    env, state, privileged = envpool_start(2, seed=8)
    twin = Go1Joystick(2)
    ours = twin.reset_like(state, privileged).numpy()
    policy.reset(2)
    for _ in range(10):
        action = policy.act(state)
        twin.set_command(state[:, 45:48])
        obs, _, terminated, truncated, info = env.step(action.astype(np.float64))
        state = obs["state"][np.argsort(info["env_id"])]
        ours = twin.step(action).final_observation.numpy()
        assert np.abs(ours[:, :45] - state[:, :45]).max() < 1e-4


def test_the_walking_study_records_a_go1_policy_in_the_twin_with_its_command_held_and_a_push():
    from cogmap.studies.walking import record

    policy = standing_policy()
    quiet = record(policy, (0.5, 0.0, 0.0), envs=2, steps=30, warmup=20)
    pushed = record(policy, (0.5, 0.0, 0.0), envs=2, steps=30, warmup=20, push=(1, 10, 1.0))
    assert quiet.layers["recurrent"].shape == (2, 30, 8) and quiet.layers["actuation"].shape == (2, 30, 12)
    assert quiet.contacts.shape == (2, 30, 4) and quiet.velocity.shape == (2, 30, 3) and quiet.dt == 0.02
    assert np.allclose(quiet.command, [0.5, 0.0, 0.0])
    # The same seeds: identical until the push, which speeds the pushed copy up (by 1 m/s, less what the
    # first step's contacts take back) and leaves the other alone.
    assert np.allclose(quiet.velocity[:, :10], pushed.velocity[:, :10])
    assert np.allclose(quiet.velocity[0], pushed.velocity[0])
    assert pushed.velocity[1, 10, 0] - quiet.velocity[1, 10, 0] > 0.3


def standing_policy(env="envpool/Go1JoystickFlatTerrain-v1", **env_kwargs):
    """An untrained LSTM walker whose actions are near zero: the robot stands at its home pose."""
    from cogmap.rl.config import PPOConfig
    from cogmap.rl.policy import Policy, make_agent

    config = PPOConfig(env=env, env_kwargs=env_kwargs, cell="lstm", hidden=8, head=8, encoder=(16,))
    width = 36 if env_kwargs.get("without_last_action") else 48
    described = {"observation_dim": width, "action_dim": 12, "action_low": [-1.0] * 12, "action_high": [1.0] * 12,
                 "observation_scale": None}
    torch.manual_seed(0)
    agent = make_agent(config, described)
    with torch.no_grad():
        agent.policy[-1].weight.mul_(0.01)
        agent.policy[-1].bias.zero_()
    return Policy(agent, config)


def test_tracking_of_a_robot_that_stands_misses_every_command_by_all_of_it():
    from cogmap.studies.tracking import measure_tracking, relative_miss

    measured = measure_tracking(standing_policy(), (0.8, 0.0, -0.6), copies=3, warmup=40, steps=20)
    mean = measured["per_copy"].mean(0)
    assert not measured["fell"].any() and np.abs(mean).max() < 0.15  # what is left of the random start
    miss = relative_miss(mean, np.array([0.8, 0.0, -0.6]))
    assert miss[1] is None and miss[0] > 0.8 and miss[2] > 0.75
    # the variant without the last action in its observation walks the twin's 36-d observation
    short = measure_tracking(standing_policy(without_last_action=True), (0.5, 0.0, 0.0), copies=2, warmup=5, steps=5)
    assert short["per_copy"].shape == (2, 3)


def test_a_walker_trained_without_its_last_action_takes_the_tasks_whole_observation_and_drops_it():
    # EnvPool's Go1 (and the twin made without the option) hand over all 48 columns; the policy must see the 36 it
    # was trained on: the same actions as from the 36, and any values in columns 33-44 make no difference.
    rng = np.random.default_rng(5)
    whole = rng.normal(size=(3, 48)).astype(np.float32)
    short = np.concatenate([whole[:, :33], whole[:, 45:]], axis=1)
    for env in ("envpool/Go1JoystickFlatTerrain-v1", "go1"):
        policy = standing_policy(env, without_last_action=True)
        expected = policy.reset(3).act(short)
        changed = whole.copy()
        changed[:, 33:45] = rng.normal(size=(3, 12))
        for given in (whole, changed, {"state": whole, "privileged_state": np.zeros((3, 123), np.float32)}):
            assert np.array_equal(policy.reset(3).act(given), expected)
        np.testing.assert_allclose(policy.reset(1).act(whole[0]), expected[0], rtol=1e-5, atol=1e-7)  # one alone
    with pytest.raises(CogmapError, match=r"shape \(36,\)"):  # any other width is still refused
        standing_policy(without_last_action=True).act(np.zeros((3, 40), np.float32))
    with pytest.raises(CogmapError, match=r"shape \(48,\)"):  # and a walker that saw its last action keeps all 48
        standing_policy().act(short)


@pytest.mark.parametrize("args,needle", [
    (["pretrained/control/pendulum_fo_gru.pt"], "tracking is measured on the Go1"),
    (["pretrained/control/pendulum_fo_gru.pt", "commands=[[3, 0, 0]]"], "outside the task's range"),
    (["pretrained/control/pendulum_fo_gru.pt", "commands=[[1, 0]]"], "triples"),
    (["pretrained/control/pendulum_fo_gru.pt", "copies=0"], "copies must be an integer >= 1"),
    (["pretrained/nothing.pt"], "does not exist"),
])
def test_the_tracking_command_refuses_bad_input_in_one_line(args, needle, tmp_path, capsys, monkeypatch, repository):
    from cogmap.cli.main import main

    monkeypatch.chdir(repository)
    code = main(["control", "tracking", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "out").exists()


def test_studies_can_run_the_walker_as_it_trained_sampled_actions_and_noisy_observations():
    from cogmap.studies.tracking import measure_tracking
    from cogmap.studies.walking import record

    policy = standing_policy()
    with torch.no_grad():
        policy.agent.log_std.fill_(np.log(0.3))
    mean = measure_tracking(policy, (0.5, 0.0, 0.0), copies=2, warmup=5, steps=10)
    drawn = [measure_tracking(policy, (0.5, 0.0, 0.0), copies=2, warmup=5, steps=10, stochastic=True, noise_level=1.0)
             for _ in range(2)]
    assert np.array_equal(drawn[0]["per_copy"], drawn[1]["per_copy"])  # seeded
    assert not np.allclose(drawn[0]["per_copy"], mean["per_copy"])
    recorded = record(policy, (0.5, 0.0, 0.0), envs=2, steps=20, warmup=5, stochastic=True)
    steps = policy.recording()
    assert not np.allclose(steps.actions, steps.means)  # what was done carries the sampling noise
    # the actuation layer is the network's own output, not the noise added to it
    assert np.allclose(recorded.layers["actuation"], np.swapaxes(steps.means[5:], 0, 1))


def test_copies_that_fall_are_left_out_of_the_recording_and_counted(monkeypatch):
    import cogmap.studies.walking as walking

    real = walking._run_go1

    def second_copy_falls(*args, **kwargs):
        contacts, velocity, dt, fell = real(*args, **kwargs)
        fell[1] = True
        return contacts, velocity, dt, fell

    monkeypatch.setattr(walking, "_run_go1", second_copy_falls)
    policy = standing_policy()
    recorded = walking.record(policy, (0.5, 0.0, 0.0), envs=3, steps=20, warmup=5)
    kept = np.swapaxes(policy.recording().means[5:], 0, 1)[[0, 2]]
    assert recorded.fell == 1 and recorded.layers["actuation"].shape[0] == 2 and recorded.contacts.shape[0] == 2
    assert np.allclose(recorded.layers["actuation"], kept)  # copies 0 and 2, in order

    def all_fall(*args, **kwargs):
        contacts, velocity, dt, fell = real(*args, **kwargs)
        return contacts, velocity, dt, np.ones_like(fell)

    monkeypatch.setattr(walking, "_run_go1", all_fall)
    with pytest.raises(walking.WalkersFell, match="every walker fell"):
        walking.record(policy, (0.5, 0.0, 0.0), envs=2, steps=20, warmup=5)
