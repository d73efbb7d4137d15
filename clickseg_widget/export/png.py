"""Binary masks as 0/255 single-channel PNGs, the form most tools read."""
from __future__ import annotations

import io
import os

import numpy as np
from PIL import Image

from ..io.atomic import atomic_write_bytes
from ..io.images import open_image
from ..protocol.masks import as_binary


def mask_to_png_bytes(mask: np.ndarray) -> bytes:
    mask = as_binary(mask)
    buffer = io.BytesIO()
    Image.fromarray(mask.astype(np.uint8) * 255, mode="L").save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def save_mask_png(mask: np.ndarray, path: str | os.PathLike) -> None:
    atomic_write_bytes(path, mask_to_png_bytes(mask))


def load_mask_png(path: str | os.PathLike) -> np.ndarray:
    with open_image(path, str(path)) as img:
        return np.asarray(img.convert("L")) > 127
