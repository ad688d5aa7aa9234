"""Plain data and protocols. Imports neither Qt nor torch (checked by tests/test_layers.py)."""

from explorer.core.errors import ExplorerError, DataError, ModelFileError
from explorer.core.imageset import ImageSet
from explorer.core.progress import Progress
from explorer.core.workspace import Workspace

__all__ = ["ExplorerError", "DataError", "ModelFileError", "ImageSet", "Progress", "Workspace"]
