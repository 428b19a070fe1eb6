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
