"""Few-click segmentation labeling inside Jupyter."""
from ._version import __version__
from .clicks import Click, ClickKind, ClickSession
from .io.images import ImageError, load_image
from .models.base import ImageContext, Prediction, Segmenter
from .models.registry import available, get_segmenter

__all__ = [
    "__version__",
    "Click",
    "ClickKind",
    "ClickSession",
    "ImageContext",
    "ImageError",
    "Prediction",
    "Segmenter",
    "available",
    "get_segmenter",
    "load_image",
]
