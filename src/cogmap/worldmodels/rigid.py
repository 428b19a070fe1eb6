"""A rigid 3-D object on SO(3), rendered to small grey images (Park et al.'s teapot-like domain).

The object is a union of ellipsoids (a body, a spout, a handle, a lid knob and a marker on one
side), chosen so that no rotation but the identity maps it onto itself and its mirror image is
not one of its rotations: every orientation is a different object pose. It is rendered by
orthographic ray casting, batched in torch: the camera looks down the world's -z axis at the
square [-1, 1]^2 (x to the right, y up), each pixel's ray meets each ellipsoid in closed form
(a quadratic in the ray's depth, so every pixel costs a few
multiplications per ellipsoid), the nearest hit wins, and its shade is Lambertian,
``albedo x (ambient + (1 - ambient) x max(0, n . l))``, on a black background. ``supersample``
rays per pixel side are averaged (anti-aliasing).

Actions are fixed rotations about the world's axes, applied on the left (``R' = G_a R``): pitch
about x, yaw about y, roll about z (the viewing axis), each in both senses, by ``step`` radians.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from cogmap.errors import CogmapError
from cogmap.geometry import so3

ACTION_NAMES = ("pitch+", "pitch-", "yaw+", "yaw-", "roll+", "roll-")
LIGHT = (-0.4, 0.5, 1.0)  # towards the light, from the object: upper left, in front
AMBIENT = 0.15
_AXES = {"pitch": 0, "yaw": 1, "roll": 2}


@dataclass(frozen=True)
class Ellipsoid:
    centre: tuple  # (3,) in the object's frame
    radii: tuple  # (3,) semi-axes along the ellipsoid's own axes
    tilt: tuple  # (3,) rotation vector from the object's frame to the ellipsoid's axes
    albedo: float


# A teapot-like object about 1.9 units long, centred near the origin and filling most of the
# image. The parts that break the body's symmetry are drawn large and in contrasting albedo:
# an ellipsoid body alone is symmetric under three half-turns, and an encoder that cannot tell
# those poses apart has no equivariant latent but zero (z(R) = z(R S) forces M = M S^T).
TEAPOT = (
    Ellipsoid((0.0, 0.0, 0.0), (0.60, 0.48, 0.41), (0.0, 0.0, 0.0), 0.75),  # body
    Ellipsoid((0.62, 0.0, 0.14), (0.36, 0.13, 0.13), (0.0, -0.6, 0.0), 0.55),  # spout, tilted up
    Ellipsoid((-0.66, 0.0, 0.06), (0.12, 0.08, 0.31), (0.0, 0.3, 0.0), 0.35),  # handle, dark
    Ellipsoid((0.14, 0.0, 0.43), (0.18, 0.18, 0.12), (0.0, 0.0, 0.0), 0.50),  # lid knob, off-centre
    Ellipsoid((0.0, 0.41, -0.12), (0.17, 0.17, 0.17), (0.0, 0.0, 0.0), 1.00),  # bright marker on the +y side
)


def action_rotations(step: float = math.pi / 6, dtype: torch.dtype = torch.float32, device=None) -> torch.Tensor:
    """The six actions' rotations, ``(6, 3, 3)``, in the order of :data:`ACTION_NAMES`."""
    if not 0 < step < 2 * math.pi:
        raise CogmapError(f"step must be an angle in (0, 2 pi) radians, got {step}")
    vectors = torch.zeros(6, 3, dtype=dtype, device=device)
    for i, name in enumerate(ACTION_NAMES):
        vectors[i, _AXES[name[:-1]]] = step if name.endswith("+") else -step
    return so3.exp(vectors)


