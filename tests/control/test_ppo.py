import csv
import dataclasses
import json
import math

import pytest
import torch

from cogmap.analysis.dynamics import recurrent_step
from cogmap.config import parse, to_dict
from cogmap.envs.pendulum import BatchedPendulum
from cogmap.envs.vector import Transition
from cogmap.errors import CogmapError
from cogmap.rl import ppo as ppo_module
from cogmap.rl.agents import AgentOutput, RecurrentActorCritic
from cogmap.rl.config import PPOConfig, load_control_config, make_env_for
from cogmap.rl.episodes import evaluate_policy
from cogmap.rl.policy import load_policy, make_agent
from cogmap.rl.ppo import advantages, collect, sequence_forward, train
from tests.interruption import train_until_cut


def test_gae_matches_a_hand_computation():
    rewards = torch.tensor([[1.0, 0.0, 2.0]])
    values = torch.tensor([[0.5, 1.0, 0.0]])
    next_values = torch.tensor([[1.0, 0.0, 3.0]])  # the values after each step; 3.0 bootstraps the end
    no = torch.zeros(1, 3, dtype=torch.bool)
    gamma, lam = 0.9, 0.8
    d2 = 2.0 + gamma * 3.0 - 0.0
    d1 = 0.0 + gamma * 0.0 - 1.0
    d0 = 1.0 + gamma * 1.0 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    adv, returns = advantages(rewards, values, next_values, no, no, gamma, lam)
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2]]))
    assert torch.allclose(returns, adv + values)


def test_gae_stops_at_a_termination_and_bootstraps_a_truncation():
    rewards = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    values = torch.tensor([[0.1, 0.2, 0.3, 0.4]])
    # Step 1 ends an episode by termination (nothing after it), step 3 by truncation (bootstrap 5.0).
    next_values = torch.tensor([[0.2, 9.0, 0.4, 5.0]])
    terminated = torch.tensor([[False, True, False, False]])
    done = torch.tensor([[False, True, False, True]])
    gamma, lam = 0.9, 0.5
    a3 = 4.0 + gamma * 5.0 - 0.4
    a2 = 3.0 + gamma * 0.4 - 0.3 + gamma * lam * a3
    a1 = 2.0 - 0.2  # no value after a termination, and nothing flows back across it
    a0 = 1.0 + gamma * 0.2 - 0.1 + gamma * lam * a1
    adv, _ = advantages(rewards, values, next_values, terminated, done, gamma, lam)
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2, a3]]))


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_agent_states_are_first_class_and_match_the_analysis_step(cell):
    agent = RecurrentActorCritic(2, cell=cell, observation_scale=[1.0, 0.5])
    observations = torch.randn(3, 5, 2)
    state = agent.initial_state(3)
    result = agent(observations, state)
    assert isinstance(result, AgentOutput) and result.mean.shape == (3, 5, 1) and result.value.shape == (3, 5)
    step = recurrent_step(agent.core)
    for t in range(5):  # the analysis step takes the agent's own (scaled) core inputs
        state = step(state, agent.core_input(observations[:, t]))
    assert torch.allclose(result.state, state, atol=1e-5)
    assert torch.allclose(result.hidden[:, -1], state[:, :agent.hidden], atol=1e-5)
    # One step at a time, without a time axis, gives the same.
    state = agent.initial_state(3)
    for t in range(5):
        single = agent(observations[:, t], state)
        assert single.mean.shape == (3, 1) and single.value.shape == (3,)
        assert torch.allclose(single.mean, result.mean[:, t], atol=1e-5)
        state = single.state


def test_agent_scales_its_own_inputs_and_bounds_its_actions():
    agent = RecurrentActorCritic(3, 2, action_low=[-1.0, 0.0], action_high=[3.0, 0.5], observation_scale=[1, 1, 0.125])
    with torch.no_grad():
        agent.policy[-1].bias.copy_(torch.tensor([50.0, -50.0]))  # saturate the tanh
    out = agent(torch.tensor([[0.0, 1.0, 8.0]]))
    assert torch.allclose(out.mean, torch.tensor([[3.0, 0.0]]))
    assert torch.allclose(agent.core_input(torch.tensor([[0.5, -1.0, 8.0]])), torch.tensor([[0.5, -1.0, 1.0]]))


