"""Ground Truth's automated labeling loop, run locally on a dataset with reference masks.

It forecasts what a real job would cost and how good its labels would be,
before anyone pays: human labels are the reference masks (optionally
degraded; boxes drawn by several simulated workers and consolidated, with
their agreement as confidence, see ``box_consolidation``), machine labels come from this project's click model prompted by
a simulated box source (see ``autolabel``).  The schedule follows Ground
Truth's: a probe batch, the rest of the first batch, a validation batch,
then rounds of "train, pick the threshold on validation, auto-label what
clears it, send the least confident objects to humans", until everything
is labeled or the budget is spent.  Output is a job folder that the readers
and plots consume unchanged, plus ``simulation.json`` (settings, thresholds,
references).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, cast

import numpy as np

from ..simulation.datasets import Sample, check_trainable, load_mask, load_samples
from ..io.atomic import atomic_write_json
from ..io.images import load_image
from ..models.base import Segmenter
from . import arns
from .autolabel import (
    MachineLabel,
    Trainer,
    choose_threshold,
    default_trainer,
    degrade_mask,
    detector_box,
    label_iou,
    predict_label,
    prefix_lower_bounds,
    worker_box,
)
from .box_consolidation import box_from_corners, box_mask, consolidate_boxes
from .costs import CostModel
from .job_results import SIMULATION_FILE
from .job_folder_writer import JobFolderWriter
from .storage import join_s3

SIMULATED_START = datetime(2026, 1, 1, 9, 0, 0)

# The human of the loop: labels one object (its sample and reference mask) and returns the accepted mask.
# Default: a simulated annotator (the reference, degraded); ``widget_annotator`` labels through the widget.
Annotator = Callable[[Sample, np.ndarray], np.ndarray]


@dataclass
class SimulationSettings:
    task: str = "semantic_segmentation"
    probe_size: int = 10
    batch_size: int = 50
    validation_fraction: float | None = None  # Ground Truth's: 0.2 below 5,000 objects, else 0.1
    target_miou: float | None = None  # 0.7 segmentation, 0.6 boxes
    min_validation_support: int = 3
    # one-sided confidence that the labels above the threshold reach the target (lower bound of their validation
    # mIoU); None: their mean alone, which a small validation set reaches by chance
    validation_confidence: float | None = 0.95
    max_human_labels: int | None = None
    max_cost_usd: float | None = None
    annotator_noise_px: float = 0.0
    box_noise: float = 0.05
    fine_tune_epochs: int = 2
    limit: int | None = None
    seed: int = 0
    class_name: str = "object"
    job_name: str = "clickseg-simulation"
    attribute: str | None = None
    output_path: str = "s3://clickseg-simulation/output/"
    input_prefix: str = "s3://clickseg-simulation/input/"

    def resolved(self, objects: int) -> "SimulationSettings":
        task = arns.task_type(self.task)
        settings = SimulationSettings(**asdict(self))
        if settings.validation_fraction is None:
            settings.validation_fraction = 0.2 if objects < 5000 else 0.1
        if settings.target_miou is None:
            settings.target_miou = task.target_miou
        if settings.attribute is None:
            settings.attribute = "label-ref" if self.task == "semantic_segmentation" else "label"
        if not 0 < settings.validation_fraction < 1:
            raise ValueError("validation_fraction must be between 0 and 1")
        if settings.validation_confidence is not None and not 0 < settings.validation_confidence < 1:
            raise ValueError("validation_confidence must be between 0 and 1 (e.g. 0.95), or None for the mean alone")
        if settings.probe_size < 1 or settings.batch_size < settings.probe_size:
            raise ValueError("need probe_size >= 1 and batch_size >= probe_size")
        return settings


@dataclass
class IterationRecord:
    iteration: int
    human: int = 0
    machine: int = 0
    threshold: float | None = None
    validation_miou_above: float | None = None
    validation_miou_low: float | None = None  # its one-sided lower bound at the settings' validation_confidence
    # the same admitted validation labels scored against the reference masks instead of the human labels: how far
    # the estimate the threshold relied on was from the truth (only a simulation can tell)
    validation_miou_above_reference: float | None = None
    validation_support: int = 0
    training_loss: list[float] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class SimulationResult:
    folder: Path
    iterations: list[IterationRecord]
    human_labels: int
    machine_labels: int
    unlabeled: int
    human_miou: float
    machine_miou: float
    seconds: float
    settings: SimulationSettings  # resolved: the target, validation size and confidence actually in force


@dataclass
class _Object:
    object_id: str
    sample: Sample
    source_ref: str
    truth: np.ndarray
    box: tuple[float, float, float, float]


class Simulation:
    """One run; ``run()`` writes the job folder and returns the summary."""

    def __init__(
        self,
        data_dir: str | Path,
        out_dir: str | Path,
        segmenter: Segmenter,
        settings: SimulationSettings = SimulationSettings(),
        trainer: Trainer | None = None,
        cost_model: CostModel | None = None,
        progress: Callable[[int], None] | None = None,
        annotator: Annotator | None = None,
        fine_tune_on_held_out: bool = False,
    ) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.segmenter = segmenter
        self.samples = spread(load_samples(self.data_dir), settings.limit)
        self.settings = settings.resolved(len(self.samples))
        self.trainer = trainer if trainer is not None else default_trainer(segmenter, self.settings.fine_tune_epochs)
        if self.trainer is not None and not fine_tune_on_held_out:
            # a validation set may run the loop's own fine-tune (in memory, on this run's human labels, saved nowhere)
            # only when asked: that is what a benchmark of the product's loop measures
            try:
                check_trainable(self.data_dir)
            except ValueError as error:
                raise ValueError(f"{error}; to forecast on it with the model as it is, turn fine-tuning off "
                                 "(fine_tune_epochs=0, --epochs 0)") from None
        self.cost_model = cost_model or CostModel.for_task(self.settings.task)  # budgets count the task's real price
        self.progress = progress or (lambda n: None)
        self.root = Path(out_dir) / self.settings.job_name
        if self.root.exists() and any(self.root.iterdir()):
            raise FileExistsError(f"{self.root} is not empty: choose another OUT_DIR or job name")
        self.writer = JobFolderWriter(
            self.root, self.settings.job_name, self.settings.task, str(self.settings.attribute),
            self.settings.class_name, self.settings.output_path,
        )
        self.rng = np.random.default_rng(self.settings.seed)
        self.simulated_workers = annotator is None
        self.annotator = annotator or (lambda sample, truth: degrade_mask(truth, self.settings.annotator_noise_px, self.rng))
        self.objects = [self._object(index, sample) for index, sample in enumerate(self.samples)]
        self.labels: dict[str, tuple[np.ndarray, bool, float]] = {}  # id -> (mask, human, confidence)
        self.lines: dict[str, dict[str, Any]] = {}
        self.validation: list[_Object] = []
        self.validation_ids: set[str] = set()
        self.predictions: dict[str, MachineLabel] = {}  # valid until the model is trained again
        self.spent = Decimal(0)
        self.clock = SIMULATED_START

    def _object(self, index: int, sample: Sample) -> _Object:
        truth, _ = load_mask(sample.mask_path)
        if not truth.any():
            raise ValueError(f"{sample.mask_path} is empty: every simulated object needs a reference mask")
        source_ref = join_s3(self.settings.input_prefix, sample.name + sample.image_path.suffix)
        box = detector_box(truth, self.settings.box_noise, self.rng)
        return _Object(str(index), sample, source_ref, truth, box)

    # -- the loop ------------------------------------------------------------
    def run(self) -> SimulationResult:
        start = time.perf_counter()
        order = [self.objects[i] for i in self.rng.permutation(len(self.objects))]
        unlabeled = {o.object_id: o for o in order}
        records: list[IterationRecord] = []
        s = self.settings
        validation_size = max(s.min_validation_support, round(cast(float, s.validation_fraction) * len(order)))  # resolved() filled it
        first_batches = [order[: s.probe_size], order[s.probe_size : s.batch_size], order[s.batch_size : s.batch_size + validation_size]]
        for number, batch in enumerate(first_batches, start=1):
            record = IterationRecord(number)
            began = time.perf_counter()
            self._humans(record, batch, unlabeled)
            if number == 3:
                self.validation = [o for o in batch if o.object_id in self.labels]
                self.validation_ids = {o.object_id for o in self.validation}
            self._close_iteration(record, began, records)
        number = len(records)
        while unlabeled:
            number += 1
            record = IterationRecord(number)
            began = time.perf_counter()
            labeled_before = len(self.labels)
            candidates = self._auto_label(record, unlabeled)
            human_batch = sorted(candidates, key=lambda pair: pair[0])[: s.batch_size]
            self._humans(record, [o for _, o in human_batch], unlabeled)
            self._close_iteration(record, began, records)
            if len(self.labels) == labeled_before:
                break  # no machine label and no budget for humans: the job stops here
        self._finish(records, unlabeled, time.perf_counter() - start)
        return self._result(records, len(unlabeled), time.perf_counter() - start)

    def _humans(self, record: IterationRecord, batch: list[_Object], unlabeled: dict[str, _Object]) -> None:
        lines = {}
        for item in batch[: self._human_allowance()]:
            mask, confidence = self._human_label(item, record.iteration)
            lines[item.object_id] = self._label(item, mask, human=True, confidence=confidence)
            unlabeled.pop(item.object_id)
            self.spent += self.cost_model.human_price
        record.human = len(lines)
        self.writer.write_consolidation(record.iteration, lines, self._tick())
        self.progress(len(lines))

    def _human_label(self, item: _Object, iteration: int) -> tuple[np.ndarray, float]:
        """The consolidated human label and its confidence.

        Boxes from simulated workers: each of the cost model's workers draws
        the annotator's mask's box with each side off by N(0, annotator noise)
        pixels (written to ``worker-response`` as a real job's workers' answers
        are), and consolidation gives their mean box and agreement.  A
        segmentation mask, or a label from a real person in the widget, is one
        worker's: Ground Truth reports confidence 0 for it.
        """
        if self.settings.task != "bounding_box" or not self.simulated_workers:
            return self.annotator(item.sample, item.truth), 0.0
        noise = self.settings.annotator_noise_px
        workers = [
            box_from_corners(worker_box(self.annotator(item.sample, item.truth), noise, self.rng))
            for _ in range(self.cost_model.workers_per_object)
        ]
        self.writer.write_worker_boxes(iteration, item.object_id, workers, item.truth.shape, self.clock)
        label = consolidate_boxes(workers)
        return box_mask(label, item.truth.shape), float(label.confidence or 0.0)

    def _human_allowance(self) -> int:
        s = self.settings
        allowance = len(self.objects)
        if s.max_human_labels is not None:
            allowance = min(allowance, s.max_human_labels - sum(h for _, h, _ in self.labels.values()))
        if s.max_cost_usd is not None:
            allowance = min(allowance, int((Decimal(str(s.max_cost_usd)) - self.spent) // self.cost_model.human_price))
        return max(0, allowance)

    def _auto_label(self, record: IterationRecord, unlabeled: dict[str, _Object]) -> list[tuple[float, _Object]]:
        """Train, choose the threshold, machine-label above it; returns (confidence, object) of the rest."""
        training = [
            o for o in self.objects
            if o.object_id in self.labels and self.labels[o.object_id][1] and o.object_id not in self.validation_ids
        ]
        if self.trainer is not None and training:
            record.training_loss = self.trainer(
                self.segmenter, [load_image(o.sample.image_path) for o in training], [self.labels[o.object_id][0] for o in training]
            )
            self.predictions.clear()
        s = self.settings
        scores, ious, reference_ious = [], [], []
        for item in self.validation:
            label = self._predict(item)
            scores.append(label.confidence)
            ious.append(label_iou(s.task, label.mask, self.labels[item.object_id][0]))
            reference_ious.append(label_iou(s.task, label.mask, item.truth))
        threshold = choose_threshold(scores, ious, cast(float, s.target_miou), s.min_validation_support, s.validation_confidence)
        record.threshold = threshold if np.isfinite(threshold) else None
        admitted = [score >= threshold for score in scores]
        above = [iou for iou, ok in zip(ious, admitted) if ok]
        record.validation_support = len(above)
        record.validation_miou_above = float(np.mean(above)) if above else None
        if above:
            record.validation_miou_above_reference = float(np.mean([v for v, ok in zip(reference_ious, admitted) if ok]))
        if above and s.validation_confidence is not None:
            record.validation_miou_low = float(prefix_lower_bounds(above, s.validation_confidence)[-1])
        lines, rest = {}, []
        when = self._tick()
        for item in list(unlabeled.values()):
            label = self._predict(item)
            if label.confidence >= threshold and label.mask.any():
                lines[item.object_id] = self._label(item, label.mask, human=False, confidence=label.confidence, when=when)
                unlabeled.pop(item.object_id)
                self.spent += self.cost_model.machine_price
            else:
                rest.append((label.confidence, item))
        record.machine = len(lines)
        self.writer.write_auto_labels(record.iteration, lines)
        self.progress(len(lines))
        return rest

    def _predict(self, item: _Object) -> MachineLabel:
        if item.object_id not in self.predictions:
            self.predictions[item.object_id] = predict_label(self.segmenter, load_image(item.sample.image_path), item.box)
        return self.predictions[item.object_id]

    def _label(self, item: _Object, mask: np.ndarray, human: bool, confidence: float, when: datetime | None = None) -> dict:
        self.labels[item.object_id] = (mask, human, confidence)
        line = self.writer.label_line(item.object_id, item.source_ref, mask, human, confidence, when or self._tick())
        self.lines[item.object_id] = line
        return line

    def _tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def _close_iteration(self, record: IterationRecord, began: float, records: list[IterationRecord]) -> None:
        self.writer.write_manifest(self._manifest_lines(), record.iteration)
        self.clock = SIMULATED_START + timedelta(hours=record.iteration)
        record.seconds = round(time.perf_counter() - began, 2)
        records.append(record)

    def _manifest_lines(self, include_unlabeled: bool = False) -> list[dict[str, Any]]:
        lines = []
        for item in self.objects:
            if item.object_id in self.lines:
                lines.append(self.lines[item.object_id])
            elif include_unlabeled:
                lines.append({"source-ref": item.source_ref})
        return lines

    # -- results ---------------------------------------------------------------
    def _quality(self, human: bool) -> float:
        values = []
        for item in self.objects:
            if item.object_id in self.labels:
                mask, is_human, _ = self.labels[item.object_id]
                if is_human == human:
                    values.append(label_iou(self.settings.task, mask, item.truth))
        return float(np.mean(values)) if values else float("nan")

    def _finish(self, records: list[IterationRecord], unlabeled: dict[str, _Object], seconds: float) -> None:
        self.writer.write_manifest(self._manifest_lines(include_unlabeled=True))
        summary = {
            "settings": asdict(self.settings),
            "segmenter": self.segmenter.describe(),
            "data_dir": str(self.data_dir),
            "images": {o.source_ref: o.sample.image_path.relative_to(self.data_dir).as_posix() for o in self.objects},
            "masks": {o.source_ref: o.sample.mask_path.relative_to(self.data_dir).as_posix() for o in self.objects},
            "validation": [o.source_ref for o in self.validation],
            "iterations": [asdict(r) for r in records],
            "unlabeled": sorted(o.source_ref for o in unlabeled.values()),
            "quality": {"human_miou": self._quality(True), "machine_miou": self._quality(False)},
            "seconds": round(seconds, 1),
        }
        atomic_write_json(self.root / SIMULATION_FILE, summary)

    def _result(self, records: list[IterationRecord], unlabeled: int, seconds: float) -> SimulationResult:
        human = sum(r.human for r in records)
        machine = sum(r.machine for r in records)
        return SimulationResult(
            self.root, records, human, machine, unlabeled, self._quality(True), self._quality(False), seconds, self.settings
        )


def spread(samples: list[Sample], limit: int | None) -> list[Sample]:
    """``limit`` samples evenly spaced over the sorted list, so video frames come from many videos."""
    if not limit or limit >= len(samples):
        return samples
    return [samples[i] for i in np.linspace(0, len(samples) - 1, limit).round().astype(int)]


def simulate(
    data_dir: str | Path,
    out_dir: str | Path,
    segmenter: Segmenter | str = "default",
    settings: SimulationSettings = SimulationSettings(),
    trainer: Trainer | None = None,
    cost_model: CostModel | None = None,
    progress: bool = True,
    annotator: Annotator | None = None,
    fine_tune_on_held_out: bool = False,
) -> SimulationResult:
    """Run the simulation with a tqdm bar over labeled objects; see ``Simulation``."""
    from tqdm.auto import tqdm

    from ..models.registry import get_segmenter

    model = get_segmenter(segmenter)
    with tqdm(desc="simulated labeling", unit="obj", disable=not progress) as bar:
        simulation = Simulation(
            data_dir, out_dir, model, settings, trainer, cost_model, bar.update, annotator, fine_tune_on_held_out
        )
        bar.total = len(simulation.objects)
        return simulation.run()
