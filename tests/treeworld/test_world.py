import math

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import BatchedTreeWorld, TreeWorld, TreeWorldConfig
from cogmap.treeworld.agents import make_agent
from cogmap.treeworld.world import Layout, random_layout

D = 8


def layout(trees, poisonous, worlds=1):
    """A hand-made layout: the same trees in every world, basis-vector embeddings."""
    n = len(trees)
    location = torch.tensor(trees, dtype=torch.float32).expand(worlds, n, 2).clone()
    poison = torch.tensor(poisonous).expand(worlds, n).clone()
    embedding = torch.eye(D)[:n].expand(worlds, n, D).clone()
    names = [["nightshade" if p else "apple" for p in poisonous] for _ in range(worlds)]
    return Layout(location, poison, names, embedding)


def config(**changes):
    return TreeWorldConfig(num_trees=changes.pop("num_trees", 2), embedding_dim=D, **changes)


def move(x, y, worlds=1):
    return torch.tensor([[x, y]], dtype=torch.float32).expand(worlds, 2)


def test_moving_costs_two_and_resting_one_and_movement_is_counted():
    world = BatchedTreeWorld(config(), layout([[500, 500], [-500, 500]], [False, False]))
    world.step(move(3, 4))
    assert world.health.item() == 998 and world.total_movement.item() == pytest.approx(5)
    assert torch.allclose(world.location, torch.tensor([[3.0, 4.0]]))
    assert torch.allclose(world.heading, torch.tensor([[0.6, 0.8]]))
    world.step(move(10, 0), rest=torch.tensor([True]))
    assert world.health.item() == 997 and world.total_movement.item() == pytest.approx(5)
    assert torch.allclose(world.location, torch.tensor([[3.0, 4.0]]))  # resting ignores the move


def test_eats_one_fruit_per_step_only_within_reach_and_only_while_the_tree_has_fruit():
    c = config(max_fruit=2, max_health=1000.0)
    world = BatchedTreeWorld(c, layout([[20, 0], [500, 0]], [False, False]))
    world.health[:] = 500
    world.step(move(9, 0))  # 11 from the tree: out of reach
    assert world.fruit_eaten.item() == 0 and world.health.item() == 498
    outcome = world.step(move(1, 0))  # exactly eat_distance away: within reach
    assert bool(outcome.ate[0]) and outcome.tree.item() == 0
    assert world.health.item() == 498 - 2 + 25 and world.fruit[0, 0].item() == 1
    world.step(move(0, 0), rest=torch.tensor([True]))
    assert world.health.item() == 521 - 1 + 25 and world.fruit[0, 0].item() == 0
    outcome = world.step(move(0, 0), rest=torch.tensor([True]))  # no fruit left: nothing to eat
    assert not bool(outcome.ate[0]) and world.health.item() == 544
    assert world.fruit_eaten.item() == 2


def test_poison_costs_health_and_is_counted():
    world = BatchedTreeWorld(config(), layout([[5, 0], [500, 0]], [True, False]))
    outcome = world.step(move(0, 0), rest=torch.tensor([True]))
    assert bool(outcome.ate_poison[0]) and outcome.health_change.item() == -1 - 25
    assert world.poisonous_fruit_eaten.item() == 1 and world.fruit_eaten.item() == 1


def test_eats_from_the_nearest_tree_that_still_has_fruit():
    world = BatchedTreeWorld(config(), layout([[3, 0], [6, 0]], [True, False]))
    world.fruit[0, 0] = 0  # the nearer, poisonous tree is empty
    outcome = world.step(move(0, 0), rest=torch.tensor([True]))
    assert outcome.tree.item() == 1 and not bool(outcome.ate_poison[0])


def test_health_is_capped_at_the_maximum():
    world = BatchedTreeWorld(config(), layout([[0, 0], [500, 0]], [False, False]))
    world.step(move(0, 0), rest=torch.tensor([True]))
    assert world.health.item() == 1000  # 1000 - 1 + 25, capped


def test_trees_regrow_every_regrow_every_steps():
    c = config(regrow_every=4, max_fruit=3)
    world = BatchedTreeWorld(c, layout([[0, 0], [500, 0]], [False, False]))
    rest = torch.tensor([True])
    for expected in (2, 1, 0):
        world.step(move(0, 0), rest=rest)
        assert world.fruit[0, 0].item() == expected
    world.step(move(0, 0), rest=rest)  # step 4: nothing to eat, then all trees refill
    assert world.fruit[0].tolist() == [3, 3]


def test_death_freezes_a_world_only_when_allowed():
    c = config(max_health=3.0)
    for allow in (True, False):
        world = BatchedTreeWorld(c, layout([[500, 0], [-500, 0]], [False, False]), allow_death=allow)
        died = [bool(world.step(move(1, 0)).died[0]) for _ in range(3)]
        assert world.health.item() == (-1 if allow else -3)  # 3 -> 1 -> -1 (dead, frozen)
        if allow:
            assert died == [False, True, False] and not bool(world.alive[0])
            assert world.location[0, 0].item() == 2  # frozen after death
        else:
            assert not any(died) and bool(world.alive[0]) and world.location[0, 0].item() == 3


