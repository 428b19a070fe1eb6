"""The small protocol every space in cogmap implements.

A manifold here is a state space an agent moves through: it can draw random states,
integrate a velocity for a time step, and measure the distance between states. Place
cells (``cogmap.cells``) and trajectory generation (``cogmap.pathint.data``) only use
this protocol, so they work on any space that implements it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

State = torch.Tensor


@runtime_checkable
class Manifold(Protocol):
    """Protocol of a state space.

    Attributes:
        name: short identifier used in files and configs (``"so3"``, ``"torus2"``, ...).
        dim: number of velocity components (the tangent-space dimension).
        point_shape: shape of one state tensor, e.g. ``(3, 3)`` for a rotation matrix.
    """

    name: str
    dim: int
    point_shape: tuple[int, ...]

    def random(self, n: int, generator: torch.Generator | None = None, *,
               device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> State:
        """``n`` states drawn from the space's uniform (Haar) distribution, shape ``(n, *point_shape)``."""
        ...

    def sample(self, n: int, generator: torch.Generator | None = None, *,
               device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> State:
        """The same as :meth:`random`."""
        ...

    def integrate(self, state: State, velocity: torch.Tensor, dt: float) -> State:
        """Move ``state`` by ``velocity`` (shape ``(..., dim)``) for a time ``dt``."""
        ...

    def distance(self, x: State, y: State) -> torch.Tensor:
        """Geodesic distance between broadcastable batches of states, shape ``(...)``."""
        ...



# Spaces whose states are single tensors (all but Product) also offer what place cells need:
#   pairwise_distance(x (..., *P), centres (C, *P)) -> (..., C)
#   mean(centres (C, *P), weights (..., C)) -> (..., *P)     a weighted mean on the manifold
#   evenly_spread(n) -> (n, *P)                              a deterministic, even layout
# and the compact ones a cosine embedding for the von Mises-Fisher kernel:
#   cosine_embedding(x) -> (..., F), cosine_affine = (a, b), with cos d(x, c) = a <f(x), f(c)> + b


def draw_normal(shape: tuple[int, ...], generator: torch.Generator | None,
                device: torch.device | str | None, dtype: torch.dtype) -> torch.Tensor:
    """Standard normal numbers drawn with ``generator`` on its own device, then moved.

    Drawing on the generator's device (the CPU for a default ``torch.Generator()``) makes the
    same seed give the same numbers whichever device the computation later runs on.
    """
    gen_device = generator.device if generator is not None else torch.device("cpu")
    z = torch.randn(shape, generator=generator, device=gen_device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    return z.to(device=device if device is not None else gen_device, dtype=dtype)


def draw_uniform(shape: tuple[int, ...], generator: torch.Generator | None,
                 device: torch.device | str | None, dtype: torch.dtype) -> torch.Tensor:
    """Uniform numbers in [0, 1), drawn like :func:`draw_normal`."""
    gen_device = generator.device if generator is not None else torch.device("cpu")
    u = torch.rand(shape, generator=generator, device=gen_device, dtype=torch.float64 if dtype == torch.float64 else torch.float32)
    return u.to(device=device if device is not None else gen_device, dtype=dtype)
