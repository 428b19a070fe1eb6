import math

import numpy as np
import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import TreeWorld, TreeWorldConfig
from cogmap.treeworld.agents import CircleTracer, DriveForager, Observation, RandomForager, SpiralTracer, make_agent
from cogmap.treeworld.experiments import survival_curve, survival_runs, survival_summary
from cogmap.treeworld.render import AGENT, render_rgb
from cogmap.treeworld.world import BatchedTreeWorld

NAN2 = torch.tensor([math.nan, math.nan])


def observation(location=(0.0, 0.0), health=1000.0, sight_location=None, step=0, tasted=0, sight=None, nearest=None):
    seen = sight_location is not None
    near = nearest is not None
    nearest_distance = float(torch.tensor(nearest).sub(torch.tensor(location)).norm()) if near else math.inf
    return Observation(step=step, location=torch.tensor(location), heading=torch.tensor([1.0, 0.0]), health=health,
                       smell=torch.zeros(4), nearest_distance=nearest_distance,
                       nearest_location=torch.tensor(nearest) if near else NAN2,
                       sight=sight if sight is not None else torch.zeros(4),
                       sight_distance=float(torch.tensor(sight_location).sub(torch.tensor(location)).norm()) if seen else math.inf,
                       sight_location=torch.tensor(sight_location) if seen else NAN2, tasted=tasted)


def test_spiral_tracer_grows_its_radius_by_the_increment_per_turn():
    tracer = SpiralTracer(time_to_rotate_spiral=100, distance_increment=25.0)
    position = torch.zeros(2)
    for _ in range(200):
        delta, heading = tracer.get_action(None)
        position = position + delta
    assert torch.allclose(position, torch.tensor([50.0, 0.0]), atol=1e-4)  # two turns, back on the +x axis
    assert heading.norm().item() == pytest.approx(1.0)


def test_circle_tracer_returns_to_the_origin_every_period():
    tracer = CircleTracer(radius=100.0, period=100)
    position, farthest = torch.zeros(2), 0.0
    for _ in range(100):
        position = position + tracer.get_action(None)[0]
        farthest = max(farthest, position.norm().item())
    assert position.norm().item() < 1e-3 and farthest == pytest.approx(200.0, rel=1e-3)


def test_tracer_odometry_noise_has_the_asked_size_and_leaves_the_movement_exact():
    noisy, exact = SpiralTracer(action_noise=2.0, seed=1), SpiralTracer()
    errors = []
    for _ in range(2000):
        delta, _ = noisy.get_action(None)
        assert torch.equal(delta, exact.get_action(None)[0])
        errors.append(noisy.odometry - delta)
    assert torch.stack(errors).std().item() == pytest.approx(2.0, rel=0.05)


def test_random_forager_walks_toward_a_seen_tree_and_wanders_otherwise():
    agent = RandomForager(step_size=5.0)
    delta, _ = agent.get_action(observation(sight_location=(30.0, 40.0)))
    assert torch.allclose(delta, torch.tensor([3.0, 4.0]))
    delta, _ = agent.get_action(observation())
    assert delta.norm().item() == pytest.approx(5.0)
    with pytest.raises(CogmapError, match="step_size"):
        RandomForager(step_size=0)


def test_drive_forager_rests_when_sated_and_goes_to_remembered_food_when_hungry():
    agent = DriveForager(enough_food=1, step_size=10.0)
    # It has eaten at the tree at (5, 0): edible. Sated, it rests.
    agent.get_action(observation(location=(0.0, 0.0), nearest=(5.0, 0.0)))
    move, _ = agent.get_action(observation(location=(0.0, 0.0), nearest=(5.0, 0.0), tasted=1, step=1))
    assert move is None
    # Hungry and far away: straight back to that tree.
    move, _ = agent.get_action(observation(location=(105.0, 0.0), health=500.0, step=50))
    assert torch.allclose(move, torch.tensor([-10.0, 0.0]))


