"""Reading a state back out of a place-cell code.

The estimate starts from the better (by cross-entropy) of two guesses, the manifold's
weighted mean of the centres (the chordal mean on SO(3), the circular mean on tori) and
the centre of the most active cell, and is then refined by minimising the cross-entropy
between the given code and the code of the estimate, moving along the manifold with Adam.
An exact code is thereby decoded to the true state (the cross-entropy is minimal there),
which a mean of centres alone does not achieve with few, unevenly placed cells.
"""

from __future__ import annotations

import math

import torch

from cogmap.errors import CogmapError, check_finite, check_trailing_shape


def _cross_entropy(target: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
    return -(target * torch.log(code.clamp_min(torch.finfo(code.dtype).tiny))).sum(-1)


def _typical_spacing(cells) -> float:
    """Median nearest-neighbour distance between centres: the natural step size."""
    centres = cells.centres
    if centres.shape[0] < 2:
        return 1.0
    d = cells.manifold.pairwise_distance(centres, centres)
    d.fill_diagonal_(float("inf"))
    return float(d.min(-1).values.median())


def decode_population(cells, probabilities: torch.Tensor, refine_steps: int = 100) -> torch.Tensor:
    """State estimates ``(..., *point_shape)`` from codes ``(..., n_cells)`` of a :class:`PlaceCells`."""
    check_trailing_shape("probabilities", probabilities, (cells.n_cells,))
    check_finite("probabilities", probabilities)
    if (probabilities < 0).any():
        raise CogmapError("probabilities must be non-negative")
    if not isinstance(refine_steps, int) or refine_steps < 0:
        raise CogmapError(f"refine_steps must be a non-negative integer, got {refine_steps!r}")
    manifold = cells.manifold
    batch_shape = probabilities.shape[:-1]
    p = probabilities.reshape(-1, cells.n_cells)
    p = p / p.sum(-1, keepdim=True).clamp_min(torch.finfo(p.dtype).tiny)
    centres = cells._centres_like(p)

    with torch.no_grad():
        mean_guess = manifold.mean(centres, p)
        peak_guess = centres[p.argmax(-1)]
        use_mean = _cross_entropy(p, cells.encode(mean_guess)) <= _cross_entropy(p, cells.encode(peak_guess))
        mask = use_mean.reshape(-1, *([1] * len(manifold.point_shape)))
        estimate = torch.where(mask, mean_guess, peak_guess)

    if refine_steps > 0:
        lr = 0.2 * _typical_spacing(cells)
        # Refining needs autograd even when the caller is in no_grad or inference mode (as in a
        # validation step); clones turn inference tensors into ordinary ones.
        with torch.inference_mode(False), torch.enable_grad():
            p, estimate = p.clone(), estimate.clone()
            step = torch.zeros(p.shape[0], manifold.dim, dtype=p.dtype, device=p.device, requires_grad=True)
            optimiser = torch.optim.Adam([step], lr=lr)
            for i in range(refine_steps):
                optimiser.param_groups[0]["lr"] = lr * (0.001 + 0.999 * 0.5 * (1 + math.cos(math.pi * i / refine_steps)))
                optimiser.zero_grad(set_to_none=True)
                loss = _cross_entropy(p, cells.encode(manifold.integrate(estimate, step, 1.0))).sum()
                loss.backward()
                optimiser.step()
        with torch.no_grad():
            estimate = manifold.integrate(estimate, step.detach(), 1.0)
    return estimate.reshape(*batch_shape, *manifold.point_shape)
