"""The NumPy engine of one world against the batched torch world it re-implements, step for step."""

import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import BatchedTreeWorld, TreeWorld, TreeWorldConfig
from cogmap.treeworld.agents import DriveForager
from cogmap.treeworld.single import NumpyTreeWorld
from cogmap.treeworld.world import random_layout

# Few trees close together, fast regrowth and little health: eating, poison, regrowth and death all happen.
CONFIG = TreeWorldConfig(embedding_dim=32, num_trees=12, tree_spacing=15.0, regrow_every=40, max_health=80.0)


def _assert_senses_agree(ours, theirs):
    for name in ("smell", "sight"):
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.index.tolist() == b.index.tolist(), name
        torch.testing.assert_close(a.embedding, b.embedding, atol=1e-5, rtol=0)
        torch.testing.assert_close(a.distance, b.distance, atol=1e-4, rtol=0, equal_nan=True)
        torch.testing.assert_close(a.location, b.location, equal_nan=True)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_world_steps_as_the_batched_world(seed):
    ours = NumpyTreeWorld.random_from_config(CONFIG, [seed])
    theirs = BatchedTreeWorld.random_from_config(CONFIG, [seed])
    generator = torch.Generator().manual_seed(seed)
    events = {"ate": 0, "poison": 0, "died": 0, "turned_resting": 0}
    for t in range(1500):
        _assert_senses_agree(ours.sense(), theirs.sense())
        # Moves that wander around the trees, some rests, sometimes an explicit heading (also while resting).
        toward = theirs.layout.location[0, t % CONFIG.num_trees] - theirs.location[0]
        move = (toward / toward.norm().clamp_min(1.0) * 6 + torch.randn(2, generator=generator) * 3)[None]
        rest = torch.rand(1, generator=generator) < 0.2
        heading = torch.randn(1, 2, generator=generator) if t % 7 == 0 else None
        events["turned_resting"] += int(bool(rest) and heading is not None)
        a, b = ours.step(move, rest, heading), theirs.step(move, rest, heading)
        for field in ("ate", "ate_poison", "tree", "died"):
            assert getattr(a, field).tolist() == getattr(b, field).tolist(), (t, field)
        torch.testing.assert_close(a.health_change, b.health_change)
        events["ate"] += int(a.ate[0])
        events["poison"] += int(a.ate_poison[0])
        if bool(a.died[0]):
            events["died"] += 1
            ours.reset(), theirs.reset()
    mine, other = ours.state_dict(), theirs.state_dict()
    for name in ("health", "alive", "steps", "fruit", "fruit_eaten", "poisonous_fruit_eaten"):
        assert torch.equal(mine[name], other[name]), name
    for name in ("location", "heading", "total_movement"):
        torch.testing.assert_close(mine[name], other[name], atol=1e-3, rtol=1e-5)
    assert events["ate"] > 20 and events["poison"] > 0 and events["died"] > 0 and events["turned_resting"] > 0


def test_dead_worlds_do_not_change_and_death_can_be_switched_off():
    world = NumpyTreeWorld.random_from_config(TreeWorldConfig(embedding_dim=8, max_health=3.0,
                                                              tree_spacing=1e4), [0])
    for _ in range(2):
        world.step(torch.tensor([[1.0, 0.0]]))
    assert not bool(world.alive[0]) and int(world.steps[0]) == 2
    before = world.state_dict()
    assert world.step_one(np.array([5.0, 5.0])) == (0.0, False, False, -1, False)
    assert all(torch.equal(before[k], v) for k, v in world.state_dict().items())
    immortal = NumpyTreeWorld.random_from_config(TreeWorldConfig(embedding_dim=8, max_health=3.0,
                                                                 tree_spacing=1e4), [0], allow_death=False)
    for _ in range(5):
        immortal.step_one(np.array([1.0, 0.0]))
    assert bool(immortal.alive[0]) and float(immortal.health[0]) == 3.0 - 5 * 2.0


def test_tensors_read_before_a_step_keep_their_values():
    world = NumpyTreeWorld.random_from_config(CONFIG, [0])
    location, health, fruit = world.location, world.health, world.fruit
    kept = location.clone(), health.clone(), fruit.clone()
    for _ in range(30):
        world.step_one(np.array([3.0, -1.0]))
    assert torch.equal(location, kept[0]) and torch.equal(health, kept[1]) and torch.equal(fruit, kept[2])
    assert not torch.equal(world.location, location)


def test_tree_world_runs_the_numpy_engine_on_the_cpu_with_the_same_outcomes():
    config = TreeWorldConfig(embedding_dim=32)
    fast = TreeWorld.random_from_config(config, seed=3, model=DriveForager.from_config(config, seed=3))
    assert isinstance(fast.batched, NumpyTreeWorld)
    slow = TreeWorld(config, BatchedTreeWorld.random_from_config(config, [3]), DriveForager.from_config(config, seed=3),
                     seed=3)
    for _ in range(800):
        a, b = fast.observe(), slow.observe()
        torch.testing.assert_close(a.smell, b.smell, atol=1e-5, rtol=0)
        assert (a.nearest_distance == pytest.approx(b.nearest_distance, abs=1e-4)
                or a.nearest_distance == b.nearest_distance == float("inf"))
        torch.testing.assert_close(a.location, b.location, atol=1e-3, rtol=0)
        fast.step(), slow.step()
    summary, expected = fast.summary(), slow.summary()
    for key in ("steps", "alive", "fruit_eaten", "poisonous_fruit_eaten"):
        assert summary[key] == expected[key], key
    assert summary["fruit_eaten"] > 0


def test_bad_input_gets_one_clear_error():
    world = NumpyTreeWorld.random_from_config(CONFIG, [0])
    with pytest.raises(CogmapError, match="NaN"):
        world.step(torch.tensor([[float("nan"), 0.0]]))
    with pytest.raises(CogmapError, match=r"\(1, 2\)"):
        world.step(torch.zeros(2, 2))
    with pytest.raises(CogmapError, match="one world"):
        NumpyTreeWorld(CONFIG, random_layout(CONFIG, [0, 1]))
    with pytest.raises(CogmapError, match="one world"):
        NumpyTreeWorld.random_from_config(CONFIG, [0, 1])
    two = BatchedTreeWorld.random_from_config(CONFIG, [0, 1])
    for call in (lambda: two.observation(), lambda: two.step_one([1.0, 0.0]), lambda: two.is_alive):
        with pytest.raises(CogmapError, match="batch of one world"):
            call()
    with pytest.raises(CogmapError, match="CPU"):
        NumpyTreeWorld(CONFIG, random_layout(CONFIG, [0]), device="cuda")
