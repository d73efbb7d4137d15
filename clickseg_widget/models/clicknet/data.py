"""Training examples: object crops decoded once, then augmented per draw.

Decoding a JPEG costs more than a training step's share of the network on
two cores, so every object is decoded, cropped around its box (with spare
context for the augmentation) and shrunk once; each draw then only
resamples a small array.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ...evaluation.clicker import Clicker
from ...evaluation.datasets import check_trainable, load_mask, load_samples
from ...io.images import ImageSource, load_image
from .inputs import Window, crop_square, encoder_input, grabcut_cue, object_window, paste_back, valid_region
from .network import ClickNetConfig

CONTEXT = 0.4  # spare context kept around each object's box, as a fraction of its larger side
BOX_SIDE = 176  # the box's larger side in the stored crop: a little above the network's crop size
MIN_OBJECT_PIXELS = 16


@dataclass(frozen=True)
class ObjectCrop:
    """One object, pre-cropped: RGB uint8, its boolean mask and (optionally) the GrabCut cue, same height and width."""

    image: np.ndarray
    mask: np.ndarray
    cue: np.ndarray | None = None


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
    cue = None
    if config.grabcut_iterations > 0:
        extremes = np.array([[c.x, c.y] for c in Clicker(mask_crop).extreme_clicks()], np.float32)
        window = object_window(extremes, config.margin)
        seen = crop_square(image_crop, window, config.crop_size)
        cue_crop = grabcut_cue(seen, window.to_crop(extremes, config.crop_size), config.grabcut_iterations)
        cue = paste_back(cue_crop, window, (image_crop.shape[1], image_crop.shape[0]))
    return ObjectCrop(image_crop, mask_crop, cue)


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
    folders: Iterable[str | Path], config: ClickNetConfig, limit: int | None = None, progress: bool = True
) -> list[ObjectCrop]:
    """Object crops from benchmark-style folders (``images/`` + ``masks/``)."""
    crops = []
    for folder in folders:
        check_trainable(folder)
        samples = load_samples(folder, limit)
        for sample in tqdm(samples, desc=f"decoding {Path(folder).name}", disable=not progress):
            truth, _ = load_mask(sample.mask_path)
            crop = crop_object(load_image(sample.image_path), truth, config)
            if crop is not None:
                crops.append(crop)
    if not crops:
        raise ValueError("the training folders hold no usable objects")
    return crops


@dataclass
class Example:
    """One augmented draw, already in network input form (crop coordinates)."""

    encoder_maps: np.ndarray  # (config.encoder_channels, S, S)
    truth: np.ndarray  # (S, S) bool


def draw_example(crop: ObjectCrop, config: ClickNetConfig, rng: np.random.Generator) -> Example:
    """Flip, colour-jitter, jitter the extreme points (DEXTR) and vary the margin, then crop."""
    image, mask, cue = crop.image, crop.mask, crop.cue
    if rng.random() < 0.5:
        image, mask = image[:, ::-1], mask[:, ::-1]
        cue = None if cue is None else cue[:, ::-1]
    image = jitter_colours(image, rng)
    clicker = Clicker(mask, jitter=float(rng.uniform(0.0, 3.0)), seed=int(rng.integers(1 << 31)))
    extremes = np.array([[c.x, c.y] for c in clicker.extreme_clicks()], np.float32)
    margin = float(np.clip(config.margin + rng.normal(0.0, 0.04), 0.02, 0.25))
    window = object_window(extremes, margin)
    shift = rng.normal(0.0, 0.02, 4) * max(window.width, window.height)
    window = Window(window.x0 + shift[0], window.y0 + shift[1], window.x1 + shift[2], window.y1 + shift[3])
    size = config.crop_size
    image_crop = crop_square(np.ascontiguousarray(image), window, size)
    truth = crop_square(mask.astype(np.float32), window, size, cv2.INTER_LINEAR) >= 0.5
    valid = valid_region(window, (image.shape[1], image.shape[0]), size)
    cue_crop = None if cue is None else crop_square(np.ascontiguousarray(cue), window, size, cv2.INTER_LINEAR)
    maps = encoder_input(image_crop, window.to_crop(extremes, size), valid, config.extreme_sigma, cue_crop)
    return Example(maps, truth)


def jitter_colours(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast and saturation changes, so colour cues generalise past the training photos."""
    pixels = image.astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * rng.uniform(0.7, 1.3)  # saturation
    pixels = (pixels - pixels.mean()) * rng.uniform(0.75, 1.25) + pixels.mean()  # contrast
    pixels = pixels * rng.uniform(0.75, 1.25)  # brightness
    return np.clip(pixels, 0, 255).astype(np.uint8)


def draw_batch(crops: Sequence[ObjectCrop], indices: Sequence[int], config: ClickNetConfig, rng: np.random.Generator):
    """Stack examples for ``indices`` into ``(encoder_maps, truth)`` arrays."""
    examples = [draw_example(crops[i], config, rng) for i in indices]
    return np.stack([e.encoder_maps for e in examples]), np.stack([e.truth for e in examples])
