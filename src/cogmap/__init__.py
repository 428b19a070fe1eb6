"""cogmap: neural agents that learn a map of space from their own actions, and the tools to look inside them."""

from cogmap.errors import CogmapError, DataFileError

__version__ = "0.1.0"

__all__ = ["CogmapError", "DataFileError", "__version__"]
