import math

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.geometry import Box
from cogmap.motion import RatMotion


def test_never_leaves_the_box_and_is_smooth():
    box = Box(1.0, 1.0)
    traj = RatMotion().sample(box, 200, 2000, 0.02, torch.Generator().manual_seed(0))
    assert traj.positions.shape == (200, 2001, 2)
    assert box.contains(traj.positions).all()
    speed = traj.speeds
    assert (speed >= 0).all()
    lag1 = torch.corrcoef(torch.stack([speed[:, 1:].flatten(), speed[:, :-1].flatten()]))[0, 1]
    assert lag1 > 0.9  # speed changes smoothly
    # Displacements match the recorded speeds except at the rare bounces.
    step = (traj.positions[:, 1:] - traj.positions[:, :-1]).norm(dim=-1)
    assert torch.isclose(step, speed * 0.02, atol=1e-6).float().mean() > 0.99


def test_turns_away_from_walls():
    box = Box(1.0, 1.0)
    motion = RatMotion(turn_std=0.01)
    traj = motion.sample(box, 2000, 400, 0.02, torch.Generator().manual_seed(1))
    # With avoidance, the agent runs along walls instead of bouncing into them: headings near a
    # wall point away from it or along it.
    pos, head = traj.positions[:, 1:-1], traj.headings[:, 1:-1]
    near_right = pos[..., 0] > 1.0 - 0.02
    assert near_right.any()
    assert (torch.cos(head[near_right]) < 0.2).float().mean() > 0.95


def test_bad_parameters():
    with pytest.raises(CogmapError):
        RatMotion(mean_speed=0)
    with pytest.raises(CogmapError):
        RatMotion(wall_slowdown=2.0)
    with pytest.raises(CogmapError):
        RatMotion().sample(Box(), 2, 10, -0.1)


def test_the_rayleigh_walk_has_rayleigh_speeds_and_white_noise_turns():
    # A box so large that walls never matter: the speeds are then Rayleigh with the set mean,
    # drawn afresh every step, and the heading steps are N(0, (turn_std dt)^2).
    from scipy import stats

    from cogmap.motion.rat import SORSCHER_WALK

    box = Box(1000.0, 1000.0)
    traj = SORSCHER_WALK.sample(box, 400, 200, 0.02, torch.Generator().manual_seed(5))
    speed = traj.speeds.double()
    scale = SORSCHER_WALK.mean_speed / math.sqrt(math.pi / 2)
    assert scale == pytest.approx(0.13 * 2 * math.pi)  # Sorscher et al.'s Rayleigh scale
    assert stats.kstest(speed.flatten().numpy(), stats.rayleigh(scale=scale).cdf).pvalue > 0.01
    lag1 = torch.corrcoef(torch.stack([speed[:, 1:].flatten(), speed[:, :-1].flatten()]))[0, 1]
    assert abs(lag1) < 0.02
    turns = traj.angular_velocities.double() * 0.02
    assert turns.std().item() == pytest.approx(11.52 * 0.02, rel=0.02)
    lag1 = torch.corrcoef(torch.stack([turns[:, 1:].flatten(), turns[:, :-1].flatten()]))[0, 1]
    assert abs(lag1) < 0.02


def test_a_slow_rayleigh_speed_is_smooth_and_keeps_its_mean():
    box = Box(1000.0, 1000.0)
    motion = RatMotion(mean_speed=0.3, speed_timescale=1.0, speed_distribution="rayleigh")
    traj = motion.sample(box, 400, 500, 0.02, torch.Generator().manual_seed(6))
    speed = traj.speeds.double()
    assert speed.mean().item() == pytest.approx(0.3, rel=0.05)
    lag1 = torch.corrcoef(torch.stack([speed[:, 1:].flatten(), speed[:, :-1].flatten()]))[0, 1]
    assert lag1 > 0.95


def test_the_normal_walk_draws_what_it_drew_before_the_rayleigh_option():
    # Adding the Rayleigh speed must not change the random stream of the default walk.
    box = Box(2.2, 2.2)
    gen = torch.Generator().manual_seed(7)
    traj = RatMotion().sample(box, 3, 4, 0.02, gen)
    gen = torch.Generator().manual_seed(7)
    from cogmap.geometry.base import draw_normal, draw_uniform

    box.random(3, gen)
    draw_uniform((3,), gen, None, torch.float32)
    noise = draw_normal((3, 4, 2), gen, None, torch.float32)
    a = math.exp(-0.02 / 0.7)
    first_speed = (0.16 + 0.08 * math.sqrt(1 - a**2) * noise[:, 0, 1]).abs()
    near = traj.speeds[:, 0] != first_speed  # the wall slows some starts down
    assert torch.allclose(traj.speeds[~near, 0], first_speed[~near])


def test_bad_walk_settings():
    with pytest.raises(CogmapError, match="speed_distribution"):
        RatMotion(speed_distribution="gamma")
    with pytest.raises(CogmapError, match="white noise"):
        RatMotion(turn_timescale=-1.0)
