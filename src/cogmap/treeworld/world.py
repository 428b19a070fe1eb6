"""Tree World, batched: B independent worlds stepped in lock-step as tensors.

Rules (numbers from :class:`TreeWorldConfig`): each step an agent either moves by a vector
(health -move_cost) or rests (-rest_cost); then, if a tree that still holds fruit stands within
``eat_distance``, it eats one fruit of the nearest such tree (+fruit_health if edible,
-fruit_health if poisonous) and health is capped at ``max_health``. Every ``regrow_every`` steps
of a world all its trees refill to ``max_fruit``. With ``allow_death`` a world whose health
reaches 0 or less is dead and frozen from then on; without it, health may go negative.

Each world is generated from its own seed, so world ``b`` of a batch made with seeds ``s`` is
the world made alone with seed ``s[b]``: batching never changes what a seed means.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError, check_memory, check_trailing_shape
from cogmap.treeworld.agents.base import Observation
from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.embeddings import TreeEmbeddings, embed_words, tree_coefficients, tree_vocabulary
from cogmap.treeworld.sensors import Reading, sight, smell, tree_distances

STATE = ("location", "heading", "health", "alive", "steps", "fruit", "fruit_eaten", "poisonous_fruit_eaten",
         "total_movement")  # what state_dict holds, per world


@dataclass
class Layout:
    """The trees of B worlds."""

    location: torch.Tensor  # (B, N, 2)
    poisonous: torch.Tensor  # (B, N) bool
    fruit_type: list[list[str]]  # B lists of N names
    embeddings: TreeEmbeddings  # or a dense (B, N, D) tensor, wrapped on creation

    def __post_init__(self):
        if torch.is_tensor(self.embeddings):
            self.embeddings = TreeEmbeddings.from_dense(self.embeddings)

    @property
    def embedding(self) -> torch.Tensor:
        """Dense tree embeddings ``(B, N, D)`` (unit rows)."""
        return self.embeddings.dense()

    def to(self, device) -> "Layout":
        return Layout(self.location.to(device), self.poisonous.to(device), self.fruit_type, self.embeddings.to(device))


def random_layout(config: TreeWorldConfig, seeds: Sequence[int]) -> Layout:
    """Tree positions, poison and fruit types of one world per seed."""
    fruits = len(config.edible_fruits) + len(config.poisonous_fruits)
    # Each tree of each world: its position, poison, fruit name and embedding coefficients; each word its vector.
    check_memory(len(seeds) * config.num_trees * 120 + 4 * (config.num_trees + fruits) * config.embedding_dim,
                 f"{len(seeds):,} world(s) of {config.num_trees:,} trees with {config.embedding_dim}-d embeddings "
                 f"(world.num_trees={config.num_trees}, world.embedding_dim={config.embedding_dim})",
                 "ask for fewer trees, smaller embeddings or fewer worlds at once")
    locations, poisonous, types = [], [], []
    for seed in seeds:
        generator = torch.Generator().manual_seed(int(seed))
        locations.append(torch.randn(config.num_trees, 2, generator=generator, dtype=torch.float64) * config.tree_spread)
        poison = torch.rand(config.num_trees, generator=generator, dtype=torch.float64) < config.poison_probability
        pick = torch.rand(config.num_trees, generator=generator, dtype=torch.float64)
        names = []
        for is_poison, u in zip(poison.tolist(), pick.tolist()):
            choices = config.poisonous_fruits if is_poison else config.edible_fruits
            names.append(choices[min(int(u * len(choices)), len(choices) - 1)])
        poisonous.append(poison)
        types.append(names)
    fruits = list(config.edible_fruits) + list(config.poisonous_fruits)
    words = tree_vocabulary(fruits, config.num_trees)
    vocabulary = embed_words(words, config.embedding_dim, config.embedding_backend, config.embedding_model)
    type_index = torch.tensor([[fruits.index(name) for name in names] for names in types]).reshape(len(types), -1)
    tree_index = (len(fruits) + torch.arange(config.num_trees)).expand_as(type_index)
    coefficients = tree_coefficients(type_index, tree_index, vocabulary, config.id_weight)
    return Layout(torch.stack(locations).float(), torch.stack(poisonous), types, TreeEmbeddings(coefficients, vocabulary))


@dataclass
class Senses:
    smell: Reading
    sight: Reading


@dataclass
class StepOutcome:
    """What one step did in each world."""

    health_change: torch.Tensor  # (B,) the reward of an RL agent
    ate: torch.Tensor  # (B,) bool
    ate_poison: torch.Tensor  # (B,) bool
    tree: torch.Tensor  # (B,) long, the tree eaten from, -1 if none
    died: torch.Tensor  # (B,) bool, died on this step


class BatchedTreeWorld:
    """B Tree Worlds in lock-step; all state is tensors of leading dimension B on one device."""

    def __init__(self, config: TreeWorldConfig, layout: Layout, allow_death: bool = True, device=None):
        self.config, self.allow_death = config, allow_death
        self.device = torch.device(device) if device is not None else layout.location.device
        self.layout = layout.to(self.device)
        self.reset()

    @classmethod
    def random_from_config(cls, config: TreeWorldConfig, seeds: Sequence[int] | int, allow_death: bool = True,
                           device=None) -> "BatchedTreeWorld":
        """Worlds made from ``seeds`` (a list, or an int ``s`` for the B = 1 world of seed ``s``)."""
        seeds = [seeds] if isinstance(seeds, int) else list(seeds)
        if not seeds:
            raise CogmapError("seeds must name at least one world")
        return cls(config, random_layout(config, seeds), allow_death, device)

    @property
    def num_worlds(self) -> int:
        return self.layout.location.shape[0]

    def reset(self, mask: torch.Tensor | None = None) -> None:
        """Agents back at the origin heading +x with full health; trees full. ``mask`` (B,) resets only some worlds."""
        b, n, dev = self.num_worlds, self.config.num_trees, self.device
        fresh = {
            "location": torch.zeros(b, 2, device=dev),
            "heading": torch.tensor([1.0, 0.0], device=dev).repeat(b, 1),
            "health": torch.full((b,), float(self.config.max_health), device=dev),
            "alive": torch.ones(b, dtype=torch.bool, device=dev),
            "steps": torch.zeros(b, dtype=torch.long, device=dev),
            "fruit": torch.full((b, n), self.config.max_fruit, dtype=torch.long, device=dev),
            "fruit_eaten": torch.zeros(b, dtype=torch.long, device=dev),
            "poisonous_fruit_eaten": torch.zeros(b, dtype=torch.long, device=dev),
            "total_movement": torch.zeros(b, device=dev),
        }
        for name, value in fresh.items():
            if mask is None or not hasattr(self, name):
                setattr(self, name, value)
            else:
                keep = getattr(self, name)
                where = mask.to(dev).reshape(-1, *([1] * (value.dim() - 1)))
                setattr(self, name, torch.where(where, value, keep))

    def sense(self) -> Senses:
        c = self.config
        trees = self.layout
        return Senses(smell(self.location, trees.location, trees.embeddings, c.smell_width, c.max_sense_distance),
                      sight(self.location, self.heading, trees.location, trees.embeddings, c.sight_cosine,
                            c.max_sense_distance))

    def step(self, move: torch.Tensor, rest: torch.Tensor | None = None,
             heading: torch.Tensor | None = None) -> StepOutcome:
        """Move every world's agent by ``move`` (B, 2), except where ``rest`` (B,) is true.

        ``heading`` (B, 2) sets new headings (normalised; a zero row keeps the old one); by
        default a moving agent faces where it moves. Dead worlds do not change.
        """
        c, b = self.config, self.num_worlds
        check_trailing_shape("move", move, (2,), min_batch_dims=1)
        if move.shape[0] != b:
            raise CogmapError(f"move must have shape ({b}, 2) for {b} worlds, got {tuple(move.shape)}")
        move = move.to(self.device, torch.float32)
        if not torch.isfinite(move).all():
            raise CogmapError("move contains NaN or infinite values")
        rest = torch.zeros(b, dtype=torch.bool, device=self.device) if rest is None else rest.to(self.device, torch.bool)
        active = self.alive
        moving = active & ~rest
        length = move.norm(dim=-1)
        self.location = self.location + move * moving[:, None]
        self.total_movement = self.total_movement + length * moving
        new_heading = move if heading is None else heading.to(self.device, torch.float32)
        norm = new_heading.norm(dim=-1, keepdim=True)
        turn = active[:, None] & (norm > 0) & (moving[:, None] if heading is None else True)
        self.heading = torch.where(turn, new_heading / norm.clamp_min(1e-12), self.heading)
        before = self.health
        cost = torch.where(moving, c.move_cost, c.rest_cost) * active
        health = self.health - cost

        _, distance = tree_distances(self.location, self.layout.location)
        eligible = (distance <= c.eat_distance) & (self.fruit > 0) & active[:, None]
        nearest = torch.where(eligible, distance, torch.full_like(distance, float("inf"))).argmin(dim=1)
        ate = eligible.any(dim=1)
        rows = torch.arange(b, device=self.device)
        poison = self.layout.poisonous[rows, nearest] & ate
        self.fruit = self.fruit.index_put((rows, nearest), self.fruit[rows, nearest] - ate.long())
        gain = torch.where(poison, -c.fruit_health, c.fruit_health) * ate
        self.health = torch.minimum(health + gain, torch.tensor(c.max_health, device=self.device))
        self.fruit_eaten = self.fruit_eaten + ate.long()
        self.poisonous_fruit_eaten = self.poisonous_fruit_eaten + poison.long()

        self.steps = self.steps + active.long()
        regrow = active & (self.steps % c.regrow_every == 0)
        self.fruit = torch.where(regrow[:, None], torch.full_like(self.fruit, c.max_fruit), self.fruit)
        died = active & (self.health <= 0) if self.allow_death else torch.zeros_like(active)
        self.alive = self.alive & ~died
        return StepOutcome(self.health - before, ate, poison, torch.where(ate, nearest, torch.full_like(nearest, -1)), died)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The agents' state and the fruit left, per world (for tests, records and checkpoints)."""
        return {name: getattr(self, name).clone() for name in STATE}

    # ------------------------------------------------------------------ one world (B = 1), unbatched

    def _single(self, what: str) -> None:
        if self.num_worlds != 1:
            raise CogmapError(f"{what} is for a batch of one world; this one holds {self.num_worlds}")

    @property
    def is_alive(self) -> bool:
        """Whether the one world's agent lives, as a plain bool."""
        self._single("is_alive")
        return bool(self.alive[0])

    def observation(self, tasted: int = 0) -> Observation:
        """What the one world's agent observes now, unbatched (the Tree World specification's API, ``TreeWorld.observe``)."""
        self._single("observation")
        senses = self.sense()
        return Observation(step=int(self.steps[0]), location=self.location[0].cpu(), heading=self.heading[0].cpu(),
                           health=float(self.health[0]), smell=senses.smell.embedding[0].cpu(),
                           nearest_distance=float(senses.smell.distance[0]),
                           nearest_location=senses.smell.location[0].cpu(), sight=senses.sight.embedding[0].cpu(),
                           sight_distance=float(senses.sight.distance[0]),
                           sight_location=senses.sight.location[0].cpu(), tasted=tasted)

    def step_one(self, move, rest: bool = False, heading=None) -> tuple[float, bool, bool, int, bool]:
        """One step of the one world: ``move`` (2,), ``rest``, optional ``heading`` (2,); returns
        (health change, ate, ate poison, tree eaten or -1, died) as plain Python values."""
        self._single("step_one")
        as_row = lambda v: torch.as_tensor(v, dtype=torch.float32).reshape(1, 2)  # noqa: E731
        outcome = self.step(as_row(move), torch.tensor([bool(rest)]), None if heading is None else as_row(heading))
        return (float(outcome.health_change[0]), bool(outcome.ate[0]), bool(outcome.ate_poison[0]),
                int(outcome.tree[0]), bool(outcome.died[0]))
