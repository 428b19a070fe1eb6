"""Object-slot world models of the block-pushing world: C-SWM (Kipf, van der Pol & Welling 2020), the "None" baseline.

An image ``(B, 3, 50, 50)`` goes through an object extractor (a convolution with one 10 x 10 filter
per cell, stride 10, then a 1 x 1 convolution to ``objects`` sigmoid maps on the 5 x 5 grid), each
object's map through a shared MLP to a latent of ``dim`` numbers: ``z`` ``(B, objects, dim)``. The
transition is a graph network over the objects: every ordered pair's edge MLP of ``(z_i, z_j)``,
summed into each node, and a node MLP of ``(z_i, the push's direction if object i is pushed, the
edges)`` predicting the change of ``z_i``. Trained with C-SWM's contrastive hinge loss: the energy
``0.5 / sigma^2 x`` the squared distance summed over a latent's numbers and averaged over its
objects, its mean for the predicted next latents against the true ones, plus ``max(0, hinge -
energy)`` of the true next latents against latents of other samples of the batch.

:func:`transitions` renders training data from random episodes of the world (seeded, as many
steps per episode as C-SWM's 100 or fewer), optionally with the pushes restricted to some
directions (Park et al.'s unseen-action test); :func:`evaluate_objects` ranks ``steps``-step
predictions among all the test trajectories' true latents (Hits@1, MRR; the published
orientation), and measures EE and DIE under a quarter turn of the world, which turns every
object's 2-D latent by 90 degrees (the action a C4-equivariant model has by construction);
:func:`latent_grid` finds the object each slot follows and where it puts each cell.
``cogmap equivariance train domain=shapes`` (or ``cubes``) trains these through
:mod:`cogmap.worldmodels.train` (``transition``: none, matmul = SEN, full).
"""

from __future__ import annotations

import copy
import math
import warnings
from dataclasses import dataclass

import torch
from torch import nn

from cogmap.analysis.equivariance import (
    candidate_counts,
    distance_invariance_error,
    equivariance_error,
    hits_among,
    hits_per_row,
    miss_summary,
    nearest_other,
    nearest_rivals,
    random_pairs,
    ranking_metrics,
)
from cogmap.errors import CogmapError, check_positive_int
from cogmap.worldmodels import grid
from cogmap.worldmodels.domains import planar_rotation
from cogmap.worldmodels.model import encode_in_batches, rollout


