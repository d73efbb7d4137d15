"""Training examples: object crops decoded once, then augmented per draw.

Decoding a JPEG costs more than a training step's share of the network on
two cores, so every object is decoded, cropped around its box (with spare
context for the augmentation) and shrunk once -- and, with a cache folder,
stored as one ``.npz`` per dataset so later runs skip decoding and GrabCut
altogether; each draw then only resamples a small array.
"""
from __future__ import annotations

import hashlib
import io
import json
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ...clicks import PromptKind
from ...io.atomic import atomic_write_bytes
from ...io.images import ImageSource, load_image
from ...simulation.clicker import Clicker
from ...simulation.datasets import check_trainable, load_mask, load_samples
from .inputs import Window, crop_square, encoder_input, grabcut_cue, object_window, paste_back, valid_region
from .network import ClickNetConfig

CONTEXT = 0.4  # spare context kept around each object's box, as a fraction of its larger side
BOX_SIDE = 176  # the box's larger side in the stored crop: a little above the network's crop size
MIN_OBJECT_PIXELS = 16
CACHE_FORMAT = "clicknet-crops-v2"


@dataclass(frozen=True)
class ObjectCrop:
    """One object, pre-cropped: RGB uint8 and its boolean mask, same height and width.

    With a GrabCut cue in the config, ``cue`` is GrabCut's answer seeded by
    the exact extreme points and ``box_cue`` its answer for the exact box.
    """

    image: np.ndarray
    mask: np.ndarray
    cue: np.ndarray | None = None
    box_cue: np.ndarray | None = None

    def cue_for(self, kind: PromptKind) -> np.ndarray | None:
        return self.box_cue if kind is PromptKind.BOX else self.cue


def crop_object(image: np.ndarray, mask: np.ndarray, config: ClickNetConfig) -> ObjectCrop | None:
    """Cut the object's box plus ``CONTEXT`` out of the image, shrunk so the box spans ``BOX_SIDE``.

    The GrabCut cue, when the config asks for it, is computed here once, on
    the crop the segmenter would see for exact extreme points, and resampled
    with the image by every augmentation.
    """
    if image.shape[:2] != mask.shape:
        raise ValueError(f"mask shape {mask.shape} does not match image shape {image.shape[:2]}")
    if np.count_nonzero(mask) < MIN_OBJECT_PIXELS:
        return None
    ys, xs = np.nonzero(mask)
    side = max(xs.max() - xs.min(), ys.max() - ys.min()) + 1
    pad = int(np.ceil(CONTEXT * side))
    height, width = mask.shape
    x0, y0 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    x1, y1 = min(width, xs.max() + 1 + pad), min(height, ys.max() + 1 + pad)
    scale = min(1.0, BOX_SIDE / side)
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    image_crop = cv2.resize(image[y0:y1, x0:x1], size, interpolation=cv2.INTER_AREA)
    mask_crop = cv2.resize(mask[y0:y1, x0:x1].astype(np.float32), size, interpolation=cv2.INTER_AREA) >= 0.5
    if np.count_nonzero(mask_crop) < MIN_OBJECT_PIXELS:
        return None
    image_crop = np.ascontiguousarray(image_crop)
    if config.grabcut_iterations <= 0:
        return ObjectCrop(image_crop, mask_crop)
    cues = [_stored_cue(image_crop, mask_crop, kind, config) for kind in (PromptKind.EXTREME, PromptKind.BOX)]
    return ObjectCrop(image_crop, mask_crop, *cues)


def _stored_cue(image_crop: np.ndarray, mask_crop: np.ndarray, kind: PromptKind, config: ClickNetConfig) -> np.ndarray:
    """GrabCut's cue for the exact prompt, on the crop the segmenter would see, pasted back at crop scale (uint8 0-255)."""
    prompt = np.array([[c.x, c.y] for c in Clicker(mask_crop).prompt_clicks(kind.value)], np.float32)
    window = object_window(prompt, config.margin)
    seen = crop_square(image_crop, window, config.crop_size)
    cue_crop = grabcut_cue(seen, window.to_crop(prompt, config.crop_size), kind, config.grabcut_iterations)
    cue = paste_back(cue_crop, window, (image_crop.shape[1], image_crop.shape[0]))
    return np.round(cue * 255).astype(np.uint8)


