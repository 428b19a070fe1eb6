"""Spaces that agents move through, behind one small protocol (:class:`Manifold`)."""

from cogmap.geometry.base import Manifold
from cogmap.geometry.euclidean import Box
from cogmap.geometry.product import Product
from cogmap.geometry.registry import SPACES, make_space
from cogmap.geometry.so2 import SO2, Torus, wrap
from cogmap.geometry.so3 import SO3

__all__ = ["Manifold", "SO3", "SO2", "Torus", "Box", "Product", "wrap", "SPACES", "make_space"]
