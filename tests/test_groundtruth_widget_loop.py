"""The auto-labeling loop with the widget as the human: same job folder as the simulator, resumable."""
from __future__ import annotations

import json

from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.reporting import cost_table
from clickseg_widget.groundtruth.simulator import SimulationSettings
from clickseg_widget.groundtruth.widget_loop import widget_auto_labeling
from clickseg_widget.models.registry import get_segmenter

# a 4-object validation set is little evidence: a low confidence still lets this small run machine-label
SMALL = dict(
    limit=14, probe_size=2, batch_size=4, validation_fraction=0.25, fine_tune_epochs=0, seed=0, target_miou=0.3,
    validation_confidence=0.6,
)


def test_widget_labels_the_human_batches_and_a_restart_reuses_them(shared_data, tmp_path):
    settings = SimulationSettings(**SMALL)
    segmenter = get_segmenter("grabcut", work_size=64, iterations=2)
    result, annotator = widget_auto_labeling(shared_data / "davis345", tmp_path / "labels", segmenter, settings, progress=False)
    assert result.human_labels + result.machine_labels + result.unlabeled == 14
    assert result.machine_labels > 0 and annotator.labeled_now == result.human_labels and annotator.reused == 0
    # each human label: the box's two corners, then at most max_corrective_clicks (5) corrections
    assert 2 * result.human_labels <= annotator.clicks <= 7 * result.human_labels
    coco = json.loads((tmp_path / "labels" / "annotations.json").read_text())  # every human label was accepted in the widget
    assert len(coco["annotations"]) == result.human_labels
    job = load_job(result.folder)
    assert cost_table(job)["totals"]["human_objects"] == result.human_labels

    # a kernel restart: a new widget on the same folder; nothing accepted is asked again
    again, resumed = widget_auto_labeling(shared_data / "davis345", tmp_path / "labels", segmenter, settings, progress=False)
    assert (resumed.labeled_now, resumed.reused, resumed.clicks) == (0, result.human_labels, 0)
    assert (again.human_labels, again.machine_labels) == (result.human_labels, result.machine_labels)
    assert len(json.loads((tmp_path / "labels" / "annotations.json").read_text())["annotations"]) == result.human_labels