def crops_from_pairs(
    images: Sequence[ImageSource], masks: Sequence[np.ndarray], config: ClickNetConfig, progress: bool = True
) -> list[ObjectCrop]:
    """Object crops from user-supplied images (arrays or paths) and boolean masks."""
    if len(images) != len(masks):
        raise ValueError(f"got {len(images)} images but {len(masks)} masks: give one mask per image")
    crops = []
    for image, mask in tqdm(list(zip(images, masks)), desc="cropping objects", disable=not progress):
        crop = crop_object(load_image(image), np.asarray(mask).astype(bool), config)
        if crop is not None:
            crops.append(crop)
    if not crops:
        raise ValueError(f"none of the masks holds an object of at least {MIN_OBJECT_PIXELS} pixels")
    return crops


def crops_from_folders(
    folders: Iterable[str | Path],
    config: ClickNetConfig,
    limit: int | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
) -> dict[str, list[ObjectCrop]]:
    """Object crops from benchmark-style folders (``images/`` + ``masks/``), by folder name.

    With ``cache_dir``, each folder's crops are read from (or written to) one
    ``.npz`` there, keyed by the folder, the limit and the crop geometry.
    """
    pool: dict[str, list[ObjectCrop]] = {}
    for folder in folders:
        check_trainable(folder)
        cache = _cache_path(Path(cache_dir), Path(folder), config, limit) if cache_dir is not None else None
        if cache is not None and cache.is_file():
            crops = load_crops(cache)
        else:
            crops = _decode_folder(Path(folder), config, limit, progress)
            if cache is not None:
                save_crops(crops, cache)
        pool[Path(folder).name] = crops
    if not any(pool.values()):
        raise ValueError("the training folders hold no usable objects")
    return pool


def _decode_folder(folder: Path, config: ClickNetConfig, limit: int | None, progress: bool) -> list[ObjectCrop]:
    """Every usable object of a folder.

    A mask stored at another resolution with the image's aspect ratio (within
    2%) is resized onto the image; any other size mismatch is skipped and named.
    """
    crops, skipped = [], []
    for sample in tqdm(load_samples(folder, limit), desc=f"decoding {folder.name}", disable=not progress):
        truth, _ = load_mask(sample.mask_path)
        image = load_image(sample.image_path)
        if image.shape[:2] != truth.shape:
            (ih, iw), (mh, mw) = image.shape[:2], truth.shape
            if abs((iw / ih) / (mw / mh) - 1.0) > 0.02:
                skipped.append(f"{sample.mask_path.name} ({mw}x{mh} mask, {iw}x{ih} image)")
                continue
            truth = cv2.resize(truth.astype(np.uint8), (iw, ih), interpolation=cv2.INTER_NEAREST).astype(bool)
        crop = crop_object(image, truth, config)
        if crop is not None:
            crops.append(crop)
    if skipped:
        warnings.warn(f"{folder.name}: skipped {len(skipped)} objects whose mask does not match the image size: {', '.join(skipped[:5])}")
    return crops


def _cache_path(cache_dir: Path, folder: Path, config: ClickNetConfig, limit: int | None) -> Path:
    """One file per folder and crop geometry: a changed config or limit never reads stale crops."""
    key = {
        "format": CACHE_FORMAT,
        "folder": str(folder.resolve()),
        "limit": limit,
        "box_side": BOX_SIDE,
        "context": CONTEXT,
        "crop_size": config.crop_size,
        "margin": config.margin,
        "grabcut_iterations": config.grabcut_iterations,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    return cache_dir / f"{folder.name}-{digest}.npz"


def save_crops(crops: Sequence[ObjectCrop], path: str | Path) -> Path:
    """Store crops as flat uint8 arrays plus shapes in one ``.npz`` (no pickled objects), atomically."""
    shapes = np.array([c.mask.shape for c in crops], np.int64).reshape(-1, 2)
    arrays: dict[str, np.ndarray] = {
        "format": np.array(CACHE_FORMAT),
        "shapes": shapes,
        "images": np.concatenate([c.image.reshape(-1) for c in crops]) if crops else np.zeros(0, np.uint8),
        "masks": np.concatenate([c.mask.reshape(-1) for c in crops]).astype(np.uint8) if crops else np.zeros(0, np.uint8),
    }
    cues = [c.cue for c in crops if c.cue is not None]
    box_cues = [c.box_cue for c in crops if c.box_cue is not None]
    if crops and len(cues) == len(box_cues) == len(crops):
        arrays["cues"] = np.concatenate([cue.reshape(-1) for cue in cues])
        arrays["box_cues"] = np.concatenate([cue.reshape(-1) for cue in box_cues])
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)  # type: ignore[arg-type]  # numpy's stub types **kwds as allow_pickle's bool
    return atomic_write_bytes(path, buffer.getvalue())


