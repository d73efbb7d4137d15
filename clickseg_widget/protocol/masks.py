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


def rle_to_mask(rle: dict[str, Any], expected_size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode compressed (str/bytes counts) or uncompressed (list counts) COCO RLE.

    The declared size (against ``expected_size`` [height, width] when given) and the runs' total
    are checked before anything is allocated: a 100-byte RLE may declare a gigapixel mask, and
    runs covering less than h*w would leave pixels undefined.
    """
    if not isinstance(rle, dict) or "size" not in rle or "counts" not in rle:
        raise ValueError("an RLE must be an object with 'size' [height, width] and 'counts'")
    size = list(rle["size"]) if isinstance(rle["size"], (list, tuple)) else [rle["size"]]
    if len(size) != 2 or any(type(v) is not int or v < 0 for v in size):
        raise ValueError(f"RLE size {size!r} must be [height, width] with non-negative integers")
    if expected_size is not None and tuple(size) != tuple(expected_size):
        raise ValueError(f"RLE size {size} does not match the image's [{expected_size[0]}, {expected_size[1]}]")
    counts = rle["counts"]
    if isinstance(counts, list):
        if any(type(v) is not int or v < 0 for v in counts):
            raise ValueError("uncompressed RLE counts must be non-negative integers")
        runs = np.asarray(counts, dtype=np.int64)
    elif isinstance(counts, (str, bytes)):
        runs = compressed_runs(counts.encode("ascii", "replace") if isinstance(counts, str) else counts)
    else:
        raise ValueError("RLE counts must be a string (compressed) or a list of integers")
    total = int(runs.sum())
    if total != size[0] * size[1]:
        raise ValueError(f"RLE runs cover {total} pixels, not {size[0]}x{size[1]} = {size[0] * size[1]}")
    if isinstance(counts, list):
        encoded = mask_utils.frPyObjects({"size": size, "counts": counts}, *size)
    else:
        encoded = {"size": size, "counts": counts.encode("ascii") if isinstance(counts, str) else counts}
    try:
        decoded = mask_utils.decode(encoded)
    except Exception as err:  # pycocotools raises bare errors on corrupt counts
        raise ValueError(f"RLE counts do not decode for size {size}: {err}") from None
    return decoded.astype(bool)


# COCO's compressed counts: each run in 5-bit groups ('0' + value, 0x20 = more follows,
# 0x10 in the last group = negative), runs after the second stored as a delta to run i-2.
_MAX_GROUPS_PER_RUN = 12  # 60 bits: more than any real image's pixel count


def compressed_runs(counts: bytes) -> np.ndarray:
    """The run lengths of a COCO compressed ``counts`` string, decoded in numpy (no mask allocated)."""
    codes = np.frombuffer(counts, dtype=np.uint8).astype(np.int64) - 48
    if codes.size == 0:
        return np.zeros(0, np.int64)
    if codes.min() < 0 or codes.max() > 63:
        raise ValueError("RLE counts hold characters outside COCO's alphabet ('0'..'o')")
    ends = np.flatnonzero((codes & 0x20) == 0)
    if ends.size == 0 or ends[-1] != codes.size - 1:
        raise ValueError("RLE counts end in the middle of a run")
    starts = np.concatenate(([0], ends[:-1] + 1))
    if int((ends - starts).max()) >= _MAX_GROUPS_PER_RUN:
        raise ValueError("RLE counts hold a run too long for any image")
    position = np.arange(codes.size) - np.repeat(starts, ends - starts + 1)
    values = np.add.reduceat((codes & 0x1F) << (5 * position), starts)
    negative = (codes[ends] & 0x10) != 0
    values[negative] -= np.left_shift(1, 5 * (ends[negative] - starts[negative] + 1))
    runs = values.copy()
    for parity in (0, 1):  # run i = delta i + run i-2, for i > 2
        first = 2 if parity == 0 else 1
        runs[first::2] = np.cumsum(values[first::2])
    if runs.size and runs.min() < 0:
        raise ValueError("RLE counts decode to a negative run length")
    return runs
