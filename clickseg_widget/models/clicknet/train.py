"""Iterative click training (RITM) on pre-cropped objects, resumable at any step.

Per batch the encoder runs once; then 0..N corrective rounds are simulated
without gradients -- each adds the click the evaluation protocol would add
for the current error and feeds the thresholded mask back -- and only the
last decoder pass is supervised.  Because only the light decoder is repeated,
long click sequences cost a fraction of a step.

Every step draws its randomness from ``(seed, step)`` alone, so a run stopped
at a checkpoint and resumed reproduces the uninterrupted run exactly.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ...clicks import Click
from ...simulation.clicker import Clicker
from .data import ObjectCrop, draw_batch
from .inputs import click_maps
from .network import ClickNet


@dataclass
class TrainSettings:
    steps: int | None = None  # schedule length; None: ``epochs`` passes over the pool
    epochs: int = 20
    batch_size: int = 16
    learning_rate: float = 2e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 50
    max_corrective: int = 10  # corrective rounds simulated per batch are drawn from 1..max_corrective ...
    extreme_only: float = 0.35  # ... except this share of batches, which train the first mask (no clicks)
    boundary_fraction: float = 0.25  # share of objects whose corrective clicks are boundary clicks
    box_share: float = 0.35  # share of objects started with a box instead of extreme points
    click_weight: float = 4.0  # extra BCE weight on the disks of positive/negative clicks: teaches honouring them
    jitter: float = 1.5  # pixels (crop scale) of Gaussian jitter on simulated corrective clicks
    seed: int = 0
    time_budget_s: float | None = None  # stop (checkpointable, schedule unchanged) after this much time in this run
    freeze_batchnorm: bool = False  # fine-tuning on a few images keeps the trained batch statistics
    progress: bool = True

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainHistory:
    losses: list[float] = field(default_factory=list)  # mean loss per window of ``checkpoint_every`` steps
    steps: int = 0  # steps completed in total (including those before a resume)
    seconds: float = 0.0  # training time in total (including earlier runs)

    @property
    def windows(self) -> int:
        """Loss windows recorded (``fine_tune`` makes each window one epoch)."""
        return len(self.losses)


@dataclass
class TrainState:
    """What a checkpoint holds besides the weights: where the schedule is."""

    step: int = 0
    seconds: float = 0.0
    losses: list[float] = field(default_factory=list)


def segmentation_loss(logits: torch.Tensor, truth: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
    """BCE for per-pixel calibration (optionally weighted) plus soft IoU, which weighs small objects like large ones."""
    bce = F.binary_cross_entropy_with_logits(logits, truth, weight=weight)
    prob = torch.sigmoid(logits)
    inter = (prob * truth).sum(dim=(1, 2, 3))
    union = (prob + truth - prob * truth).sum(dim=(1, 2, 3)).clamp_min(1.0)
    return bce + (1.0 - inter / union).mean()


class ClickState:
    """The simulated user of one training object, in crop pixel coordinates.

    An augmented crop can lose a thin object altogether; its user then
    clicks nothing and the example teaches "background".
    """

    def __init__(self, truth: np.ndarray, boundary: bool, jitter: float, seed: int) -> None:
        mode = "boundary" if boundary else "standard"
        self.clicker = Clicker(truth, mode=mode, jitter=jitter, seed=seed) if truth.any() else None
        self.clicks: list[Click] = []

    def add_click(self, prediction: np.ndarray) -> None:
        if self.clicker is None:
            return
        click = self.clicker.next_click(prediction)
        if click is not None:
            self.clicks.append(click)


def _stack_maps(states: Sequence[ClickState], previous: np.ndarray | None, size: int, radius: int, like: torch.Tensor) -> torch.Tensor:
    maps = [click_maps(s.clicks, None if previous is None else previous[i], size, radius) for i, s in enumerate(states)]
    return torch.from_numpy(np.stack(maps)).to(like)


def learning_rate(settings: TrainSettings, step: int, total_steps: int) -> float:
    """Linear warm-up, then cosine decay to zero at ``total_steps``."""
    warm = min(1.0, (step + 1) / max(1, settings.warmup_steps))
    return settings.learning_rate * warm * 0.5 * (1.0 + math.cos(math.pi * min(1.0, step / max(1, total_steps))))


def pool_weights(pool: Mapping[str, Sequence[ObjectCrop]]) -> np.ndarray:
    """Per-object draw probabilities: each dataset gets a share proportional to the square root of its size.

    One large salient-object set would otherwise decide what "an object" is;
    the square root keeps small sets (people, parts) in every few batches.
    """
    sizes = np.array([len(crops) for crops in pool.values()], np.float64)
    shares = np.sqrt(sizes) / np.sqrt(sizes).sum()
    return np.concatenate([np.full(int(n), share / n) for share, n in zip(shares, sizes) if n])


def total_steps(settings: TrainSettings, objects: int) -> int:
    batch = min(settings.batch_size, objects)
    return settings.steps if settings.steps is not None else settings.epochs * max(1, objects // batch)


def train_model(
    model: ClickNet,
    pool: Mapping[str, Sequence[ObjectCrop]] | Sequence[ObjectCrop],
    settings: TrainSettings,
    device: torch.device,
    optimiser: torch.optim.Optimizer | None = None,
    state: TrainState | None = None,
    on_checkpoint: Callable[[ClickNet, torch.optim.Optimizer, TrainState], None] | None = None,
    checkpoint_every: int = 100,
) -> TrainHistory:
    """Train ``model`` in place; resume from ``optimiser`` + ``state`` when given (see ``checkpoint``).

    ``pool`` maps dataset names to crops (balanced by ``pool_weights``) or is
    one list of crops.  ``on_checkpoint`` is called every ``checkpoint_every``
    steps and at the end.
    """
    if not isinstance(pool, Mapping):
        pool = {"objects": list(pool)}
    crops = [crop for crops in pool.values() for crop in crops]
    if not crops:
        raise ValueError("no training objects")
    weights = pool_weights(pool)
    model.to(device)
    optimiser = optimiser or make_optimiser(model, settings)
    state = state or TrainState()
    size, radius = model.config.crop_size, model.config.click_radius
    batch_size = min(settings.batch_size, len(crops))
    steps = total_steps(settings, len(crops))
    start = time.perf_counter()
    seconds_before = state.seconds
    window: list[float] = []
    saved_at: int | None = None
    _set_train_mode(model, settings.freeze_batchnorm)
    bar = tqdm(total=steps, initial=state.step, desc="training", disable=not settings.progress)
    while state.step < steps:
        if settings.time_budget_s is not None and time.perf_counter() - start >= settings.time_budget_s:
            break
        rng = np.random.default_rng([settings.seed, state.step])
        for group in optimiser.param_groups:
            group["lr"] = learning_rate(settings, state.step, steps)
        indices = rng.choice(len(crops), size=batch_size, replace=False, p=weights)
        window.append(_train_step(model, optimiser, crops, indices, settings, rng, size, radius))
        state.step += 1
        bar.update(1)
        if state.step % checkpoint_every == 0 or state.step == steps:
            state.losses.append(float(np.mean(window)))
            window = []
            state.seconds = seconds_before + time.perf_counter() - start
            bar.set_postfix(loss=f"{state.losses[-1]:.3f}", lr=f"{optimiser.param_groups[0]['lr']:.1e}")
            if on_checkpoint is not None:
                on_checkpoint(model, optimiser, state)
                saved_at = state.step
    bar.close()
    if window:
        state.losses.append(float(np.mean(window)))
    state.seconds = seconds_before + time.perf_counter() - start
    if on_checkpoint is not None and saved_at != state.step:
        on_checkpoint(model, optimiser, state)
    model.eval()
    return TrainHistory(list(state.losses), state.step, state.seconds)


def make_optimiser(model: ClickNet, settings: TrainSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)


def _set_train_mode(model: ClickNet, freeze_batchnorm: bool) -> None:
    model.train()
    if freeze_batchnorm:
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()


def _train_step(model, optimiser, crops, indices, settings, rng, size, radius) -> float:
    encoder_maps, truth_np = draw_batch(crops, indices, model.config, rng, settings.box_share)
    like = next(model.parameters())  # inputs follow the model's device and dtype
    truth = torch.from_numpy(truth_np[:, None].astype(np.float32)).to(like)
    states = [
        ClickState(t, boundary=rng.random() < settings.boundary_fraction, jitter=settings.jitter, seed=int(rng.integers(1 << 31)))
        for t in truth_np
    ]
    features = model.encode(torch.from_numpy(encoder_maps).to(like))
    rounds = 0 if rng.random() < settings.extreme_only else int(rng.integers(1, settings.max_corrective + 1))
    previous: np.ndarray | None = None
    if rounds:
        # RITM: simulate the clicks without gradients, supervise only the pass that sees them
        with torch.no_grad():
            frozen = tuple(f.detach() for f in features)
            for _ in range(rounds):
                logits = model.decode(frozen, _stack_maps(states, previous, size, radius, like))
                previous = (logits > 0).squeeze(1).cpu().numpy()
                for state, mask in zip(states, previous):
                    state.add_click(mask)
        # now and then no previous mask, so callers that pass none still get a sensible answer
        assert previous is not None  # rounds >= 1 decoded at least once
        previous = previous & (rng.random(len(previous)) >= 0.1)[:, None, None]
    maps = _stack_maps(states, previous, size, radius, like)
    logits = model.decode(features, maps)
    weight = None
    if settings.click_weight > 0:
        weight = 1.0 + settings.click_weight * maps[:, :2].sum(dim=1, keepdim=True)  # positive and negative disks
    loss = segmentation_loss(logits, truth, weight)
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    return float(loss.detach())
