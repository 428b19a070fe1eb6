import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.rl import Policy, load_policy
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.config import PPOConfig
from cogmap.rl.policy import save_policy
from cogmap.rl.ppo import train


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("policy") / "run"
    train(PPOConfig(env_kwargs={"observation": "full"}, cell="lstm", total_steps=3 * 1600, seed=4, eval_episodes=2, num_envs=8,
                    minibatches=4, epochs=10, noise_repeat=1), folder, progress=False)
    return folder


def test_load_policy_takes_a_run_folder_an_update_or_a_file(run_dir):
    last = load_policy(run_dir)
    assert last.update == 3 and last.config.cell == "lstm" and last.observation_dim == 3 and last.action_dim == 1
    first = load_policy(run_dir, update=1)
    same = load_policy(run_dir / "checkpoints" / "update_0001.pt")
    assert first.update == 1 and all(torch.equal(a, b) for a, b in zip(first.agent.state_dict().values(),
                                                                         same.agent.state_dict().values()))
    with pytest.raises(CogmapError, match="no checkpoint of update 9"):
        load_policy(run_dir, update=9)
    with pytest.raises(CogmapError, match="is a file"):
        load_policy(run_dir / "checkpoints" / "update_0001.pt", update=1)
    with pytest.raises(CogmapError, match="cuda"):
        load_policy(run_dir, device="cuda:9")


def test_act_takes_one_observation_or_a_batch_numpy_or_tensor_and_keeps_its_state(run_dir):
    policy = load_policy(run_dir)
    observation = np.array([np.cos(2.0), np.sin(2.0), 1.5], dtype=np.float32)
    policy.reset()
    one = policy.act(observation)
    assert isinstance(one, np.ndarray) and one.shape == (1,) and one.dtype == np.float32 and abs(one[0]) <= 2
    state_after_one = policy.state.clone()
    two = policy.act(observation)
    assert not torch.equal(policy.state, state_after_one)  # the recurrent state moved on between calls
    # The same two steps as a batch of three identical environments, as tensors, give the same actions.
    policy.reset(num_envs=3)
    batch = torch.tensor(observation).expand(3, 3)
    first, second = policy.act(batch), policy.act(batch)
    assert torch.is_tensor(first) and first.shape == (3, 1)
    assert torch.allclose(first, torch.tensor(one).expand(3, 1)) and torch.allclose(second, torch.tensor(two).expand(3, 1))
    # The agent used directly, over the two-step sequence, agrees.
    out = policy.agent(batch[:, None].expand(3, 2, 3).contiguous())
    assert torch.allclose(out.mean[:, 1], second, atol=1e-6)
    with pytest.raises(CogmapError, match="reset for 3 environment"):
        policy.act(observation)
    with pytest.raises(CogmapError, match=r"shape \(3,\) or \(N, 3\)"):
        policy.act(np.zeros(2, dtype=np.float32))


def test_stochastic_actions_are_seeded_and_stay_within_the_bounds(run_dir):
    policy = load_policy(run_dir)
    with torch.no_grad():
        policy.agent.log_std.fill_(3.0)  # wide noise: many samples fall beyond the torque limits
    observation = np.zeros((500, 3), dtype=np.float32)
    actions = [policy.reset(500).act(observation, deterministic=False, generator=torch.Generator().manual_seed(1))
               for _ in range(2)]
    assert np.array_equal(actions[0], actions[1]) and np.abs(actions[0]).max() == pytest.approx(2.0)


def test_record_keeps_every_step_for_analysis(run_dir):
    policy = load_policy(run_dir)
    policy.reset(num_envs=2)
    observations = torch.randn(5, 2, 3)
    actions = [policy.act(observations[t], record=True) for t in range(5)]
    recording = policy.recording()
    assert len(recording) == 5 and recording.observations.shape == (5, 2, 3) and recording.actions.shape == (5, 2, 1)
    assert recording.states.shape == (5, 2, 128) and recording.hidden.shape == (5, 2, 64)
    assert np.allclose(recording.actions[:, :, 0], torch.stack(actions)[:, :, 0].numpy())
    assert np.all(recording.states[0] == 0)  # the state before the first step
    # Each recorded state is the one the next step started from: the hidden output of the previous step.
    assert np.allclose(recording.states[1:, :, :64], recording.hidden[:-1])
    policy.reset()
    with pytest.raises(CogmapError, match="nothing recorded"):
        policy.recording()


