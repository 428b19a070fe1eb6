"""A drive-based forager that knows where it is and remembers where food and poison are.

The seed's recommended first proof of concept of a needs-driven controller with memory, with
localization taken as solved (the agent reads its true location). It keeps a map of the trees
it has sensed, keyed by their location:

- a tree's status becomes edible or poisonous when the agent tastes its fruit; a tree it has
  only seen is judged by the look of it: if its embedding is close (cosine above
  ``similarity``) to one of a tree whose fruit was poisonous, it is avoided as poisonous too;
- a tree where it found no fruit is marked empty until the next regrowth (``regrow_every``
  steps, a fact of the world the agent is assumed to know);
- when hungry (health below ``hunger`` of the maximum) it walks to the nearest tree believed
  to hold edible fruit (known edible first, untasted trees that do not look poisonous next);
- when sated it rests (health -1 a step instead of -2), looking around; it explores instead
  while it knows fewer than ``enough_food`` edible trees; hungry with every known tree empty,
  it waits for the regrowth (resting costs half of searching) when its health lasts that long;
- no step of its own ends within reach of a tree it believes poisonous, and after tasting
  poison it steps straight away from that tree (every step within reach eats again).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError, check_positive
from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.agents.simple import unit

UNKNOWN, EDIBLE, POISONOUS = 0, 1, -1


@dataclass(eq=False)  # identity, not tensor comparison
class RememberedTree:
    location: torch.Tensor
    status: int = UNKNOWN
    embedding: torch.Tensor | None = None
    empty_since: int | None = None


class DriveForager(AgentModel):
    def __init__(self, max_health: float = 1000.0, eat_distance: float = 10.0, regrow_every: int = 1000,
                 step_size: float = 10.0, hunger: float = 0.8, enough_food: int = 3, similarity: float = 0.5,
                 explore_radius: float = 400.0, seed: int = 0):
        for name, value in (("max_health", max_health), ("eat_distance", eat_distance), ("step_size", step_size),
                            ("explore_radius", explore_radius)):
            check_positive(name, value)
        if not 0 < hunger <= 1:
            raise CogmapError(f"hunger must be in (0, 1], got {hunger!r}")
        self.max_health, self.eat_distance, self.regrow_every = max_health, eat_distance, regrow_every
        self.step_size, self.hunger, self.enough_food, self.similarity = step_size, hunger, enough_food, similarity
        self.explore_radius, self.seed = explore_radius, seed
        self.reset()

    @classmethod
    def from_config(cls, config, seed: int = 0, **overrides) -> "DriveForager":
        return cls(max_health=config.max_health, eat_distance=config.eat_distance, regrow_every=config.regrow_every,
                   step_size=config.max_move, seed=seed, **overrides)

    def reset(self) -> None:
        self.trees: list[RememberedTree] = []
        self.generator = torch.Generator().manual_seed(self.seed)
        self.angle = 0.0
        self.target: RememberedTree | None = None

    # ------------------------------------------------------------------ memory

    def _remember(self, location: torch.Tensor, embedding: torch.Tensor | None = None) -> RememberedTree:
        for tree in self.trees:
            if float((tree.location - location).norm()) < 1e-3:
                if embedding is not None and tree.embedding is None:
                    tree.embedding = embedding.clone()
                return tree
        tree = RememberedTree(location.clone(), embedding=None if embedding is None else embedding.clone())
        self.trees.append(tree)
        return tree

    def looks_poisonous(self, tree: RememberedTree) -> bool:
        if tree.status != UNKNOWN:
            return tree.status == POISONOUS
        if tree.embedding is None:
            return False
        return any(float(tree.embedding @ other.embedding) > self.similarity
                   for other in self.trees if other.status == POISONOUS and other.embedding is not None)

    def _believed_full(self, tree: RememberedTree, step: int) -> bool:
        return tree.empty_since is None or step - tree.empty_since >= self.regrow_every

    def _update(self, obs: Observation) -> None:
        if math.isfinite(obs.sight_distance):
            self._remember(obs.sight_location, obs.sight)
        if math.isfinite(obs.nearest_distance):
            self._remember(obs.nearest_location)
        within = [t for t in self.trees if float((t.location - obs.location).norm()) <= self.eat_distance]
        if obs.tasted != 0 and within:
            eaten = min(within, key=lambda t: float((t.location - obs.location).norm()))
            eaten.status = EDIBLE if obs.tasted > 0 else POISONOUS
            eaten.empty_since = None
        elif obs.tasted == 0 and self.target is not None and self.target in within:
            # At the tree it was heading for and nothing to eat: empty until the next regrowth.
            self.target.empty_since = obs.step
            self.target = None

    # ------------------------------------------------------------------ acting

    def _safe(self, start: torch.Tensor, move: torch.Tensor) -> bool:
        end = start + move
        return all(float((t.location - end).norm()) > self.eat_distance * 1.2
                   for t in self.trees if self.looks_poisonous(t))

    def _go(self, obs: Observation, move: torch.Tensor):
        """``move`` turned as little as needed to keep clear of poison; rest if every direction is unsafe."""
        if self._safe(obs.location, move):
            return move, None
        angle = math.atan2(float(move[1]), float(move[0]))
        length = float(move.norm())
        for turn in (30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180):
            candidate = unit(angle + math.radians(turn)) * length
            if self._safe(obs.location, candidate):
                return candidate, None
        return None, None

    def _explore(self, obs: Observation):
        if float(obs.location.norm()) > self.explore_radius:
            self.angle = math.atan2(-float(obs.location[1]), -float(obs.location[0]))
        self.angle += 0.3 * float(torch.randn((), generator=self.generator))
        return self._go(obs, unit(self.angle) * self.step_size)

    def get_action(self, observation: Observation):
        obs = observation
        self._update(obs)
        poison_here = [t for t in self.trees if t.status == POISONOUS
                       and float((t.location - obs.location).norm()) <= self.eat_distance]
        if poison_here:
            # Every step within reach eats another poisonous fruit: leave straight away.
            away = obs.location - poison_here[0].location
            norm = float(away.norm())
            away = away / norm if norm > 1e-6 else unit(self.angle + math.pi)
            self.target = None
            return away * self.step_size, None
        hungry = obs.health < self.hunger * self.max_health
        known_food = sum(t.status == EDIBLE for t in self.trees)
        if hungry:
            candidates = [t for t in self.trees if self._believed_full(t, obs.step) and not self.looks_poisonous(t)]
            if candidates:
                # Known edible trees before untasted ones; nearest first.
                self.target = min(candidates, key=lambda t: (t.status != EDIBLE, float((t.location - obs.location).norm())))
                offset = self.target.location - obs.location
                distance = float(offset.norm())
                if distance < 1e-6:
                    return None, None
                self.angle = math.atan2(float(offset[1]), float(offset[0]))
                return self._go(obs, offset * min(1.0, self.step_size / distance))
            waits = [t.empty_since + self.regrow_every - obs.step for t in self.trees
                     if t.status == EDIBLE and t.empty_since is not None]
            if known_food >= self.enough_food and waits and min(waits) < obs.health - self.max_health * 0.05:
                # Every known tree is empty: wait for the regrowth (resting costs half of
                # searching) when the health lasts that long at one point a step.
                self.angle += math.pi / 3
                return None, unit(self.angle)
            return self._explore(obs)
        self.target = None
        if known_food < self.enough_food:
            return self._explore(obs)
        # Sated and provided for: rest, turning the head to keep looking around.
        self.angle += math.pi / 3
        return None, unit(self.angle)