def test_agent_errors_name_the_expected_shapes():
    agent = RecurrentActorCritic(3, cell="gru")
    with pytest.raises(CogmapError, match=r"shape \(N, T, 3\) or \(N, 3\), got \(4, 2\)"):
        agent(torch.zeros(4, 2))
    with pytest.raises(CogmapError, match=r"state must have shape \(N, 64\) with N = 4"):
        agent(torch.zeros(4, 3), torch.zeros(2, 64))


def test_sequence_forward_resets_the_state_where_episodes_start():
    agent = RecurrentActorCritic(3, cell="gru")
    observations = torch.randn(2, 6, 3)
    starts = torch.zeros(2, 6, dtype=torch.bool)
    starts[0, 3] = True  # row 0: a new episode begins at step 3
    state0 = torch.randn(2, agent.state_dim)
    mean, value = sequence_forward(agent, observations, state0, starts)[:2]
    # By hand: row 0 is two independent pieces, the second from a zero state; row 1 one piece.
    first = agent(observations[:1, :3], state0[:1])
    second = agent(observations[:1, 3:], torch.zeros(1, agent.state_dim))
    whole = agent(observations[1:], state0[1:])
    assert torch.allclose(mean[0], torch.cat([first.mean[0], second.mean[0]]), atol=1e-6)
    assert torch.allclose(value[1], whole.value[0], atol=1e-6)


@pytest.mark.parametrize("repeat", [1, 4, 7])
def test_exploration_noise_is_held_for_noise_repeat_steps(repeat):
    agent = RecurrentActorCritic(3, cell="gru")
    with torch.no_grad():  # a zero policy mean makes every action pure exploration noise
        agent.policy[-1].weight.zero_()
        agent.policy[-1].bias.zero_()
    env = BatchedPendulum(num_envs=5, observation="full", seed=0)
    starts = torch.ones(5, dtype=torch.bool)
    data = collect(agent, env, env.reset(), agent.initial_state(5), starts, 200, torch.Generator().manual_seed(0),
                   repeat)[0]
    actions = data.actions.reshape(5, 200)  # (envs, steps)
    blocks = torch.arange(200) // repeat
    for b in range(int(blocks[-1]) + 1):
        block = actions[:, blocks == b]
        assert torch.equal(block, block[:, :1].expand_as(block))  # held within a block
    starts = actions[:, ::repeat]
    assert (starts[:, 1:] != starts[:, :-1]).all()  # redrawn at every block boundary
    assert abs(float(actions[:, ::repeat].std()) - 1.0) < 0.2  # unit-std noise (log_std 0)
    assert data.done[:, -1].all() and not data.done[:, :-1].any()  # the pendulum truncates at 200
    with pytest.raises(CogmapError, match="noise_repeat"):
        PPOConfig(noise_repeat=0)


class _Counter:
    """A tiny environment with known returns: reward 1 per step; terminates at step 3 in row 0, truncates at 5."""

    num_envs, observation_dim, action_dim, observation_scale = 2, 1, 1, None

    def __init__(self):
        self.action_low, self.action_high = torch.tensor([-1.0]), torch.tensor([1.0])
        self.device = torch.device("cpu")
        self.t = torch.zeros(2)

    def reset(self):
        self.t = torch.zeros(2)
        return self.t[:, None].clone()

    def step(self, action):
        self.t = self.t + 1
        terminated = torch.tensor([bool(self.t[0] == 3), False])
        truncated = (self.t == 5) & ~terminated
        final = self.t[:, None].clone()
        done = terminated | truncated
        self.t = torch.where(done, torch.zeros_like(self.t), self.t)
        return Transition(self.t[:, None].clone(), torch.ones(2), terminated, truncated, final)


def test_collect_handles_terminations_truncations_and_episode_starts_of_any_env():
    agent = RecurrentActorCritic(1, cell="rnn")
    env = _Counter()
    finished = []
    data, _, state, starts = collect(agent, env, env.reset(), agent.initial_state(2), torch.ones(2, dtype=torch.bool),
                                     7, torch.Generator().manual_seed(0), 1, torch.zeros(2), finished)
    assert data.terminated[0].tolist() == [False, False, True, False, False, True, False]
    assert data.done[1].tolist() == [False, False, False, False, True, False, False]
    assert data.starts[0].tolist() == [True, False, False, True, False, False, True]
    assert (data.states[0, 3] == 0).all() and not (data.states[0, 2] == 0).all()  # zeroed where an episode starts
    assert data.next_values[0, 2] == 0  # nothing after a termination
    # A truncation bootstraps from the final observation, with the state before the reset.
    with torch.no_grad():
        bootstrap = agent(torch.tensor([[5.0]]), agent(data.observations[1:, 4], data.states[1:, 4]).state).value
    assert torch.allclose(data.next_values[1, 4], bootstrap[0])
    assert sorted(finished) == [3.0, 3.0, 5.0] and starts.tolist() == [False, False]


