"""One Tree World on the CPU in NumPy: the rules of :class:`BatchedTreeWorld` without torch's per-call cost.

A batch of one world pays torch's dispatch overhead (a few microseconds) on each of the ~40
small operations of a sense and a step, which made a single world 3.5-10x slower than a plain
NumPy loop of the same rules (BENCHMARKS.md). :class:`NumpyTreeWorld` keeps the world's state in
NumPy arrays, applies the same rules in the same order and precision (float32 positions and
health, the factored tree embeddings), and is what :class:`~cogmap.treeworld.TreeWorld` steps
on the CPU. It is a drop-in :class:`BatchedTreeWorld` of one world: its state attributes
(``location``, ``health``, ...) are torch tensors of leading size 1 (views of arrays that each
step replaces, never writes into, so a tensor read earlier keeps its values), and ``sense`` and
``step`` take and return what the batched world's do. Results agree with the batched world's to
float32 rounding (products and exponentials may round differently in NumPy and torch).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from cogmap.errors import CogmapError
from cogmap.treeworld.agents.base import Observation
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.sensors import Reading
from cogmap.treeworld.world import BatchedTreeWorld, Layout, Senses, StepOutcome, random_layout

STATE = ("location", "heading", "health", "alive", "steps", "fruit", "fruit_eaten", "poisonous_fruit_eaten",
         "total_movement")


def _state_property(name: str) -> property:
    return property(lambda self: torch.from_numpy(self._state[name]),
                    doc=f"``{name}`` of the one world, leading size 1 (a view of the current array).")


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
        c, n = self.config, self.config.num_trees
        self._state = {
            "location": np.zeros((1, 2), dtype=np.float32), "heading": np.array([[1.0, 0.0]], dtype=np.float32),
            "health": np.full(1, c.max_health, dtype=np.float32), "alive": np.ones(1, dtype=bool),
            "steps": np.zeros(1, dtype=np.int64), "fruit": np.full((1, n), c.max_fruit, dtype=np.int64),
            "fruit_eaten": np.zeros(1, dtype=np.int64), "poisonous_fruit_eaten": np.zeros(1, dtype=np.int64),
            "total_movement": np.zeros(1, dtype=np.float32),
        }

    def _distances(self, location: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dx, dy = self._tree_x - location[0], self._tree_y - location[1]
        square = dx * dx + dy * dy
        return dx, dy, square, np.sqrt(square)

    def sense_arrays(self) -> dict:
        """Smell and sight of the one world, unbatched: embeddings ``(D,)`` and locations ``(2,)`` as NumPy
        arrays, distances as floats (inf when no tree is found) and tree indices as ints (-1 when none)."""
        c, state = self.config, self._state
        hx, hy = (float(v) for v in state["heading"][0])
        dx, dy, square, distance = self._distances(state["location"][0])
        smell = np.exp(square * self._minus_smell_scale) @ self._embedding
        nearest = int(distance.argmin())
        if not distance[nearest] <= c.max_sense_distance:
            nearest = -1
        # cos(heading, offset) > sight_cosine without dividing; a tree the agent stands on is seen.
        norm = distance * np.float32(math.hypot(hx, hy))
        visible = ((dx * np.float32(hx) + dy * np.float32(hy) > c.sight_cosine * norm) | (norm == 0)) \
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
        """What the agent of the one world observes now (the seed's API, :meth:`TreeWorld.observe`)."""
        s, state = self.sense_arrays(), self._state
        return Observation(step=int(state["steps"][0]), location=torch.from_numpy(state["location"][0].copy()),
                           heading=torch.from_numpy(state["heading"][0].copy()), health=float(state["health"][0]),
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
        """One step of the one world: ``move`` (2,), ``rest``, optional ``heading`` (2,).

        Returns (health change, ate, ate poison, tree eaten or -1, died), as plain Python values.
        """
        c, s = self.config, self._state
        move = np.asarray(move, dtype=np.float32).reshape(2)
        if not (math.isfinite(move[0]) and math.isfinite(move[1])):
            raise CogmapError("move contains NaN or infinite values")
        if not s["alive"][0]:
            return 0.0, False, False, -1, False
        state = dict(s)  # every array below is new: tensors read earlier keep their values
        moving = not rest
        if moving:
            state["location"] = s["location"] + move
            state["total_movement"] = s["total_movement"] + np.float32(math.hypot(move[0], move[1]))
        new_heading = move if heading is None else np.asarray(heading, dtype=np.float32).reshape(2)
        norm = np.float32(math.hypot(new_heading[0], new_heading[1]))
        if norm > 0 and (moving or heading is not None):
            state["heading"] = (new_heading / max(norm, np.float32(1e-12)))[None]
        before = s["health"][0]
        health = before - np.float32(c.move_cost if moving else c.rest_cost)
        distance = self._distances(state["location"][0])[3]
        eligible = (distance <= c.eat_distance) & (s["fruit"][0] > 0)
        ate = bool(eligible.any())
        tree, poison = -1, False
        fruit = s["fruit"]
        if ate:
            tree = int(np.argmin(np.where(eligible, distance, np.inf)))
            poison = bool(self._poisonous[tree])
            fruit = fruit.copy()
            fruit[0, tree] -= 1
            health = health + np.float32(-c.fruit_health if poison else c.fruit_health)
            state["fruit_eaten"] = s["fruit_eaten"] + 1
            state["poisonous_fruit_eaten"] = s["poisonous_fruit_eaten"] + int(poison)
        health = min(health, np.float32(c.max_health))
        state["health"] = np.array([health], dtype=np.float32)
        state["steps"] = s["steps"] + 1
        if state["steps"][0] % c.regrow_every == 0:
            fruit = np.full_like(fruit, c.max_fruit)
        state["fruit"] = fruit
        died = bool(self.allow_death and health <= 0)
        if died:
            state["alive"] = np.zeros(1, dtype=bool)
        self._state = state
        return float(health - before), ate, poison, tree, died

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
        return {name: torch.from_numpy(self._state[name].copy()) for name in STATE}
