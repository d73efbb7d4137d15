"""Adapting the shipped network to a user's own labels.

Few images, so: small learning rate, batch statistics frozen (a batch of
eight would otherwise overwrite what BatchNorm learned from a thousand
objects), same iterative click simulation as the full training.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from ...io.images import ImageSource
from .data import crops_from_pairs
from .device import cpu_threads
from .segmenter import ClickNetSegmenter
from .train import TrainHistory, TrainSettings, train_model
from .weights import save_weights


def fine_tune(
    segmenter: ClickNetSegmenter | None,
    images: Sequence[ImageSource],
    masks: Sequence[np.ndarray],
    epochs: int = 10,
    learning_rate: float = 3e-4,
    batch_size: int = 8,
    seed: int = 0,
    save_to: str | Path | None = None,
    progress: bool = False,
) -> ClickNetSegmenter:
    """Fine-tune ``segmenter`` IN PLACE on ``images`` (arrays or paths) and one boolean ``masks`` each.

    Each mask is one object of its image (same height and width).  Returns
    the same segmenter (a new one with the shipped weights when ``None`` is
    given) with ``last_fine_tune`` set to the loss history (one loss per epoch); ``save_to``
    also writes the new weights as safetensors.  Runs on the segmenter's
    device and (on CPU) its ``threads``.
    """
    if segmenter is None:
        segmenter = ClickNetSegmenter()
    if not isinstance(segmenter, ClickNetSegmenter):
        raise TypeError(f"fine_tune needs a ClickNetSegmenter (the 'torch' backend), got {type(segmenter).__name__}")
    if epochs < 1:
        raise ValueError("epochs must be at least 1")
    crops = crops_from_pairs(images, masks, segmenter.config, progress=progress)
    settings = TrainSettings(
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        warmup_steps=1,
        seed=seed,
        freeze_batchnorm=True,
        progress=progress,
    )
    steps_per_epoch = max(1, len(crops) // min(batch_size, len(crops)))
    with segmenter.lock, cpu_threads(segmenter.threads):
        history: TrainHistory = train_model(
            segmenter.model, crops, settings, segmenter.device, checkpoint_every=steps_per_epoch
        )
        segmenter.weights_changed()
    segmenter.last_fine_tune = history
    if save_to is not None:
        provenance = dict(segmenter.metadata.get("provenance", {}))
        provenance["fine_tuned"] = {"objects": len(crops), "epochs": epochs, "steps": history.steps, "seconds": round(history.seconds, 1)}
        save_weights(segmenter.model, save_to, provenance)
    return segmenter