def test_a_batch_equals_single_worlds_step_for_step():
    c = TreeWorldConfig(num_trees=12, embedding_dim=16, tree_spacing=20.0, max_health=300.0)
    seeds = [3, 11, 7]
    batch = BatchedTreeWorld.random_from_config(c, seeds)
    singles = [BatchedTreeWorld.random_from_config(c, [s]) for s in seeds]
    generator = torch.Generator().manual_seed(0)
    for _ in range(400):
        moves = torch.randn(3, 2, generator=generator) * 8
        rest = torch.rand(3, generator=generator) < 0.3
        batch.step(moves, rest)
        for i, single in enumerate(singles):
            single.step(moves[i:i + 1], rest[i:i + 1])
    deaths = 0
    for i, single in enumerate(singles):
        for name, value in single.state_dict().items():
            assert torch.equal(batch.state_dict()[name][i], value[0]), name
        deaths += int(not single.alive[0])
        assert torch.equal(batch.layout.embedding[i], single.layout.embedding[0])
    assert batch.fruit_eaten.sum() > 0  # the test exercised eating
    assert deaths > 0  # and death


def test_layouts_are_determined_by_seed_and_differ_between_seeds():
    c = TreeWorldConfig(embedding_dim=16)
    a, b, other = random_layout(c, [5]), random_layout(c, [5]), random_layout(c, [6])
    assert torch.equal(a.location, b.location) and torch.equal(a.embedding, b.embedding) and a.fruit_type == b.fruit_type
    assert not torch.equal(a.location, other.location)


def test_tree_positions_and_poison_follow_the_config():
    c = TreeWorldConfig(num_trees=200, embedding_dim=4)
    trees = random_layout(c, range(20))
    spread = trees.location.std().item()
    assert spread == pytest.approx(c.tree_spread, rel=0.05)
    assert trees.poisonous.float().mean().item() == pytest.approx(0.3, abs=0.03)
    for names, poison in zip(trees.fruit_type, trees.poisonous.tolist()):
        for name, bad in zip(names, poison):
            assert name in (c.poisonous_fruits if bad else c.edible_fruits)


def test_run_records_and_is_reproducible_by_seed():
    c = TreeWorldConfig(embedding_dim=32)
    records = []
    for _ in range(2):
        world = TreeWorld.random_from_config(c, seed=4, model=make_agent("drive", c, seed=4))
        records.append(world.run(300).as_tensors())
    assert records[0]["location"].shape == (301, 2) and records[0]["move"].shape == (300, 2)
    for name in records[0]:
        assert torch.equal(records[0][name], records[1][name]), name
    # The record's health follows the rules: steps cost 1 or 2, fruit +-25, capped at the maximum.
    health, rest = records[0]["health"], records[0]["rest"]
    ate, poison = records[0]["ate"], records[0]["ate_poison"]
    expected = health[:-1] - torch.where(rest, 1.0, 2.0) + torch.where(poison, -25.0, 25.0) * ate
    assert torch.equal(health[1:], expected.clamp(max=1000.0))


def test_run_stops_at_death_only_when_death_is_allowed():
    c = TreeWorldConfig(embedding_dim=8, max_health=20.0, num_trees=1, tree_spacing=1000.0)
    world = TreeWorld.random_from_config(c, seed=0, model=make_agent("spiral", c))
    world.run(50, allow_death=True)
    assert world.steps == 10 and not world.agent.alive
    world.reset()
    world.run(50, allow_death=False)
    assert world.steps == 50 and world.agent.health < 0


def test_world_reset_restores_fruit_and_agent():
    c = TreeWorldConfig(embedding_dim=8)
    world = TreeWorld.random_from_config(c, seed=1, model=make_agent("random", c))
    world.run(200)
    world.reset()
    assert world.steps == 0 and world.agent.health == c.max_health
    assert all(tree.fruit == c.max_fruit for tree in world.trees)
    assert torch.equal(world.agent.location, torch.zeros(2))


@pytest.mark.parametrize("field,value", [("num_trees", -1), ("num_trees", 0), ("eat_distance", -2.0),
                                         ("max_sense_distance", 0.0), ("poison_probability", 1.5),
                                         ("embedding_backend", "hub"), ("move_cost", -1.0),
                                         ("max_health", float("nan"))])
def test_invalid_configs_are_refused_with_the_field_named(field, value):
    with pytest.raises(CogmapError, match=field):
        TreeWorldConfig(**{field: value})


def test_unknown_and_mistyped_config_keys_are_named():
    with pytest.raises(CogmapError, match="tree_count"):
        TreeWorldConfig.from_dict({"tree_count": 3})
    with pytest.raises(CogmapError, match="num_trees"):
        TreeWorldConfig.from_dict({"num_trees": "many"})
    assert TreeWorldConfig.from_dict({"edible_fruits": ["kiwi"]}).edible_fruits == ("kiwi",)


def test_bad_moves_are_refused():
    world = BatchedTreeWorld.random_from_config(config(), [0, 1])
    with pytest.raises(CogmapError, match=r"\(2, 2\)"):
        world.step(torch.zeros(3, 2))
    with pytest.raises(CogmapError, match="NaN"):
        world.step(torch.tensor([[math.nan, 0.0], [0.0, 0.0]]))
