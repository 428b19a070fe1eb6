"""Every number of Tree World in one typed config."""

from __future__ import annotations

import math
from dataclasses import dataclass

from cogmap.config import check_choices, choice, parse, to_dict
from cogmap.errors import CogmapError, check_positive, check_positive_int

EMBEDDING_BACKENDS = ("hash", "sentence-transformers")
MAX_LENGTH = 1e6  # world units; the default world's trees spread over about 200


@dataclass
class TreeWorldConfig:
    """The rules, sensors and embeddings of Tree World (defaults: the original system's).

    Trees stand at Gaussian-random positions with standard deviation ``tree_spacing * 2`` (the
    original's ``tree_spacing * dim`` on the 2-D plane). Health changes by ``-move_cost`` for a
    step that moves, ``-rest_cost`` for one that rests, and ``+-fruit_health`` for an edible or
    poisonous fruit eaten within ``eat_distance`` of a tree that still holds fruit.
    """

    num_trees: int = 25
    tree_spacing: float = 100.0
    poison_probability: float = 0.3
    max_fruit: int = 5
    regrow_every: int = 1000  # steps between refills of every tree to max_fruit
    max_health: float = 1000.0
    move_cost: float = 2.0
    rest_cost: float = 1.0
    fruit_health: float = 25.0
    eat_distance: float = 10.0
    max_sense_distance: float = 100.0
    smell_at_max_distance: float = 0.1  # the smell kernel's value at max_sense_distance
    sight_cosine: float = 0.9  # a tree is seen when the cosine to the heading exceeds this
    max_move: float = 10.0  # the longest step an environment action can ask for
    embedding_dim: int = 1024
    embedding_backend: str = choice("hash", EMBEDDING_BACKENDS)  # fixed random unit vector per word; or "sentence-transformers"
    embedding_model: str = "all-MiniLM-L6-v2"  # for the sentence-transformers backend (a local model)
    id_weight: float = 0.5  # weight of a tree's own id in its embedding, next to its fruit type
    edible_fruits: tuple[str, ...] = ("apple", "banana", "fig", "orange", "pear", "plum", "cherry", "mango")
    poisonous_fruits: tuple[str, ...] = ("manchineel", "nightshade", "yew", "oleander")

    def __post_init__(self):
        check_positive_int("num_trees", self.num_trees)
        check_positive_int("max_fruit", self.max_fruit)
        check_positive_int("regrow_every", self.regrow_every)
        check_positive_int("embedding_dim", self.embedding_dim)
        for name in ("tree_spacing", "max_health", "eat_distance", "max_sense_distance", "max_move", "fruit_health"):
            check_positive(name, getattr(self, name))
        for name in ("tree_spacing", "eat_distance", "max_sense_distance", "max_move"):
            # Squared distances are taken in float32: lengths beyond this overflow them or lose the step in rounding.
            if getattr(self, name) > MAX_LENGTH:
                raise CogmapError(f"{name} must be at most {MAX_LENGTH:g} world units, got {getattr(self, name)!r}")
        for name in ("move_cost", "rest_cost", "id_weight"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise CogmapError(f"{name} must be a finite number >= 0, got {value!r}")
        if not 0 <= self.poison_probability <= 1:
            raise CogmapError(f"poison_probability must be in [0, 1], got {self.poison_probability!r}")
        if not 0 < self.smell_at_max_distance < 1:
            raise CogmapError(f"smell_at_max_distance must be in (0, 1), got {self.smell_at_max_distance!r}")
        if not -1 <= self.sight_cosine < 1:
            raise CogmapError(f"sight_cosine must be in [-1, 1), got {self.sight_cosine!r}")
        check_choices(self)
        for name in ("edible_fruits", "poisonous_fruits"):
            words = tuple(getattr(self, name))
            if not words or not all(isinstance(w, str) and w for w in words):
                raise CogmapError(f"{name} must be a non-empty list of fruit names, got {words!r}")
            setattr(self, name, words)
        overlap = set(self.edible_fruits) & set(self.poisonous_fruits)
        if overlap:
            raise CogmapError(f"fruit(s) {', '.join(sorted(overlap))} cannot be both edible and poisonous")

    @property
    def tree_spread(self) -> float:
        """Standard deviation of the tree positions along each axis."""
        return self.tree_spacing * 2

    @property
    def smell_width(self) -> float:
        """The Gaussian smell kernel's sigma: ``exp(-d^2 / 2 sigma^2)`` is ``smell_at_max_distance`` at ``max_sense_distance``."""
        return self.max_sense_distance / math.sqrt(-2 * math.log(self.smell_at_max_distance))

    @classmethod
    def from_dict(cls, values: dict) -> "TreeWorldConfig":
        return parse(cls, values)

    def to_dict(self) -> dict:
        return to_dict(self)