@pytest.mark.slow
def test_a_short_run_on_the_fully_observable_pendulum_beats_the_untrained_policy(tmp_path):
    config = PPOConfig(env_kwargs={"observation": "full"}, cell="rnn", total_steps=64_000, seed=1, num_envs=8, minibatches=4, epochs=10,
                       noise_repeat=1)  # the first runs' settings
    with torch.random.fork_rng():
        torch.manual_seed(1)
        before = float(evaluate_policy(make_agent(config), "full", 20, seed=99).mean())
    train(config, tmp_path / "run", progress=False)
    after = float(evaluate_policy(load_policy(tmp_path / "run", update=40), "full", 20, seed=99).mean())
    assert after > before + 150  # about -1130 untrained
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert len(rows) == 40 and math.isfinite(float(rows[-1]["eval_return_mean"]))
    for key in ("approx_kl", "clip_fraction", "explained_variance", "entropy", "steps_per_s"):
        assert all(math.isfinite(float(r[key])) for r in rows), key
    assert 0 <= float(rows[-1]["clip_fraction"]) <= 1 and float(rows[-1]["approx_kl"]) >= 0
    assert float(rows[-1]["explained_variance"]) > 0.5  # the critic has learnt something


@pytest.mark.parametrize("schedule", ["linear", pytest.param("adaptive", marks=pytest.mark.slow)])
def test_an_interrupted_run_resumes_to_the_same_bytes(schedule, tmp_path, monkeypatch):
    # The adaptive learning rate lives in the optimiser's state: a resumed run must continue with it.
    config = PPOConfig(env_kwargs={"observation": "partial"}, cell="gru", hidden=16, head=16, num_envs=2, minibatches=2,
                       total_steps=4 * 400, seed=3, eval_episodes=2, lr_schedule=schedule)
    train(config, tmp_path / "whole", progress=False)
    train_until_cut(config, tmp_path / "cut", monkeypatch, collects=3)
    rows = list(csv.DictReader(open(tmp_path / "cut" / "metrics.csv")))
    assert [r["update"] for r in rows] == ["1", "2"]  # the history up to the interruption is kept
    with pytest.raises(CogmapError, match="already holds a run"):
        train(config, tmp_path / "cut", progress=False)
    train(config, tmp_path / "cut", progress=False, resume=True)
    whole = torch.load(tmp_path / "whole" / "checkpoints" / "update_0004.pt", weights_only=True)["state"]
    resumed = torch.load(tmp_path / "cut" / "checkpoints" / "update_0004.pt", weights_only=True)["state"]
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
    a = list(csv.DictReader(open(tmp_path / "whole" / "metrics.csv")))
    b = list(csv.DictReader(open(tmp_path / "cut" / "metrics.csv")))
    assert [r["train_return"] for r in a] == [r["train_return"] for r in b]
    assert a[-1]["eval_return_mean"] == b[-1]["eval_return_mean"]
    with pytest.raises(CogmapError, match="differs from the run's in cell"):
        train(dataclasses.replace(config, cell="rnn"), tmp_path / "cut", resume=True)
    train(config, tmp_path / "cut", progress=False, force=True)  # --force replaces the run
    assert len(list(csv.DictReader(open(tmp_path / "cut" / "metrics.csv")))) == 4


def test_the_adaptive_learning_rate_follows_rsl_rls_rule():
    from cogmap.rl.ppo import ADAPTIVE_LR_BOUNDS, adapt_learning_rate

    optimiser = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=1e-3)
    adapt_learning_rate(optimiser, kl=0.03, desired_kl=0.01)  # moved too far: a third smaller
    assert optimiser.param_groups[0]["lr"] == pytest.approx(1e-3 / 1.5)
    adapt_learning_rate(optimiser, kl=0.004, desired_kl=0.01)  # barely moved: half again larger
    assert optimiser.param_groups[0]["lr"] == pytest.approx(1e-3)
    adapt_learning_rate(optimiser, kl=0.012, desired_kl=0.01)  # near the target: unchanged
    assert optimiser.param_groups[0]["lr"] == pytest.approx(1e-3)
    for _ in range(40):
        adapt_learning_rate(optimiser, kl=1.0, desired_kl=0.01)
    assert optimiser.param_groups[0]["lr"] == ADAPTIVE_LR_BOUNDS[0]


