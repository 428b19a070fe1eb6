import numpy as np
import pytest
import torch

from cogmap.envs import CHEETAH_ID
from cogmap.errors import CogmapError
from cogmap.rl.agents import RecurrentActorCritic
from cogmap.rl.config import PPOConfig
from cogmap.rl.policy import Policy, make_agent
from cogmap.studies.walking import ACTUATION, RECURRENT, Recording, cycle_average, layer_tangling, record


def synthetic(period: int = 20, cycles: int = 6, copies: int = 3, shift: float = 0.0) -> Recording:
    """Copies walking in step: the foot is down for the first half of every cycle; a circle in the
    recurrent layer, a self-crossing figure-eight in the actuation."""
    t = np.arange(period * cycles)
    phase = 2 * np.pi * (t % period) / period
    circle = np.stack([np.cos(phase), np.sin(phase), np.full_like(phase, shift)], 1)
    eight = np.stack([np.sin(phase), np.sin(2 * phase)], 1)
    contacts = ((t % period) < period // 2)[:, None]
    stack = lambda a: np.repeat(a[None], copies, axis=0)  # noqa: E731
    return Recording(np.array([1.0 + shift]), {RECURRENT: stack(circle), ACTUATION: stack(eight)},
                     stack(contacts), stack(np.full((len(t), 1), 1.0 + shift)), dt=0.02)


def test_cycles_are_cut_at_lift_off_and_averaged_over_the_copies():
    cycles = cycle_average(synthetic())
    # Lift-offs at 10, 30, ... give five whole cycles per copy, each one period long.
    assert cycles.length == 20 and cycles.cycles_used == 15 and cycles.cycles_total == 15
    phase = 2 * np.pi * ((np.arange(20) + 10) % 20) / 20
    assert np.allclose(cycles.cycles[RECURRENT][:, 0], np.cos(phase))
    assert cycles.speed_error == pytest.approx(0.0)
    with pytest.raises(CogmapError, match="foot must be"):
        cycle_average(synthetic(), foot=3)


def test_a_figure_eight_actuation_is_more_tangled_than_a_circular_recurrent_layer():
    conditions = [cycle_average(synthetic(shift=s)) for s in (0.0, 0.5, 1.0)]
    circle = layer_tangling([c.cycles[RECURRENT] for c in conditions], dt=0.02, n_pcs=8)
    eight = layer_tangling([c.cycles[ACTUATION] for c in conditions], dt=0.02, n_pcs=8)
    assert all(e > 5 * c for e, c in zip(eight.median_within, circle.median_within))
    # The seed's eps (0.1 x the variance of all entries, no PCA) is smaller by the number of units (after z-scoring).
    assert circle.eps_seed == pytest.approx(circle.eps / circle.units, rel=0.1)
    assert len(circle.q_pooled) == 3 and len(circle.q_pooled[0]) == 20


def test_a_walker_that_never_lifts_a_foot_has_no_cycles_to_analyse():
    config = PPOConfig(env=CHEETAH_ID, cell="lstm", hidden=8, head=8, num_envs=2, minibatches=1, encoder=(8,))
    policy = Policy(make_agent(config), config)
    recording = record(policy, 1.0, envs=2, steps=60, warmup=10, controls={"copy": policy.agent})
    assert recording.layers[RECURRENT].shape == (2, 60, 8) and recording.layers["recurrent cell"].shape == (2, 60, 8)
    # A control driven by the walker's own observations, here the walker itself, replays its layers exactly.
    for layer in ("input", RECURRENT, "recurrent cell", ACTUATION):
        assert np.allclose(recording.layers[f"copy {layer}"], recording.layers[layer], atol=1e-5)
    assert recording.layers[ACTUATION].shape == (2, 60, 6) and recording.contacts.shape == (2, 60, 2)
    assert recording.dt == pytest.approx(0.02)  # 50 Hz, as the seed's robots
    with pytest.raises(CogmapError, match="never lifted off twice"):
        cycle_average(recording)


def test_the_study_refuses_an_agent_that_is_not_a_walker():
    policy = Policy(RecurrentActorCritic(3), PPOConfig(env_kwargs={"observation": "full"}))
    with pytest.raises(CogmapError, match="needs a walker"):
        record(policy, 1.0, envs=1, steps=20)


@pytest.mark.parametrize("args,needle", [
    (["pretrained/control/pendulum_fo_rnn.pt"], "needs a walker"),
    (["pretrained/control/pendulum_fo_rnn.pt", "commands=fast"], "commands must be a list"),
    (["pretrained/control/pendulum_fo_rnn.pt", "commands=[[1, 0], 2]"], "commands must be a list of forward speeds"),
    (["pretrained/control/pendulum_fo_rnn.pt", "envs=0"], "envs must be an integer >= 1"),
    (["pretrained/control/pendulum_fo_rnn.pt", "noise_level=-1"], "noise_level must be a number >= 0"),
    (["pretrained/control/pendulum_fo_rnn.pt", "twin_seed=-1"], "twin_seed must be an integer >= 0"),
    (["pretrained/control/pendulum_fo_rnn.pt", "twin_seed=9223372036854775808"], "twin_seed must be below 2**63"),
    (["pretrained/control/cheetah_speed_lstm_seed0.pt", "noise_level=1", "commands=[1]", "envs=1"], "Go1 task's"),
    (["pretrained/nothing.pt"], "does not exist"),
])
def test_the_tangling_command_refuses_bad_input_in_one_line(args, needle, tmp_path, capsys, monkeypatch, repository):
    from cogmap.cli.main import main

    monkeypatch.chdir(repository)
    code = main(["control", "tangling", *args, "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "out").exists()


def test_tracking_error_is_the_largest_relative_miss_over_the_commanded_components():
    from cogmap.studies.walking import tracking_error

    assert tracking_error([0.9, 0.05, 0.6], [1.0, 0.0, 0.5]) == pytest.approx(0.2)  # the turn misses by 20%
    assert tracking_error([1.9], [2.0]) == pytest.approx(0.05)  # a forward speed alone, as the cheetah's
    assert tracking_error([0.03, -0.04, 0.0], [0.0, 0.0, 0.0]) == pytest.approx(0.04)  # standing: the speed reached


def test_the_untrained_twin_is_drawn_from_its_own_seed_and_keeps_the_walkers_normalisation():
    from cogmap.studies.walking import untrained_copy

    policy = Policy(make_agent(PPOConfig(env=CHEETAH_ID, cell="lstm", hidden=8, head=8, encoder=(16,)),
                               {"observation_dim": 17, "action_dim": 6, "action_low": [-1.0] * 6,
                                "action_high": [1.0] * 6, "observation_scale": None}), PPOConfig(env=CHEETAH_ID))
    policy.agent.normalizer.shift.fill_(0.3)
    one, same, other = untrained_copy(policy, 1), untrained_copy(policy, 1), untrained_copy(policy, 2)
    weights = lambda net: torch.cat([p.flatten() for p in net.parameters()])  # noqa: E731
    assert torch.equal(weights(one), weights(same)) and not torch.allclose(weights(one), weights(other))
    assert torch.allclose(one.normalizer.shift, torch.tensor(0.3)) and torch.allclose(other.normalizer.shift, torch.tensor(0.3))
