"""insights: quality, confidence, trends and allocation for content-labeling operations."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("insights")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
