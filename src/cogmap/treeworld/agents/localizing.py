"""The drive forager closed on a localizer: needs-driven foraging without being told where it is.

Seed 001's goal: "a closed-loop, needs-driven controller on top of an auto-localization
mechanism", localization from sensations and actions only. :class:`SelfLocalizingForager`
runs a :class:`~cogmap.treeworld.agents.drive.DriveForager` in the frame of its own estimate:

- every step a localizer (:class:`~cogmap.treeworld.tem.TEM2d` or
  :class:`~cogmap.treeworld.phase.PhaseLocalizer`) is given the movement the agent commanded on
  the last step and the smell, and returns the estimated location;
- the forager is handed an observation whose ``location`` is that estimate and whose trees are
  placed at the estimate plus their offset from the body (what eyes and nose report: where a
  tree is relative to oneself), so its map of trees is kept in the estimated frame;
- the world executes the commanded movement plus Gaussian motor noise of sd ``action_noise``
  per axis, which the agent does not perceive (its odometry is the command);
- with ``landmarks``, a tree it sees and recognises by its look corrects the estimate: the tree's
  remembered place minus its sensed offset is where the body is in the map's frame.

The true location is read only to turn the world's absolute sensor readings into the
body-relative ones above and to measure the localization error (``errors``) for the record;
the forager and the localizer never see it.
"""

from __future__ import annotations

import dataclasses
import math

import torch

from cogmap.errors import CogmapError
from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.drive import DriveForager, NoiseStreams

# Where a drive forager's location comes from, by agent name.
AGENT_SOURCES = {"drive": "true", "drive-tem2d": "tem2d", "drive-phase": "phase", "drive-odometry": "odometry",
                 "drive-landmarks": "landmarks"}
SOURCES = tuple(AGENT_SOURCES.values())


def match_distance(config, source: str) -> float:
    """How near a smelled tree must be to a remembered one to be taken for it: exact for a forager
    told its location; twice the reach in a drifting frame."""
    return 1e-3 if source == "true" else 2 * config.eat_distance


def make_localizer(source: str, config, batch_size: int = 1, action_noise: float = 0.0, device=None):
    """The localizer of a drive forager whose location comes from ``source`` (None for ``true``):
    TEM2d with the affinity-gated memory, or the phase code assuming ``action_noise`` (``odometry``
    and ``landmarks``: without its smell-memory correction; ``landmarks`` is corrected by
    recognised trees instead, see :class:`SelfLocalizingForager`)."""
    from cogmap.errors import check_choice

    check_choice("source", source, SOURCES)
    if source == "true":
        return None
    if source == "tem2d":
        from cogmap.treeworld.tem import TEM2d

        return TEM2d(sensory_dim=config.embedding_dim, batch_size=batch_size, memory_mix=None, device=device)
    from cogmap.treeworld.phase import PhaseLocalizer

    return PhaseLocalizer(sensory_dim=config.embedding_dim, batch_size=batch_size, action_noise=action_noise,
                          use_memory_to_localize=source == "phase", device=device)


def landmark_fix(remembered: torch.Tensor, sensed: torch.Tensor, body: torch.Tensor) -> torch.Tensor:
    """Where a recognised tree says the body is: its remembered place (in the map's frame) minus
    its offset from the body as sensed (``sensed - body``, both in the world's frame; eyes report
    only the offset)."""
    return remembered - (sensed - body)


class SelfLocalizingForager(AgentModel):
    """``localizer`` None: told the true location (the plain drive forager, with the same motor noise).

    ``landmarks`` (a phase-code localizer and a forager whose map is fixed, ``reanchor`` False):
    a SLAM-like correction. When the agent sees a tree it remembers, recognised by its look (each
    tree's look is its own), the tree's remembered place minus its sensed offset is where the
    body is in the map's frame; the estimate snaps to it (:meth:`PhaseLocalizer.fix`). The map,
    kept where each tree was first met, then defines the frame, and the estimate drifts only
    between sightings of known trees.
    """

    def __init__(self, forager: DriveForager, localizer=None, action_noise: float = 0.0, seed: int = 0,
                 landmarks: bool = False):
        if not (math.isfinite(action_noise) and action_noise >= 0):
            raise CogmapError(f"action_noise must be a finite number >= 0, got {action_noise!r}")
        if localizer is not None and localizer.batch_size != 1:
            raise CogmapError("a SelfLocalizingForager runs one world: build its localizer with batch_size=1")
        if landmarks and (not hasattr(localizer, "fix") or forager.reanchor):
            raise CogmapError("landmark fixes need a phase-code localizer and a forager with a fixed map "
                              "(reanchor=False)")
        self.forager, self.localizer, self.action_noise, self.seed = forager, localizer, float(action_noise), seed
        self.landmarks = bool(landmarks)
        self.reset()

    def reset(self) -> None:
        self.forager.reset()
        if self.localizer is not None:
            self.localizer.reset()
        self.motor = NoiseStreams([self.seed + 7919], width=2)  # not the forager's own stream
        self._belief, self._command, self._moved = None, torch.zeros(1, 2), False
        self.errors: list[float] = []
        self.estimates: list[torch.Tensor] = []

    def _localize(self, smell: torch.Tensor) -> torch.Tensor:
        from cogmap.treeworld.tem import localize_step

        # A body at rest is not moved by motor noise: its uncertainty does not grow.
        estimate, _, _, _, self._belief = localize_step(self.localizer, self._belief, self._command, smell[None],
                                                        action_noise=self.action_noise * self._moved)
        return estimate[0]

    @property
    def location_belief(self) -> torch.Tensor | None:
        """TEM2d's belief map (for pictures), None for the phase code."""
        return None if self._belief is None else self._belief[0]

    def get_action(self, observation: Observation):
        estimate = observation.location if self.localizer is None else self._localize(observation.smell)
        if self.landmarks and math.isfinite(observation.sight_distance):
            tree = self.forager.recognise(observation.sight)
            if tree is not None:
                fix = landmark_fix(tree.location, observation.sight_location, observation.location)
                estimate = self.localizer.fix(fix[None])[0].float()
        self.errors.append(float((estimate - observation.location).norm()))
        self.estimates.append(estimate)
        believed = dataclasses.replace(
            observation, location=estimate,
            sight_location=estimate + (observation.sight_location - observation.location),
            nearest_location=estimate + (observation.nearest_location - observation.location))
        move, heading = self.forager.get_action(believed)
        if move is None:
            self._command, self._moved = torch.zeros(1, 2), False
            return None, heading
        command = torch.as_tensor(move, dtype=torch.float32).reshape(2)
        self._command, self._moved = command[None], True
        executed = command + (self.action_noise * self.motor.draw(torch.ones(1, dtype=torch.bool))[0]).float()
        return executed, heading