def test_damaged_and_foreign_policy_files_are_refused(tmp_path, run_dir):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"\x00\x01" * 500)
    with pytest.raises(CogmapError, match="garbage.pt"):
        load_policy(garbage)
    foreign = tmp_path / "foreign.pt"
    torch.save({"format": "something-else", "state_dict": {}, "config": {}}, foreign)
    with pytest.raises(CogmapError, match="not a cogmap controller"):
        load_policy(foreign)
    bad_config = tmp_path / "bad_config.pt"
    saved = torch.load(run_dir / "checkpoints" / "update_0001.pt", weights_only=True)
    torch.save({**saved, "config": {**saved["config"], "gamma": 3.0}}, bad_config)
    with pytest.raises(CogmapError, match="invalid config: gamma"):
        load_policy(bad_config)
    with pytest.raises(CogmapError, match="holds no checkpoints"):
        load_policy(tmp_path)


def test_version_1_checkpoints_load_with_the_scaling_they_were_trained_with(tmp_path):
    # Version 1 saved the bare agent (scaling done outside it) and the flat config.
    config = PPOConfig(env_kwargs={"observation": "full"}, cell="rnn")
    with torch.random.fork_rng():
        torch.manual_seed(0)
        agent = RecurrentActorCritic(3, 1, "rnn", 64, 64)
    legacy = {k: v for k, v in agent.state_dict().items() if k.startswith(("core.", "policy.", "value.", "log_std"))}
    path = tmp_path / "update_0001.pt"
    torch.save({"state_dict": legacy, "config": vars(config), "update": 1}, path)
    policy = load_policy(path)
    raw = torch.tensor([[0.3, 0.9, 8.0]])
    scaled = raw * torch.tensor([1.0, 1.0, 1 / 8])
    assert torch.allclose(policy.act(raw), agent(scaled).mean)  # the velocity is divided by 8 inside


def test_save_policy_round_trips_any_action_bounds(tmp_path):
    config = PPOConfig(env="Pendulum-v1", cell="gru", hidden=8, head=8)
    env = {"observation_dim": 4, "action_dim": 2, "action_low": [-1.0, 0.0], "action_high": [1.0, 3.0],
           "observation_scale": None}
    from cogmap.rl.policy import make_agent

    agent = make_agent(config, env)
    save_policy(tmp_path / "p.pt", agent, config, env, update=7)
    policy = load_policy(tmp_path / "p.pt")
    assert isinstance(policy, Policy) and policy.update == 7
    assert policy.agent.action_low.tolist() == [-1.0, 0.0] and policy.agent.action_high.tolist() == [1.0, 3.0]


def test_a_long_run_keeps_every_nth_policy_and_its_checkpoints_sort_by_update(tmp_path):
    from cogmap.rl.policy import checkpoints

    train(PPOConfig(env_kwargs={"observation": "full"}, cell="rnn", hidden=8, head=8, total_steps=3 * 400, num_envs=2,
                    minibatches=2, epochs=1, eval_episodes=2, checkpoint_every=2), tmp_path / "run", progress=False)
    assert [p.name for p in checkpoints(tmp_path / "run")] == ["update_0002.pt", "update_0003.pt"]  # and the last
    many = tmp_path / "many" / "checkpoints"
    many.mkdir(parents=True)
    for update in (10000, 9999, 10001, 2):
        (many / f"update_{update:04d}.pt").touch()
    assert [p.stem for p in checkpoints(many.parent)] == ["update_0002", "update_9999", "update_10000", "update_10001"]
