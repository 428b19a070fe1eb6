"""One Tree World on the CPU in NumPy: the rules of :class:`BatchedTreeWorld` without torch's per-call cost.

A batch of one world pays torch's dispatch overhead (a few microseconds) on each of the ~40
small operations of a sense and a step, which made a single world 3.5-10x slower than a plain
NumPy loop of the same rules (BENCHMARKS.md). :class:`NumpyTreeWorld` keeps the world's state as
NumPy scalars and one array of fruit, applies the same rules in the same order and precision
(float32 positions and health), and is what :class:`~cogmap.treeworld.TreeWorld` steps on the
CPU. It is a drop-in :class:`BatchedTreeWorld` of one world: its state attributes (``location``,
``health``, ...) are new torch tensors of leading size 1 at every read (so a tensor read earlier
keeps its values), and ``sense`` and ``step`` take and return what the batched world's do;
``sense_arrays``, ``observation`` and ``step_one`` are the fast, unbatched forms. Results agree
with the batched world's to float32 rounding (products and exponentials, and the dense tree
embeddings it multiplies instead of the factored ones, may round differently in NumPy and torch).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld.agents.base import Observation
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.sensors import Reading
from cogmap.treeworld.world import STATE, BatchedTreeWorld, Layout, Senses, StepOutcome, random_layout


def _state_property(name: str) -> property:
    return property(lambda self: self._tensor(name), doc=f"``{name}`` of the one world, leading size 1 (a new tensor).")


class NumpyTreeWorld(BatchedTreeWorld):
    """A single world (B = 1) on the CPU, stepped in NumPy; see the module's docstring."""

    def __init__(self, config: TreeWorldConfig, layout: Layout, allow_death: bool = True, device=None):
        if layout.location.shape[0] != 1:
            raise CogmapError(f"NumpyTreeWorld holds one world, got a layout of {layout.location.shape[0]}")
        if device is not None and torch.device(device).type != "cpu":
            raise CogmapError(f"NumpyTreeWorld runs on the CPU, got device {device!r}; use BatchedTreeWorld")
        self.config, self.allow_death = config, allow_death
        self.device = torch.device("cpu")
        self.layout = layout.to(self.device)
        self._trees = self.layout.location[0].numpy()  # (N, 2) float32
        self._poisonous = self.layout.poisonous[0].numpy()
        self._tree_x, self._tree_y = self._trees[:, 0].copy(), self._trees[:, 1].copy()
        # Dense (N, D) embeddings for one world: one product per smell instead of the factored two.
        self._embedding = self.layout.embeddings.dense()[0].numpy()
        c = config
        self._minus_smell_scale = np.float32(-1.0 / (2 * c.smell_width**2))
        self._move_cost, self._rest_cost = np.float32(c.move_cost), np.float32(c.rest_cost)
        self._fruit_health, self._max_health = np.float32(c.fruit_health), np.float32(c.max_health)
        self._nowhere = np.full(2, np.nan, dtype=np.float32)
        self._blind = np.zeros(self._embedding.shape[1], dtype=np.float32)
        self.reset()

    @classmethod
    def random_from_config(cls, config: TreeWorldConfig, seeds, allow_death: bool = True,
                           device=None) -> "NumpyTreeWorld":
        seeds = [seeds] if isinstance(seeds, int) else list(seeds)
        if len(seeds) != 1:
            raise CogmapError(f"NumpyTreeWorld holds one world, got {len(seeds)} seeds")
        return cls(config, random_layout(config, seeds), allow_death, device)

    location = _state_property("location")
    heading = _state_property("heading")
    health = _state_property("health")
    alive = _state_property("alive")
    steps = _state_property("steps")
    fruit = _state_property("fruit")
    fruit_eaten = _state_property("fruit_eaten")
    poisonous_fruit_eaten = _state_property("poisonous_fruit_eaten")
    total_movement = _state_property("total_movement")

    @property
    def num_worlds(self) -> int:
        return 1

    def reset(self, mask: torch.Tensor | None = None) -> None:
        if mask is not None and not bool(torch.as_tensor(mask).reshape(-1)[0]):
            return
        c, f32 = self.config, np.float32
        # Scalars, float32 where the batched world's tensors are: a step is a few dozen scalar operations.
        self._x, self._y, self._hx, self._hy = f32(0.0), f32(0.0), f32(1.0), f32(0.0)
        self._health, self._total_movement = f32(c.max_health), f32(0.0)
        self._alive, self._steps, self._fruit_eaten, self._poisonous_fruit_eaten = True, 0, 0, 0
        self._fruit = np.full(c.num_trees, c.max_fruit, dtype=np.int64)  # replaced, never written into

    def _tensor(self, name: str) -> torch.Tensor:
        values = {"location": ([[self._x, self._y]], torch.float32), "heading": ([[self._hx, self._hy]], torch.float32),
                  "health": ([self._health], torch.float32), "alive": ([self._alive], torch.bool),
                  "steps": ([self._steps], torch.long), "fruit_eaten": ([self._fruit_eaten], torch.long),
                  "poisonous_fruit_eaten": ([self._poisonous_fruit_eaten], torch.long),
                  "total_movement": ([self._total_movement], torch.float32)}
        if name == "fruit":
            return torch.from_numpy(self._fruit.copy())[None]
        data, dtype = values[name]
        return torch.tensor(np.asarray(data), dtype=dtype)

    @property
    def is_alive(self) -> bool:
        return self._alive

    def _distances(self, x, y) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dx, dy = self._tree_x - x, self._tree_y - y
        square = dx * dx + dy * dy
        return dx, dy, square, np.sqrt(square)

    def sense_arrays(self) -> dict:
        """Smell and sight of the one world, unbatched: embeddings ``(D,)`` and locations ``(2,)`` as NumPy
        arrays, distances as floats (inf when no tree is found) and tree indices as ints (-1 when none)."""
        c, hx, hy = self.config, self._hx, self._hy
        dx, dy, square, distance = self._distances(self._x, self._y)
        smell = np.exp(square * self._minus_smell_scale) @ self._embedding
        nearest = int(distance.argmin())
        if not distance[nearest] <= c.max_sense_distance:
            nearest = -1
        # cos(heading, offset) > sight_cosine without dividing; a tree the agent stands on is seen.
        norm = distance * np.float32(math.hypot(hx, hy))
        visible = ((dx * hx + dy * hy > c.sight_cosine * norm) | (norm == 0)) \
            & (distance <= c.max_sense_distance)
        candidates = visible.nonzero()[0]
        seen = int(candidates[distance[candidates].argmin()]) if len(candidates) else -1
        trees, nowhere = self._trees, self._nowhere
        return {"smell": smell, "smell_index": nearest,
                "smell_distance": float(distance[nearest]) if nearest >= 0 else math.inf,
                "smell_location": trees[nearest].copy() if nearest >= 0 else nowhere.copy(),
                "sight": self._embedding[seen].copy() if seen >= 0 else self._blind.copy(),
                "sight_index": seen, "sight_distance": float(distance[seen]) if seen >= 0 else math.inf,
                "sight_location": trees[seen].copy() if seen >= 0 else nowhere.copy()}

    def observation(self, tasted: int = 0) -> Observation:
        s = self.sense_arrays()
        return Observation(step=self._steps, location=torch.from_numpy(np.array([self._x, self._y])),
                           heading=torch.from_numpy(np.array([self._hx, self._hy])), health=float(self._health),
                           smell=torch.from_numpy(s["smell"]), nearest_distance=s["smell_distance"],
                           nearest_location=torch.from_numpy(s["smell_location"]), sight=torch.from_numpy(s["sight"]),
                           sight_distance=s["sight_distance"], sight_location=torch.from_numpy(s["sight_location"]),
                           tasted=tasted)

    def sense(self) -> Senses:
        s = self.sense_arrays()

        def reading(key: str) -> Reading:
            return Reading(torch.from_numpy(s[key][None].astype(np.float32, copy=False)),
                           torch.tensor([s[f"{key}_distance"]], dtype=torch.float32),
                           torch.from_numpy(s[f"{key}_location"][None]), torch.tensor([s[f"{key}_index"]]))

        return Senses(reading("smell"), reading("sight"))

    def step_one(self, move, rest: bool = False, heading=None) -> tuple[float, bool, bool, int, bool]:
        c, f32 = self.config, np.float32
        move = np.asarray(move, dtype=np.float32).reshape(2)
        mx, my = move[0], move[1]
        if not (math.isfinite(mx) and math.isfinite(my)):
            raise CogmapError("move contains NaN or infinite values")
        if not self._alive:
            return 0.0, False, False, -1, False
        moving = not rest
        if moving:
            self._x, self._y = self._x + mx, self._y + my
            self._total_movement = self._total_movement + f32(math.hypot(mx, my))
        if heading is None:
            hx, hy = mx, my
        else:
            heading = np.asarray(heading, dtype=np.float32).reshape(2)
            hx, hy = heading[0], heading[1]
        norm = f32(math.hypot(hx, hy))
        if norm > 0 and (moving or heading is not None):
            self._hx, self._hy = hx / norm, hy / norm
        before = self._health
        health = before - (self._move_cost if moving else self._rest_cost)
        distance = self._distances(self._x, self._y)[3]
        tree, poison = -1, False
        within = (distance <= c.eat_distance).nonzero()[0]
        if len(within):
            full = within[self._fruit[within] > 0]
            if len(full):
                tree = int(full[distance[full].argmin()])
                poison = bool(self._poisonous[tree])
                self._fruit = self._fruit.copy()
                self._fruit[tree] -= 1
                health = health + (-self._fruit_health if poison else self._fruit_health)
                self._fruit_eaten += 1
                self._poisonous_fruit_eaten += int(poison)
        self._health = min(health, self._max_health)
        self._steps += 1
        if self._steps % c.regrow_every == 0:
            self._fruit = np.full_like(self._fruit, c.max_fruit)
        died = bool(self.allow_death and self._health <= 0)
        if died:
            self._alive = False
        return float(self._health - before), tree >= 0, poison, tree, died

    def step(self, move: torch.Tensor, rest: torch.Tensor | None = None,
             heading: torch.Tensor | None = None) -> StepOutcome:
        """:meth:`BatchedTreeWorld.step` for the one world: ``move`` (1, 2), ``rest`` (1,), ``heading`` (1, 2)."""
        move = torch.as_tensor(move)
        if move.shape != (1, 2):
            raise CogmapError(f"move must have shape (1, 2) for 1 world, got {tuple(move.shape)}")
        change, ate, poison, tree, died = self.step_one(
            move[0].detach().cpu().numpy(), False if rest is None else bool(torch.as_tensor(rest).reshape(-1)[0]),
            None if heading is None else torch.as_tensor(heading).reshape(-1, 2)[0].detach().cpu().numpy())
        return StepOutcome(torch.tensor([change]), torch.tensor([ate]), torch.tensor([poison]), torch.tensor([tree]),
                           torch.tensor([died]))

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {name: self._tensor(name) for name in STATE}
