"""Human box labels carry the workers' agreement as confidence, as Ground Truth's consolidated boxes do."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clickseg_widget.groundtruth.box_consolidation import box_from_corners, box_mask, consolidate_boxes
from clickseg_widget.groundtruth.costs import CostModel
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.outputs import Box
from clickseg_widget.groundtruth.simulator import Simulation, SimulationSettings
from clickseg_widget.models.registry import get_segmenter


def test_identical_boxes_agree_fully():
    label = consolidate_boxes([Box(0, 5, 5, 10, 20)] * 3)
    assert (label.left, label.top, label.width, label.height, label.confidence) == (5, 5, 10, 20, 1.0)


def test_two_shifted_boxes_meet_in_the_middle():
    # edges 0..10 and 2..12 average to 1..11: each worker overlaps it 9 of 11 columns
    label = consolidate_boxes([Box(0, 0, 0, 10, 10), Box(0, 2, 0, 10, 10)])
    assert (label.left, label.width) == (1, 10)
    assert label.confidence == pytest.approx(9 / 11)


def test_an_outlier_worker_lowers_the_confidence():
    agree = [Box(0, 0, 0, 12, 12)] * 2
    label = consolidate_boxes([*agree, Box(0, 0, 0, 6, 6)])  # mean edges 0..10: IoU 100/144, 100/144, 36/100
    assert (label.left, label.top, label.width, label.height) == (0, 0, 10, 10)
    assert label.confidence == pytest.approx((100 / 144 * 2 + 36 / 100) / 3)
    assert label.confidence < consolidate_boxes(agree).confidence


def test_one_worker_has_nobody_to_agree_with():
    assert consolidate_boxes([Box(1, 3, 4, 5, 6)]).confidence == 0.0
    with pytest.raises(ValueError, match="at least one"):
        consolidate_boxes([])
    with pytest.raises(ValueError, match="one class"):
        consolidate_boxes([Box(0, 0, 0, 5, 5), Box(1, 0, 0, 5, 5)])


def test_boxes_travel_as_masks():
    box = box_from_corners((2.0, 1.0, 4.0, 5.0))
    assert (box.left, box.top, box.width, box.height) == (2, 1, 3, 5)
    mask = box_mask(box, (8, 8))
    ys, xs = np.nonzero(mask)
    assert (xs.min(), ys.min(), xs.max(), ys.max(), mask.sum()) == (2, 1, 4, 5, 15)
    with pytest.raises(ValueError, match="outside"):
        box_mask(Box(0, 20, 20, 3, 3), (8, 8))


def _box_job(shared_data, tmp_path, noise, annotator=None, workers=5):
    settings = SimulationSettings(task="bounding_box", limit=6, probe_size=2, batch_size=3, target_miou=1.01,
                                  max_human_labels=4, fine_tune_epochs=0, annotator_noise_px=noise)
    simulation = Simulation(shared_data / "davis345", tmp_path, get_segmenter("grabcut", work_size=64, iterations=2),
                            settings, cost_model=CostModel(workers_per_object=workers), annotator=annotator)
    simulation.run()
    return [o for o in load_job(tmp_path / settings.job_name).objects if o.human]


def test_the_workers_answers_are_in_the_job_folder_and_consolidate_to_the_label(shared_data, tmp_path):
    labels = {o.source_ref: o for o in _box_job(shared_data, tmp_path, noise=6.0)}
    root = tmp_path / "clickseg-simulation"
    responses = sorted(root.glob("annotations/worker-response/iteration-*/*/*.json"))
    assert len(responses) == 4
    consolidated = {}  # datasetObjectId -> source-ref, from the consolidation responses
    for path in root.glob("annotations/consolidated-annotation/consolidation-response/iteration-*/*.json"):
        for entry in json.loads(path.read_text()):
            consolidated[entry["datasetObjectId"]] = entry["dataObject"]["s3Uri"]
    for response in responses:
        answers = json.loads(response.read_text())["answers"]
        assert len(answers) == 5 and len({a["workerId"] for a in answers}) == 5
        boxes = [Box(0, **{k: b[k] for k in ("left", "top", "width", "height")})
                 for a in answers for b in a["answerContent"]["boundingBox"]["boundingBoxes"]]
        label = labels[consolidated[response.parent.name]].boxes[0]
        again = consolidate_boxes(boxes)
        assert (label.left, label.top, label.width, label.height) == (again.left, again.top, again.width, again.height)
        assert 0.5 < label.confidence < 1.0
        assert label.confidence == pytest.approx(again.confidence, abs=1e-4)  # the manifest keeps 4 decimals


def test_simulated_human_boxes_carry_the_workers_agreement(shared_data, tmp_path):
    noisy = _box_job(shared_data, tmp_path / "noisy", noise=6.0)
    confidences = [box.confidence for o in noisy for box in o.boxes]
    assert len(confidences) == 4 and all(0.5 < c < 1.0 for c in confidences)
    exact = _box_job(shared_data, tmp_path / "exact", noise=0.0)
    assert [box.confidence for o in exact for box in o.boxes] == [1.0] * 4
    single = _box_job(shared_data, tmp_path / "single", noise=6.0, workers=1)
    assert [box.confidence for o in single for box in o.boxes] == [0.0] * 4
    # a person labeling in the widget is one worker: no agreement to report
    person = _box_job(shared_data, tmp_path / "person", noise=6.0, annotator=lambda sample, truth: truth)
    assert [box.confidence for o in person for box in o.boxes] == [0.0] * 4
