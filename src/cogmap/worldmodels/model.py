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

New here, against the rank-1 latent that loss leaves on the rigid object (RESULTS.md): a latent
of unit norm (``latent="sphere"``), negatives turned about the latent's own axis
(:func:`twist_poses`), an InfoNCE loss over the batch, and the supervised ceiling
(:func:`pose_loss`: not a world model, the encoder regressed onto the true pose).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from cogmap.errors import CogmapError
from cogmap.geometry import so3
from cogmap.worldmodels.domains import Domain, get_domain

TRANSITIONS = ("matmul", "none")


LATENTS = ("vectors", "rotation", "sphere")


class SymmetricEmbedding(nn.Module):
    """Images ``(B, 1, S, S)`` -> latents ``(B, J, vectors, d)``: four stride-2 convolutions, then an MLP.

    ``latent="sphere"``: each joint's vectors divided by their joint Frobenius norm. Turning the
    vectors keeps that norm, so the group still acts as on ``vectors``; but the latent can no
    longer grow until random poses clear the hinge's margin by their scale alone, which is how a
    free latent satisfies the loss with one axis of the pose (rank 1).

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
        return self.shape(self.head(self.features(images)))

    def hidden_layer(self, images: torch.Tensor) -> torch.Tensor:
        """The head's hidden layer ``(B, hidden)``, from which :meth:`shape` of ``head[-1]`` gives the latent."""
        return self.head[1](self.head[0](self.features(images)))

    def shape(self, out: torch.Tensor) -> torch.Tensor:
        """The head's output ``(B, J x per joint)`` as the latent ``(B, J, vectors, d)``."""
        n = len(out)
        if self.latent == "vectors":
            return out.reshape(n, self.joints, self.vectors, self.dim)
        if self.latent == "sphere":
            out = out.reshape(n, self.joints, self.vectors, self.dim)
            return out / out.flatten(2).norm(dim=2).clamp_min(1e-12)[..., None, None]
        out = out.reshape(n, self.joints, self.dim - 1, self.dim)
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
                 domain: str | Domain = "teapot", vae: bool = False):
        super().__init__()
        if transition not in TRANSITIONS:
            raise CogmapError(f"transition must be one of {', '.join(TRANSITIONS)}, got {transition!r}")
        self.domain = get_domain(domain)
        if vae and (latent != "rotation" or self.domain.dim != 3):
            raise CogmapError(f"the homeomorphic VAE's latent is a rotation of each SO(3) joint: latent: rotation on "
                              f"the teapot or the arm, got latent: {latent} on the {self.domain.name}")
        self.encoder = SymmetricEmbedding(size, vectors, channels, hidden, latent, self.domain.joints, self.domain.dim)
        self.transition, self.size, self.vectors = transition, size, self.encoder.vectors
        self.register_buffer("action_matrices", self.domain.action_matrices(step))  # (A, J, d, d)
        if vae:  # the posterior's spread in each joint's Lie algebra, and a decoder from the rotations
            self.log_scale = nn.Linear(hidden, self.domain.joints * 3)
            # a narrow posterior to start with (sd 0.05 rad): from sd 1 rad the decoder learns the mean image first,
            # the KL then pays the spread to grow to the uniform prior, and the latent is never used (collapse)
            nn.init.constant_(self.log_scale.bias, math.log(0.05))
            self.decoder = RotationDecoder(size, channels, hidden, self.domain.joints)
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
        return rollout(self.step, z, actions)


@torch.no_grad()
def encode_in_batches(model, images: torch.Tensor, batch: int = 256) -> torch.Tensor:
    """``model.encode`` of many images, ``batch`` at a time (the activations of all at once need not fit), no graph."""
    return torch.cat([model.encode(part) for part in images.split(batch)])


