"""One Tree World driven by an agent model, step by step, with a recorded history.

:class:`TreeWorld` is the Tree World specification's single-world API over a :class:`BatchedTreeWorld` of one world,
so the single and batched worlds share every rule. ``world.run(steps, record=True,
allow_death=False)`` steps the agent until ``steps`` or death and returns a :class:`Record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from cogmap.errors import CogmapError, check_positive_int
from cogmap.treeworld.agents.base import AgentModel, Observation
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.single import NumpyTreeWorld
from cogmap.treeworld.world import BatchedTreeWorld, StepOutcome


@dataclass
class Tree:
    """A view of one tree of a world."""

    id: int
    location: torch.Tensor
    fruit_type: str
    is_poisonous: bool
    fruit: int


@dataclass
class Record:
    """The history of a run: positions have one more row than steps (the start)."""

    location: list = field(default_factory=list)  # (2,) per time
    heading: list = field(default_factory=list)
    health: list = field(default_factory=list)
    move: list = field(default_factory=list)  # (2,) per step, zeros when resting
    rest: list = field(default_factory=list)
    ate: list = field(default_factory=list)
    ate_poison: list = field(default_factory=list)
    belief: list = field(default_factory=list)  # the agent model's location_belief per step, when it has one

    def as_tensors(self) -> dict[str, torch.Tensor]:
        out = {name: torch.stack(values) if values and torch.is_tensor(values[0]) else torch.tensor(values)
               for name, values in vars(self).items() if values}
        return out


class Agent:
    """The world's agent as the original Tree World code exposed it: body state (read-only views) and its ``model``."""

    def __init__(self, world: "TreeWorld", model: AgentModel):
        self._world, self.model = world, model

    def _get(self, name):
        return getattr(self._world.batched, name)[0]

    location = property(lambda self: self._get("location").clone())
    heading = property(lambda self: self._get("heading").clone())
    health = property(lambda self: float(self._get("health")))
    alive = property(lambda self: bool(self._get("alive")))
    fruit_eaten = property(lambda self: int(self._get("fruit_eaten")))
    poisonous_fruit_eaten = property(lambda self: int(self._get("poisonous_fruit_eaten")))
    total_movement = property(lambda self: float(self._get("total_movement")))


class TreeWorld:
    def __init__(self, config: TreeWorldConfig, batched: BatchedTreeWorld, model: AgentModel | None = None,
                 seed: int = 0):
        if batched.num_worlds != 1:
            raise CogmapError(f"TreeWorld holds one world, got a batch of {batched.num_worlds}")
        if model is None:
            from cogmap.treeworld.agents import make_agent

            model = make_agent("random", config, seed=seed)
        self.config, self.batched, self.seed = config, batched, seed
        self.agent = Agent(self, model)
        self.record: Record | None = None
        self._tasted = 0

    @classmethod
    def random_from_config(cls, config: TreeWorldConfig, seed: int = 0, model: AgentModel | None = None,
                           device=None) -> "TreeWorld":
        """The world of ``seed``: stepped in NumPy on the CPU (:class:`NumpyTreeWorld`), as tensors elsewhere."""
        on_cpu = device is None or torch.device(device).type == "cpu"
        engine = NumpyTreeWorld if on_cpu else BatchedTreeWorld
        return cls(config, engine.random_from_config(config, [seed], device=device), model, seed)

    @property
    def trees(self) -> list[Tree]:
        layout = self.batched.layout
        return [Tree(i, layout.location[0, i].clone(), layout.fruit_type[0][i], bool(layout.poisonous[0, i]),
                     int(self.batched.fruit[0, i])) for i in range(self.config.num_trees)]

    @property
    def steps(self) -> int:
        return int(self.batched.steps[0])

    def reset(self) -> None:
        """Trees full, the agent back at the origin with full health, its model reset, the record cleared."""
        self.batched.reset()
        self.agent.model.reset()
        self.record, self._tasted = None, 0

    def observe(self) -> Observation:
        return self.batched.observation(self._tasted)

    def step(self):
        """Sense, let the agent model act, apply the rules; returns the world's StepOutcome."""
        move, heading = self.agent.model.get_action(self.observe())
        rest = move is None
        move = torch.zeros(2) if rest else torch.as_tensor(move, dtype=torch.float32).detach().cpu().reshape(2)
        heading = None if heading is None else torch.as_tensor(heading, dtype=torch.float32).detach().cpu().numpy()
        change, ate, poison, tree, died = self.batched.step_one(move.numpy(), rest, heading)
        outcome = StepOutcome(torch.tensor([change]), torch.tensor([ate]), torch.tensor([poison]), torch.tensor([tree]),
                              torch.tensor([died]))
        self._tasted = -1 if poison else (1 if ate else 0)
        if self.record is not None:
            self._record(move, rest, outcome)
        return outcome

    def _record(self, move, rest, outcome) -> None:
        r, w = self.record, self.batched
        r.move.append(move.clone())
        r.rest.append(rest)
        r.ate.append(bool(outcome.ate[0]))
        r.ate_poison.append(bool(outcome.ate_poison[0]))
        r.location.append(w.location[0].cpu().clone())
        r.heading.append(w.heading[0].cpu().clone())
        r.health.append(float(w.health[0]))
        belief = getattr(self.agent.model, "location_belief", None)
        if torch.is_tensor(belief):
            r.belief.append(belief.detach().cpu().clone())

    def run(self, steps: int, record: bool = True, allow_death: bool = False, train_every: int | None = None,
            progress: bool = False) -> Record | None:
        """Step until ``steps`` steps have passed or, with ``allow_death``, the agent dies."""
        check_positive_int("steps", steps)
        self.batched.allow_death = allow_death
        if record:
            w = self.batched
            self.record = Record(location=[w.location[0].cpu().clone()], heading=[w.heading[0].cpu().clone()],
                                 health=[float(w.health[0])])
        for t in tqdm(range(steps), disable=not progress, desc="tree world", unit="step"):
            if not self.batched.is_alive:
                break
            self.step()
            if train_every and (t + 1) % train_every == 0:
                self.agent.model.train()
        return self.record

    def summary(self) -> dict:
        """Survival and foraging numbers of the run so far."""
        a = self.agent
        return {"steps": self.steps, "alive": a.alive, "health": a.health, "fruit_eaten": a.fruit_eaten,
                "poisonous_fruit_eaten": a.poisonous_fruit_eaten, "total_movement": round(a.total_movement, 3),
                "distance_from_origin": round(float(a.location.norm()), 3)}
