"""Iterative click training (RITM) on pre-cropped objects.

Per batch the encoder runs once; then 0..N corrective rounds are simulated
without gradients -- each adds the click the evaluation protocol would add
for the current error and feeds the thresholded mask back -- and only the
last decoder pass is supervised.  Because only the light decoder is repeated, simulating
clicks costs a fraction of a step.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ...clicks import ClickKind
from ...evaluation.clicker import Clicker
from .data import ObjectCrop, draw_batch
from .inputs import click_maps
from .network import ClickNet


@dataclass
class TrainSettings:
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    max_corrective: int = 4  # corrective rounds simulated per batch are drawn from 1..max_corrective ...
    extreme_only: float = 0.35  # ... except this share of batches, which train the first mask (no clicks)
    boundary_fraction: float = 0.25  # share of objects whose corrective clicks are boundary clicks
    jitter: float = 1.5  # pixels (crop scale) of Gaussian jitter on simulated corrective clicks
    seed: int = 0
    time_budget_s: float | None = None  # stop (with the learning rate annealed) when this much time has passed
    freeze_batchnorm: bool = False  # fine-tuning on a few images keeps the trained batch statistics
    progress: bool = True


@dataclass
class TrainHistory:
    epoch_losses: list[float] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.epoch_losses)


def segmentation_loss(logits: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """BCE for per-pixel calibration plus soft IoU, which weighs small objects like large ones."""
    bce = F.binary_cross_entropy_with_logits(logits, truth)
    prob = torch.sigmoid(logits)
    inter = (prob * truth).sum(dim=(1, 2, 3))
    union = (prob + truth - prob * truth).sum(dim=(1, 2, 3)).clamp_min(1.0)
    return bce + (1.0 - inter / union).mean()


class ClickState:
    """The simulated user of one training object, in crop pixel coordinates."""

    def __init__(self, truth: np.ndarray, boundary: bool, jitter: float, seed: int) -> None:
        self.clicker = Clicker(truth, mode="boundary" if boundary else "standard", jitter=jitter, seed=seed)
        self.points: dict[ClickKind, list[tuple[float, float]]] = {k: [] for k in (ClickKind.POSITIVE, ClickKind.NEGATIVE, ClickKind.BOUNDARY)}

    def add_click(self, prediction: np.ndarray) -> None:
        click = self.clicker.next_click(prediction)
        if click is not None:
            self.points[click.kind].append((click.x, click.y))

    def maps(self, previous: np.ndarray | None, size: int, radius: int) -> np.ndarray:
        return click_maps(
            self.points[ClickKind.POSITIVE], self.points[ClickKind.NEGATIVE], self.points[ClickKind.BOUNDARY], previous, size, radius
        )


def _stack_maps(states: Sequence[ClickState], previous: np.ndarray | None, size: int, radius: int, device) -> torch.Tensor:
    maps = [s.maps(None if previous is None else previous[i], size, radius) for i, s in enumerate(states)]
    return torch.from_numpy(np.stack(maps)).to(device)


def learning_rate(settings: TrainSettings, step: int, progress: float) -> float:
    """Linear warm-up, then cosine decay over the run's progress (steps or time, whichever is further)."""
    warm = min(1.0, (step + 1) / max(1, settings.warmup_steps))
    return settings.learning_rate * warm * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def train_model(
    model: ClickNet,
    crops: Sequence[ObjectCrop],
    settings: TrainSettings,
    device: torch.device,
    on_epoch: Callable[[ClickNet, TrainHistory], None] | None = None,
) -> TrainHistory:
    """Train ``model`` in place on ``crops``; returns the per-epoch mean losses."""
    if not crops:
        raise ValueError("no training objects")
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model.to(device)
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    config = model.config
    size, radius = config.crop_size, config.click_radius
    batch_size = min(settings.batch_size, len(crops))
    steps_per_epoch = max(1, len(crops) // batch_size)
    total_steps = settings.epochs * steps_per_epoch
    history = TrainHistory()
    start = time.perf_counter()
    step = 0
    for epoch in range(settings.epochs):
        _set_train_mode(model, settings.freeze_batchnorm)
        order = rng.permutation(len(crops))
        losses = []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{settings.epochs}", disable=not settings.progress, leave=False)
        for batch_index in bar:
            elapsed = time.perf_counter() - start
            progress = step / total_steps
            if settings.time_budget_s:
                progress = max(progress, elapsed / settings.time_budget_s)
            if progress >= 1.0:
                break
            for group in optimiser.param_groups:
                group["lr"] = learning_rate(settings, step, progress)
            indices = order[batch_index * batch_size : (batch_index + 1) * batch_size]
            loss = _train_step(model, optimiser, crops, indices, settings, rng, device, size, radius)
            losses.append(loss)
            step += 1
            bar.set_postfix(loss=f"{loss:.3f}", lr=f"{optimiser.param_groups[0]['lr']:.1e}")
        if not losses:
            break
        history.epoch_losses.append(float(np.mean(losses)))
        history.steps = step
        history.seconds = time.perf_counter() - start
        if settings.progress:
            tqdm.write(f"epoch {epoch + 1}: loss {history.epoch_losses[-1]:.4f} ({history.seconds / 60:.1f} min)")
        if on_epoch is not None:
            on_epoch(model, history)
    model.eval()
    history.seconds = time.perf_counter() - start
    return history


def _set_train_mode(model: ClickNet, freeze_batchnorm: bool) -> None:
    model.train()
    if freeze_batchnorm:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()


def _train_step(model, optimiser, crops, indices, settings, rng, device, size, radius) -> float:
    encoder_maps, truth_np = draw_batch(crops, indices, model.config, rng)
    truth = torch.from_numpy(truth_np[:, None].astype(np.float32)).to(device)
    states = [
        ClickState(t, boundary=rng.random() < settings.boundary_fraction, jitter=settings.jitter, seed=int(rng.integers(1 << 31)))
        for t in truth_np
    ]
    features = model.encode(torch.from_numpy(encoder_maps).to(device))
    rounds = 0 if rng.random() < settings.extreme_only else int(rng.integers(1, settings.max_corrective + 1))
    previous = None
    if rounds:
        # RITM: simulate the clicks without gradients, supervise only the pass that sees them
        with torch.no_grad():
            frozen = tuple(f.detach() for f in features)
            for _ in range(rounds):
                logits = model.decode(frozen, _stack_maps(states, previous, size, radius, device))
                previous = (logits > 0).squeeze(1).cpu().numpy()
                for state, mask in zip(states, previous):
                    state.add_click(mask)
        # now and then no previous mask, so callers that pass none still get a sensible answer
        previous = previous & (rng.random(len(previous)) >= 0.1)[:, None, None]
    logits = model.decode(features, _stack_maps(states, previous, size, radius, device))
    loss = segmentation_loss(logits, truth)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return float(loss.detach())
