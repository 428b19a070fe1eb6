import csv
import math

import pytest
import torch

from cogmap.analysis.dynamics import recurrent_step
from cogmap.control.policies import RecurrentActorCritic
from cogmap.control.envs import BatchedPendulum
from cogmap.control.ppo import (PPOConfig, advantages, evaluate_policy, load_agent, load_control_config, make_agent,
                                rollout, train)
from cogmap.errors import CogmapError
from tests.cli.test_cli import cogmap


def test_gae_matches_a_hand_computation():
    rewards = torch.tensor([[1.0, 0.0, 2.0]])
    values = torch.tensor([[0.5, 1.0, 0.0]])
    final = torch.tensor([3.0])
    gamma, lam = 0.9, 0.8
    d2 = 2.0 + gamma * 3.0 - 0.0
    d1 = 0.0 + gamma * 0.0 - 1.0
    d0 = 1.0 + gamma * 1.0 - 0.5
    a2 = d2
    a1 = d1 + gamma * lam * a2
    a0 = d0 + gamma * lam * a1
    adv, returns = advantages(rewards, values, final, gamma, lam)
    assert torch.allclose(adv, torch.tensor([[a0, a1, a2]]))
    assert torch.allclose(returns, adv + values)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm"])
def test_agent_states_are_first_class_and_match_the_analysis_step(cell):
    agent = RecurrentActorCritic(2, cell=cell)
    observations = torch.randn(3, 5, 2)
    state = agent.initial_state(3)
    _, _, outputs, final = agent(observations, state)
    step = recurrent_step(agent.core)
    for t in range(5):
        state = step(state, observations[:, t])
    assert torch.allclose(final, state, atol=1e-5)
    assert torch.allclose(outputs[:, -1], state[:, :agent.hidden], atol=1e-5)


@pytest.mark.parametrize("repeat", [1, 4, 7])
def test_exploration_noise_is_held_for_noise_repeat_steps(repeat):
    agent = RecurrentActorCritic(3, cell="gru")
    with torch.no_grad():  # a zero policy mean makes every action pure exploration noise
        agent.policy[-1].weight.zero_()
        agent.policy[-1].bias.zero_()
    env = BatchedPendulum(num_envs=5, observation="full", seed=0)
    actions = rollout(agent, env, generator=torch.Generator().manual_seed(0), noise_repeat=repeat)["actions"]
    actions = actions.reshape(5, 200)  # (envs, steps)
    blocks = torch.arange(200) // repeat
    for b in range(int(blocks[-1]) + 1):
        block = actions[:, blocks == b]
        assert torch.equal(block, block[:, :1].expand_as(block))  # held within a block
    starts = actions[:, ::repeat]
    assert (starts[:, 1:] != starts[:, :-1]).all()  # redrawn at every block boundary
    assert abs(float(actions[:, ::repeat].std()) - 1.0) < 0.2  # unit-std noise (log_std 0)
    with pytest.raises(CogmapError, match="noise_repeat"):
        PPOConfig(noise_repeat=0)


def test_a_short_run_on_the_fully_observable_pendulum_beats_the_untrained_policy(tmp_path):
    config = PPOConfig(observation="full", cell="rnn", total_steps=64_000, seed=1)
    torch.manual_seed(1)
    before = float(evaluate_policy(make_agent(config), "full", 20, seed=99).mean())
    train(config, tmp_path / "run", progress=False)
    agent, _ = load_agent(tmp_path / "run" / "checkpoints" / "update_0040.pt")
    after = float(evaluate_policy(agent, "full", 20, seed=99).mean())
    assert after > before + 150  # about -1130 untrained
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert len(rows) == 40 and math.isfinite(float(rows[-1]["eval_return_mean"]))


def test_control_config_errors_name_the_key():
    with pytest.raises(CogmapError, match="celll"):
        load_control_config(None, ["celll=gru"])
    with pytest.raises(CogmapError, match="cell"):
        load_control_config(None, ["cell=transformer"])
    with pytest.raises(CogmapError, match="gamma"):
        load_control_config(None, ["gamma=1.5"])
    config = load_control_config("configs/control/pendulum_po_gru.yaml", ["total_steps=5000"])
    assert (config.observation, config.cell, config.total_steps, config.hidden) == ("partial", "gru", 5000, 64)


def test_control_train_cli_end_to_end(tmp_path):
    result = cogmap("control", "train", "--config", "configs/control/pendulum_po_lstm.yaml", "--seed", "2",
                    "--out", tmp_path / "run", "--quiet", "total_steps=6400", "eval_episodes=4")
    assert result.returncode == 0, result.stderr
    assert "evaluation over 4 episodes" in result.stdout
    assert sorted(p.name for p in (tmp_path / "run" / "checkpoints").iterdir()) == ["update_0001.pt", "update_0002.pt"]
    agent, config = load_agent(tmp_path / "run" / "checkpoints" / "update_0002.pt")
    assert config.seed == 2 and config.cell == "lstm" and agent.state_dim == 128
    evaluated = cogmap("control", "evaluate", tmp_path / "run", tmp_path / "run", "--episodes", "5", "--seed", "7")
    assert evaluated.returncode == 0, evaluated.stderr
    expected = evaluate_policy(agent, "partial", 5, seed=7)
    assert f"return {float(expected.mean()):.1f} +- {float(expected.std()):.1f} over 5 episodes" in evaluated.stdout
    assert f"over 2 runs: mean {float(expected.mean()):.1f} +- 0.0" in evaluated.stdout
    missing = cogmap("control", "evaluate", tmp_path)
    assert missing.returncode != 0 and "checkpoints" in missing.stderr
    bad = cogmap("control", "train", "--out", tmp_path / "bad", "hidden=-3")
    assert bad.returncode == 2 and "hidden" in bad.stderr


def test_learning_dynamics_study_and_analyze_cli(tmp_path):
    import json

    import numpy as np

    from cogmap.control.study import distance_reward_correlation, policy_landscape, study

    for seed in (0, 1):
        train(PPOConfig(observation="partial", cell="gru", total_steps=4800, seed=seed, eval_episodes=2),
              tmp_path / f"run{seed}", progress=False)
    result = study(tmp_path / "run0", every=2, episodes=2, fixed_point_starts=16, iterations=200)
    assert [r["update"] for r in result["rows"]] == [1, 3]
    last = result["rows"][-1]
    assert last["reward_to_go"] == 0 and len(last["timescale_mean"]) == 5
    assert last["hidden_states"].shape == (2 * 200, 64) and np.abs(last["angles"]).max() <= np.pi
    landscape = policy_landscape(last["agent"], "partial", np.linspace(-3, 3, 7), np.zeros(1))
    assert landscape.shape == (1, 7) and np.abs(landscape).max() <= 2
    cli = cogmap("control", "analyze", tmp_path / "run0", tmp_path / "run1", "--every", "2", "--out", tmp_path / "study")
    assert cli.returncode == 0, cli.stderr
    saved = json.loads((tmp_path / "study" / "study.json").read_text())
    assert len(saved["runs"]) == 2 and (tmp_path / "study" / "policy_landscapes.png").is_file()
    # The correlation is Pearson's over (distance, reward-to-go) pairs; a perfectly linear set gives 1.
    rows = [{"distance_to_final": d, "reward_to_go": 3 * d + 1} for d in (0.5, 1.0, 2.0, 4.0)] + [{}]
    assert distance_reward_correlation([{"rows": rows}])["r"] == pytest.approx(1.0)