def test_ppo_trains_on_a_gymnasium_environment_through_the_same_protocol(tmp_path):
    config = PPOConfig(env="Pendulum-v1", cell="gru", hidden=16, head=16, num_envs=2, minibatches=2, num_steps=150,
                       total_steps=600, eval_episodes=2, seed=0)
    train(config, tmp_path / "gym", progress=False)
    rows = list(csv.DictReader(open(tmp_path / "gym" / "metrics.csv")))
    # 150-step rollouts of 200-step episodes: episodes end inside the second rollout, and only there.
    assert [r["episodes"] for r in rows] == ["0", "2"] and math.isfinite(float(rows[1]["train_return"]))
    policy = load_policy(tmp_path / "gym")
    assert policy.config.env == "Pendulum-v1" and policy.observation_dim == 3
    assert policy.agent.action_high.tolist() == [2.0]
    with pytest.raises(CogmapError, match="not a registered Gymnasium environment"):
        train(PPOConfig(env="NoSuchEnv-v0"), tmp_path / "none", progress=False)
    assert not (tmp_path / "none").exists()


def test_ppo_takes_a_gymnasium_vector_env_made_by_the_user(tmp_path):
    import gymnasium as gym
    from gymnasium.vector import AutoresetMode

    def make(mode):
        return gym.make_vec("Pendulum-v1", num_envs=2, vectorization_mode="sync", vector_kwargs={"autoreset_mode": mode})

    config = PPOConfig(env="Pendulum-v1", cell="rnn", hidden=8, head=8, num_envs=2, minibatches=1, num_steps=200,
                       total_steps=400, eval_episodes=2)
    env, eval_env = make(AutoresetMode.SAME_STEP), make(AutoresetMode.SAME_STEP)
    train(config, tmp_path / "mine", progress=False, env=env, eval_env=eval_env)
    rows = list(csv.DictReader(open(tmp_path / "mine" / "metrics.csv")))
    assert rows[0]["episodes"] == "2" and math.isfinite(float(rows[-1]["eval_return_mean"]))
    env.step(env.action_space.sample())  # the caller's environments are left open for the caller
    with pytest.raises(CogmapError, match="SAME_STEP"):
        train(config, tmp_path / "next", progress=False, env=make(AutoresetMode.NEXT_STEP))
    with pytest.raises(CogmapError, match="env has 2 copies but num_envs is 4"):
        train(PPOConfig(env="Pendulum-v1", num_envs=4, minibatches=4), tmp_path / "four", progress=False, env=make(AutoresetMode.SAME_STEP))


def test_control_config_errors_name_the_key():
    with pytest.raises(CogmapError, match="celll"):
        load_control_config(None, ["celll=gru"])
    with pytest.raises(CogmapError, match="cell"):
        load_control_config(None, ["cell=transformer"])
    with pytest.raises(CogmapError, match="gamma"):
        load_control_config(None, ["gamma=1.5"])
    assert load_control_config(None, ["lr=1e-3", "total_steps=2e4"]).total_steps == 20_000
    config = load_control_config("configs/control/pendulum_po_gru.yaml", ["total_steps=5000"])
    assert (config.observation, config.cell, config.total_steps, config.hidden) == ("partial", "gru", 5000, 64)


def test_the_pendulums_observation_is_one_of_its_env_kwargs_and_older_layouts_still_read():
    assert PPOConfig().observation == "partial" and PPOConfig().env_kwargs == {}  # the registry's pendulum
    full = load_control_config(None, ["env_kwargs.observation=full"])
    assert full.env_kwargs == {"observation": "full"} and make_env_for(full, num_envs=1).observation_dim == 3
    assert make_env_for(PPOConfig(), num_envs=1).observation_dim == 2
    with pytest.raises(CogmapError, match="env_kwargs.observation must be one of 'full', 'partial'"):
        load_control_config(None, ["env_kwargs.observation=fool"])
    # Every checkpoint saved before the move holds a top-level observation: a pendulum's moves, another task's goes.
    old = parse(PPOConfig, {"observation": "full", "cell": "rnn"})
    assert old.env_kwargs == {"observation": "full"} and old.observation == "full" and "observation" not in to_dict(old)
    walker = parse(PPOConfig, {"env": "cogmap/CheetahVelocity-v0", "observation": "partial", "env_kwargs": {"frame_skip": 5}})
    assert walker.env_kwargs == {"frame_skip": 5} and walker.observation is None
    assert (PPOConfig().run_name, full.run_name) == ("pendulum_partial_gru", "pendulum_full_gru")
    assert PPOConfig(env="arm_reach", env_kwargs={"observe": "pose", "max_speed": 2.0}, cell="mlp").run_name == \
        "arm_reach_pose_mlp"


