"""Decode any image a user may hand us into one canonical form: uint8 RGB.

Every backend works on ``HxWx3 uint8`` so that features and masks
agree; the conversions here (EXIF rotation, 16-bit, alpha, grayscale) happen
once, in ``prepare``.
"""
from __future__ import annotations

import io
import os
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator, Union

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The one pixel limit for every decoded image (server, widget, Lambdas, Ground Truth readers):
# 8000 x 8000 must load. Pillow only warns between 1x and 2x its own limit, so ``open_image``
# checks the header's size itself, before a single pixel is decoded.
MAX_PIXELS = 16384 * 16384
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# what a folder of images may hold (the widget's queue, benchmarks, manifests)
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp"})

ImageSource = Union[str, os.PathLike, bytes, np.ndarray, Image.Image]


class ImageError(ValueError):
    """An image that cannot be used, with the reason and the fix in the message."""


def load_image(source: ImageSource) -> np.ndarray:
    """Return ``source`` as a contiguous ``HxWx3`` uint8 RGB array."""
    if isinstance(source, np.ndarray):
        return _array_to_rgb(source, "array")
    if isinstance(source, Image.Image):
        return _pil_to_rgb(source, "PIL image")
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError("the image data is empty (0 bytes)")
        return _decode(io.BytesIO(bytes(source)), "image bytes")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise ImageError(f"image file {path} does not exist")
        if path.is_dir():
            raise ImageError(f"{path} is a folder, not an image file")
        if path.stat().st_size == 0:
            raise ImageError(f"image file {path} is empty (0 bytes)")
        with open(path, "rb") as handle:
            return _decode(handle, str(path))
    raise ImageError(
        f"cannot read an image from {type(source).__name__}: pass a file path, bytes, a PIL image or a numpy array"
    )


@contextmanager
def open_image(handle: str | os.PathLike | IO[bytes], name: str) -> Iterator[Image.Image]:
    """Pillow's lazy open, refused above ``MAX_PIXELS`` before anything is decoded."""
    try:
        with warnings.catch_warnings():  # Pillow's warning between 1x and 2x its limit: refused below instead
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            opened = Image.open(handle)
        with opened as img:
            if img.width * img.height > MAX_PIXELS:
                raise ImageError(_too_large(name, img.width, img.height))
            yield img
    except UnidentifiedImageError:
        raise ImageError(f"{name} is not an image format Pillow can read (PNG, JPEG, BMP, TIFF, WebP...)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name} has more than {MAX_PIXELS} pixels: downscale it before labeling") from None


def _too_large(name: str, width: int, height: int) -> str:
    scale = (MAX_PIXELS / (width * height)) ** 0.5
    return (
        f"{name} is {width}x{height} = {width * height:,} pixels, above the limit of {MAX_PIXELS:,}: "
        f"downscale it (e.g. to {int(width * scale)}x{int(height * scale)}) or tile it before labeling"
    )


def _decode(handle: IO[bytes], name: str) -> np.ndarray:
    try:
        with open_image(handle, name) as img:
            img.load()
            return _pil_to_rgb(img, name)
    except ImageError:
        raise
    except (OSError, SyntaxError, ValueError) as err:
        raise ImageError(f"{name} is corrupt or truncated ({err}): re-export or re-download it") from None


def _pil_to_rgb(img: Image.Image, name: str) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    if img.width == 0 or img.height == 0:
        raise ImageError(f"{name} has no pixels ({img.width}x{img.height})")
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        return _array_to_rgb(np.asarray(img), name)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.ascontiguousarray(np.asarray(img.convert("RGB"), dtype=np.uint8))


def _array_to_rgb(array: np.ndarray, name: str) -> np.ndarray:
    if array.size == 0 or array.ndim not in (2, 3) or min(array.shape[:2]) == 0:
        raise ImageError(f"{name} of shape {array.shape} is no image: expected HxW, HxWx3 or HxWx4")
    if array.ndim == 3 and array.shape[2] not in (1, 3, 4):
        raise ImageError(f"{name} has {array.shape[2]} channels: expected 1 (gray), 3 (RGB) or 4 (RGBA)")
    if array.dtype == np.bool_:
        array = array.astype(np.uint8) * 255
    elif array.dtype != np.uint8:
        array = _to_uint8(array, name)
    if array.ndim == 2:
        array = np.repeat(array[:, :, None], 3, axis=2)
    elif array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        alpha = array[:, :, 3:4].astype(np.float32) / 255.0
        array = (array[:, :, :3] * alpha + 255.0 * (1.0 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(array)


def _to_uint8(values: np.ndarray, name: str) -> np.ndarray:
    """Map 16-bit, integer and float images onto 0..255."""
    as_float = values.astype(np.float64)
    if not np.all(np.isfinite(as_float)):
        raise ImageError(f"{name} contains NaN or infinite values")
    low, high = float(as_float.min()), float(as_float.max())
    if low < 0:
        raise ImageError(f"{name} has negative pixel values ({low:g}): rescale it to 0..255 or 0..65535")
    if np.issubdtype(values.dtype, np.floating):
        scale = 1.0 if high <= 1.0 else (255.0 if high <= 255 else high)
    else:
        scale = 255.0 if high <= 255 else (65535.0 if high <= 65535 else high)
    return (as_float / scale * 255.0).clip(0, 255).round().astype(np.uint8)


def encode_png(array: np.ndarray, compress_level: int = 6) -> bytes:
    """Lossless PNG bytes; ``compress_level`` 1 is ~3x faster than 6 for ~10% more bytes."""
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", compress_level=compress_level)
    return buffer.getvalue()
