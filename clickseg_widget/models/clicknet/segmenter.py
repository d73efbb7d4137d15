"""The ``torch`` backend: ClickNet behind the ``Segmenter`` interface.

``prepare`` only decodes the image: the object is unknown until the extreme
points arrive.  The first ``predict`` for an object crops around them and
runs the encoder once; its features are cached in ``ImageContext.features``
under the crop window, so every corrective click on that object runs only
the decoder.
"""
from __future__ import annotations

import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from ...clicks import Click, ClickKind, PromptKind, prompt_kind, split_prompt
from ..base import ImageContext, Prediction, Segmenter
from .device import cpu_threads, resolve_device
from .inputs import Window, click_maps, crop_square, encoder_input, grabcut_cue, object_window, paste_back, valid_region
from .train import TrainHistory
from .weights import DEFAULT_WEIGHTS, load_weights

OBJECTS_PER_IMAGE = 4  # encoder features kept per image (objects labelled one after another)
OUTSIDE_LOGIT = -20.0  # outside the object crop the answer is a confident "background"
OUTSIDE_PROBABILITY = float(np.float32(1.0) / (np.float32(1.0) + np.exp(np.float32(-OUTSIDE_LOGIT))))  # its sigmoid, in float32


class ClickNetSegmenter(Segmenter):
    name = "torch"
    last_fine_tune: TrainHistory | None = None  # set by ``fine_tune``: the loss per epoch of the latest run

    def __init__(
        self,
        weights: str | Path | None = None,
        device: str | torch.device = "auto",
        threads: int | None = 1,
        cue_size: int | None = None,
        flip_average: bool = False,
        honour_clicks: bool = True,
    ) -> None:
        """``threads``: torch CPU threads per call (None keeps the process setting); ignored on CUDA.

        ``cue_size``: side of the crop GrabCut sees for the classical input cue
        (None: the network's crop size, as in training); the cue is shrunk to
        the network's crop afterwards.  ``flip_average``: also run the mirrored
        crop and average the logits (test-time augmentation, about twice the cost).
        ``honour_clicks``: where the network leaves a clicked pixel on the wrong
        side, the click's own disk (as the network saw it, at full resolution)
        takes the asked-for label, so no click is ever ignored.
        """
        super().__init__()
        self.cue_size = cue_size
        self.flip_average = flip_average
        self.honour_clicks = honour_clicks
        self.device = resolve_device(device)
        self.threads = threads if self.device.type == "cpu" else None
        self.weights_path = Path(weights) if weights is not None else DEFAULT_WEIGHTS
        self.model, self.metadata = load_weights(self.weights_path, self.device)

    @property
    def config(self):
        return self.model.config

    def encode(self, image: np.ndarray) -> dict[str, Any]:
        return {"clicknet_crops": OrderedDict()}

    def segment(self, context: ImageContext, clicks: list[Click], previous: np.ndarray | None) -> Prediction:
        start = time.perf_counter()
        size = self.config.crop_size
        prompt, corrective = split_prompt(clicks)
        kind = prompt_kind(prompt) or PromptKind.EXTREME
        points = np.array([[c.x, c.y] for c in prompt], np.float32)
        window = object_window(points, self.config.margin)
        features, encode_ms = self._features(context, window, points, kind)
        in_crop = [Click(float(x), float(y), c.kind) for c, (x, y) in zip(corrective, window.to_crop([(c.x, c.y) for c in corrective], size))]
        previous_crop = None
        if previous is not None:
            previous_crop = crop_square(previous, window, size, cv2.INTER_LINEAR) >= 0.5
        maps = click_maps(in_crop, previous_crop, size, self.config.click_radius)
        decode_start = time.perf_counter()
        with torch.inference_mode(), cpu_threads(self.threads):
            logits = self.model.decode(features, self._batch(maps)).float().cpu().numpy()
        logits = (logits[0, 0] + logits[1, 0, :, ::-1]) / 2.0 if self.flip_average else logits[0, 0]
        decode_ms = (time.perf_counter() - decode_start) * 1000.0
        probability = paste_back(logits, window, context.size, fill=OUTSIDE_PROBABILITY, transform=_sigmoid_inplace)
        if self.honour_clicks:
            honour_clicks(probability, corrective, self.config.click_radius * window.width / size)
        timings = {"encode_ms": encode_ms, "decode_ms": decode_ms, "clicknet_ms": (time.perf_counter() - start) * 1000.0}
        return Prediction.from_probability(probability, timings)

    def _features(self, context: ImageContext, window: Window, points: np.ndarray, kind: PromptKind):
        """Encoder features for this object crop and prompt, computed once and cached on the context."""
        cache: OrderedDict = context.features.setdefault("clicknet_crops", OrderedDict())
        key = (window.key(), kind.value)
        if key in cache:
            cache.move_to_end(key)
            return cache[key], 0.0
        start = time.perf_counter()
        size = self.config.crop_size
        crop = crop_square(context.image, window, size)
        valid = valid_region(window, context.size, size)
        cue = None
        if self.config.grabcut_iterations > 0:
            cue = self._grabcut_cue(context.image, window, points, kind)
        maps = encoder_input(
            crop, window.to_crop(points, size), kind, valid, self.config.extreme_sigma, cue, self.config.prompt_channel
        )
        with torch.inference_mode(), cpu_threads(self.threads):
            features = self.model.encode(self._batch(maps))
        cache[key] = features
        while len(cache) > OBJECTS_PER_IMAGE:
            cache.popitem(last=False)
        return features, (time.perf_counter() - start) * 1000.0

    def _batch(self, maps: np.ndarray) -> torch.Tensor:
        """One crop as a batch; with ``flip_average`` its mirror image as the second sample."""
        batch = np.stack([maps, maps[:, :, ::-1]]) if self.flip_average else maps[None]
        return torch.from_numpy(np.ascontiguousarray(batch)).to(self.device)

    def _grabcut_cue(self, image: np.ndarray, window: Window, points: np.ndarray, kind: PromptKind) -> np.ndarray:
        size = self.config.crop_size
        cue_size = self.cue_size or size
        crop = crop_square(image, window, cue_size)
        cue = grabcut_cue(crop, window.to_crop(points, cue_size), kind, self.config.grabcut_iterations)
        if cue_size != size:
            cue = cv2.resize(cue, (size, size), interpolation=cv2.INTER_AREA)
        return cue

    def describe(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "device": str(self.device),
            "weights": str(self.weights_path),
            "config": self.config.to_dict(),
            "provenance": self.metadata.get("provenance", {}),
        }


