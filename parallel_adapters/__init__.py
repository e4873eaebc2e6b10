"""The Parallel Chat API inside LlamaIndex, DSPy and plain Python."""

from ._version import __version__

__all__ = ["__version__"]