def test_drive_forager_leaves_poison_and_avoids_trees_that_look_like_it():
    look = torch.tensor([1.0, 0.0, 0.0, 0.0])
    agent = DriveForager(enough_food=0)
    agent.get_action(observation(sight_location=(3.0, 0.0), sight=look))
    move, _ = agent.get_action(observation(location=(0.0, 0.0), nearest=(3.0, 0.0), tasted=-1, step=1))
    assert torch.allclose(move, torch.tensor([-10.0, 0.0]))  # straight away from the poison
    # A second tree that looks the same (cosine 0.9) is judged poisonous before tasting it.
    twin = torch.tensor([0.9, math.sqrt(1 - 0.81), 0.0, 0.0])
    agent.get_action(observation(location=(50.0, 50.0), sight_location=(80.0, 50.0), sight=twin, step=2))
    tree = [t for t in agent.trees if torch.allclose(t.location, torch.tensor([80.0, 50.0]))][0]
    assert agent.looks_poisonous(tree)
    # Hungry with only poison around: it does not walk into reach of it.
    for step in range(3, 30):
        move, _ = agent.get_action(observation(location=(60.0, 50.0), health=100.0, step=step))
        if move is not None:
            assert (torch.tensor([60.0, 50.0]) + move - torch.tensor([80.0, 50.0])).norm() > 10


def test_drive_forager_outlives_the_random_forager():
    c = TreeWorldConfig(embedding_dim=64)
    steps = 1500
    drive = survival_summary(survival_runs("drive", c, range(6), steps), steps)
    random = survival_summary(survival_runs("random", c, range(6), steps), steps)
    assert drive["survival_mean"] > 1.5 * random["survival_mean"]
    assert drive["poisonous_fruit_eaten_mean"] < random["poisonous_fruit_eaten_mean"] + 1


def test_survival_curve_counts_the_living():
    rows = [{"steps": 2, "alive": False}, {"steps": 5, "alive": True}]
    assert survival_curve(rows, 5).tolist() == [1, 1, 0.5, 0.5, 0.5, 0.5]


def test_make_agent_refuses_unknown_agents():
    with pytest.raises(CogmapError, match="agent"):
        make_agent("greedy", TreeWorldConfig())


def test_render_draws_the_agent_at_the_centre():
    c = TreeWorldConfig(embedding_dim=8)
    world = BatchedTreeWorld.random_from_config(c, [0, 1])
    world.step(torch.tensor([[40.0, -30.0], [0.0, 0.0]]))
    image = render_rgb(world, 0, 64)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    assert tuple(image[32, 32]) == AGENT


def test_single_world_trees_view_matches_the_layout():
    c = TreeWorldConfig(embedding_dim=8, num_trees=5)
    world = TreeWorld.random_from_config(c, seed=2)
    trees = world.trees
    assert [t.id for t in trees] == list(range(5))
    assert all(t.is_poisonous == (t.fruit_type in c.poisonous_fruits) for t in trees)


def test_a_forager_localizing_itself_from_exact_odometry_acts_as_one_told_its_location():
    from cogmap.treeworld.agents import SelfLocalizingForager
    from cogmap.treeworld.phase import PhaseLocalizer

    config = TreeWorldConfig(embedding_dim=32)
    told = TreeWorld.random_from_config(config, seed=2, model=DriveForager.from_config(config, seed=2))
    # The wrapper told the truth changes nothing: body-relative senses re-placed at the true location.
    wrapped = TreeWorld.random_from_config(config, seed=2,
                                           model=SelfLocalizingForager(DriveForager.from_config(config, seed=2)))
    a = told.run(600, record=True, allow_death=True).as_tensors()
    b = wrapped.run(600, record=True, allow_death=True).as_tensors()
    torch.testing.assert_close(a["location"], b["location"], atol=0, rtol=0)
    # Exact odometry through the phase code: the estimate stays on the truth (to the float32
    # rounding of the world's own position) and the forager feeds as well.
    agent = SelfLocalizingForager(DriveForager.from_config(config, seed=2), PhaseLocalizer(sensory_dim=32))
    blind = TreeWorld.random_from_config(config, seed=2, model=agent)
    blind.run(600, record=False, allow_death=True)
    assert max(agent.errors) < 1e-3
    assert blind.summary()["steps"] == 600 and blind.summary()["fruit_eaten"] >= 0.8 * told.summary()["fruit_eaten"]


def test_unperceived_motor_noise_moves_the_body_but_not_the_estimate():
    from cogmap.treeworld.agents import SelfLocalizingForager
    from cogmap.treeworld.phase import PhaseLocalizer

    config = TreeWorldConfig(embedding_dim=8)
    agent = SelfLocalizingForager(DriveForager.from_config(config, seed=0, match_distance=20.0),
                                  PhaseLocalizer(sensory_dim=8, use_memory_to_localize=False), action_noise=2.0)
    world = TreeWorld.random_from_config(config, seed=0, model=agent)
    record = world.run(400, record=True, allow_death=False).as_tensors()
    moved = record["location"][1:] - record["location"][:-1]
    commanded = torch.stack(agent.estimates[1:]) - torch.stack(agent.estimates[:-1])  # what odometry integrates
    slip = moved[:-1] - commanded  # estimate t+1 knows the command of step t
    moving = ~record["rest"][:-1]
    assert float(slip[moving].std()) == pytest.approx(2.0, rel=0.15)  # the world got the noise
    assert not bool((~moving).any()) or float(slip[~moving].abs().max()) < 1e-4  # resting: no slip
    errors = torch.tensor(agent.errors)
    assert errors[-50:].mean() > errors[:50].mean()  # without correction the drift only grows