def test_control_train_cli_end_to_end(tmp_path, cli):
    result = cli("control", "train", "--config", "configs/control/pendulum_po_lstm.yaml", "seed=2",
                        "--out", tmp_path / "run", "--quiet", "total_steps=6400", "eval_episodes=4")
    assert result.returncode == 0, result.stderr
    assert "evaluation over 4 episodes" in result.stdout
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["update_0001.pt", "update_0002.pt"]
    policy = load_policy(tmp_path / "run")
    assert policy.config.seed == 2 and policy.config.cell == "lstm" and policy.agent.state_dim == 128
    evaluated = cli("control", "evaluate", tmp_path / "run", tmp_path / "run" / "checkpoints" / "update_0002.pt",
                           "episodes=5", "seed=7", "--out", tmp_path / "evaluation")
    assert evaluated.returncode == 0, evaluated.stderr
    expected = evaluate_policy(policy, "partial", 5, seed=7)
    assert f"return {float(expected.mean()):.1f} +- {float(expected.std()):.1f} over 5 episodes" in evaluated.stdout
    assert f"over 2 runs: mean {float(expected.mean()):.1f} +- 0.0" in evaluated.stdout
    saved = json.loads((tmp_path / "evaluation" / "evaluation.json").read_text())
    assert [row["update"] for row in saved["runs"]] == [2, 2] and saved["over_runs"]["runs"] == 2
    assert saved["runs"][0]["return_mean"] == pytest.approx(float(expected.mean()))
    assert (tmp_path / "evaluation" / "returns.png").is_file()
    again = cli("control", "train", "--config", "configs/control/pendulum_po_lstm.yaml", "--out", tmp_path / "run",
                       "--quiet", "total_steps=6400")
    assert again.returncode == 2 and "already holds a run" in again.stderr
    resumed = cli("control", "train", "--out", tmp_path / "run", "--resume", "--quiet", "total_steps=9600",
                         "eval_episodes=4")
    assert resumed.returncode == 0, resumed.stderr
    assert len(list((tmp_path / "run" / "checkpoints").iterdir())) == 3
    missing = cli("control", "evaluate", tmp_path)
    assert missing.returncode == 2 and "checkpoints" in missing.stderr
    bad = cli("control", "train", "--out", tmp_path / "bad", "hidden=-3")
    assert bad.returncode == 2 and "hidden" in bad.stderr and not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_learning_dynamics_study_and_analyze_cli(tmp_path, cli):
    import json

    import numpy as np

    from cogmap.studies.learning_dynamics import Correlation, RunStudy, distance_reward_correlation, study

    for seed in (0, 1):
        train(PPOConfig(env_kwargs={"observation": "partial"}, cell="gru", total_steps=4800, seed=seed, eval_episodes=2, num_envs=8,
                        minibatches=4, epochs=10, noise_repeat=1),
              tmp_path / f"run{seed}", progress=False)
    result = study(tmp_path / "run0", every=2, episodes=2, fixed_point_starts=16, iterations=200)
    assert [r.update for r in result.checkpoints] == [1, 3]
    last = result.checkpoints[-1]
    assert last.reward_to_go == 0 and len(last.timescales) == 5 and np.all(np.diff(last.timescales) <= 0)
    assert last.hidden_states.shape == (2 * 200, 64) and np.abs(last.angles).max() <= np.pi
    assert [landscape.update for landscape in result.landscapes] == [1, 3]
    assert result.landscapes[0].torque.shape == (1, 61) and np.abs(result.landscapes[0].torque).max() <= 2
    json.dumps(result.to_json())  # numbers only
    done = cli("control", "analyze", tmp_path / "run0", tmp_path / "run1", "every=2", "--out", tmp_path / "study")
    assert done.returncode == 0, done.stderr
    saved = json.loads((tmp_path / "study" / "study.json").read_text())
    assert len(saved["runs"]) == 2 and (tmp_path / "study" / "policy_landscapes.png").is_file()
    again = cli("control", "analyze", tmp_path / "run0", "every=2", "--out", tmp_path / "study")
    assert again.returncode == 2 and "not empty" in again.stderr
    missing = cli("control", "analyze", tmp_path / "nothing")
    assert missing.returncode == 2 and not (tmp_path / "nothing").exists() and not (tmp_path / "runs").exists()
    # The correlation is Pearson's over (distance, reward-to-go) pairs; a perfectly linear set gives 1.
    rows = tuple(result.checkpoints[0].__class__(**{**vars(result.checkpoints[0]), "distance_to_final": d,
                                                    "reward_to_go": 3 * d + 1}) for d in (0.5, 1.0, 2.0, 4.0, 0.0))
    pooled = distance_reward_correlation([RunStudy("x", "partial", rows, ())])
    assert isinstance(pooled, Correlation) and pooled.r == pytest.approx(1.0) and pooled.n == 4 and pooled.runs == 1


