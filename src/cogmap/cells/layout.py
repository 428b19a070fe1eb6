"""Where place cells sit: their preferred states (centres) on a manifold."""

from __future__ import annotations

import torch

from cogmap.errors import CogmapError, check_choice, check_positive_int

LAYOUTS = ("random", "even")


def place_centres(manifold, n: int, layout: str = "random", generator: torch.Generator | None = None, *,
                  device=None, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``n`` cell centres, ``(n, *point_shape)``.

    ``random`` draws them from the manifold's uniform (Haar) distribution with ``generator``,
    as the reference setup does; ``even`` uses a deterministic, nearly even spread (a super-Fibonacci
    spiral on SO(3), a grid on tori and boxes).
    """
    check_positive_int("number of cells", n)
    check_choice("cell layout", layout, LAYOUTS)
    if layout == "random":
        return manifold.random(n, generator, device=device, dtype=dtype)
    if not hasattr(manifold, "evenly_spread"):
        raise CogmapError(f"{manifold!r} has no even layout of cells; use layout='random'")
    return manifold.evenly_spread(n, device=device, dtype=dtype)
