"""Place cells: population codes of an agent's state on any manifold."""

from cogmap.cells.decode import decode_population
from cogmap.cells.layout import LAYOUTS, place_centres
from cogmap.cells.place import KERNELS, EffectiveNumber, JointPlaceCells, PlaceCells, effective_number, effective_numbers

__all__ = ["PlaceCells", "JointPlaceCells", "KERNELS", "LAYOUTS", "EffectiveNumber", "effective_number",
           "effective_numbers", "place_centres",
           "decode_population"]
