"""Masks on the wire: binary HxW arrays <-> compressed COCO RLE (the schema's and the JS worker's form).

The endpoint client, the server, the Lambdas and the exports all encode masks
through these functions, so a mask means the same everywhere.
"""
from __future__ import annotations

from typing import Any

import numpy as np
from pycocotools import mask as mask_utils


def as_binary(mask: np.ndarray) -> np.ndarray:
    """A 2-D bool view of ``mask``; anything else is refused before it is encoded."""
    mask = np.asarray(mask)
    if mask.ndim != 2:
        raise ValueError(f"a mask must be a 2-D HxW array, got shape {mask.shape}")
    return mask.astype(bool, copy=False)


def encode_rle(mask: np.ndarray) -> dict[str, Any]:
    """pycocotools' RLE (``counts`` as bytes), for area and bbox without decoding."""
    return mask_utils.encode(np.asfortranarray(as_binary(mask).astype(np.uint8)))


def json_rle(rle: dict[str, Any]) -> dict[str, Any]:
    """pycocotools' RLE with ``counts`` as str and ints in ``size``: what JSON carries."""
    return {"size": [int(v) for v in rle["size"]], "counts": rle["counts"].decode("ascii")}


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE with ``counts`` as a str (JSON-ready)."""
    return json_rle(encode_rle(mask))


def rle_to_mask(rle: dict[str, Any]) -> np.ndarray:
    """Decode compressed (str/bytes counts) or uncompressed (list counts) COCO RLE."""
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE must be an object with 'size' [height, width] and 'counts'")
    size = list(rle["size"])
    if len(size) != 2 or any(not isinstance(v, int) or v < 0 for v in size):
        raise ValueError(f"RLE size {size!r} must be [height, width] with non-negative integers")
    counts = rle["counts"]
    if isinstance(counts, list):
        if sum(counts) != size[0] * size[1]:
            raise ValueError(f"uncompressed RLE counts sum to {sum(counts)}, not {size[0]}x{size[1]}")
        encoded = mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
    elif isinstance(counts, (str, bytes)):
        encoded = {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    else:
        raise ValueError("RLE counts must be a string (compressed) or a list of integers")
    try:
        decoded = mask_utils.decode(encoded)
    except Exception as err:  # pycocotools raises bare errors on corrupt counts
        raise ValueError(f"RLE counts do not decode for size {size}: {err}") from None
    return decoded.astype(bool)
