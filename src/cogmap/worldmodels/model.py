"""World models of a domain's body: a symmetric embedding network with an equivariant transition, and its baseline.

Both encode an image with the same unconstrained CNN (the symmetric embedding network, SEN, of
Park et al. 2022) into, for each of the domain's ``J`` joints, ``vectors`` vectors of the
joint's dimension ``d``: the latent ``z`` ``(J, vectors, d)``, on which the product of the
joints' rotation groups acts in a known way, ``g.z_j = z_j g_j^T`` (joint j's vectors turned by
``g_j``); or, with ``latent="rotation"``, into one rotation matrix per joint whose rows turn the
same way.

- ``transition="matmul"`` (the paper's "Ours (MatMul)"): the next latent is ``z_j G_{a,j}^T``,
  the action's own rotation of each joint (the identity on the joints it leaves): equivariant by
  construction, and an action never seen in training is still predicted correctly if the
  encoder has learned the symmetry.
- ``transition="none"`` (the paper's "None", C-SWM's transition): an MLP of ``(z, one-hot a)``
  predicts a change of ``z``; it must learn every action from data.

Trained end to end with C-SWM's contrastive hinge loss (Kipf et al. 2020): with the energy
``d(u, v) = ||u - v||^2 / (2 sigma^2)``, the loss of a batch is ``mean d(T(z_t, a_t), z_{t+1}) +
mean max(0, margin - d(z~, z_{t+1}))``, ``z~`` the latent of another sample of the batch.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from cogmap.errors import CogmapError
from cogmap.worldmodels.domains import Domain, get_domain

TRANSITIONS = ("matmul", "none")


LATENTS = ("vectors", "rotation")


class SymmetricEmbedding(nn.Module):
    """Images ``(B, 1, S, S)`` -> latents ``(B, J, vectors, d)``: four stride-2 convolutions, then an MLP.

    ``latent="rotation"``: per joint, ``d - 1`` output vectors are made orthonormal (Gram-Schmidt)
    and completed to a rotation matrix (by the cross product in 3-D, the perpendicular in 2-D),
    so the latent lies on the group (its rows turn with the joint); it cannot shrink to make
    every energy small.
    """

    def __init__(self, size: int = 64, vectors: int = 3, channels: int = 32, hidden: int = 256,
                 latent: str = "vectors", joints: int = 1, dim: int = 3):
        super().__init__()
        if latent not in LATENTS:
            raise CogmapError(f"latent must be one of {', '.join(LATENTS)}, got {latent!r}")
        if latent == "rotation":
            vectors = dim
        self.latent, self.joints, self.dim = latent, joints, dim
        if size % 16:
            raise CogmapError(f"image size must be a multiple of 16, got {size}")
        layers, width = [], 1
        for out in (channels, channels, 2 * channels, 2 * channels):
            layers += [nn.Conv2d(width, out, 4, stride=2, padding=1), nn.ReLU()]
            width = out
        self.features = nn.Sequential(*layers, nn.Flatten())
        per_joint = dim * (dim - 1) if latent == "rotation" else dim * vectors
        self.head = nn.Sequential(nn.Linear(width * (size // 16) ** 2, hidden), nn.ReLU(),
                                  nn.Linear(hidden, joints * per_joint))
        self.vectors = vectors

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        out = self.head(self.features(images))
        if self.latent == "vectors":
            return out.reshape(len(images), self.joints, self.vectors, self.dim)
        out = out.reshape(len(images), self.joints, self.dim - 1, self.dim)
        first = nn.functional.normalize(out[:, :, 0], dim=-1)
        if self.dim == 2:
            return torch.stack([first, torch.stack([-first[..., 1], first[..., 0]], -1)], -2)
        second = out[:, :, 1] - (first * out[:, :, 1]).sum(-1, keepdim=True) * first
        second = nn.functional.normalize(second, dim=-1)
        return torch.stack([first, second, torch.linalg.cross(first, second)], -2)


class WorldModel(nn.Module):
    """Encoder and transition; ``encode(images)``, ``step(z, actions)``, ``rollout(z, actions (B, T))``."""

    def __init__(self, transition: str = "matmul", size: int = 64, vectors: int = 3, channels: int = 32,
                 hidden: int = 256, step: float = math.pi / 6, latent: str = "vectors",
                 domain: str | Domain = "teapot"):
        super().__init__()
        if transition not in TRANSITIONS:
            raise CogmapError(f"transition must be one of {', '.join(TRANSITIONS)}, got {transition!r}")
        self.domain = get_domain(domain)
        self.encoder = SymmetricEmbedding(size, vectors, channels, hidden, latent, self.domain.joints, self.domain.dim)
        self.transition, self.size, self.vectors = transition, size, self.encoder.vectors
        self.register_buffer("action_matrices", self.domain.action_matrices(step))  # (A, J, d, d)
        if transition == "none":
            width = self.domain.joints * self.vectors * self.domain.dim
            self.dynamics = nn.Sequential(nn.Linear(width + self.domain.actions, hidden), nn.ReLU(),
                                          nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, width))

    @property
    def latent_shape(self) -> tuple:
        return (self.domain.joints, self.vectors, self.domain.dim)

    def encode(self, images) -> torch.Tensor:
        """Latents ``(B, J, vectors, d)`` of images as the renderer makes them (a tensor or NumPy array in [0, 1])."""
        if not torch.is_tensor(images):
            images = torch.as_tensor(np.asarray(images, dtype=np.float32))
        images = images.to(self.action_matrices.device)
        if images.dim() == 3:
            images = images[:, None]
        if images.dim() != 4 or images.shape[1:] != (1, self.size, self.size):
            raise CogmapError(f"images must be (B, 1, {self.size}, {self.size}) or (B, {self.size}, {self.size}), "
                              f"got {tuple(images.shape)}")
        return self.encoder(images.to(self.action_matrices.dtype))

    def step(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        if self.transition == "matmul":
            return torch.einsum("bjvd,bjed->bjve", z, self.action_matrices[actions])
        one_hot = nn.functional.one_hot(actions, self.domain.actions).to(z.dtype)
        return z + self.dynamics(torch.cat([z.flatten(1), one_hot], 1)).reshape_as(z)  # may leave the group

    def rollout(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        """The latent after each of ``actions`` ``(B, T)`` in turn, from ``z``: ``(B, T, J, vectors, d)``."""
        states = []
        for t in range(actions.shape[1]):
            z = self.step(z, actions[:, t])
            states.append(z)
        return torch.stack(states, 1)


NEGATIVES = ("sample", "joints")


def contrastive_loss(model: WorldModel, observations: torch.Tensor, next_observations: torch.Tensor,
                     actions: torch.Tensor, sigma: float = 0.5, margin: float = 1.0,
                     generator: torch.Generator | None = None, negatives: str = "sample") -> tuple[torch.Tensor, dict]:
    """C-SWM's hinge loss on one batch of transitions; the negatives are the batch's latents, shuffled.

    ``negatives="sample"`` (C-SWM's and the seed's): the hinge acts on the energy of the whole
    latent. ``negatives="joints"``: one hinge per joint, on that joint's block of the latent alone,
    averaged over the joints: each joint must tell random poses apart by itself, so that the
    latent cannot rest on the easiest joint and drop the others (the same for one joint).
    """
    if negatives not in NEGATIVES:
        raise CogmapError(f"negatives must be one of {', '.join(NEGATIVES)}, got {negatives!r}")
    z, z_next = model.encode(observations), model.encode(next_observations)
    predicted = model.step(z, actions)

    def energy(u, v):  # (B, J, V, d) -> (B, J), each joint's part of the energy
        return ((u - v) ** 2).flatten(2).sum(2) / (2 * sigma ** 2)

    shuffle = torch.randperm(len(z), generator=generator).to(z.device)
    positive = energy(predicted, z_next).sum(1).mean()
    apart = energy(z[shuffle], z_next)
    if negatives == "sample":
        negative = torch.relu(margin - apart.sum(1)).mean()
    else:
        negative = torch.relu(margin - apart).mean()
    return positive + negative, {"positive": float(positive.detach()), "negative": float(negative.detach())}
