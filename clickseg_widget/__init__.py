"""Few-click segmentation labeling inside Jupyter."""
from .clicks import Click, ClickKind, ClickSession
from .io.images import ImageError, load_image
from .models.base import ImageContext, Prediction, Segmenter
from .models.registry import available, get_segmenter

__version__ = "0.1.0"

__all__ = [
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