@pytest.mark.parametrize("name", ["drive-tem2d", "drive-phase", "drive-odometry", "drive-landmarks"])
def test_the_self_localizing_agents_are_made_by_name(name):
    from cogmap.treeworld.agents import SelfLocalizingForager

    config = TreeWorldConfig(embedding_dim=8)
    agent = make_agent(name, config, seed=1, action_noise=1.0)
    assert isinstance(agent, SelfLocalizingForager) and agent.action_noise == 1.0
    rows = survival_runs(name, config, [0], 30, action_noise=1.0)
    assert rows[0]["steps"] == 30 and len(rows[0]["localization_error_every_100"]) == 1
    with pytest.raises(CogmapError, match="action_noise"):
        SelfLocalizingForager(DriveForager(), None, action_noise=float("nan"))


def test_a_recognised_tree_puts_the_estimate_at_its_remembered_place_minus_its_offset():
    from cogmap.treeworld.agents import SelfLocalizingForager
    from cogmap.treeworld.agents.localizing import landmark_fix
    from cogmap.treeworld.phase import PhaseLocalizer

    # By hand: a tree remembered at (10, 5), seen 3 units east and 4 north of the body: the body is at (7, 1).
    assert landmark_fix(torch.tensor([10.0, 5.0]), torch.tensor([103.0, 54.0]), torch.tensor([100.0, 50.0])).tolist() \
        == [7.0, 1.0]
    localizer = PhaseLocalizer(sensory_dim=8, use_memory_to_localize=False, action_noise=1.0)
    agent = SelfLocalizingForager(DriveForager(match_distance=20.0, reanchor=False), localizer, landmarks=True)
    look = torch.nn.functional.normalize(torch.arange(1.0, 9.0), dim=0)
    agent.forager._remember(torch.tensor([10.0, 5.0]), look)  # met and mapped earlier, in the map's frame
    seen = dict(location=torch.tensor([100.0, 50.0]), heading=torch.tensor([1.0, 0.0]), health=1000.0,
                smell=torch.zeros(8), nearest_distance=5.0, nearest_location=torch.tensor([103.0, 54.0]),
                sight=look, sight_distance=5.0, sight_location=torch.tensor([103.0, 54.0]))
    agent.get_action(Observation(step=0, **seen))
    assert agent.estimates[-1].tolist() == pytest.approx([7.0, 1.0], abs=1e-5)
    assert float(localizer.variance[0]) == 0.0  # snapped: the map defines the frame
    # An unknown look corrects nothing: the estimate is the odometry's, the fix moved by the command.
    command = agent._command[0].clone()
    other = {**seen, "sight": torch.nn.functional.normalize(torch.ones(8), dim=0)}
    agent.get_action(Observation(step=1, **other))
    assert agent.estimates[-1].tolist() == pytest.approx((torch.tensor([7.0, 1.0]) + command).tolist(), abs=1e-4)
    with pytest.raises(CogmapError, match="fixed map"):
        SelfLocalizingForager(DriveForager(), PhaseLocalizer(sensory_dim=8), landmarks=True)
    with pytest.raises(CogmapError, match="phase-code"):
        SelfLocalizingForager(DriveForager(reanchor=False), None, landmarks=True)


@pytest.mark.slow
def test_recognised_trees_keep_a_fixed_map_usable_under_motor_noise():
    from cogmap.treeworld.agents.batched import run_survival

    config = TreeWorldConfig(embedding_dim=32)
    fixed = run_survival(config, range(4), 1500, "odometry", action_noise=2.0, reanchor=False)
    fixes = run_survival(config, range(4), 1500, "landmarks", action_noise=2.0)
    error = lambda rows: sum(r["localization_error_mean"] for r in rows) / len(rows)  # noqa: E731
    # Path integration alone drifts without bound; fixes from recognised trees hold the estimate near the map.
    assert error(fixes) < 0.5 * error(fixed)
    assert sum(r["poisonous_fruit_eaten"] for r in fixes) < sum(r["poisonous_fruit_eaten"] for r in fixed)