def test_a_run_can_start_from_a_saved_agent_of_the_same_shape(tmp_path):
    first = PPOConfig(env_kwargs={"observation": "full"}, total_steps=1600, num_envs=8, minibatches=4, epochs=1, eval_episodes=2,
                      normalize_observations=True, seed=0)
    source = train(first, tmp_path / "first", progress=False) / "checkpoints" / "update_0001.pt"
    saved = load_policy(source).agent.state_dict()
    # A fresh agent of another seed takes every weight and the observation statistics of the saved one.
    agent = make_agent(PPOConfig(env_kwargs={"observation": "full"}, normalize_observations=True, seed=5))
    assert not torch.equal(agent.state_dict()["core.weight_hh_l0"], saved["core.weight_hh_l0"])
    ppo_module.initialise_from(agent, source)
    assert all(torch.equal(v, saved[k]) for k, v in agent.state_dict().items())
    # Training from it: the run's first update starts where the saved agent stopped, not from scratch.
    tuned = train(PPOConfig(env_kwargs={"observation": "full"}, total_steps=1600, num_envs=8, minibatches=4, epochs=1, eval_episodes=2,
                            normalize_observations=True, seed=5, lr=1e-12, init_from=str(source)),
                  tmp_path / "tuned", progress=False)
    after = load_policy(tuned / "checkpoints" / "update_0001.pt").agent.state_dict()
    for name in ("core.weight_hh_l0", "policy.0.weight", "value.2.bias", "log_std"):
        torch.testing.assert_close(after[name], saved[name], atol=1e-6, rtol=0)
    assert float(after["normalizer.count"]) > float(saved["normalizer.count"])  # its statistics go on
    with pytest.raises(CogmapError, match="differs"):
        ppo_module.initialise_from(make_agent(PPOConfig(env_kwargs={"observation": "full"}, hidden=32)), source)
    with pytest.raises(CogmapError, match="init_from"):
        PPOConfig(init_from="")


def test_an_asymmetric_critic_values_the_privileged_state_and_the_actor_sees_the_observation_alone():
    torch.manual_seed(0)
    agent = RecurrentActorCritic(3, 2, "gru", hidden=8, head=8, critic_observation_dim=5, critic_layers=(16,),
                                 observation_scale=[1.0, 2.0, 0.5])
    observation, privileged = torch.randn(4, 6, 3), torch.randn(4, 6, 5)
    both = agent(torch.cat([observation, privileged], -1))
    alone = agent(observation)
    assert torch.equal(both.mean, alone.mean) and torch.equal(both.state, alone.state)
    assert torch.isnan(alone.value).all() and not torch.isnan(both.value).any()
    other = agent(torch.cat([observation, privileged + 1], -1))
    assert torch.equal(other.mean, both.mean) and not torch.allclose(other.value, both.value)  # the value reads it
    moved = agent(torch.cat([observation + 1, privileged], -1))
    assert torch.equal(moved.value, both.value) and not torch.allclose(moved.mean, both.mean)  # the actor does not
    # By hand: the critic is its MLP on the privileged state (its scale 1: the environment's factors are the actor's).
    by_hand = agent.value(privileged)[..., 0]
    torch.testing.assert_close(both.value, by_hand)
    assert agent.normalizer.scale.tolist() == [1.0, 2.0, 0.5] + [1.0] * 5
    with pytest.raises(CogmapError, match=r"\(N, 3\) \(or 8 with the critic's privileged state after them\)"):
        agent(torch.randn(4, 4))
