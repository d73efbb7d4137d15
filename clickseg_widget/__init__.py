"""Few-click segmentation labeling inside Jupyter.

The names below are imported on first use, so a part that needs only a lower
layer (the workforce Lambdas need only ``protocol``) does not load the models.
"""
from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_EXPORTS = {
    "Click": "clicks",
    "ClickKind": "clicks",
    "ClickSession": "clicks",
    "ImageError": "io.images",
    "load_image": "io.images",
    "ImageContext": "models.base",
    "Prediction": "models.base",
    "Segmenter": "models.base",
    "available": "models.registry",
    "get_segmenter": "models.registry",
}
__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