def load_crops(path: str | Path) -> list[ObjectCrop]:
    """Read crops written by ``save_crops`` (``allow_pickle=False``: a cache file can never run code)."""
    with np.load(path, allow_pickle=False) as data:
        if str(data["format"]) != CACHE_FORMAT:
            raise ValueError(f"{path} is not a {CACHE_FORMAT} crop cache: delete it and it is rebuilt")
        shapes = data["shapes"]
        images, masks = data["images"], data["masks"]
        cues, box_cues = (data["cues"], data["box_cues"]) if "cues" in data else (None, None)
    crops, offset = [], 0
    for height, width in shapes:
        pixels = int(height * width)
        image = images[3 * offset : 3 * (offset + pixels)].reshape(height, width, 3)
        mask = masks[offset : offset + pixels].reshape(height, width).astype(bool)
        cue = None if cues is None else cues[offset : offset + pixels].reshape(height, width)
        box_cue = None if box_cues is None else box_cues[offset : offset + pixels].reshape(height, width)
        crops.append(ObjectCrop(image, mask, cue, box_cue))
        offset += pixels
    return crops


@dataclass
class Example:
    """One augmented draw, already in network input form (crop coordinates)."""

    encoder_maps: np.ndarray  # (config.encoder_channels, S, S)
    truth: np.ndarray  # (S, S) bool


def draw_example(crop: ObjectCrop, config: ClickNetConfig, rng: np.random.Generator, box_share: float = 0.0) -> Example:
    """Flip, colour-jitter, pick the prompt (extreme points, or a box with ``box_share``), jitter it
    (DEXTR) and vary the margin, then crop."""
    image, mask = crop.image, crop.mask
    kind = PromptKind.BOX if rng.random() < box_share else PromptKind.EXTREME
    cue = crop.cue_for(kind)
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
        cue = None if cue is None else cue[:, ::-1]
    image = jitter_colours(image, rng)
    clicker = Clicker(mask, jitter=float(rng.uniform(0.0, 3.0)), seed=int(rng.integers(1 << 31)))
    prompt = np.array([[c.x, c.y] for c in clicker.prompt_clicks(kind.value)], np.float32)
    margin = float(np.clip(config.margin + rng.normal(0.0, 0.04), 0.02, 0.25))
    window = object_window(prompt, margin)
    shift = rng.normal(0.0, 0.02, 4) * max(window.width, window.height)
    window = Window(window.x0 + shift[0], window.y0 + shift[1], window.x1 + shift[2], window.y1 + shift[3])
    size = config.crop_size
    image_crop = crop_square(np.ascontiguousarray(image), window, size)
    truth = crop_square(mask.astype(np.float32), window, size, cv2.INTER_LINEAR) >= 0.5
    valid = valid_region(window, (image.shape[1], image.shape[0]), size)
    cue_crop = None
    if cue is not None:
        cue_crop = crop_square(np.ascontiguousarray(cue), window, size, cv2.INTER_LINEAR).astype(np.float32) / 255.0
    maps = encoder_input(
        image_crop, window.to_crop(prompt, size), kind, valid, config.extreme_sigma, cue_crop, config.prompt_channel
    )
    return Example(maps, truth)


def jitter_colours(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation changes, so colour cues generalise past the training photos."""
    pixels = image.astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * rng.uniform(0.7, 1.3)  # saturation
    pixels = (pixels - pixels.mean()) * rng.uniform(0.75, 1.25) + pixels.mean()  # contrast
    pixels = pixels * rng.uniform(0.75, 1.25)  # brightness
    return np.clip(pixels, 0, 255).astype(np.uint8)


def draw_batch(
    crops: Sequence[ObjectCrop], indices: Sequence[int], config: ClickNetConfig, rng: np.random.Generator, box_share: float = 0.0
):
    """Stack examples for ``indices`` into ``(encoder_maps, truth)`` arrays."""
    examples = [draw_example(crops[i], config, rng, box_share) for i in indices]
    return np.stack([e.encoder_maps for e in examples]), np.stack([e.truth for e in examples])
