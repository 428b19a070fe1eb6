"""A wall-aware 2-D random walk for a rat-like agent in a box.

Follows the spirit of the motion model of Raudies & Hasselmo (2012), used by Banino et al.
(2018) and Sorscher et al. (2019): smooth turning (an OU process on the angular velocity),
smooth forward speed (an OU process around a mean speed, kept non-negative), and near a wall
the agent slows down and turns until it runs parallel to the wall. A final reflection at the
walls guarantees that no position ever leaves the box.

Sorscher et al.'s walk (their ``trajectory_generator.py``: white-noise turning of sd 11.52
rad/s, Rayleigh-distributed speeds of scale 0.13 x 2 pi m/s drawn afresh every step, a 3 cm
wall margin) is this model with ``turn_timescale=0``, ``speed_timescale=0``,
``speed_distribution="rayleigh"`` and ``mean_speed`` the Rayleigh's mean, 0.13 x 2 pi x sqrt(pi/2)
= 1.024 m/s: see :data:`SORSCHER_WALK`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError, check_positive, check_positive_int
from cogmap.geometry.base import draw_normal, draw_uniform
from cogmap.geometry.euclidean import Box
from cogmap.geometry.so2 import wrap

SPEED_DISTRIBUTIONS = ("normal", "rayleigh")


def _decay(dt: float, timescale: float) -> float:
    """The OU factor per step; a zero timescale is white noise."""
    return math.exp(-dt / timescale) if timescale > 0 else 0.0


@dataclass(frozen=True)
class RatTrajectories:
    """A batch of 2-D trajectories; ``positions`` and ``headings`` include the start (``steps + 1``)."""

    positions: torch.Tensor  # (n, steps + 1, 2)
    headings: torch.Tensor  # (n, steps + 1) radians
    speeds: torch.Tensor  # (n, steps)
    angular_velocities: torch.Tensor  # (n, steps)
    velocities: torch.Tensor  # (n, steps, 2): displacement / dt, wall bounces included


@dataclass(frozen=True)
class RatMotion:
    """Parameters of the wall-aware walk. Units: metres and seconds (box default 2.2 m)."""

    mean_speed: float = 0.16
    speed_std: float = 0.08
    speed_timescale: float = 0.7
    turn_std: float = 5.76 / 2
    turn_timescale: float = 0.15  # 0: white-noise turning
    wall_margin: float = 0.1
    wall_slowdown: float = 0.25
    # "normal": |mean_speed + OU(speed_std)|; "rayleigh": the length of a 2-D OU velocity, a Rayleigh
    # speed whose mean is mean_speed (its sd, 0.52 x the mean, is fixed by it; speed_std is unused)
    speed_distribution: str = "normal"

    def __post_init__(self):
        for name in ("mean_speed", "speed_std", "turn_std", "wall_margin"):
            check_positive(name, getattr(self, name))
        for name in ("speed_timescale", "turn_timescale"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise CogmapError(f"{name} must be a finite number >= 0 (0: white noise), got {value!r}")
        if not 0 < self.wall_slowdown <= 1:
            raise CogmapError(f"wall_slowdown must be in (0, 1], got {self.wall_slowdown}")
        if self.speed_distribution not in SPEED_DISTRIBUTIONS:
            raise CogmapError(f"speed_distribution must be one of {', '.join(SPEED_DISTRIBUTIONS)}, "
                              f"got {self.speed_distribution!r}")

    def sample(self, box: Box, n: int, steps: int, dt: float, generator: torch.Generator | None = None, *,
               device=None, dtype: torch.dtype = torch.float32) -> RatTrajectories:
        check_positive_int("n", n)
        check_positive_int("steps", steps)
        check_positive("dt", dt)
        position = box.random(n, generator, device=device, dtype=dtype)
        heading = (draw_uniform((n,), generator, device, dtype) * 2 - 1) * math.pi
        rayleigh = self.speed_distribution == "rayleigh"
        noise = draw_normal((n, steps, 3 if rayleigh else 2), generator, device, dtype)
        a_turn = _decay(dt, self.turn_timescale)
        a_speed = _decay(dt, self.speed_timescale)
        turn = torch.zeros(n, dtype=dtype, device=position.device)
        speed_dev = torch.zeros(n, dtype=dtype, device=position.device)
        # The Rayleigh speed is |(u, v)| x scale for unit-variance OU processes u, v, started stationary.
        rayleigh_scale = self.mean_speed / math.sqrt(math.pi / 2)
        speed_uv = draw_normal((n, 2), generator, device, dtype) if rayleigh else None
        extent = torch.tensor([box.width, box.height], dtype=dtype, device=position.device)
        # Outward normal directions of the walls: left, right, bottom, top.
        wall_angle = torch.tensor([math.pi, 0.0, -math.pi / 2, math.pi / 2], dtype=dtype, device=position.device)

        positions, headings = [position], [heading]
        speeds, turns = [], []
        for t in range(steps):
            turn = a_turn * turn + self.turn_std * math.sqrt(1 - a_turn**2) * noise[:, t, 0]
            if rayleigh:
                speed_uv = a_speed * speed_uv + math.sqrt(1 - a_speed**2) * noise[:, t, 1:]
                speed = rayleigh_scale * speed_uv.norm(dim=-1)
            else:
                speed_dev = a_speed * speed_dev + self.speed_std * math.sqrt(1 - a_speed**2) * noise[:, t, 1]
                speed = (self.mean_speed + speed_dev).abs()

            gaps = torch.stack([position[:, 0], extent[0] - position[:, 0], position[:, 1], extent[1] - position[:, 1]], -1)
            gap, wall = gaps.min(-1)
            towards = wrap(heading - wall_angle[wall])
            near = (gap < self.wall_margin) & (towards.abs() < math.pi / 2)
            # Turn just enough to run parallel to the wall, and slow down while doing it.
            avoid = torch.where(near, torch.sign(towards) * (math.pi / 2 - towards.abs()), torch.zeros_like(towards))
            speed = torch.where(near, speed * self.wall_slowdown, speed)

            heading_step = turn * dt + avoid
            heading = wrap(heading + heading_step)
            step = speed[:, None] * torch.stack([torch.cos(heading), torch.sin(heading)], -1) * dt
            position = box.reflect(position + step)
            positions.append(position)
            headings.append(heading)
            speeds.append(speed)
            turns.append(heading_step / dt)

        positions_t = torch.stack(positions, 1)
        return RatTrajectories(
            positions=positions_t,
            headings=torch.stack(headings, 1),
            speeds=torch.stack(speeds, 1),
            angular_velocities=torch.stack(turns, 1),
            velocities=(positions_t[:, 1:] - positions_t[:, :-1]) / dt,
        )


# Sorscher et al. (2019)'s walk in this model's terms (see the module's docstring).
SORSCHER_WALK = RatMotion(mean_speed=0.13 * 2 * math.pi * math.sqrt(math.pi / 2), speed_timescale=0.0, turn_std=11.52,
                          turn_timescale=0.0, wall_margin=0.03, wall_slowdown=0.25, speed_distribution="rayleigh")
