"""Trajectories of the rigid object under its actions, rendered: (observation, action, next observation) and n-step sequences.

Each sequence starts from a Haar-uniform orientation; each step applies one of the allowed
actions, drawn uniformly (``R_{t+1} = G_{a_t} R_t``). ``actions`` restricts the set drawn from
(the paper's generalisation test trains on a subset and evaluates on all); action indices
always refer to :data:`~cogmap.worldmodels.rigid.ACTION_NAMES`.

The symmetries used to measure equivariance are the 24 rotations of a cube about the world's
axes (:func:`cube_rotations`): turning a whole trajectory by one of them, ``R_t -> g R_t``, gives
another valid trajectory whose actions are the same actions relabelled (:func:`conjugate_actions`),
because ``g G_a g^-1`` is again a rotation by the step about a world axis.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels.rigid import ACTION_NAMES, action_rotations, render


@dataclass(frozen=True)
class Trajectories:
    observations: torch.Tensor  # (N, T + 1, 1, size, size) float32 images in [0, 1]
    actions: torch.Tensor  # (N, T) action indices into ACTION_NAMES
    rotations: torch.Tensor  # (N, T + 1, 3, 3) the object's orientation at every step
    step: float  # radians per action

    def __len__(self) -> int:
        return self.actions.shape[0]


def parse_actions(actions: Sequence | None) -> list[int]:
    """Action names or indices -> sorted indices; ``None`` means all six."""
    if actions is None:
        return list(range(len(ACTION_NAMES)))
    chosen = set()
    for action in actions:
        if isinstance(action, str):
            if action not in ACTION_NAMES:
                raise CogmapError(f"unknown action {action!r}; the actions are {', '.join(ACTION_NAMES)}")
            chosen.add(ACTION_NAMES.index(action))
        elif isinstance(action, int) and not isinstance(action, bool) and 0 <= action < len(ACTION_NAMES):
            chosen.add(action)
        else:
            raise CogmapError(f"an action is a name ({', '.join(ACTION_NAMES)}) or an index 0-5, got {action!r}")
    if not chosen:
        raise CogmapError("give at least one action")
    return sorted(chosen)


def rigid_trajectories(n: int, steps: int = 1, actions: Sequence | None = None, step: float = math.pi / 6,
                       size: int = 64, seed: int = 0, device=None) -> Trajectories:
    """``n`` rendered trajectories of ``steps`` actions each (seeded; the same seed gives the same bytes)."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1 or isinstance(steps, bool) or not isinstance(steps, int) \
            or steps < 1:
        raise CogmapError(f"n and steps must be positive whole numbers, got {n!r} and {steps!r}")
    allowed = torch.tensor(parse_actions(actions))
    generator = torch.Generator().manual_seed(seed)
    start = so3.random(n, generator, dtype=torch.float64)
    chosen = allowed[torch.randint(len(allowed), (n, steps), generator=generator)]
    g = action_rotations(step, dtype=torch.float64)
    rotations = [start]
    for t in range(steps):
        rotations.append(g[chosen[:, t]] @ rotations[-1])
    rotations = torch.stack(rotations, 1)  # (N, T + 1, 3, 3)
    images = render(rotations.reshape(-1, 3, 3).to(device), size).float()
    return Trajectories(images.reshape(n, steps + 1, 1, size, size), chosen.to(device), rotations.float().to(device),
                        float(step))


def cube_rotations(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 24 rotations that map the world's axes onto themselves (signed permutation matrices of determinant 1)."""
    found = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = torch.zeros(3, 3, dtype=torch.float64)
            for row, (col, sign) in enumerate(zip(perm, signs)):
                m[row, col] = sign
            if torch.linalg.det(m) > 0:
                found.append(m)
    return torch.stack(found).to(dtype)


def conjugate_actions(g: torch.Tensor) -> torch.Tensor:
    """For each cube rotation ``g`` ``(..., 3, 3)``, the action index ``b`` with ``G_b = g G_a g^-1``, ``(..., 6)``."""
    rounded = torch.round(g.double())
    if not torch.allclose(rounded, g.double(), atol=1e-6) or not torch.allclose(
            torch.abs(rounded).sum(-1), torch.ones(g.shape[:-1], dtype=torch.float64)):
        raise CogmapError("conjugate_actions takes rotations of the cube (signed permutation matrices)")
    result = torch.empty(*g.shape[:-2], len(ACTION_NAMES), dtype=torch.long)
    for a, name in enumerate(ACTION_NAMES):
        axis = torch.zeros(3, dtype=torch.float64)
        axis[{"pitch": 0, "yaw": 1, "roll": 2}[name[:-1]]] = 1.0 if name.endswith("+") else -1.0
        turned = rounded @ axis  # g G_a g^-1 turns by the step about g's image of a's (signed) axis
        index = turned.abs().argmax(-1)
        sign = turned.gather(-1, index[..., None]).squeeze(-1)
        result[..., a] = 2 * index + (sign < 0).long()  # ACTION_NAMES: (axis 0 +, axis 0 -, axis 1 +, ...)
    return result