class ObjectExtractor(nn.Module):
    """Images ``(B, 3, width x 10, width x 10)`` -> one sigmoid map per object on the grid, ``(B, K, width, width)``."""

    def __init__(self, objects: int = 5, hidden: int = 32):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(3, hidden, grid.CELL, stride=grid.CELL), nn.BatchNorm2d(hidden), nn.ReLU(),
                                 nn.Conv2d(hidden, objects, 1), nn.Sigmoid())

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class ObjectEncoder(nn.Module):
    """Each object's map ``(B, K, w, w)`` -> its latent ``(B, K, dim)`` by one MLP shared by the objects."""

    def __init__(self, cells: int, dim: int = 2, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(cells, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.LayerNorm(hidden),
                                 nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        return self.net(maps.flatten(2))


class GraphTransition(nn.Module):
    """C-SWM's transition: the change of every object's latent from itself, its push and its pairs with the others."""

    def __init__(self, objects: int, dim: int = 2, hidden: int = 128):
        super().__init__()
        self.objects = objects
        self.edge = nn.Sequential(nn.Linear(2 * dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.LayerNorm(hidden),
                                  nn.ReLU(), nn.Linear(hidden, hidden))
        self.node = nn.Sequential(nn.Linear(dim + len(grid.DIRECTIONS) + hidden, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.LayerNorm(hidden), nn.ReLU(), nn.Linear(hidden, dim))

    def forward(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        b, k, _ = z.shape
        pushed = nn.functional.one_hot(actions // 4, k).to(z.dtype)  # (B, K): which object
        direction = nn.functional.one_hot(actions % 4, len(grid.DIRECTIONS)).to(z.dtype)  # (B, 4)
        per_node = pushed[:, :, None] * direction[:, None, :]  # (B, K, 4): the push, on its object only
        pairs = torch.cat([z[:, :, None].expand(b, k, k, -1), z[:, None].expand(b, k, k, -1)], -1)
        messages = self.edge(pairs) * (1 - torch.eye(k, device=z.device, dtype=z.dtype))[None, :, :, None]
        return z + self.node(torch.cat([z, per_node, messages.sum(2)], -1))


def _c4():
    """The group of quarter turns acting on the plane, and e2cnn's modules (an optional dependency)."""
    # e2cnn 0.2.3 indexes its filter bases with byte masks, which torch 2 warns about on every layer built
    warnings.filterwarnings("ignore", message="indexing with dtype torch.uint8", category=UserWarning)
    try:
        from e2cnn import gspaces
        from e2cnn import nn as enn
    except ImportError:
        raise CogmapError("the equivariant object models need e2cnn: pip install e2cnn (cogmap's extra: "
                          "pip install -e '.[equivariant]')") from None
    return gspaces.Rot2dOnR2(N=4), enn


def _own_bases(net: nn.Module) -> nn.Module:
    """``net`` with a filter basis of its own in every e2cnn convolution.

    e2cnn builds each filter basis once per process and hands the same module to every layer that needs it,
    so ``.double()`` or ``.cuda()`` of one model would cast or move the bases of every other model built
    beside it (and training mode too); a copy per layer keeps models independent, at a few kB each."""
    # walked by hand: e2cnn's basis modules define == by their contents, so Module.modules(), which keeps a set
    # of the modules seen, skips a layer whose basis equals one met before
    stack = [net]
    while stack:
        parent = stack.pop()
        for name, child in list(parent._modules.items()):
            if name.startswith("block_expansion_"):
                setattr(parent, name, copy.deepcopy(child))
            elif child is not None:
                stack.append(child)
    return net


def _regular(space, enn, channels: int):
    return enn.FieldType(space, [space.regular_repr] * max(1, channels // 4))


def direction_features(actions: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """A push's direction as a field of C4's regular representation ``(B, 4)``: direction ``d`` at channel ``-d mod 4``,
    so that a quarter turn counter-clockwise (up -> left, direction ``d -> d - 1``) moves it one channel on, as
    e2cnn's regular representation of that turn does."""
    return nn.functional.one_hot((-(actions % 4)) % 4, 4).to(dtype)


class C4ObjectEncoder(nn.Module):
    """Each object's map ``(B, K, w, w)`` -> a 2-D latent per object that turns by 90 degrees when the map turns
    by ``torch.rot90``: e2cnn convolutions from the map (a scalar field) through regular fields to one field of
    C4's 2-D rotation representation, the last kernel covering the whole grid."""

    def __init__(self, width: int, hidden: int = 32):
        super().__init__()
        space, enn = _c4()
        self.enn = enn
        self.input_type = enn.FieldType(space, [space.trivial_repr])
        inner = _regular(space, enn, hidden)
        self.output_type = enn.FieldType(space, [space.irrep(1)])
        self.net = _own_bases(enn.SequentialModule(enn.R2Conv(self.input_type, inner, 3, padding=1), enn.ReLU(inner),
                                                   enn.R2Conv(inner, inner, 3, padding=1), enn.ReLU(inner),
                                                   enn.R2Conv(inner, self.output_type, width)))

    def forward(self, maps: torch.Tensor) -> torch.Tensor:
        b, k, w, _ = maps.shape
        out = self.net(self.enn.GeometricTensor(maps.reshape(b * k, 1, w, w), self.input_type)).tensor
        return out.reshape(b, k, 2)


class C4ObjectExtractor(nn.Module):
    """The "Full" baseline's extractor: :class:`ObjectExtractor` made equivariant to quarter turns of the image
    (e2cnn: one 10 x 10 filter per cell onto regular fields, pooled over the group into scalars, then a 1 x 1
    convolution of scalars to each object's map), so a turned image gives turned maps."""

    def __init__(self, objects: int = 5, hidden: int = 32):
        super().__init__()
        space, enn = _c4()
        self.enn = enn
        self.input_type = enn.FieldType(space, [space.trivial_repr] * 3)
        inner = _regular(space, enn, hidden)
        # (a regular -> scalar 1 x 1 R2Conv trips e2cnn 0.2.3 on torch >= 2: its basis mask is a uint8 tensor)
        self.net = _own_bases(enn.SequentialModule(enn.R2Conv(self.input_type, inner, grid.CELL, stride=grid.CELL),
                                                   enn.ReLU(inner), enn.GroupPooling(inner)))
        self.maps = nn.Conv2d(len(inner), objects, 1)  # scalars to scalars, pixel by pixel: commutes with turns

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.maps(self.net(self.enn.GeometricTensor(images, self.input_type)).tensor))


class PixelObjectExtractor(nn.Module):
    """C-SWM's large extractor, for objects that do not sit inside their cells (the 3-D cubes): four 3 x 3
    convolutions at full resolution, one sigmoid map per object ``(B, K, S, S)``, average-pooled over
    ``pool`` x ``pool`` blocks (a 50 x 50 map to 10 x 10: whole blocks, so pooling commutes with quarter turns)."""

    def __init__(self, objects: int = 5, hidden: int = 32, pool: int = 5):
        super().__init__()
        layers = []
        for inputs in (3, hidden, hidden):
            layers += [nn.Conv2d(inputs, hidden, 3, padding=1), nn.BatchNorm2d(hidden), nn.ReLU()]
        self.net = nn.Sequential(*layers, nn.Conv2d(hidden, objects, 3, padding=1), nn.Sigmoid(), nn.AvgPool2d(pool))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images)


class C4PixelObjectExtractor(nn.Module):
    """:class:`PixelObjectExtractor` equivariant to quarter turns of the image (e2cnn: 3 x 3 convolutions of regular
    fields, pooled over the group into scalars, a 1 x 1 convolution of scalars to each object's map)."""

    def __init__(self, objects: int = 5, hidden: int = 32, pool: int = 5):
        super().__init__()
        space, enn = _c4()
        self.enn = enn
        self.input_type = enn.FieldType(space, [space.trivial_repr] * 3)
        inner = _regular(space, enn, hidden)
        self.net = _own_bases(enn.SequentialModule(enn.R2Conv(self.input_type, inner, 3, padding=1), enn.InnerBatchNorm(inner),
                                                   enn.ReLU(inner), enn.R2Conv(inner, inner, 3, padding=1),
                                                   enn.InnerBatchNorm(inner), enn.ReLU(inner), enn.R2Conv(inner, inner, 3, padding=1),
                                                   enn.InnerBatchNorm(inner), enn.ReLU(inner), enn.GroupPooling(inner)))
        self.maps = nn.Sequential(nn.Conv2d(len(inner), objects, 1), nn.Sigmoid(), nn.AvgPool2d(pool))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.maps(self.net(self.enn.GeometricTensor(images, self.input_type)).tensor)


class C4GraphTransition(nn.Module):
    """:class:`GraphTransition` equivariant to quarter turns: latents in C4's 2-D rotation representation, the
    push's direction in its regular one (:func:`direction_features`), hidden layers of regular fields; every
    linear map an e2cnn 1 x 1 convolution on a 1 x 1 map (the equivariant linear maps between those fields)."""

    def __init__(self, objects: int, hidden: int = 128):
        super().__init__()
        space, enn = _c4()
        self.enn, self.objects = enn, objects
        rho = space.irrep(1)
        inner = _regular(space, enn, hidden)
        self.pair_type = enn.FieldType(space, [rho, rho])
        self.edge = _own_bases(enn.SequentialModule(enn.R2Conv(self.pair_type, inner, 1), enn.ReLU(inner),
                                                    enn.R2Conv(inner, inner, 1), enn.ReLU(inner), enn.R2Conv(inner, inner, 1)))
        self.node_type = enn.FieldType(space, [rho, space.regular_repr] + list(inner.representations))
        self.node = _own_bases(enn.SequentialModule(enn.R2Conv(self.node_type, inner, 1), enn.ReLU(inner),
                                                    enn.R2Conv(inner, inner, 1), enn.ReLU(inner),
                                                    enn.R2Conv(inner, enn.FieldType(space, [rho]), 1)))
        self.hidden = inner.size

    def _through(self, module, field_type, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1]
        out = module(self.enn.GeometricTensor(x.reshape(-1, x.shape[-1], 1, 1), field_type)).tensor
        return out.reshape(*shape, -1)

    def forward(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        b, k, _ = z.shape
        pushed = nn.functional.one_hot(actions // 4, k).to(z.dtype)  # (B, K)
        per_node = pushed[:, :, None] * direction_features(actions, z.dtype)[:, None, :]  # (B, K, 4)
        pairs = torch.cat([z[:, :, None].expand(b, k, k, -1), z[:, None].expand(b, k, k, -1)], -1)
        messages = self._through(self.edge, self.pair_type, pairs)
        messages = messages * (1 - torch.eye(k, device=z.device, dtype=z.dtype))[None, :, :, None]
        return z + self._through(self.node, self.node_type, torch.cat([z, per_node, messages.sum(2)], -1))


KINDS = ("none", "sen", "full")
EXTRACTORS = ("cells", "pixels")  # a filter per cell (the 2-D shapes) or convolutions at full resolution (the cubes)
# The world-model config's transition names for the three: "none" (C-SWM), "matmul" (SEN), "full"
TRANSITION_KINDS = {"none": "none", "matmul": "sen", "full": "full"}
RENDERERS = {"shapes": grid.render_shapes, "cubes": grid.render_cubes}  # the grid world's two looks


def renderer(domain: str):
    """The function drawing the grid world as ``domain`` (shapes or cubes) looks."""
    if domain not in RENDERERS:
        raise CogmapError(f"the grid world is drawn as {' or '.join(RENDERERS)}, got {domain!r}")
    return RENDERERS[domain]


class ObjectWorldModel(nn.Module):
    """``encode(images)`` -> ``(B, K, dim)``; ``step(z, actions)``; ``rollout(z, actions (B, T))`` -> ``(B, T, K, dim)``.

    ``kind``: ``"none"`` (C-SWM: nothing equivariant), ``"sen"`` (Park et al.'s symmetric embedding: the
    unconstrained extractor, then an encoder and a transition equivariant to quarter turns, 2-D latents) or
    ``"full"`` (the extractor equivariant too: quarter turns of the image are quarter turns of every latent).
    ``extractor``: ``"cells"`` (one filter per grid cell: objects drawn inside their cells, the 2-D shapes) or
    ``"pixels"`` (convolutions at full resolution, maps pooled to ``2 x width`` cells a side: the 3-D cubes).
    """

    def __init__(self, objects: int = 5, width: int = 5, dim: int = 2, hidden: int = 128, channels: int = 32,
                 kind: str = "none", extractor: str = "cells"):
        super().__init__()
        if kind not in KINDS:
            raise CogmapError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
        if extractor not in EXTRACTORS:
            raise CogmapError(f"extractor must be one of {', '.join(EXTRACTORS)}, got {extractor!r}")
        if kind != "none" and dim != 2:
            raise CogmapError(f"the {kind} model's latents are C4's 2-D rotation representation: dim must be 2, got {dim}")
        self.objects, self.width, self.dim, self.kind = objects, width, dim, kind
        if extractor == "cells":
            self.extractor = C4ObjectExtractor(objects, channels) if kind == "full" else ObjectExtractor(objects, channels)
            side = width
        else:
            pool = grid.CELL // 2
            self.extractor = (C4PixelObjectExtractor if kind == "full" else PixelObjectExtractor)(objects, channels, pool)
            side = width * grid.CELL // pool
        if kind == "none":
            self.encoder = ObjectEncoder(side * side, dim, hidden)
            self.transition = GraphTransition(objects, dim, hidden)
        else:
            self.encoder = C4ObjectEncoder(side, channels)
            self.transition = C4GraphTransition(objects, hidden)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, K, dim)`` of RGB images ``(B, 3, S, S)``: floats in [0, 1] as the renderers draw them, or
        bytes (0-255, as stored)."""
        size = self.width * grid.CELL
        if images.dim() != 4 or tuple(images.shape[1:]) != (3, size, size):
            raise CogmapError(f"images must be (B, 3, {size}, {size}), got {tuple(images.shape)}")
        if images.dtype == torch.uint8:
            images = images.float() / 255
        parameter = next(self.parameters())
        return self.encoder(self.extractor(images.to(parameter.device, parameter.dtype)))

    def step(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return self.transition(z, actions)

    def rollout(self, z: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
        return rollout(self.step, z, actions)


def energy(a: torch.Tensor, b: torch.Tensor, sigma: float = 0.5) -> torch.Tensor:
    """C-SWM's energy ``0.5 / sigma^2 x ||a - b||^2``, summed over each object's numbers, averaged over objects: ``(B,)``."""
    return 0.5 / sigma ** 2 * (a - b).pow(2).sum(-1).mean(-1)


def hinge_loss(model: ObjectWorldModel, images, actions, next_images, sigma: float = 0.5, hinge: float = 1.0,
               generator: torch.Generator | None = None) -> tuple[torch.Tensor, dict]:
    """C-SWM's contrastive loss on one batch; negatives are the batch's latents, shuffled."""
    z, z_next = model.encode(images), model.encode(next_images)
    positive = energy(model.step(z, actions), z_next, sigma).mean()
    shuffle = torch.randperm(len(z), generator=generator).to(z.device)
    negative = torch.relu(hinge - energy(z[shuffle], z_next, sigma)).mean()
    return positive + negative, {"positive": float(positive.detach()), "negative": float(negative.detach())}


@dataclass(frozen=True)
class GridTrajectories:
    images: torch.Tensor  # (N, T + 1, 3, S, S): floats in [0, 1], or bytes with as_bytes
    actions: torch.Tensor  # (N, T)
    states: torch.Tensor  # (N, T + 1, K, 2)


def allowed_actions(objects: int, directions=None) -> torch.Tensor:
    """The pushes whose direction is among ``directions`` (names; None: all four), for every object."""
    chosen = list(grid.DIRECTIONS) if directions is None else list(directions)
    unknown = [d for d in chosen if d not in grid.DIRECTIONS]
    if unknown or not chosen:
        raise CogmapError(f"directions must be some of {', '.join(grid.DIRECTIONS)}, got {directions!r}")
    index = [grid.DIRECTIONS.index(d) for d in dict.fromkeys(chosen)]
    return torch.tensor([4 * i + d for i in range(objects) for d in index])


def render_states(states: torch.Tensor, width: int, render=grid.render_shapes, as_bytes: bool = False,
                  chunk: int = 2048) -> torch.Tensor:
    """Images of states ``(N, K, 2)``, a chunk at a time (a float image of 50 x 50 pixels is 30 kB); with
    ``as_bytes``, rounded to bytes 0-255 (a quarter of the memory; what :meth:`ObjectWorldModel.encode` also takes)."""
    out = []
    for part in states.split(chunk):
        images = render(part, width)
        out.append((images * 255).round().to(torch.uint8) if as_bytes else images)
    return torch.cat(out)


def transitions(episodes: int, steps: int, width: int = 5, objects: int = 5, directions=None, seed: int = 0,
                render=grid.render_shapes, as_bytes: bool = False) -> GridTrajectories:
    """``episodes`` random episodes of ``steps`` pushes each (drawn from ``directions``), rendered; seeded."""
    check_positive_int("episodes", episodes)
    check_positive_int("steps", steps)
    generator = torch.Generator().manual_seed(seed)
    allowed = allowed_actions(objects, directions)
    states = [grid.random_states(episodes, width, objects, generator)]
    actions = allowed[torch.randint(len(allowed), (episodes, steps), generator=generator)]
    for t in range(steps):
        states.append(grid.step(states[-1], actions[:, t], width))
    states = torch.stack(states, 1)
    size = width * grid.CELL
    images = render_states(states.reshape(-1, objects, 2), width, render, as_bytes)
    return GridTrajectories(images.reshape(episodes, steps + 1, 3, size, size), actions, states)


def quarter_turn(dim: int = 2) -> torch.Tensor:
    """The action of a quarter turn counter-clockwise on an object's 2-D latent, as a matrix (a latent row turns
    by it as the object's position does in the image: down the rows is the first axis)."""
    if dim != 2:
        raise CogmapError("a quarter turn acts on 2-D latents")
    return planar_rotation(torch.tensor(math.pi / 2, dtype=torch.float64))


@torch.no_grad()
def evaluate_objects(model: ObjectWorldModel, trajectories: int = 1000, steps: int = 10, seed: int = 12_345,
                     directions=None, domain: str = "shapes", ks: tuple = (1, 5, 10)) -> dict:
    """Next-state ranking, EE and DIE of an object world model on fresh trajectories, in the keys of
    :func:`cogmap.worldmodels.train.evaluate`.

    Hits@k and MRR of the 1-step and ``steps``-step predictions among all the test trajectories' true
    latents at that step (each prediction ranks the candidates; ties counted against the model, and by
    the published rule); EE: the latent of the world turned a quarter counter-clockwise against the
    latent turned by 90 degrees (what a C4-equivariant model gives by construction); DIE: each
    prediction paired with another trajectory's true latent, their distance against that of the same
    pair in the turned world (the prediction from the turned start with relabelled pushes). Hits@1 per
    direction of the first push; ``directions`` restricts the test pushes (e.g. to the unseen ones).
    """
    render = renderer(domain)
    model.eval()
    data = transitions(trajectories, steps, model.width, model.objects, directions, seed, render, as_bytes=True)
    n, k, d = len(data.actions), model.objects, model.dim
    ks = tuple(k_ for k_ in ks if k_ <= n) or (1,)
    z = encode_in_batches(model, data.images.flatten(0, 1)).reshape(n, steps + 1, k, d)
    predicted = model.rollout(z[:, 0], data.actions.to(z.device))
    chosen = list(dict.fromkeys(directions or grid.DIRECTIONS))
    result = {"domain": domain, "trajectories": n, "steps": steps, "seed": seed, "actions": chosen}
    turned_states = grid.rotate(data.states[:, 0], 1, model.width)
    turned = encode_in_batches(model, render_states(turned_states, model.width, render, as_bytes=True))
    result["ee"] = equivariance_error(z[:, 0], turned, lambda latents: latents @ quarter_turn(d).to(latents).T)
    turned_predicted = model.rollout(turned, grid.relabel_actions(data.actions, 1).to(z.device))
    pairs = random_pairs(n, seed)
    scale = float(z[:, 0].flatten(1).norm(dim=1).mean())
    first = (data.actions[:, 0] % 4).numpy()
    per_action = {name: {"trajectories": int((first == grid.DIRECTIONS.index(name)).sum())} for name in chosen}
    sizes = candidate_counts(n)
    candidates, misses = {"sizes": sizes}, {}
    for horizon in sorted({1, steps}):
        target = z[:, horizon]
        for ties in ("pessimistic", "optimistic"):
            ranking = ranking_metrics(predicted[:, horizon - 1], target, k=ks, ties=ties, over="predictions")
            result[f"{horizon}_step_{ties}"] = ranking.to_json()
        turned_partners = grid.rotate(data.states[pairs, horizon], 1, model.width)
        partner = encode_in_batches(model, render_states(turned_partners, model.width, render, as_bytes=True))
        result[f"die_{horizon}_step"] = distance_invariance_error(
            predicted[:, horizon - 1], target[pairs], turned_predicted[:, horizon - 1], partner, scale=scale)
        hit = hits_per_row(predicted[:, horizon - 1], target, k=1)
        candidates[f"hits@1_{horizon}_step"] = {
            str(size): value for size, value in hits_among(predicted[:, horizon - 1], target, sizes).items()}
        misses[f"{horizon}_step"] = state_misses(hit == 1, nearest_rivals(predicted[:, horizon - 1], target),
                                                 data.states[:, horizon])
        for name in chosen:
            rows = first == grid.DIRECTIONS.index(name)
            per_action[name][f"hits@1_{horizon}_step"] = float(hit[rows].mean()) if rows.any() else float("nan")
    result["candidates"], result["misses"] = candidates, misses
    result["per_action"] = per_action
    return result


def state_misses(hit, rival, states: torch.Tensor) -> dict:
    """What the missed predictions were taken for (:func:`~cogmap.analysis.equivariance.miss_summary`), in grid
    cells: how many cells each object of the truth's state lies from the same object in its rival's (the
    trajectory whose prediction ranked first in its place), summed over the objects, against the nearest test
    state; and ``objects_displaced``, the share of misses whose rival has 0, 1, 2, ... objects on other cells
    (0: two test trajectories reached the same state, and the other's prediction happened to lie nearer);
    ``unavoidable``, how many rows must miss because another row has their state (all but one of each group).

    ``hit`` and ``rival`` ``(N,)`` as for :func:`cogmap.worldmodels.train.misses`; ``states`` ``(N, K, 2)``
    the rows' true states (each object's row and column). One push moves one object one cell: a miss one cell
    away is the model taking one push for none or for another.
    """
    hit, rival = torch.as_tensor(hit, dtype=torch.bool), torch.as_tensor(rival, dtype=torch.long)
    states = torch.as_tensor(states).long().cpu()
    n = len(states)
    if hit.shape != (n,) or rival.shape != (n,):
        raise CogmapError(f"hit and rival must have one value per state ({n}), got {tuple(hit.shape)} and "
                          f"{tuple(rival.shape)}")
    nearest = nearest_other(states, lambda a, b: (a - b).abs().sum((-1, -2)))
    missed = ~hit
    difference = states[missed] - states[rival[missed]]
    result = miss_summary(hit, difference.abs().sum((-1, -2)).double(), nearest, "cells")
    # Rows whose state another row shares have one true latent between them: only one of each group can rank
    # its own prediction first, whatever the model, so Hits@1 cannot exceed 1 - unavoidable / N.
    _, counts = torch.unique(states.reshape(n, -1), dim=0, return_counts=True)
    result["unavoidable"] = int((counts - 1).sum())
    if missed.any():
        displaced = (difference != 0).any(-1).sum(-1)
        result["objects_displaced"] = {str(count): float((displaced == count).double().mean())
                                       for count in range(states.shape[1] + 1)}
    return result


@torch.no_grad()
def latent_grid(model: ObjectWorldModel, states: int = 2000, seed: int = 0, domain: str = "shapes") -> dict:
    """Where each object slot puts each cell. For every slot, the object whose cell explains most of the slot's latent
    (the correlation ratio: the variance of the slot's mean latent over that object's cells, over the latent's whole
    variance; 1 when the latent is a function of the cell alone), that share, and the slot's mean latent with that
    object on each cell ``(width, width, dim)``; a model that has learned the world lays its cells out as a grid."""
    render = renderer(domain)
    model.eval()
    sampled = grid.random_states(states, model.width, model.objects, torch.Generator().manual_seed(seed))
    z = encode_in_batches(model, render_states(sampled, model.width, render, as_bytes=True)).double().cpu()  # (N, K, dim)
    cells = sampled[..., 0] * model.width + sampled[..., 1]  # (N, K): each object's cell
    count = model.width * model.width
    slots = []
    for slot in range(model.objects):
        latent = z[:, slot]
        total = (latent - latent.mean(0)).pow(2).sum().clamp(min=1e-300)
        shares, tables = [], []
        for obj in range(model.objects):
            sums = torch.zeros(count, model.dim, dtype=torch.float64).index_add_(0, cells[:, obj], latent)
            seen = torch.bincount(cells[:, obj], minlength=count).double()
            means = sums / seen.clamp(min=1)[:, None]
            between = (seen[:, None] * (means - latent.mean(0)).pow(2)).sum()
            shares.append(float(between / total))
            tables.append(torch.where(seen[:, None] > 0, means, torch.full_like(means, float("nan"))))
        obj = max(range(model.objects), key=lambda i: shares[i])
        slots.append({"object": obj, "explained": shares[obj],
                      "cell_means": tables[obj].reshape(model.width, model.width, model.dim).tolist(),
                      "latents": latent[:500].tolist(), "cells": cells[:500, obj].tolist()})
    return {"width": model.width, "states": states, "slots": slots}
