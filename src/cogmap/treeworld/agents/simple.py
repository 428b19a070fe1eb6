"""Agents without memory: a random forager and the Tree World specification's path tracers (spiral, circle)."""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_positive
from cogmap.treeworld.agents.base import AgentModel, Observation


def unit(angle: float) -> torch.Tensor:
    return torch.tensor([math.cos(angle), math.sin(angle)])


class RandomForager(AgentModel):
    """Walks toward the tree it sees; otherwise wanders (heading turned by Gaussian noise each step).

    A tree closer than ``arrive_distance`` no longer attracts it, so that it moves on once it
    stands at a tree instead of staying there for ever.
    """

    def __init__(self, step_size: float = 5.0, turn_sigma: float = 0.3, arrive_distance: float = 5.0, seed: int = 0):
        check_positive("step_size", step_size)
        check_positive("arrive_distance", arrive_distance)
        if turn_sigma < 0:
            raise CogmapError(f"turn_sigma must be >= 0, got {turn_sigma!r}")
        self.step_size, self.turn_sigma, self.arrive_distance, self.seed = step_size, turn_sigma, arrive_distance, seed
        self.reset()

    def reset(self) -> None:
        self.generator = torch.Generator().manual_seed(self.seed)
        self.angle = None

    def get_action(self, observation: Observation):
        if self.angle is None:
            self.angle = math.atan2(float(observation.heading[1]), float(observation.heading[0]))
        if math.isfinite(observation.sight_distance) and observation.sight_distance > self.arrive_distance:
            offset = observation.sight_location - observation.location
            self.angle = math.atan2(float(offset[1]), float(offset[0]))
            return offset * min(1.0, self.step_size / observation.sight_distance), None
        self.angle += self.turn_sigma * float(torch.randn((), generator=self.generator))
        return unit(self.angle) * self.step_size, None


class PathTracer(AgentModel):
    """Follows ``coords(t)`` exactly; reports its movement with optional Gaussian noise.

    ``odometry`` is the last movement as the agent's own motion sense reports it (the true
    movement plus N(0, action_noise^2) per axis), the input of a localizer; the world always
    receives the true movement. The heading turns at its own rate, sweeping the sight cone
    around the agent.
    """

    def __init__(self, time_to_rotate_heading: int = 25, action_noise: float = 0.0, seed: int = 0):
        if action_noise < 0:
            raise CogmapError(f"action_noise must be >= 0, got {action_noise!r}")
        self.heading_rate = 2 * math.pi / time_to_rotate_heading
        self.action_noise, self.seed = action_noise, seed
        self.reset()

    def coords(self, t: int) -> torch.Tensor:
        raise NotImplementedError

    def reset(self) -> None:
        self.t = 0
        self.generator = torch.Generator().manual_seed(self.seed)
        self.odometry = torch.zeros(2)

    def get_action(self, observation: Observation):
        delta = self.coords(self.t + 1) - self.coords(self.t)
        heading = unit(self.heading_rate * self.t)
        self.odometry = delta + self.action_noise * torch.randn(2, generator=self.generator)
        self.t += 1
        return delta, heading


class SpiralTracer(PathTracer):
    """An outward (Archimedean) spiral from the origin: radius grows ``distance_increment`` per turn."""

    def __init__(self, time_to_rotate_spiral: int = 100, time_to_rotate_heading: int = 25,
                 distance_increment: float = 25.0, action_noise: float = 0.0, seed: int = 0):
        check_positive("time_to_rotate_spiral", time_to_rotate_spiral)
        check_positive("distance_increment", distance_increment)
        self.radial_rate = distance_increment / time_to_rotate_spiral
        self.angular_rate = 2 * math.pi / time_to_rotate_spiral
        super().__init__(time_to_rotate_heading, action_noise, seed)

    def coords(self, t: int) -> torch.Tensor:
        return self.radial_rate * t * unit(self.angular_rate * t)


class CircleTracer(PathTracer):
    """A circle of ``radius`` through the origin, once every ``period`` steps."""

    def __init__(self, radius: float = 100.0, period: int = 100, time_to_rotate_heading: int = 25,
                 action_noise: float = 0.0, seed: int = 0):
        check_positive("radius", radius)
        check_positive("period", period)
        self.radius, self.period = radius, period
        super().__init__(time_to_rotate_heading, action_noise, seed)

    def coords(self, t: int) -> torch.Tensor:
        angle = 2 * math.pi * t / self.period
        return torch.tensor([self.radius * math.cos(angle) - self.radius, self.radius * math.sin(angle)])
