"""cogmap: neural agents that learn a map of space from their own actions, and the tools to look inside them.

``cogmap.load(path_or_run)`` opens any checkpoint or run folder cogmap writes (:mod:`cogmap.loading`).
"""

from cogmap.errors import CogmapError, DataFileError
from cogmap.loading import load

__version__ = "0.1.0"

__all__ = ["CogmapError", "DataFileError", "__version__", "load"]
