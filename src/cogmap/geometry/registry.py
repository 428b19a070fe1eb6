"""Spaces by name, so that configs and commands can say ``so3``, ``so2``, ``torus2`` or ``box``."""

from __future__ import annotations

from collections.abc import Callable

from cogmap.errors import check_choice
from cogmap.geometry.euclidean import Box
from cogmap.geometry.so2 import Torus
from cogmap.geometry.so3 import SO3

# name -> a factory taking the space's size where it has one (the side of a box, in metres).
SPACES: dict[str, Callable[..., object]] = {
    "so3": lambda **_: SO3(),
    "so2": lambda **_: Torus(1),
    "torus2": lambda **_: Torus(2),
    "box": lambda size=2.2, **_: Box(size, size),
}


def make_space(name: str, **options):
    """The space called ``name`` (one of :data:`SPACES`); ``size=`` sets a box's side."""
    check_choice("manifold", name, tuple(SPACES))
    return SPACES[name](**options)
