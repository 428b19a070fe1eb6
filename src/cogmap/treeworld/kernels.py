"""Moving location-belief maps by actions: one bilinear translation kernel per map, applied by convolution.

A belief map is an ``(S, S)`` grid of probabilities; row ``i`` is ``y = gamma * (i - R)`` and
column ``j`` is ``x = gamma * (j - R)`` with ``R = (S - 1) / 2`` and grid scale ``gamma`` world
units per cell. An action ``a = (a_x, a_y)`` in world units moves the map's content by
``a / gamma`` cells. A kernel of odd size ``K`` (centre ``c = (K - 1) / 2``) puts its mass at
row ``c - a_y / gamma`` and column ``c - a_x / gamma`` (PyTorch's conv2d is a cross-correlation),
split bilinearly between the four surrounding cells when the shift is fractional. A Gaussian
blur (action uncertainty) is convolved into the kernel, which grows by the blur's size so that
no mass is lost. Convolution with zero padding loses only the mass moved past the border.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from cogmap.errors import CogmapError, check_positive, check_trailing_shape


def gaussian_kernel_1d(sigma: float, size: int | None = None, dtype=torch.float32, device=None) -> torch.Tensor:
    """A normalised 1-D Gaussian of odd ``size`` (default: covers +-3 sigma)."""
    check_positive("blur sigma", sigma)
    size = size if size is not None else 2 * math.ceil(3 * sigma) + 1
    if size < 1 or size % 2 == 0:
        raise CogmapError(f"blur size must be a positive odd integer, got {size}")
    x = torch.arange(size, dtype=dtype, device=device) - (size - 1) / 2
    weights = torch.exp(-x.square() / (2 * sigma**2))
    return weights / weights.sum()


def make_2d_translation_kernel(actions: torch.Tensor, gamma: float = 1.0, filter_size: int = 5,
                               blur: float | None = None, blur_size: int | None = None) -> torch.Tensor:
    """One kernel per action: ``(B, 1, K, K)`` for actions ``(B, 2)`` (or ``(2,)``), ``K = filter_size``.

    With ``blur`` (a sigma in cells) the kernels are blurred and ``K`` grows by ``blur_size - 1``.
    """
    actions = torch.as_tensor(actions)
    if actions.dim() == 1:
        actions = actions[None]
    check_trailing_shape("actions", actions, (2,), min_batch_dims=1)
    check_positive("gamma", gamma)
    if not isinstance(filter_size, int) or filter_size < 1 or filter_size % 2 == 0:
        raise CogmapError(f"filter_size must be a positive odd integer (the kernel needs a centre), got {filter_size!r}")
    actions = actions.to(torch.get_default_dtype() if not actions.is_floating_point() else actions.dtype)
    if not torch.isfinite(actions).all():
        raise CogmapError("actions contain NaN or infinite values")
    centre = (filter_size - 1) // 2
    position = centre - actions / gamma  # (B, 2): column (x), row (y) of the kernel's mass
    lower = position.floor()
    if (lower < 0).any() or (lower + (position > lower) > filter_size - 1).any():
        worst = float((actions / gamma).abs().max())
        raise CogmapError(f"an action moves {worst:.2f} cells but filter_size {filter_size} reaches only {centre}; "
                          f"use filter_size >= {2 * math.ceil(worst) + 1}")
    fraction = position - lower
    lower = lower.long()
    upper = (lower + 1).clamp(max=filter_size - 1)
    b = actions.shape[0]
    kernel = actions.new_zeros(b, filter_size, filter_size)
    rows = torch.arange(b, device=actions.device)
    fx, fy = fraction[:, 0], fraction[:, 1]
    for row, wy in ((lower[:, 1], 1 - fy), (upper[:, 1], fy)):
        for col, wx in ((lower[:, 0], 1 - fx), (upper[:, 0], fx)):
            kernel.index_put_((rows, row, col), wy * wx, accumulate=True)
    kernel = kernel[:, None]
    if blur is not None:
        g = gaussian_kernel_1d(blur, blur_size, kernel.dtype, kernel.device)
        pad = g.numel() - 1  # a full convolution: the kernel grows by blur_size - 1
        kernel = F.conv2d(F.pad(kernel, (pad, pad, pad, pad)), (g[:, None] * g[None, :])[None, None])
    return kernel


def apply_2d_translation(beliefs: torch.Tensor, actions: torch.Tensor, gamma: float = 1.0, filter_size: int = 5,
                         blur: float | None = None, blur_size: int | None = None) -> torch.Tensor:
    """Translate each of the maps ``(B, S, S)`` by its own action ``(B, 2)`` in one grouped convolution."""
    if beliefs.dim() != 3:
        raise CogmapError(f"beliefs must have shape (batch, S, S), got {tuple(beliefs.shape)}")
    actions = torch.as_tensor(actions, dtype=beliefs.dtype, device=beliefs.device)
    if actions.dim() == 1:
        actions = actions[None].expand(beliefs.shape[0], 2)
    if actions.shape[0] != beliefs.shape[0]:
        raise CogmapError(f"{actions.shape[0]} actions for {beliefs.shape[0]} belief maps")
    kernel = make_2d_translation_kernel(actions, gamma, filter_size, blur, blur_size)
    pad = kernel.shape[-1] // 2
    return F.conv2d(beliefs[None], kernel, padding=pad, groups=beliefs.shape[0])[0]


def grid_coordinates(grid_size: int, gamma: float, dtype=torch.float32, device=None) -> torch.Tensor:
    """World coordinates of the cells along one axis: ``gamma * (i - R)``."""
    return gamma * (torch.arange(grid_size, dtype=dtype, device=device) - (grid_size - 1) / 2)


def gaussian_belief(grid_size: int, gamma: float, centre=(0.0, 0.0), sigma: float | None = None, batch: int = 1,
                    dtype=torch.float32, device=None) -> torch.Tensor:
    """Normalised Gaussian belief maps ``(batch, S, S)`` at ``centre`` (world units), width ``sigma`` (default gamma)."""
    sigma = gamma if sigma is None else sigma
    check_positive("sigma", sigma)
    axis = grid_coordinates(grid_size, gamma, dtype, device)
    y, x = torch.meshgrid(axis, axis, indexing="ij")
    density = torch.exp(-((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / (2 * sigma**2))
    density = density / density.sum()
    return density.expand(batch, grid_size, grid_size).clone()


def belief_mean(beliefs: torch.Tensor, gamma: float) -> torch.Tensor:
    """The expected location ``(B, 2)`` (x, y) of belief maps ``(B, S, S)``."""
    s = beliefs.shape[-1]
    axis = grid_coordinates(s, gamma, beliefs.dtype, beliefs.device)
    mass = beliefs.sum(dim=(-2, -1)).clamp_min(1e-30)
    x = (beliefs.sum(dim=-2) * axis).sum(-1) / mass
    y = (beliefs.sum(dim=-1) * axis).sum(-1) / mass
    return torch.stack([x, y], dim=-1)


def belief_spread(beliefs: torch.Tensor, gamma: float) -> torch.Tensor:
    """The sd per axis ``(B,)`` of belief maps ``(B, S, S)``: the root of the mean of the x and y variances."""
    s = beliefs.shape[-1]
    axis = grid_coordinates(s, gamma, beliefs.dtype, beliefs.device)
    mass = beliefs.sum(dim=(-2, -1)).clamp_min(1e-30)
    mean = belief_mean(beliefs, gamma)
    var_x = (beliefs.sum(dim=-2) * (axis - mean[:, :1]) ** 2).sum(-1) / mass
    var_y = (beliefs.sum(dim=-1) * (axis - mean[:, 1:]) ** 2).sum(-1) / mass
    return ((var_x + var_y) / 2).sqrt()


def belief_mode(beliefs: torch.Tensor, gamma: float) -> torch.Tensor:
    """The most probable cell's location ``(B, 2)`` (x, y)."""
    s = beliefs.shape[-1]
    flat = beliefs.reshape(beliefs.shape[0], -1).argmax(dim=-1)
    row, col = flat // s, flat % s
    return torch.stack([gamma * (col - (s - 1) / 2), gamma * (row - (s - 1) / 2)], dim=-1).to(beliefs.dtype)
