"""A drive-based forager that knows where it is and remembers where food and poison are.

The Tree World specification's recommended first proof of concept of a needs-driven controller with memory, with
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


class NoiseStreams:
    """One seeded stream of standard normal vectors ``(width,)`` per world, drawn only by the
    worlds that ask (``draw(mask)``).

    Draws come in blocks of 64 per world, so that B agents stepped together and B agents
    stepped alone (B = 1) read the same numbers in the same order, whatever the batch.
    """

    block = 64

    def __init__(self, seeds, width: int = 1, device=None):
        self.width, self.device = width, device
        self.generators = [torch.Generator().manual_seed(int(s)) for s in seeds]
        self.buffer = torch.stack([self._block(g) for g in self.generators])  # (B, block, width)
        self.drawn = torch.zeros(len(self.generators), dtype=torch.long, device=device)

    def _block(self, generator: torch.Generator) -> torch.Tensor:
        return torch.randn(self.block, self.width, generator=generator, dtype=torch.float64).to(self.device)

    def draw(self, mask: torch.Tensor) -> torch.Tensor:
        """The next vector of each world in ``mask`` ``(B,)``, zeros elsewhere: ``(B, width)`` float64."""
        for b in (mask & (self.drawn == self.block)).nonzero()[:, 0].tolist():
            self.buffer[b], self.drawn[b] = self._block(self.generators[b]), 0
        rows = torch.arange(len(self.generators), device=self.drawn.device)
        value = self.buffer[rows, self.drawn.clamp(max=self.block - 1)]
        self.drawn = self.drawn + mask.long()
        return torch.where(mask[:, None], value, torch.zeros_like(value))


@dataclass(eq=False)  # identity, not tensor comparison
class RememberedTree:
    location: torch.Tensor
    status: int = UNKNOWN
    embedding: torch.Tensor | None = None
    empty_since: int | None = None


class DriveForager(AgentModel):
    def __init__(self, max_health: float = 1000.0, eat_distance: float = 10.0, regrow_every: int = 1000,
                 step_size: float = 10.0, hunger: float = 0.8, enough_food: int = 3, similarity: float = 0.5,
                 explore_radius: float = 400.0, match_distance: float = 1e-3, reanchor: bool = True, seed: int = 0):
        for name, value in (("max_health", max_health), ("eat_distance", eat_distance), ("step_size", step_size),
                            ("explore_radius", explore_radius)):
            check_positive(name, value)
        if not 0 < hunger <= 1:
            raise CogmapError(f"hunger must be in (0, 1], got {hunger!r}")
        self.max_health, self.eat_distance, self.regrow_every = max_health, eat_distance, regrow_every
        self.step_size, self.hunger, self.enough_food, self.similarity = step_size, hunger, enough_food, similarity
        if not (math.isfinite(match_distance) and match_distance > 0):
            raise CogmapError(f"match_distance must be a positive number, got {match_distance!r}")
        self.explore_radius, self.match_distance, self.reanchor, self.seed = explore_radius, match_distance, reanchor, seed
        self.reset()

    @classmethod
    def from_config(cls, config, seed: int = 0, **overrides) -> "DriveForager":
        return cls(max_health=config.max_health, eat_distance=config.eat_distance, regrow_every=config.regrow_every,
                   step_size=config.max_move, seed=seed, **overrides)

    def reset(self) -> None:
        self.trees: list[RememberedTree] = []
        self.noise = NoiseStreams([self.seed])
        self.angle = 0.0
        self.target: RememberedTree | None = None

    # ------------------------------------------------------------------ memory

    def _remember(self, location: torch.Tensor, embedding: torch.Tensor | None = None) -> RememberedTree:
        """The remembered tree sensed at ``location`` (a new one if none matches), moved there.

        A tree seen before is recognised by its look (embedding), one only smelled by being within
        ``match_distance`` of a remembered one. With ``reanchor`` it is moved to where it is sensed
        now, which keeps the map in the frame of the current location estimate (that frame drifts
        for an agent that localizes itself); without, the map keeps where each tree was first met.
        For an agent told its location nothing moves either way.
        """
        same = None if embedding is None else self.recognise(embedding)
        if same is None and self.trees:
            nearest = min(self.trees, key=lambda t: float((t.location - location).norm()))
            if float((nearest.location - location).norm()) < self.match_distance:
                same = nearest
        if same is not None:
            if self.reanchor:
                same.location = location.clone()
            if embedding is not None and same.embedding is None:
                same.embedding = embedding.clone()
            return same
        tree = RememberedTree(location.clone(), embedding=None if embedding is None else embedding.clone())
        self.trees.append(tree)
        return tree

    def recognise(self, embedding: torch.Tensor) -> RememberedTree | None:
        """The remembered tree whose look is ``embedding`` (each tree's look is its own), or None."""
        return next((t for t in self.trees if t.embedding is not None
                     and float(t.embedding @ embedding) > 0.999 * float(embedding @ embedding)), None)

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
        self.angle += 0.3 * float(self.noise.draw(torch.ones(1, dtype=torch.bool))[0, 0])
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
