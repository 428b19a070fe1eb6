"""The drive forager for B worlds at once: the rules of :class:`DriveForager`, as tensors.

:class:`BatchedDriveForager` makes, in every world, the decision the one-world
:class:`~cogmap.treeworld.agents.drive.DriveForager` makes (a test holds them to the same
trajectories); it keeps its remembered trees as tensors ``(B, C)`` in the order it met them,
and each world's exploration noise comes from that world's own seeded stream, as the one-world
agent's does. :func:`run_survival` drives a :class:`~cogmap.treeworld.world.BatchedTreeWorld`
with it, told its true location or localizing itself with a batched
:class:`~cogmap.treeworld.phase.PhaseLocalizer` or :class:`~cogmap.treeworld.tem.TEM2d`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from tqdm.auto import tqdm

from cogmap.errors import CogmapError, check_choice, check_positive
from cogmap.treeworld.agents.drive import NoiseStreams
from cogmap.treeworld.agents.localizing import SOURCES, landmark_fix, make_localizer, match_distance
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.tem import localize_step
from cogmap.treeworld.world import BatchedTreeWorld, Senses

TURNS = (0, 30, -30, 60, -60, 90, -90, 120, -120, 150, -150, 180)  # tried in this order to keep clear of poison


def _unit(angle: torch.Tensor) -> torch.Tensor:
    return torch.stack([torch.cos(angle), torch.sin(angle)], -1).float()


def _first(mask: torch.Tensor) -> torch.Tensor:
    """The index of the first True along the last dimension (0 where there is none)."""
    return (mask.int().cumsum(-1) == 0).sum(-1).clamp(max=mask.shape[-1] - 1)


class BatchedDriveForager:
    """Drive foragers for B worlds (``seeds``: each world's forager seed). See :class:`DriveForager`."""

    def __init__(self, seeds: Sequence[int], embedding_dim: int, max_health: float = 1000.0,
                 eat_distance: float = 10.0, regrow_every: int = 1000, step_size: float = 10.0, hunger: float = 0.8,
                 enough_food: int = 3, similarity: float = 0.5, explore_radius: float = 400.0,
                 match_distance: float = 1e-3, reanchor: bool = True, capacity: int = 32, device=None):
        for name, value in (("max_health", max_health), ("eat_distance", eat_distance), ("step_size", step_size),
                            ("explore_radius", explore_radius), ("match_distance", match_distance)):
            check_positive(name, value)
        if not 0 < hunger <= 1:
            raise CogmapError(f"hunger must be in (0, 1], got {hunger!r}")
        self.seeds = [int(s) for s in seeds]
        if not self.seeds:
            raise CogmapError("seeds must name at least one world")
        self.embedding_dim, self.max_health, self.eat_distance = embedding_dim, max_health, eat_distance
        self.regrow_every, self.step_size, self.hunger, self.enough_food = regrow_every, step_size, hunger, enough_food
        self.similarity, self.explore_radius, self.match_distance = similarity, explore_radius, match_distance
        self.reanchor = reanchor
        self.capacity, self.device = capacity, torch.device(device) if device is not None else torch.device("cpu")
        self.reset()

    @classmethod
    def from_config(cls, config: TreeWorldConfig, seeds: Sequence[int], **overrides) -> "BatchedDriveForager":
        return cls(seeds, config.embedding_dim, max_health=config.max_health, eat_distance=config.eat_distance,
                   regrow_every=config.regrow_every, step_size=config.max_move,
                   **{"capacity": config.num_trees + 8, **overrides})

    @property
    def num_worlds(self) -> int:
        return len(self.seeds)

    def reset(self) -> None:
        b, c, d, dev = self.num_worlds, self.capacity, self.embedding_dim, self.device
        self.location = torch.zeros(b, c, 2, device=dev)
        self.known = torch.zeros(b, c, dtype=torch.bool, device=dev)
        self.status = torch.zeros(b, c, dtype=torch.long, device=dev)
        self.has_look = torch.zeros(b, c, dtype=torch.bool, device=dev)
        self.look = torch.zeros(b, c, d, device=dev)
        self.sketch = torch.zeros(b, c, 16, device=dev)
        self._projection = torch.randn(d, 16, generator=torch.Generator().manual_seed(0)).to(dev)
        self.alike = torch.zeros(b, c, c, device=dev)  # dot products of the looks
        self.empty_since = torch.full((b, c), -1, dtype=torch.long, device=dev)
        self.count = torch.zeros(b, dtype=torch.long, device=dev)
        self.target = torch.full((b,), -1, dtype=torch.long, device=dev)
        self.angle = torch.zeros(b, dtype=torch.float64, device=dev)
        self.noise = NoiseStreams(self.seeds, device=dev)

    # ------------------------------------------------------------------ memory

    def _grow(self) -> None:
        extra, b, dev = self.capacity, self.num_worlds, self.device
        pad = lambda x, value: torch.cat([x, torch.full((b, extra, *x.shape[2:]), value, dtype=x.dtype, device=dev)], 1)  # noqa: E731
        self.location, self.known, self.status = pad(self.location, 0.0), pad(self.known, False), pad(self.status, 0)
        self.has_look, self.look, self.empty_since = pad(self.has_look, False), pad(self.look, 0.0), pad(self.empty_since, -1)
        self.sketch = pad(self.sketch, 0.0)
        self.alike = torch.cat([pad(self.alike, 0.0), torch.zeros(b, 2 * extra, extra, device=dev)], 2)
        self.capacity *= 2

    def _set_look(self, rows: torch.Tensor, slots: torch.Tensor, looks: torch.Tensor) -> None:
        self.look[rows, slots] = looks
        self.sketch[rows, slots] = torch.nn.functional.normalize(looks @ self._projection, dim=-1)
        self.has_look[rows, slots] = True
        dots = torch.bmm(self.look[rows], looks[:, :, None])[..., 0]  # (n, C)
        self.alike[rows, slots] = dots
        self.alike[rows, :, slots] = dots

    def _recognise(self, rows: torch.Tensor, look: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Whether worlds ``rows`` remember a tree of look ``look`` ``(n, D)``, and its slot."""
        # Reading every remembered look of every world (B x C x D) each step would cost more
        # than all the rest; a 16-d sketch finds the one candidate, whose full look then decides
        # (a look is matched at most once, so at most one slot can match).
        sketch = torch.nn.functional.normalize(look @ self._projection, dim=-1)
        closeness = torch.where(self.has_look[rows], (self.sketch[rows] * sketch[:, None]).sum(-1),
                                torch.full(self.has_look[rows].shape, -math.inf, device=self.device))
        slot = closeness.argmax(-1)
        dots = (self.look[rows, slot] * look).sum(-1)
        return self.has_look[rows, slot] & (dots > 0.999 * (look * look).sum(-1)), slot

    def recognise(self, seen: torch.Tensor, looks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B,)`` whether each world in ``seen`` remembers the tree of look ``looks[b]``, and where
        (``(B, 2)``, its remembered place; NaN where not recognised)."""
        rows = torch.arange(self.num_worlds, device=self.device)
        same, slot = self._recognise(rows, looks.to(self.device))
        same = same & seen.to(self.device)
        return same, torch.where(same[:, None], self.location[rows, slot], torch.full_like(self.location[:, 0], math.nan))

    def _remember(self, seen: torch.Tensor, where: torch.Tensor, looks: torch.Tensor | None) -> None:
        """Worlds ``seen`` sensed a tree at ``where`` (with its look, for sight): match it to a remembered
        tree (by look, else within ``match_distance``) and move that one there, or remember a new one."""
        rows = seen.nonzero()[:, 0]
        if rows.numel() == 0:
            return
        if bool((self.count[rows] >= self.capacity).any()):
            self._grow()
        place = where[rows]
        same = torch.zeros(rows.numel(), dtype=torch.bool, device=self.device)
        slot = torch.zeros(rows.numel(), dtype=torch.long, device=self.device)
        if looks is not None:
            look = looks[rows]
            same, slot = self._recognise(rows, look)
        distance = torch.where(self.known[rows], (self.location[rows] - place[:, None]).norm(dim=-1),
                               torch.full(self.known[rows].shape, math.inf, device=self.device))
        nearest = distance.argmin(-1)
        close = distance.gather(1, nearest[:, None])[:, 0] < self.match_distance
        slot = torch.where(same, slot, torch.where(close, nearest, self.count[rows]))
        new = ~same & ~close
        moved = new | torch.full_like(new, self.reanchor)
        self.location[rows[moved], slot[moved]] = place[moved]
        self.known[rows, slot] = True
        self.count[rows] = self.count[rows] + new.long()
        if looks is not None:
            lacks = ~self.has_look[rows, slot]
            if bool(lacks.any()):
                self._set_look(rows[lacks], slot[lacks], look[lacks])

    def looks_poisonous(self) -> torch.Tensor:
        """``(B, C)``: tasted poisonous, or untasted and alike (dot above ``similarity``) a tasted poisonous one."""
        poisonous = self.known & (self.status == -1)
        kin = (self.alike > self.similarity) & (poisonous & self.has_look)[:, None, :]
        return poisonous | (self.known & (self.status == 0) & self.has_look & kin.any(-1))

    # ------------------------------------------------------------------ acting

    def _go(self, location, move, poison):
        """``move`` turned as little as needed (``TURNS``) to end clear of every poisonous-looking tree;
        ``(move, ok)`` with ok False where no turn is safe (then the agent rests)."""
        angle = torch.atan2(move[:, 1].double(), move[:, 0].double())
        length = move.norm(dim=-1)
        turns = torch.tensor([math.radians(t) for t in TURNS], dtype=torch.float64, device=self.device)
        candidates = _unit(angle[:, None] + turns) * length[:, None, None]
        candidates[:, 0] = move
        ends = location[:, None] + candidates  # (B, 12, 2)
        gap = (self.location[:, None] - ends[:, :, None]).norm(dim=-1)  # (B, 12, C)
        safe = ((gap > self.eat_distance * 1.2) | ~poison[:, None]).all(-1)
        pick = _first(safe)
        return candidates[torch.arange(len(pick), device=self.device), pick], safe.any(-1)

    def act(self, location: torch.Tensor, health: torch.Tensor, step: torch.Tensor, tasted: torch.Tensor,
            senses: Senses) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One decision per world: ``(move (B, 2), rest (B,), heading (B, 2))`` for
        :meth:`BatchedTreeWorld.step` (a zero heading row keeps the old heading)."""
        b, dev = self.num_worlds, self.device
        location = location.to(dev, torch.float32)
        rows = torch.arange(b, device=dev)
        self._remember(torch.isfinite(senses.sight.distance), senses.sight.location.to(dev), senses.sight.embedding.to(dev))
        self._remember(torch.isfinite(senses.smell.distance), senses.smell.location.to(dev), None)
        distance = torch.where(self.known, (self.location - location[:, None]).norm(dim=-1),
                               torch.full(self.known.shape, math.inf, device=dev))
        within = distance <= self.eat_distance
        # What the last step's tasting says about the nearest tree within reach.
        tasted = tasted.to(dev)
        ate = (tasted != 0) & within.any(-1)
        eaten = torch.where(within, distance, torch.full_like(distance, math.inf)).argmin(-1)
        self.status[rows[ate], eaten[ate]] = tasted[ate]
        self.empty_since[rows[ate], eaten[ate]] = -1
        target_here = (tasted == 0) & (self.target >= 0) & within.gather(1, self.target.clamp(min=0)[:, None])[:, 0]
        self.empty_since[rows[target_here], self.target[target_here]] = step.to(dev)[target_here]
        self.target = torch.where(target_here, torch.full_like(self.target, -1), self.target)

        move = torch.zeros(b, 2, device=dev)
        rest = torch.zeros(b, dtype=torch.bool, device=dev)
        heading = torch.zeros(b, 2, device=dev)
        poison = self.looks_poisonous()
        # 1. Within reach of a tree known to be poisonous: straight away from the first one.
        poison_here = within & self.known & (self.status == -1)
        leave = poison_here.any(-1)
        away = location - self.location[rows, _first(poison_here)]
        norm = away.norm(dim=-1, keepdim=True)
        away = torch.where(norm > 1e-6, away / norm.clamp_min(1e-30), _unit(self.angle + math.pi))
        move = torch.where(leave[:, None], away * self.step_size, move)
        self.target = torch.where(leave, torch.full_like(self.target, -1), self.target)
        undecided = ~leave

        hungry = health.to(dev) < self.hunger * self.max_health
        food = (self.known & (self.status == 1)).sum(-1)
        step_now = step.to(dev)
        full = (self.empty_since < 0) | (step_now[:, None] - self.empty_since >= self.regrow_every)
        candidates = self.known & full & ~poison
        # 2. Hungry with somewhere to go: known edible trees before untasted ones, nearest first.
        seek = undecided & hungry & candidates.any(-1)
        edible = candidates & (self.status == 1)
        pool = torch.where(edible.any(-1, keepdim=True), edible, candidates)
        chosen = torch.where(pool, distance, torch.full_like(distance, math.inf)).argmin(-1)
        self.target = torch.where(seek, chosen, self.target)
        offset = self.location[rows, chosen] - location
        gap = offset.norm(dim=-1)
        arrived = seek & (gap < 1e-6)
        rest = rest | arrived
        heading_for = seek & ~arrived
        self.angle = torch.where(heading_for, torch.atan2(offset[:, 1].double(), offset[:, 0].double()), self.angle)
        scale = torch.clamp(self.step_size / gap.double(), max=1.0).float()
        toward = offset * scale[:, None]
        # 3. Hungry, every known tree empty: wait for the regrowth if health lasts (resting costs half).
        stuck = undecided & hungry & ~candidates.any(-1)
        waits = torch.where(self.known & (self.status == 1) & (self.empty_since >= 0),
                            self.empty_since + self.regrow_every - step_now[:, None],
                            torch.full_like(self.empty_since, torch.iinfo(torch.long).max))
        wait = stuck & (food >= self.enough_food) & (waits.amin(-1) < health.to(dev) - self.max_health * 0.05)
        # 4. Sated: rest looking around when provided for, explore otherwise.
        sated = undecided & ~hungry
        self.target = torch.where(sated, torch.full_like(self.target, -1), self.target)
        look_around = wait | (sated & (food >= self.enough_food))
        self.angle = torch.where(look_around, self.angle + math.pi / 3, self.angle)
        rest = rest | look_around
        heading = torch.where(look_around[:, None], _unit(self.angle), heading)
        explore = (stuck & ~wait) | (sated & (food < self.enough_food))
        far = location.norm(dim=-1) > self.explore_radius
        home = torch.atan2(-location[:, 1].double(), -location[:, 0].double())
        self.angle = torch.where(explore & far, home, self.angle)
        self.angle = self.angle + 0.3 * self.noise.draw(explore)[:, 0]
        wander = _unit(self.angle) * self.step_size

        go = heading_for | explore
        wanted = torch.where(heading_for[:, None], toward, wander)
        chosen_move, ok = self._go(location, wanted, poison)
        move = torch.where(go[:, None], chosen_move, move)
        rest = rest | (go & ~ok)
        moving = ~rest
        heading = torch.where(moving[:, None], move, heading)
        return torch.where(moving[:, None], move, torch.zeros_like(move)), rest, heading


def run_survival(config: TreeWorldConfig, seeds: Sequence[int], steps: int, source: str = "true",
                 action_noise: float = 0.0, device=None, progress: bool = False, reanchor: bool = True) -> list[dict]:
    """The drive forager in worlds ``seeds`` at once, death allowed, capped at ``steps``; one row per
    world, as :func:`cogmap.treeworld.experiments.survival_runs` writes them.

    ``source`` is where its location comes from: ``true``, or its own estimate from the commands
    it gave and the smell: ``phase`` (:class:`PhaseLocalizer`), ``odometry`` (the phase code
    without memory correction) or ``tem2d``. ``action_noise``: motor noise, sd per axis, felt by
    the body only. ``reanchor``: whether the forager moves a remembered tree to where it senses
    it now (see :meth:`DriveForager._remember`); ``landmarks`` (path integration corrected by
    recognised trees, :class:`~cogmap.treeworld.agents.localizing.SelfLocalizingForager`) always
    keeps a fixed map.
    """
    check_choice("source", source, SOURCES)
    landmarks = source == "landmarks"
    reanchor = reanchor and not landmarks
    if not (math.isfinite(action_noise) and action_noise >= 0):
        raise CogmapError(f"action_noise must be a finite number >= 0, got {action_noise!r}")
    seeds = list(seeds)
    world = BatchedTreeWorld.random_from_config(config, seeds, allow_death=True, device=device)
    b, dev = world.num_worlds, world.device
    agent = BatchedDriveForager.from_config(config, seeds, device=dev, reanchor=reanchor,
                                            match_distance=match_distance(config, source))
    localizer, belief = make_localizer(source, config, b, action_noise, dev), None
    motor = NoiseStreams([s + 7919 for s in seeds], width=2, device=dev)  # as SelfLocalizingForager's
    tasted = torch.zeros(b, dtype=torch.long, device=dev)
    command = torch.zeros(b, 2, device=dev)
    moved = torch.zeros(b, dtype=torch.bool, device=dev)
    errors = []
    for _ in tqdm(range(steps), disable=not progress, desc=f"drive ({source}, {b} worlds)", unit="step"):
        if not bool(world.alive.any()):
            break
        senses, alive = world.sense(), world.alive
        for reading in (senses.sight, senses.smell):
            # A dead agent senses nothing: its map would otherwise fill with its frozen surroundings
            # placed along the estimate its commands still move.
            reading.distance = torch.where(alive, reading.distance, torch.full_like(reading.distance, math.inf))
        location = world.location
        if localizer is not None:
            # A body at rest is not moved by motor noise: its uncertainty does not grow.
            estimate, _, _, _, belief = localize_step(localizer, belief, command, senses.smell.embedding,
                                                      action_noise=action_noise * moved)
            if landmarks:
                known, where = agent.recognise(torch.isfinite(senses.sight.distance), senses.sight.embedding)
                if bool(known.any()):
                    fix = landmark_fix(where, senses.sight.location, location)
                    estimate = localizer.fix(torch.where(known[:, None], fix, estimate), mask=known).float()
            errors.append(torch.where(world.alive, (estimate - location).norm(dim=-1), torch.nan))
            for reading in (senses.sight, senses.smell):  # the trees where the body senses them, in the estimate's frame
                reading.location = estimate + (reading.location - location)
            location = estimate
        move, rest, heading = agent.act(location, world.health, world.steps, tasted, senses)
        command, moved = move * alive[:, None], ~rest & alive  # what the localizer integrates next
        if action_noise > 0:
            move = move + (action_noise * motor.draw(~rest)).float()
            heading = torch.where(rest[:, None], heading, move)  # the body faces where it did move
        outcome = world.step(move, rest, heading)
        tasted = torch.where(outcome.ate_poison, -1, torch.where(outcome.ate, 1, 0))
    rows = []
    error = torch.stack(errors, 1) if errors else None
    for i, seed in enumerate(seeds):
        row = {"seed": seed, "steps": int(world.steps[i]), "alive": bool(world.alive[i]), "health": float(world.health[i]),
               "fruit_eaten": int(world.fruit_eaten[i]), "poisonous_fruit_eaten": int(world.poisonous_fruit_eaten[i]),
               "total_movement": round(float(world.total_movement[i]), 3),
               "distance_from_origin": round(float(world.location[i].norm()), 3)}
        if error is not None:
            lived = error[i][~torch.isnan(error[i])].tolist()
            row.update(localization_error_mean=sum(lived) / len(lived), localization_error_final=lived[-1],
                       localization_error_every_100=lived[::100])
        rows.append(row)
    return rows
