"""World models with known symmetries (seed 004): domains rendered on the fly, and the measures in cogmap.analysis."""

from cogmap.worldmodels.rigid import ACTION_NAMES, TEAPOT, Ellipsoid, action_rotations, render

__all__ = ["ACTION_NAMES", "Ellipsoid", "TEAPOT", "action_rotations", "render"]