def honour_clicks(probability: np.ndarray, clicks: list[Click], radius: float) -> None:
    """Give every positive/negative click whose own pixel ended on the wrong side its asked-for label.

    The click's disk of up to ``radius`` image pixels (the disk the network
    was shown), shrunk to stay clear of every click that asked for the other
    label, is set just past the threshold.  This is what lets a click fix
    detail finer than the network's crop grid on a large image.  Boundary
    clicks lie on the edge itself and are left to the network.
    """
    height, width = probability.shape
    labelled = [c for c in clicks if c.kind in (ClickKind.POSITIVE, ClickKind.NEGATIVE)]
    for click in labelled:
        x, y = min(width - 1, int(click.x)), min(height - 1, int(click.y))
        positive = click.kind is ClickKind.POSITIVE
        if (probability[y, x] >= 0.5) == positive:
            continue
        others = [np.hypot(o.x - click.x, o.y - click.y) for o in labelled if o.kind is not click.kind]
        r = int(max(0.0, min([radius, *(d / 2.0 - 1.0 for d in others)])))
        x0, y0, x1, y1 = max(0, x - r), max(0, y - r), min(width, x + r + 1), min(height, y + r + 1)
        disk = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.circle(disk, (x - x0, y - y0), r, 1, -1)
        patch = probability[y0:y1, x0:x1]
        inside = disk.astype(bool)
        patch[inside] = np.maximum(patch[inside], 0.75) if positive else np.minimum(patch[inside], 0.25)


def _sigmoid_inplace(logits: np.ndarray) -> np.ndarray:
    """Logits -> probabilities without temporaries: an 8000x8000 map is 256 MB per copy."""
    np.clip(logits, -30.0, 30.0, out=logits)
    np.negative(logits, out=logits)
    np.exp(logits, out=logits)
    logits += 1.0
    return np.reciprocal(logits, out=logits)
