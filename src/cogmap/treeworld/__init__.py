"""Tree World: a 2-D foraging world of fruit trees, its sensors, agents and a Gymnasium environment.

``TreeWorld`` is one world driven by an agent model; ``BatchedTreeWorld`` steps thousands of
worlds in lock-step as tensors. Importing this package registers ``cogmap/TreeWorld-v0``.

"The Tree World specification" in this package's documentation is the project description the
world was built from (with its original single-world code, whose API :class:`TreeWorld` keeps):
the world's rules and numbers, the path tracers and localization experiments, a TEM-style
localizer (Whittington et al.'s Tolman-Eichenbaum Machine) and the drive-based forager.
"""

from cogmap.treeworld.config import TreeWorldConfig
from cogmap.treeworld.sensors import DirectionalSensor, SimpleSensor
from cogmap.treeworld.simulation import Record, Tree, TreeWorld
from cogmap.treeworld.world import BatchedTreeWorld

__all__ = ["BatchedTreeWorld", "DirectionalSensor", "Record", "SimpleSensor", "Tree", "TreeWorld", "TreeWorldConfig"]

from cogmap.treeworld.env import register as _register

_register()
