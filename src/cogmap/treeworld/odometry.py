"""A differential-drive ("tracked vehicle") agent and learnable models of what its actions do.

The tracked vehicle acts by setting its left and right track speeds; it turns by
``(right - left) / track_width`` radians a step and then advances ``(left + right) / 2`` along
its heading. A localizer that only hears the track speeds cannot translate its belief map
until it knows this kinematics: it must integrate the heading and project each step onto it.
:class:`KinematicActionModel` learns the unknowns (each track's gain and the track width) by
gradient descent from a calibration run, the way a robot calibrates its odometry;
:class:`FeedForwardActionModel`, a network that sees one step's speeds at a time, is the
control that cannot work (the heading is not in a single action).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.simple import unit


class TrackedVehicle(AgentModel):
    """Wanders with smoothly varying track speeds; steers back when farther than ``radius`` from the origin.

    ``track_speeds`` is the last action as the localizer sees it. (The steering uses the true
    location: the body knows where it is, the localizer is not told.)
    """

    def __init__(self, track_width: float = 4.0, mean_speed: float = 5.0, speed_sigma: float = 0.4,
                 radius: float = 400.0, seed: int = 0):
        for name, value in (("track_width", track_width), ("mean_speed", mean_speed), ("radius", radius)):
            check_positive(name, value)
        self.track_width, self.mean_speed, self.speed_sigma, self.radius, self.seed = (track_width, mean_speed,
                                                                                       speed_sigma, radius, seed)
        self.reset()

    def reset(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        self.angle, self.steer = 0.0, 0.0
        self.track_speeds = torch.zeros(2)

    def get_action(self, observation: Observation):
        # The difference of the tracks follows a mean-reverting walk: smooth curves.
        self.steer = 0.9 * self.steer + self.speed_sigma * float(torch.randn((), generator=self.generator))
        if observation is not None and float(observation.location.norm()) > self.radius:
            home = math.atan2(-float(observation.location[1]), -float(observation.location[0]))
            off = math.remainder(home - self.angle, 2 * math.pi)
            self.steer = max(-1.0, min(1.0, off)) * self.track_width / 4
        left, right = self.mean_speed - self.steer, self.mean_speed + self.steer
        self.track_speeds = torch.tensor([left, right])
        self.angle += (right - left) / self.track_width
        return unit(self.angle) * (left + right) / 2, unit(self.angle)


class KinematicActionModel(nn.Module):
    """Displacement from track speeds with learnable track gains and track width; holds the heading.

    ``forward(speeds (B, 2)) -> displacement (B, 2)`` advances the heading state; ``reset``
    sets it (0: facing +x, as every Tree World agent starts).
    """

    def __init__(self, batch_size: int = 1, width: float = 1.0):
        super().__init__()
        check_positive("width", width)
        self.log_gain = nn.Parameter(torch.zeros(2))
        self.log_width = nn.Parameter(torch.tensor(math.log(width)))
        self.batch_size = batch_size
        self.reset()

    def reset(self, heading: float = 0.0) -> None:
        self.heading = torch.full((self.batch_size,), float(heading))

    @property
    def track_width(self) -> float:
        return float(self.log_width.detach().exp())

    def step(self, speeds: torch.Tensor, heading: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Displacements ``(N, 2)`` and new headings ``(N,)`` from speeds ``(N, 2)`` and headings ``(N,)``."""
        left, right = (speeds * self.log_gain.exp()).unbind(-1)
        heading = heading + (right - left) / self.log_width.exp()
        return ((left + right) / 2)[:, None] * torch.stack([heading.cos(), heading.sin()], dim=-1), heading

    def forward(self, speeds: torch.Tensor) -> torch.Tensor:
        displacement, self.heading = self.step(speeds, self.heading)
        return displacement


class FeedForwardActionModel(nn.Module):
    """A network from one step's track speeds to a displacement, with no memory of the heading."""

    def __init__(self, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, 2))

    def reset(self, heading: float = 0.0) -> None:
        pass

    def step(self, speeds: torch.Tensor, heading: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(speeds), heading

    def forward(self, speeds: torch.Tensor) -> torch.Tensor:
        return self.net(speeds)


def calibration_run(config, seed: int, steps: int, vehicle: TrackedVehicle | None = None):
    """Drive a tracked vehicle ``steps`` steps in the world of ``seed``: its track speeds and true displacements ``(T, 2)``."""
    from cogmap.treeworld.simulation import TreeWorld

    check_positive_int("steps", steps)
    vehicle = vehicle if vehicle is not None else TrackedVehicle(seed=seed)
    world = TreeWorld.random_from_config(config, seed=seed, model=vehicle)
    speeds, moves = [], []
    for _ in range(steps):
        before = world.agent.location
        world.step()
        speeds.append(vehicle.track_speeds.clone())
        moves.append(world.agent.location - before)
    return torch.stack(speeds), torch.stack(moves)


def fit_action_model(model: nn.Module, speeds: torch.Tensor, displacements: torch.Tensor, steps: int = 300,
                     lr: float = 0.05) -> list[float]:
    """Fit ``model`` to a calibration run: track ``speeds`` ``(T, 2)`` and true ``displacements`` ``(T, 2)``.

    Teacher forcing: each step starts from the true heading before it (the direction of the
    previous displacement; 0 before the first), so all steps are fitted at once and the fit
    does not fall into the local minima of a loss unrolled over the whole run. Returns the loss
    (mean squared displacement error per step, world units squared) at every iteration.
    """
    check_positive_int("steps", steps)
    if speeds.shape != displacements.shape or speeds.dim() != 2 or speeds.shape[-1] != 2:
        raise CogmapError(f"speeds and displacements must both be (T, 2), got {tuple(speeds.shape)} and "
                          f"{tuple(displacements.shape)}")
    previous = torch.cat([torch.zeros(1, 2, dtype=displacements.dtype), displacements[:-1]])
    heading = torch.where(previous.norm(dim=-1) > 0, torch.atan2(previous[:, 1], previous[:, 0]), torch.zeros(len(previous)))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        predicted, _ = model.step(speeds, heading)
        loss = (predicted - displacements).pow(2).sum(-1).mean()
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(float(loss.detach()))
    model.reset()
    return losses


class ActionModelMover(AgentModel):
    """Moves as ``mover`` does and reports, as its odometry, what ``action_model`` makes of the track speeds."""

    def __init__(self, mover: TrackedVehicle, action_model: nn.Module):
        self.mover, self.action_model = mover, action_model
        self.reset()

    def reset(self) -> None:
        self.mover.reset()
        self.action_model.reset()
        self.odometry = torch.zeros(2)

    def get_action(self, observation: Observation):
        move, heading = self.mover.get_action(observation)
        with torch.no_grad():
            self.odometry = self.action_model(self.mover.track_speeds[None])[0]
        return move, heading
