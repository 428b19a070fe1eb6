"""The batched drive forager against the one-world forager it re-implements: same worlds, same seeds,
the same trajectories, told its location or localizing itself."""

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import BatchedTreeWorld, TreeWorld, TreeWorldConfig
from cogmap.treeworld.agents import DriveForager
from cogmap.treeworld.agents.batched import BatchedDriveForager, run_survival
from cogmap.treeworld.experiments import survival_runs

CONFIG = TreeWorldConfig(embedding_dim=32)
KEYS = ("steps", "alive", "fruit_eaten", "poisonous_fruit_eaten")


def test_in_lock_step_with_one_world_foragers_even_when_its_memory_must_grow():
    seeds, steps = [0, 3, 5], 1200
    singles = [TreeWorld.random_from_config(CONFIG, seed=s, model=DriveForager.from_config(CONFIG, seed=s))
               for s in seeds]
    world = BatchedTreeWorld.random_from_config(CONFIG, seeds)
    agent = BatchedDriveForager.from_config(CONFIG, seeds, capacity=2)  # grows to 4, 8, ... as trees are met
    tasted = torch.zeros(len(seeds), dtype=torch.long)
    for _ in range(steps):
        for single in singles:
            single.step()
        move, rest, heading = agent.act(world.location, world.health, world.steps, tasted, world.sense())
        outcome = world.step(move, rest, heading)
        tasted = torch.where(outcome.ate_poison, -1, torch.where(outcome.ate, 1, 0))
    expected = torch.cat([single.batched.location for single in singles])
    torch.testing.assert_close(world.location, expected, atol=1e-4, rtol=0)
    assert world.fruit_eaten.tolist() == [single.agent.fruit_eaten for single in singles]
    assert agent.capacity >= 16 and agent.count.tolist() == [len(single.agent.model.trees) for single in singles]


@pytest.mark.parametrize("source,agent,worlds,steps", [
    ("true", "drive", 4, 1500),
    ("phase", "drive-phase", 2, 700),
    ("odometry", "drive-odometry", 2, 700),
    ("landmarks", "drive-landmarks", 2, 700),
])
def test_survival_rows_equal_the_one_world_runs(source, agent, worlds, steps):
    noise = 0.0 if source == "true" else 1.5
    batched = run_survival(CONFIG, range(worlds), steps, source, action_noise=noise)
    single = survival_runs(agent, CONFIG, range(worlds), steps, action_noise=noise)
    for b, s in zip(batched, single):
        assert {k: b[k] for k in KEYS} == {k: s[k] for k in KEYS}
        assert b["total_movement"] == pytest.approx(s["total_movement"], abs=1e-2)
        if source != "true":
            assert b["localization_error_mean"] == pytest.approx(s["localization_error_mean"], rel=1e-4)


def test_a_fixed_map_is_kept_alike_and_differs_from_a_moving_one():
    fixed = run_survival(CONFIG, range(2), 600, "odometry", action_noise=2.0, reanchor=False)
    single = survival_runs("drive-odometry", CONFIG, range(2), 600, action_noise=2.0, reanchor=False)
    moving = run_survival(CONFIG, range(2), 600, "odometry", action_noise=2.0)
    for b, s in zip(fixed, single):
        assert {k: b[k] for k in KEYS} == {k: s[k] for k in KEYS}
    assert [r["total_movement"] for r in fixed] != [r["total_movement"] for r in moving]


def test_tem2d_localizing_foragers_agree_to_rounding():
    # TEM2d's convolutions round differently for a batch than for one world: agreement, not identity.
    batched = run_survival(CONFIG, range(2), 250, "tem2d", action_noise=1.0)
    single = survival_runs("drive-tem2d", CONFIG, range(2), 250, action_noise=1.0)
    for b, s in zip(batched, single):
        assert b["fruit_eaten"] == s["fruit_eaten"]
        assert b["total_movement"] == pytest.approx(s["total_movement"], rel=1e-3)


def test_bad_settings_get_one_clear_error():
    with pytest.raises(CogmapError, match="source"):
        run_survival(CONFIG, [0], 5, "gps")
    with pytest.raises(CogmapError, match="action_noise"):
        run_survival(CONFIG, [0], 5, "phase", action_noise=-1.0)
    with pytest.raises(CogmapError, match="seeds"):
        BatchedDriveForager([], 8)
