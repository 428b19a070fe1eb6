import math

import pytest
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld import TreeWorldConfig
from cogmap.treeworld.localize import summarize, tracked_vehicle_experiment
from cogmap.treeworld.odometry import (
    FeedForwardActionModel,
    KinematicActionModel,
    TrackedVehicle,
    calibration_run,
    fit_action_model,
)


def calibration(steps=200):
    speeds, moves = calibration_run(TreeWorldConfig(embedding_dim=8), 3, steps)
    assert torch.allclose(moves.norm(dim=-1), speeds.mean(-1), atol=1e-4)  # it advances by the mean track speed
    return speeds, moves


def test_tracked_vehicle_kinematics_by_hand():
    vehicle = TrackedVehicle(track_width=4.0, speed_sigma=0.0)
    vehicle.steer = 0.0
    move, heading = vehicle.get_action(None)  # equal tracks: straight along +x at the mean speed
    assert torch.allclose(move, torch.tensor([5.0, 0.0]))
    vehicle.steer = math.pi / 0.9  # after the 0.9 decay steer is pi: right - left = 2 pi, a turn of 2 pi / 4
    move, heading = vehicle.get_action(None)  # a quarter turn left, then 5 along +y
    assert torch.allclose(move, torch.tensor([0.0, 5.0]), atol=1e-5)


def test_the_kinematic_model_learns_track_width_and_gains_from_a_calibration_run():
    speeds, moves = calibration()
    model = KinematicActionModel(width=1.0)
    losses = fit_action_model(model, speeds, moves, steps=300, lr=0.05)
    assert losses[-1] < 1e-4 * losses[0]
    assert model.track_width == pytest.approx(4.0, rel=1e-3)
    assert torch.allclose(model.log_gain.exp(), torch.ones(2), atol=1e-3)
    # Unrolled from heading 0 over the whole run, it reproduces the path.
    model.reset()
    path = torch.cumsum(torch.stack([model(speeds[t:t + 1])[0] for t in range(len(speeds))]), 0)
    assert (path - torch.cumsum(moves, 0)).norm(dim=-1).max() < 0.5


def test_a_network_without_heading_memory_cannot_fit_the_vehicle():
    speeds, moves = calibration()
    model = FeedForwardActionModel()
    losses = fit_action_model(model, speeds, moves, steps=200, lr=0.01)
    assert losses[-1] > 0.3 * moves.pow(2).sum(-1).mean()  # most of the variance is left


def test_fit_refuses_mismatched_data():
    with pytest.raises(CogmapError, match=r"\(T, 2\)"):
        fit_action_model(KinematicActionModel(), torch.zeros(5, 2), torch.zeros(4, 2))


def test_localizing_a_tracked_vehicle_needs_the_learned_action_model():
    out = tracked_vehicle_experiment(TreeWorldConfig(embedding_dim=16), steps=300, calibration_steps=150,
                                     fit_steps=200, grid_size=61, grid_extent=900.0)
    errors = {name: summarize(r)["error_mean_average"] for name, r in out.results.items()}
    assert errors["learned kinematic"] < out.results["learned kinematic"].settings["grid_scale"]
    assert errors["untrained kinematic"] > 10 * errors["learned kinematic"]
    assert errors["learned feed-forward"] > 10 * errors["learned kinematic"]
