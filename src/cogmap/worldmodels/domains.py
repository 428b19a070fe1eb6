"""The worlds a world model learns: bodies whose poses are rotations, turned one joint at a time.

A domain's pose is one rotation per joint, ``(..., J, d, d)``: the teapot-like rigid object
(one joint, d = 3: SO(3)), the path integrators' two-joint arm (two joints, SO(3) x SO(3)) and the planar arm
(two joints, d = 2: SO(2) x SO(2)). Every action turns one joint by a fixed angle about one
axis of its parent's frame, applied on the left (``R_j' = G_a R_j``), so the product group acts
on poses by ``(g_1, ..., g_J) . R = (g_1 R_1, ..., g_J R_J)``; an equivariant latent holds, for
every joint, vectors that turn with that joint's ``g_j`` (``z_j -> z_j g_j^T``).

The symmetries used to measure equivariance must map the set of actions onto itself, so that a
turned trajectory is again a trajectory (with its actions relabelled, ``G_b = g G_a g^-1``): the
24 rotations of the cube for a joint in SO(3) (conjugation permutes the axes and signs), any
rotation for a joint in SO(2) (which commutes with every action).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels.arm import planar_to_spatial, render_arm
from cogmap.worldmodels.rigid import render


@dataclass(frozen=True)
class Domain:
    name: str
    joints: int  # J
    dim: int  # d: 3 for SO(3), 2 for SO(2)
    action_names: tuple  # in order; action a turns joint action_joints[a] about action_axes[a] by sign * step
    action_joints: tuple
    action_axes: tuple  # 0, 1, 2 = x, y, z of the joint's parent frame (always 2, the normal, for SO(2))
    action_signs: tuple
    draw: Callable  # poses (B, J, d, d) float64, size -> images (B, size, size)
    description: str

    @property
    def actions(self) -> int:
        return len(self.action_names)

    def turns(self, actions: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
        """The rotation ``(..., J, d, d)`` of turning by ``angles`` about each of ``actions``' axes (same shape)."""
        dtype = angles.dtype
        joints = torch.as_tensor(self.action_joints)[actions]
        signed = angles * torch.as_tensor(self.action_signs, dtype=dtype)[actions]
        per_joint = torch.zeros(*actions.shape, self.joints, dtype=dtype)
        per_joint.scatter_(-1, joints[..., None], signed[..., None])  # the angle on the joint it turns, 0 elsewhere
        if self.dim == 2:
            return planar_rotation(per_joint)
        vectors = torch.zeros(*actions.shape, self.joints, 3, dtype=dtype)
        axes = torch.as_tensor(self.action_axes)[actions]
        index = axes[..., None, None].expand(*actions.shape, self.joints, 1)
        vectors.scatter_(-1, index, per_joint[..., None])
        return so3.exp(vectors)

    def action_matrices(self, step: float = math.pi / 6, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """Every action's rotation of every joint (the identity on the joints it leaves), ``(A, J, d, d)``."""
        if not 0 < step < 2 * math.pi:
            raise CogmapError(f"step must be an angle in (0, 2 pi) radians, got {step}")
        actions = torch.arange(self.actions)
        return self.turns(actions, torch.full((self.actions,), step, dtype=torch.float64)).to(dtype)

    def random_poses(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """``n`` Haar-uniform poses ``(n, J, d, d)`` (float64)."""
        if self.dim == 3:
            return so3.random(n * self.joints, generator, dtype=torch.float64).reshape(n, self.joints, 3, 3)
        angles = (2 * torch.rand(n, self.joints, generator=generator, dtype=torch.float64) - 1) * math.pi
        return planar_rotation(angles)

    def render(self, poses: torch.Tensor, size: int = 64) -> torch.Tensor:
        """Grey images ``(B, size, size)`` in [0, 1] of ``poses`` ``(B, J, d, d)``."""
        shape = (self.joints, self.dim, self.dim)
        if not torch.is_tensor(poses) or poses.dim() != 4 or tuple(poses.shape[1:]) != shape:
            raise CogmapError(f"{self.name} poses must be a tensor of shape (B, {', '.join(map(str, shape))}), got "
                              f"{tuple(poses.shape) if torch.is_tensor(poses) else type(poses).__name__}")
        return self.draw(poses, size)

    def symmetries(self, n: int, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``n`` random non-identity symmetries ``g`` ``(n, J, d, d)`` (float64) and each one's relabelling of the actions.

        ``relabel[i, a] = b`` with ``G_b = g_i G_a g_i^-1``: turning a trajectory by ``g_i`` and
        relabelling its actions gives the turned trajectory.
        """
        if self.dim == 3:
            cube = cube_rotations(torch.float64)
            choice = torch.randint(len(cube), (n, self.joints), generator=generator)
            redraw = (choice == 0).all(1)  # not the identity on every joint at once
            choice[redraw, 0] = torch.randint(1, len(cube), (int(redraw.sum()),), generator=generator)
            g = cube[choice]
        else:
            angles = (2 * torch.rand(n, self.joints, generator=generator, dtype=torch.float64) - 1) * math.pi
            g = planar_rotation(angles)
        return g, self.relabel(g)

    def relabel(self, g: torch.Tensor) -> torch.Tensor:
        """For symmetries ``g`` ``(n, J, d, d)``, the action ``b`` with ``G_b = g G_a g^-1``, ``(n, A)``."""
        # Conjugation maps a turn about an axis to the turn by the same angle about the turned axis;
        # the step does not matter, so a generic one tells the actions apart.
        matrices = self.action_matrices(1.0, torch.float64)  # (A, J, d, d)
        conjugated = torch.einsum("njab,kjbc,njdc->nkjad", g.double(), matrices, g.double())
        gap = (conjugated[:, :, None] - matrices[None, None]).flatten(3).norm(dim=-1)  # (n, A, A)
        best, index = gap.min(-1)
        if not bool((best < 1e-6).all()):
            raise CogmapError(f"these rotations do not map the actions of the {self.name} onto one another")
        return index


def cube_rotations(dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The 24 rotations that map the world's axes onto themselves (signed permutation matrices of determinant 1).

    The identity comes first.
    """
    found = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = torch.zeros(3, 3, dtype=torch.float64)
            for row, (col, sign) in enumerate(zip(perm, signs)):
                m[row, col] = sign
            if torch.linalg.det(m) > 0:
                found.append(m)
    return torch.stack(found).to(dtype)


def _signed(names: Sequence[str], axes: Sequence[int], joint: int):
    for name, axis in zip(names, axes):
        for sign, mark in ((1.0, "+"), (-1.0, "-")):
            yield name + mark, joint, axis, sign


def _domain(name, joints, dim, entries, draw, description) -> Domain:
    entries = list(entries)
    return Domain(name, joints, dim, tuple(e[0] for e in entries), tuple(e[1] for e in entries),
                  tuple(e[2] for e in entries), tuple(e[3] for e in entries), draw, description)


TEAPOT_DOMAIN = _domain("teapot", 1, 3, _signed(("pitch", "yaw", "roll"), (0, 1, 2), 0),
                        lambda poses, size: render(poses[:, 0], size),
                        "the teapot-like rigid object on SO(3), turned about the world's x (pitch), y (yaw), z (roll)")
ARM_DOMAIN = _domain("arm", 2, 3, [*_signed(("shoulder-x", "shoulder-y", "shoulder-z"), (0, 1, 2), 0),
                                   *_signed(("elbow-x", "elbow-y", "elbow-z"), (0, 1, 2), 1)],
                     lambda poses, size: render_arm(poses, size),
                     "the two-joint arm on SO(3) x SO(3), one joint turned at a time about its parent's axes")
PLANAR_ARM_DOMAIN = _domain("planar_arm", 2, 2, [*_signed(("shoulder",), (2,), 0), *_signed(("elbow",), (2,), 1)],
                            lambda poses, size: render_arm(planar_to_spatial(poses), size),
                            "the two-joint arm flat in the image plane, on SO(2) x SO(2)")
DOMAINS = {d.name: d for d in (TEAPOT_DOMAIN, ARM_DOMAIN, PLANAR_ARM_DOMAIN)}


def get_domain(domain: str | Domain) -> Domain:
    if isinstance(domain, Domain):
        return domain
    if domain not in DOMAINS:
        raise CogmapError(f"domain must be one of {', '.join(DOMAINS)}, got {domain!r}")
    return DOMAINS[domain]


def turn_latents(latents: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """The action of symmetries ``g`` ``(..., J, d, d)`` on equivariant latents ``(..., J, V, d)``: every one of a
    joint's ``V`` vectors (a latent's rows) turned by that joint's rotation, ``z_j -> z_j g_j^T`` (so that a
    vector ``v`` becomes ``g_j v``: a latent that points where the joint points follows it)."""
    if latents.dim() < 3 or g.shape[-2:] != (latents.shape[-1],) * 2 or g.shape[-3] != latents.shape[-3]:
        raise CogmapError(f"latents (..., J, V, d) and symmetries (..., J, d, d) must agree, got {tuple(latents.shape)} "
                          f"and {tuple(g.shape)}")
    return latents @ g.to(latents.dtype).transpose(-1, -2)


def planar_rotation(angles: torch.Tensor) -> torch.Tensor:
    """Rotations of the plane by ``angles`` ``(...)``, counter-clockwise: ``(..., 2, 2)``."""
    c, s = torch.cos(angles), torch.sin(angles)
    return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)


def rotation_angle(rotation: torch.Tensor) -> torch.Tensor:
    """The angle of rotations ``(..., d, d)``, d = 2 or 3, in [0, pi]: ``cos = (trace - (d - 2)) / 2``."""
    d = rotation.shape[-1]
    return torch.arccos(((rotation.diagonal(dim1=-2, dim2=-1).sum(-1) - (d - 2)) / 2).clamp(-1, 1))


def pose_distance(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Geodesic distance on the product of the joints' groups (root sum of squared joint angles), ``(...)``."""
    return rotation_angle(first.transpose(-1, -2) @ second).pow(2).sum(-1).sqrt()


@torch.no_grad()
def pose_ambiguity(domain: str | Domain, size: int = 32, queries: int = 500, references: int = 20_000,
                   near: float = math.radians(10), far: float = math.radians(45), seed: int = 0,
                   ratio: float = 0.5) -> dict:
    """How often a pose renders nearly like a far-away pose: closer than ``ratio`` times a small turn of itself.

    For each of ``queries`` random poses ``q``: ``d_near``, the image distance between ``q`` and
    ``q`` turned by ``near`` radians about a random axis of every joint's group (a random
    direction in the product); ``d_far``, the smallest image distance between ``q`` and any of
    ``references`` random poses more than ``far`` away from it. A pose is ambiguous when
    ``d_far <= ratio * d_near``: some pose far away looks more like it than a small turn of
    itself does. A symmetric body scores near 1 at any ratio (its symmetric partner is among the
    references, up to their spacing, which must stay below ``near``), a body whose every pose
    looks different near 0. The fractions at ratios 0.25, 0.5 and 1 and the median of
    ``d_far / d_near`` come with it: pixels weigh a large turn of a small part (a forearm) less
    than a small turn of the whole, so a ratio near 1 says little.
    """
    domain = get_domain(domain)
    generator = torch.Generator().manual_seed(seed)
    q = domain.random_poses(queries, generator)
    reference = domain.random_poses(references, generator)
    if domain.dim == 3:
        direction = torch.nn.functional.normalize(torch.randn(queries, domain.joints * 3, generator=generator,
                                                              dtype=torch.float64), dim=1) * near
        turn = so3.exp(direction.reshape(queries, domain.joints, 3))
    else:
        direction = torch.nn.functional.normalize(torch.randn(queries, domain.joints, generator=generator,
                                                              dtype=torch.float64), dim=1) * near
        turn = planar_rotation(direction)
    images = domain.render(q, size).reshape(queries, -1).float()
    d_near = (domain.render(turn @ q, size).reshape(queries, -1).float() - images).norm(dim=1)
    d_far = torch.full((queries,), math.inf)
    for start in range(0, references, 2048):
        block = reference[start:start + 2048]
        distances = torch.cdist(images, domain.render(block, size).reshape(len(block), -1).float())
        away = pose_distance(q[:, None], block[None]) > far
        d_far = torch.minimum(d_far, torch.where(away, distances, torch.full_like(distances, math.inf)).min(1).values)
    # <=: a body that looks the same in every pose (both distances 0) is ambiguous
    fraction = {r: float((d_far <= r * d_near).double().mean()) for r in sorted({0.25, 0.5, 1.0, ratio})}
    return {"domain": domain.name, "size": size, "queries": queries, "references": references,
            "near_deg": math.degrees(near), "far_deg": math.degrees(far), "ratio": ratio,
            "ambiguous": fraction[ratio], "ambiguous_at_ratio": fraction,
            "median_ratio": float((d_far / d_near.clamp(min=1e-12)).median())}