def rollout(step, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``step(z, a)`` applied for each of ``actions`` ``(B, T)`` in turn from ``z``; every latent after one, ``(B, T, ...)``."""
    states = []
    for t in range(actions.shape[1]):
        z = step(z, actions[:, t])
        states.append(z)
    return torch.stack(states, 1)


NEGATIVES = ("sample", "joints")
LOSSES = ("hinge", "infonce", "supervised", "vae")


class RotationDecoder(nn.Module):
    """Each joint's rotation ``(B, J, 3, 3)`` -> the image's logits ``(B, 1, S, S)``: an MLP, then four stride-2
    transposed convolutions (the encoder's mirror)."""

    def __init__(self, size: int = 64, channels: int = 32, hidden: int = 256, joints: int = 1):
        super().__init__()
        self.side, self.width = size // 16, 2 * channels
        self.mlp = nn.Sequential(nn.Linear(9 * joints, hidden), nn.ReLU(),
                                 nn.Linear(hidden, self.width * self.side ** 2), nn.ReLU())
        layers = []
        for inputs, out in ((2 * channels, 2 * channels), (2 * channels, channels), (channels, channels)):
            layers += [nn.ConvTranspose2d(inputs, out, 4, stride=2, padding=1), nn.ReLU()]
        self.deconv = nn.Sequential(*layers, nn.ConvTranspose2d(channels, 1, 4, stride=2, padding=1))

    def forward(self, rotations: torch.Tensor) -> torch.Tensor:
        h = self.mlp(rotations.flatten(1)).reshape(len(rotations), self.width, self.side, self.side)
        return self.deconv(h)


# The Haar measure of SO(3) with the density (2 - 2 cos|v|) / |v|^2 in exponential coordinates (1 at the
# identity, as Lebesgue's there): the whole group's volume is 8 pi^2.
LOG_VOLUME_SO3 = math.log(8 * math.pi ** 2)


def log_wrapped_normal_so3(epsilon: torch.Tensor, log_scale: torch.Tensor, windings: int = 3) -> torch.Tensor:
    """The log density on SO(3) of ``exp(hat(e))`` for ``e ~ N(0, diag(exp(log_scale))^2)`` in R^3, at ``exp(hat(
    epsilon))`` (Falorsi et al. 2018): the Gaussian summed over every preimage ``epsilon / |epsilon| (|epsilon| +
    2 pi k)`` of the exponential map, each times the map's volume change ``|v_k|^2 / (2 - 2 cos|v_k|)`` (cos is the
    same for every k); ``k`` from ``-windings`` to ``windings``. Shapes ``(..., 3)`` -> ``(...)``."""
    theta = epsilon.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    direction = epsilon / theta
    k = torch.arange(-windings, windings + 1, dtype=epsilon.dtype, device=epsilon.device)
    norms = theta + 2 * math.pi * k  # (..., 2 windings + 1), signed
    points = direction[..., None, :] * norms[..., None]  # (..., K, 3)
    scale = log_scale.exp()[..., None, :]
    log_normal = (-0.5 * (points / scale).pow(2).sum(-1) - log_scale.sum(-1, keepdim=True)
                  - 1.5 * math.log(2 * math.pi))
    half = theta / 2  # the volume change, |v_k|^2 / (4 sin^2(theta / 2)); for k = 0 as (half / sin half)^2
    sin_half = torch.sin(half).abs().clamp_min(1e-12)
    log_volume = 2 * torch.log(norms.abs().clamp_min(1e-12) / 2) - 2 * torch.log(sin_half)
    log_volume[..., windings] = 2 * torch.log(half[..., 0] / sin_half[..., 0])
    return torch.logsumexp(log_normal + log_volume, dim=-1)


def elbo_loss(model: WorldModel, images: torch.Tensor, generator: torch.Generator | None = None,
              kl_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
    """The homeomorphic VAE's negative ELBO per image (Falorsi et al. 2018), a baseline of Park et al.'s Table 1.

    Each joint's posterior is ``R_mu exp(hat(e))`` with ``R_mu`` the encoder's rotation latent and ``e`` a
    Gaussian in the Lie algebra whose spread the encoder also gives; the prior is uniform on SO(3). The loss is the
    decoder's Bernoulli negative log-likelihood of the image (summed over pixels) plus the KL divergence to the
    prior, estimated from the one sample: ``log q(R) + log 8 pi^2``, times ``kl_weight`` (1: the ELBO; less: a
    beta-VAE that may spend more of the latent on the image).
    """
    if not hasattr(model, "decoder"):
        raise CogmapError("elbo_loss needs a world model built with vae=True")
    mean = model.encode(images)  # (B, J, 3, 3): rows turn with the joint
    h = model.encoder.hidden_layer(images.to(mean.dtype) if images.dim() == 4 else images[:, None].to(mean.dtype))
    log_scale = model.log_scale(h).reshape(len(images), model.domain.joints, 3).clamp(-6, 2)
    epsilon = torch.randn(log_scale.shape, generator=generator, dtype=log_scale.dtype).to(log_scale.device)
    epsilon = epsilon * log_scale.exp()
    sample = mean @ so3.exp(epsilon).transpose(-1, -2)  # rows turned by the noise about the mean
    logits = model.decoder(sample)
    target = images if images.dim() == 4 else images[:, None]
    reconstruction = nn.functional.binary_cross_entropy_with_logits(logits, target.to(logits.dtype),
                                                                    reduction="none").flatten(1).sum(1).mean()
    kl = (log_wrapped_normal_so3(epsilon, log_scale) + LOG_VOLUME_SO3).sum(1).mean()
    return reconstruction + kl_weight * kl, {"positive": float(reconstruction.detach()), "negative": float(kl.detach())}


def contrastive_loss(model: WorldModel, observations: torch.Tensor, next_observations: torch.Tensor,
                     actions: torch.Tensor, sigma: float = 0.5, margin: float = 1.0,
                     generator: torch.Generator | None = None, negatives: str = "sample",
                     loss: str = "hinge", twist=None) -> tuple[torch.Tensor, dict]:
    """C-SWM's hinge loss on one batch of transitions; the negatives are the batch's latents, shuffled.

    ``negatives="sample"`` (C-SWM's and Park et al.'s): the hinge acts on the energy of the whole
    latent. ``negatives="joints"``: one hinge per joint, on that joint's block of the latent alone,
    averaged over the joints: each joint must tell random poses apart by itself, so that the
    latent cannot rest on the easiest joint and drop the others (the same for one joint).

    ``twist``: a function of the (detached) next latents giving images of one more negative per
    sample (see :func:`twist_poses`), a second hinge of the same kind against the next latent. ``loss="infonce"``: instead of the hinges, a
    softmax over the batch's latents (:func:`_infonce`); ``margin`` is then unused.
    """
    if negatives not in NEGATIVES:
        raise CogmapError(f"negatives must be one of {', '.join(NEGATIVES)}, got {negatives!r}")
    if loss not in LOSSES:
        raise CogmapError(f"loss must be one of {', '.join(LOSSES)}, got {loss!r}")
    z, z_next = model.encode(observations), model.encode(next_observations)
    predicted = model.step(z, actions)
    if loss == "infonce":
        return _infonce(predicted, z, z_next, sigma, negatives)
    twisted = None if twist is None else twist(z_next.detach())

    def energy(u, v):  # (B, J, V, d) -> (B, J), each joint's part of the energy
        return ((u - v) ** 2).flatten(2).sum(2) / (2 * sigma ** 2)

    shuffle = torch.randperm(len(z), generator=generator).to(z.device)
    positive = energy(predicted, z_next).sum(1).mean()
    apart = energy(z[shuffle], z_next)
    if negatives == "sample":
        negative = torch.relu(margin - apart.sum(1)).mean()
    else:
        negative = torch.relu(margin - apart).mean()
    if twisted is not None:
        apart = energy(model.encode(twisted), z_next)
        negative = negative + torch.relu(margin - (apart.sum(1) if negatives == "sample" else apart)).mean()
    return positive + negative, {"positive": float(positive.detach()), "negative": float(negative.detach())}


def pose_loss(model: WorldModel, observations: torch.Tensor, poses: torch.Tensor) -> tuple[torch.Tensor, dict]:
    """Not SEN: the encoder regressed onto the true pose (each joint's latent onto ``R_j^T``), a ceiling for it.

    ``R_j^T`` is an equivariant latent (``R^T g^T = (g R)^T``) that keeps the whole pose, so an
    encoder trained to it measures how well this CNN can read the pose from these pixels at
    all, by the same Hits@k, EE and DIE as the world models.
    """
    if model.vectors != model.domain.dim:
        raise CogmapError(f"the supervised ceiling needs vectors = {model.domain.dim} (one per axis of a joint), "
                          f"got {model.vectors}")
    z = model.encode(observations)
    error = ((z - poses.transpose(-1, -2).to(z.dtype)) ** 2).flatten(1).sum(1).mean()
    return error, {"positive": float(error.detach()), "negative": 0.0}


def twist_poses(z: torch.Tensor, poses: torch.Tensor, generator: torch.Generator | None = None,
                smallest: float = math.pi / 4) -> torch.Tensor:
    """Each 3-D joint of ``poses`` ``(B, J, 3, 3)`` turned about the world axis its latent ``z`` ``(B, J, V, 3)`` leans along.

    A joint's latent rows turn with the joint (``z_j -> z_j G^T``). Where they are all parallel
    to one vector ``v`` (rank 1: the latent keeps where one body axis points), every turn about
    ``v`` leaves the latent as it is, so the poses turned about ``v`` are the very ones such a
    latent confuses, and random poses from the batch almost never are. The axis is the rows'
    principal direction; the angle is uniform in ``smallest``..``pi``, either sense. Planar
    joints (no nontrivial stabiliser of a vector in SO(2)) are left as they are.
    """
    if z.shape[-1] != 3:
        return poses
    axis = torch.linalg.svd(z.detach().double(), full_matrices=False).Vh[..., 0, :]  # (B, J, 3)
    angle = smallest + (math.pi - smallest) * torch.rand(axis.shape[:-1], generator=generator, dtype=axis.dtype)
    sign = torch.randint(2, axis.shape[:-1], generator=generator).to(axis.dtype) * 2 - 1
    turn = so3.exp(axis * (angle * sign).to(axis.device)[..., None])
    return turn @ poses.to(turn.dtype)


def _infonce(predicted, z, z_next, sigma, negatives):
    # Every prediction ranks the batch's latents, before and after their actions (2B candidates),
    # by -energy; cross-entropy on its own next latent. The softmax weighs each negative by how
    # close it comes, so the rare near-twins of a latent that drops part of the pose dominate.
    blocks = range(z.shape[1]) if negatives == "joints" else [slice(None)]
    losses, positives = [], []
    for j in blocks:
        p, c = predicted[:, j].flatten(1), torch.cat([z_next[:, j], z[:, j]]).flatten(1)
        logits = -torch.cdist(p, c) ** 2 / (2 * sigma ** 2)
        target = torch.arange(len(p), device=p.device)
        losses.append(nn.functional.cross_entropy(logits, target))
        positives.append(-logits[target, target].mean())
    total = torch.stack(losses).mean()
    positive = torch.stack(positives).mean()
    # cross-entropy = the positive's energy + log-sum-exp over the candidates: report them apart
    return total, {"positive": float(positive.detach()), "negative": float((total - positive).detach())}
