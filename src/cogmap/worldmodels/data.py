"""Trajectories of a domain's body under its actions, rendered: (observation, action, next observation) and n-step sequences.

Each sequence starts from a Haar-uniform pose; each step applies one of the allowed actions,
drawn uniformly (``R_{t+1} = G_{a_t} R_t``, joint by joint). ``actions`` restricts the set drawn
from (the paper's generalisation test trains on a subset and evaluates on all); action indices
always refer to the domain's ``action_names``. The symmetries that measure equivariance are in
:mod:`cogmap.worldmodels.domains`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError
from cogmap.worldmodels.domains import Domain, cube_rotations, get_domain


@dataclass(frozen=True)
class Trajectories:
    observations: torch.Tensor  # (N, T + 1, 1, size, size) float32 images in [0, 1]
    actions: torch.Tensor  # (N, T) action indices into the domain's action_names
    poses: torch.Tensor  # (N, T + 1, J, d, d) float64: every joint's rotation at every step
    step: float  # radians per action
    domain: str

    def __len__(self) -> int:
        return self.actions.shape[0]


def parse_actions(actions: Sequence | None, domain: str | Domain = "teapot") -> list[int]:
    """Action names or indices -> sorted indices; ``None`` means all of the domain's actions."""
    domain = get_domain(domain)
    names = domain.action_names
    if actions is None:
        return list(range(len(names)))
    chosen = set()
    for action in actions:
        if isinstance(action, str):
            if action not in names:
                raise CogmapError(f"unknown action {action!r}; the actions of the {domain.name} are {', '.join(names)}")
            chosen.add(names.index(action))
        elif isinstance(action, int) and not isinstance(action, bool) and 0 <= action < len(names):
            chosen.add(action)
        else:
            raise CogmapError(f"an action is a name ({', '.join(names)}) or an index 0-{len(names) - 1}, got {action!r}")
    if not chosen:
        raise CogmapError("give at least one action")
    return sorted(chosen)


def trajectories(n: int, steps: int = 1, actions: Sequence | None = None, step: float = math.pi / 6,
                 size: int = 64, seed: int = 0, domain: str | Domain = "teapot", device=None) -> Trajectories:
    """``n`` rendered trajectories of ``steps`` actions each (seeded; the same seed gives the same bytes)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or isinstance(steps, bool) or not isinstance(steps, int) \
            or steps < 1:
        raise CogmapError(f"n and steps must be positive whole numbers, got {n!r} and {steps!r}")
    domain = get_domain(domain)
    allowed = torch.tensor(parse_actions(actions, domain))
    generator = torch.Generator().manual_seed(seed)
    start = domain.random_poses(n, generator)
    chosen = allowed[torch.randint(len(allowed), (n, steps), generator=generator)]
    g = domain.action_matrices(step, torch.float64)
    poses = [start]
    for t in range(steps):
        poses.append(g[chosen[:, t]] @ poses[-1])
    poses = torch.stack(poses, 1)  # (N, T + 1, J, d, d)
    images = domain.render(poses.reshape(-1, *poses.shape[2:]).to(device), size).float()
    return Trajectories(images.reshape(n, steps + 1, 1, size, size), chosen.to(device), poses.to(device), float(step),
                        domain.name)


def rigid_trajectories(n: int, steps: int = 1, actions: Sequence | None = None, step: float = math.pi / 6,
                       size: int = 64, seed: int = 0, device=None) -> Trajectories:
    """:func:`trajectories` of the teapot-like rigid object."""
    return trajectories(n, steps, actions, step, size, seed, "teapot", device)


def conjugate_actions(g: torch.Tensor) -> torch.Tensor:
    """For rotations of the cube ``g`` ``(..., 3, 3)``, the rigid object's action ``b`` with ``G_b = g G_a g^-1``, ``(..., 6)``."""
    rounded = torch.round(g.double())
    if not torch.allclose(rounded, g.double(), atol=1e-6) or not torch.allclose(
            torch.abs(rounded).sum(-1), torch.ones(g.shape[:-1], dtype=torch.float64)):
        raise CogmapError("conjugate_actions takes rotations of the cube (signed permutation matrices)")
    flat = rounded.reshape(-1, 1, 3, 3)
    return get_domain("teapot").relabel(flat).reshape(*g.shape[:-2], 6)


__all__ = ["Trajectories", "conjugate_actions", "cube_rotations", "parse_actions", "rigid_trajectories", "trajectories"]
