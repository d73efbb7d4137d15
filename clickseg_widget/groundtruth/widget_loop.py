"""Ground Truth's automated-labeling loop with the widget as the human annotator.

The loop is the simulator's (``Simulation``: probe and validation batches, then rounds of
fine-tune / threshold for the target mIoU / machine-label above it / least confident to the
human); only the human differs: each object the loop sends to people is labeled in a
``ClickSegWidget`` through its Python API (a box, then corrective clicks from the simulated
user until the mask is good enough) and accepted there, so it lands in the widget's autosave.
A kernel restart loses nothing: running again with the same settings replays the loop, takes
every label already accepted from the autosave and asks only for the rest.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from ..io.atomic import atomic_write_json
from ..models.base import Segmenter
from ..models.registry import get_segmenter
from ..simulation.clicker import Clicker
from ..simulation.datasets import Sample, load_samples
from ..simulation.metrics import iou
from ..widget import ClickSegWidget
from .simulator import SimulationResult, SimulationSettings, simulate

ACCEPTED_FILE = "loop-labels.json"  # sample name -> [image name, object id] of its accepted object
JOB_FOLDER = "job"


class WidgetAnnotator:
    """Labels one object in the widget: box from the reference, corrective clicks until ``target_iou``."""

    def __init__(self, widget: ClickSegWidget, folder: Path, max_corrective_clicks: int = 5, target_iou: float = 0.9) -> None:
        self.widget, self.folder = widget, folder
        self.max_corrective_clicks, self.target_iou = max_corrective_clicks, target_iou
        self.index = {item.name: number for number, item in enumerate(widget.state.items)}
        path = folder / ACCEPTED_FILE
        self.accepted: dict[str, list[Any]] = json.loads(path.read_text()) if path.is_file() else {}
        self.labeled_now = 0
        self.reused = 0
        self.clicks = 0  # prompt corners + corrective clicks placed in this run

    def __call__(self, sample: Sample, truth: np.ndarray) -> np.ndarray:
        earlier = self._accepted_mask(sample)
        if earlier is not None:
            self.reused += 1
            return earlier
        name = sample.image_path.name
        self.widget.go_to(self.index[name])
        clicker = Clicker(truth)
        first, second = clicker.box_clicks()
        self.widget.add_box(first.x, first.y, second.x, second.y)
        self.clicks += 2
        for _ in range(self.max_corrective_clicks):
            mask = self.widget.mask
            if mask is not None and iou(mask, truth) >= self.target_iou:
                break
            click = clicker.next_click(mask if mask is not None else np.zeros_like(truth))
            if click is None:
                break
            self.widget.click(click.x, click.y, click.kind)
            self.clicks += 1
        accepted = self.widget.accept()
        self.accepted[sample.name] = [name, accepted.object_id]
        atomic_write_json(self.folder / ACCEPTED_FILE, self.accepted)  # after the widget's own autosave
        self.labeled_now += 1
        return accepted.mask.copy()

    def _accepted_mask(self, sample: Sample) -> np.ndarray | None:
        if sample.name not in self.accepted:
            return None
        name, object_id = self.accepted[sample.name]
        found = [o for o in self.widget.state.objects.get(name, []) if o.object_id == object_id]
        return found[0].mask.copy() if found else None  # deleted in the widget since: label it again


def widget_auto_labeling(
    data_dir: str | Path,
    labels_dir: str | Path,
    segmenter: Segmenter | str = "default",
    settings: SimulationSettings = SimulationSettings(),
    max_corrective_clicks: int = 5,
    target_iou: float = 0.9,
    progress: bool = True,
    **simulate_options: Any,
) -> tuple[SimulationResult, WidgetAnnotator]:
    """Run the loop with a widget (autosaving to ``labels_dir``) as the human; the job folder is ``labels_dir/job/<job>``.

    The job folder is derived output, rebuilt on every run; the accepted labels are the widget's autosave.
    """
    labels = Path(labels_dir)
    model = get_segmenter(segmenter)
    images = list(dict.fromkeys(sample.image_path for sample in load_samples(data_dir)))
    widget = ClickSegWidget(images, segmenter=model, autosave=labels, canvas_size=(320, 240))
    annotator = WidgetAnnotator(widget, labels, max_corrective_clicks, target_iou)
    shutil.rmtree(labels / JOB_FOLDER / settings.job_name, ignore_errors=True)
    result = simulate(data_dir, labels / JOB_FOLDER, model, settings, progress=progress, annotator=annotator, **simulate_options)
    return result, annotator