def _shape_matrices(parts: Sequence[Ellipsoid], dtype, device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    centres = torch.tensor([p.centre for p in parts], dtype=dtype, device=device)
    radii = torch.tensor([p.radii for p in parts], dtype=dtype, device=device)
    axes = so3.exp(torch.tensor([p.tilt for p in parts], dtype=dtype, device=device))  # (K, 3, 3)
    # (x - c)^T A (x - c) = 1 with A = U diag(1 / r^2) U^T
    shapes = axes @ torch.diag_embed(radii.pow(-2)) @ axes.transpose(-1, -2)
    albedo = torch.tensor([p.albedo for p in parts], dtype=dtype, device=device)
    return centres, shapes, albedo


def render(rotations: torch.Tensor, size: int = 64, parts: Sequence[Ellipsoid] = TEAPOT, scale: float = 1.0,
           light: Sequence[float] = LIGHT, ambient: float = AMBIENT, supersample: int = 1) -> torch.Tensor:
    """Grey images ``(B, size, size)`` in [0, 1] of the object turned by ``rotations`` ``(B, 3, 3)``.

    ``scale`` shrinks the object's units into the image's [-1, 1] square. Row 0 is the top of
    the image. Device and dtype follow ``rotations``.
    """
    if not torch.is_tensor(rotations) or rotations.dim() != 3 or rotations.shape[1:] != (3, 3):
        raise CogmapError(f"rotations must be a tensor of shape (B, 3, 3), got "
                          f"{tuple(rotations.shape) if torch.is_tensor(rotations) else type(rotations).__name__}")
    if not torch.isfinite(rotations).all():
        raise CogmapError("rotations hold NaN or infinite values")
    centres, shapes, albedo = _shape_matrices(parts, rotations.dtype, rotations.device)
    # The object in the world: centres R c, shape matrices R A R^T (both scaled into the image).
    world_centres = scale * torch.einsum("bij,kj->bki", rotations, centres)  # (B, K, 3)
    world_shapes = torch.einsum("bij,kjl,bml->bkim", rotations, shapes, rotations) / scale ** 2  # (B, K, 3, 3)
    return render_ellipsoids(world_centres, world_shapes, albedo, size, light, ambient, supersample)


def render_ellipsoids(centres: torch.Tensor, shapes: torch.Tensor, albedo: torch.Tensor, size: int = 64,
                      light: Sequence[float] = LIGHT, ambient: float = AMBIENT, supersample: int = 1) -> torch.Tensor:
    """Grey images ``(B, size, size)`` of scenes of ``K`` ellipsoids placed in the world.

    Ellipsoid ``k`` of scene ``b`` is ``{x : (x - c)^T Q (x - c) <= 1}`` with ``c = centres[b, k]``
    ``(B, K, 3)`` and ``Q = shapes[b, k]`` ``(B, K, 3, 3)`` (symmetric positive definite);
    ``albedo`` is ``(K,)``. Any articulated body made of ellipsoids renders through here.
    """
    if size < 2 or supersample < 1:
        raise CogmapError(f"size must be at least 2 and supersample at least 1, got {size} and {supersample}")
    # Blocks of images, so that the (images x ellipsoids x pixels) intermediates stay in cache.
    block = max(1, (1 << 16) // (centres.shape[1] * size * size * supersample ** 2) * 8)
    return torch.cat([_render(centres[i:i + block], shapes[i:i + block], albedo, size, light, ambient, supersample)
                      for i in range(0, len(centres), block)]) if len(centres) else centres.new_zeros(0, size, size)


def _render(world_centres, world_shapes, albedo, size, light, ambient, supersample) -> torch.Tensor:
    dtype, device = world_centres.dtype, world_centres.device
    side = size * supersample
    coords = (2 * torch.arange(side, dtype=dtype, device=device) + 1) / side - 1
    y, x = torch.meshgrid(-coords, coords, indexing="ij")  # row 0 at the top
    # Every quantity below is (B, K, P): the ray through pixel p against ellipsoid k of image b.
    ux = x.reshape(1, 1, -1) - world_centres[..., 0:1]
    uy = y.reshape(1, 1, -1) - world_centres[..., 1:2]
    q = world_shapes[..., None]  # (B, K, 3, 3, 1)
    # (u, w)^T Q (u, w) = 1 along the ray, w the depth towards the camera from the centre:
    # Q_zz w^2 + 2 beta w + gamma - 1 = 0; the camera sees the larger root.
    beta = q[:, :, 2, 0] * ux + q[:, :, 2, 1] * uy
    gamma = q[:, :, 0, 0] * ux * ux + 2 * q[:, :, 0, 1] * ux * uy + q[:, :, 1, 1] * uy * uy
    qzz = q[:, :, 2, 2]
    disc = beta * beta - qzz * (gamma - 1)
    hit = disc > 0
    w = (-beta + disc.clamp(min=0).sqrt()) / qzz
    height = torch.where(hit, w + world_centres[..., 2:3], torch.full_like(w, -math.inf))
    nearest, which = height.max(dim=1)  # (B, P): the surface closest to the camera
    # Lambertian shade of every candidate; the normal is Q (u, w), and n . l = (Q l) . (u, w) / |Q (u, w)|.
    direction = torch.nn.functional.normalize(torch.as_tensor(light, dtype=dtype, device=device), dim=0)
    ql = (world_shapes @ direction)[..., None]  # (B, K, 3, 1)
    facing = ql[:, :, 0] * ux + ql[:, :, 1] * uy + ql[:, :, 2] * w
    normal = q[:, :, :, 0] * ux[:, :, None] + q[:, :, :, 1] * uy[:, :, None] + q[:, :, :, 2] * w[:, :, None]
    lambert = (facing / normal.norm(dim=2).clamp(min=1e-12)).clamp(min=0)
    shade = albedo[None, :, None] * (ambient + (1 - ambient) * lambert)
    image = shade.gather(1, which[:, None]).squeeze(1)
    image = torch.where(torch.isfinite(nearest), image, torch.zeros_like(image)).reshape(-1, side, side)
    if supersample > 1:
        image = torch.nn.functional.avg_pool2d(image[:, None], supersample).squeeze(1)
    return image
