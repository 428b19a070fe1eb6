"""The agent's senses, batched over worlds and vectorised over trees.

Smell (:class:`SimpleSensor`): every tree's embedding weighted by a Gaussian diffusion kernel
of its distance, ``exp(-d^2 / 2 sigma^2)`` with sigma chosen so that the kernel is
``smell_at_max_distance`` (0.1) at ``max_sense_distance``; plus the nearest tree within that
distance. Sight (:class:`DirectionalSensor`): the nearest tree inside the cone
``cos(heading, direction to tree) > sight_cosine`` and within ``max_sense_distance``.

A reading with no tree in range has ``index`` -1, ``distance`` inf, ``location`` NaN and (for
sight) a zero embedding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.embeddings import TreeEmbeddings


@dataclass
class Reading:
    """One sensor's output for a batch of worlds."""

    embedding: torch.Tensor  # (B, D)
    distance: torch.Tensor  # (B,) to the tree found, inf if none
    location: torch.Tensor  # (B, 2) of the tree found, NaN if none
    index: torch.Tensor  # (B,) long, the tree found, -1 if none


def _pick(found: torch.Tensor, index: torch.Tensor, distance: torch.Tensor, trees_location: torch.Tensor):
    """Distance, location and index of the chosen tree per world, with the 'none' values where not found."""
    rows = torch.arange(index.shape[0], device=index.device)
    chosen_distance = torch.where(found, distance[rows, index], torch.full_like(distance[:, 0], float("inf")))
    location = torch.where(found[:, None], trees_location[rows, index], torch.full_like(trees_location[:, 0], float("nan")))
    return chosen_distance, location, torch.where(found, index, torch.full_like(index, -1))


def tree_distances(location: torch.Tensor, trees_location: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Offsets ``(B, N, 2)`` from the agent to every tree and their lengths ``(B, N)``."""
    offset = trees_location - location[:, None, :]
    return offset, offset.norm(dim=-1)


def _embeddings(trees_embedding) -> TreeEmbeddings:
    return trees_embedding if isinstance(trees_embedding, TreeEmbeddings) else TreeEmbeddings.from_dense(trees_embedding)


def smell(location: torch.Tensor, trees_location: torch.Tensor, trees_embedding: TreeEmbeddings | torch.Tensor,
          width: float, max_distance: float) -> Reading:
    """The smell of all trees at ``location`` ``(B, 2)``; trees ``(B, N, 2)``, embeddings ``(B, N, D)`` or factored."""
    _, distance = tree_distances(location, trees_location)
    weight = torch.exp(-distance.square() / (2 * width**2))
    embedding = _embeddings(trees_embedding).weighted_sum(weight)
    nearest = distance.argmin(dim=1)
    found = distance.gather(1, nearest[:, None])[:, 0] <= max_distance
    return Reading(embedding, *_pick(found, nearest, distance, trees_location))


def sight(location: torch.Tensor, heading: torch.Tensor, trees_location: torch.Tensor,
          trees_embedding: TreeEmbeddings | torch.Tensor, min_cosine: float, max_distance: float) -> Reading:
    """The nearest tree in the cone around ``heading`` ``(B, 2)`` (need not be unit length)."""
    offset, distance = tree_distances(location, trees_location)
    along = (offset * heading[:, None, :]).sum(-1)
    norm = distance * heading.norm(dim=-1, keepdim=True)
    # A tree the agent stands on is in every direction, hence seen.
    cosine = torch.where(norm > 0, along / norm.clamp_min(1e-12), torch.ones_like(along))
    visible = (cosine > min_cosine) & (distance <= max_distance)
    masked = torch.where(visible, distance, torch.full_like(distance, float("inf")))
    nearest = masked.argmin(dim=1)
    found = visible.any(dim=1)
    embedding = _embeddings(trees_embedding).select(nearest) * found[:, None]
    return Reading(embedding, *_pick(found, nearest, distance, trees_location))


class SimpleSensor:
    """Smell, with the config's kernel width and range."""

    def __init__(self, max_distance: float = 100.0, value_at_max_distance: float = 0.1):
        self.config = TreeWorldConfig(max_sense_distance=max_distance, smell_at_max_distance=value_at_max_distance)

    @classmethod
    def from_config(cls, config: TreeWorldConfig) -> "SimpleSensor":
        return cls(config.max_sense_distance, config.smell_at_max_distance)

    def __call__(self, location, heading, trees_location, trees_embedding) -> Reading:
        return smell(location, trees_location, trees_embedding, self.config.smell_width, self.config.max_sense_distance)


class DirectionalSensor:
    """Sight, with the config's cone and range."""

    def __init__(self, max_distance: float = 100.0, min_cosine: float = 0.9):
        self.max_distance, self.min_cosine = max_distance, min_cosine

    @classmethod
    def from_config(cls, config: TreeWorldConfig) -> "DirectionalSensor":
        return cls(config.max_sense_distance, config.sight_cosine)

    def __call__(self, location, heading, trees_location, trees_embedding) -> Reading:
        return sight(location, heading, trees_location, trees_embedding, self.min_cosine, self.max_distance)
