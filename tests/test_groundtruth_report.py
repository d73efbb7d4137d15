"""Cost model, box matching, the report table, figures and the ``report`` CLI."""
from __future__ import annotations

import io
import json
from decimal import Decimal

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.figure import Figure

from clickseg_widget.cli import main
from clickseg_widget.groundtruth.costs import CostModel, summarize
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.matching import image_box_miou, matched_ious
from clickseg_widget.groundtruth.outputs import Box
from clickseg_widget.groundtruth import cost_dataframe, cost_table, report

BIRDS = "groundtruth/aws-sagemaker-examples__yolov5_sample_output.manifest"
ITERATION_KEYS = {"iteration", "human_objects", "machine_objects", "human_boxes", "machine_boxes", "human_cost", "machine_cost"}
TOTAL_KEYS = {"human_objects", "machine_objects", "human_cost", "machine_cost", "total_cost", "all_human_cost", "saving_percent"}


def test_cost_model_reproduces_the_blog():
    model = CostModel()
    assert model.human_price == Decimal("0.26") and model.machine_price == Decimal("0.08")
    summary = summarize(608, 392)
    assert summary.human_cost == Decimal("158.08") and summary.machine_cost == Decimal("31.36")
    assert summary.total_cost == Decimal("189.44") and summary.all_human_cost == Decimal("260")
    assert round(summary.saving_percent) == 27


def test_cost_model_is_configurable():
    model = CostModel(per_object_fee="0.04", workers_per_object=3, worker_price="0.84")
    assert model.human_price == Decimal("2.56") and model.machine_cost(10) == Decimal("0.40")
    with pytest.raises(ValueError):
        CostModel(workers_per_object=0)


def box(left, top, width, height, confidence=None):
    return Box(0, left, top, width, height, confidence)


def test_greedy_matching_takes_confident_boxes_first():
    reference = [box(0, 0, 10, 10)]
    confident_offset = box(5, 0, 10, 10, confidence=0.9)  # IoU 1/3
    exact_but_unsure = box(0, 0, 10, 10, confidence=0.1)
    assert matched_ious([exact_but_unsure, confident_offset], reference) == pytest.approx([1 / 3, 0.0])
    assert image_box_miou([box(0, 0, 10, 10)], [box(0, 0, 10, 10), box(50, 50, 5, 5)]) == pytest.approx(0.5)
    assert image_box_miou([], []) == 1.0
    assert image_box_miou([box(0, 0, 1, 1)], []) == 0.0 and image_box_miou([], reference) == 0.0


@pytest.fixture
def bird_job(tmp_path, shared_data):
    """A two-iteration box job: 60 human labels, then 40 machine labels, from the tutorial's real lines."""
    lines = [json.loads(line) for line in (shared_data / BIRDS).read_text().splitlines()]
    response = tmp_path / "annotations/consolidated-annotation/consolidation-response/iteration-1"
    response.mkdir(parents=True)
    entries = [{"datasetObjectId": str(i), "consolidatedAnnotation": {"content": {
        "category": line["category"], "category-metadata": line["category-metadata"]}}} for i, line in enumerate(lines[:60])]
    (response / "2022-09-12_09:51:00.json").write_text(json.dumps(entries))
    auto = tmp_path / "activelearning/job/2/out/auto_annotator_output.txt"
    auto.parent.mkdir(parents=True)
    for line in lines[60:]:
        line["category-metadata"]["human-annotated"] = "no"
    auto.write_text("".join(f"t {json.dumps(line)}\n" for line in lines[60:]))
    (tmp_path / "manifests/output").mkdir(parents=True)
    (tmp_path / "manifests/output/output.manifest").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return tmp_path, lines


def test_cost_table_has_exactly_the_documented_keys(bird_job):
    folder, lines = bird_job
    table = cost_table(load_job(folder))
    assert [set(row) for row in table["iterations"]] == [ITERATION_KEYS, ITERATION_KEYS]
    assert set(table["totals"]) == TOTAL_KEYS
    first, second = table["iterations"]
    assert (first["iteration"], first["human_objects"], first["machine_objects"], first["human_cost"]) == (1, 60, 0, 15.6)
    assert first["human_boxes"] == sum(len(l["category"]["annotations"]) for l in lines[:60])
    assert (second["machine_objects"], second["machine_cost"]) == (40, 3.2)
    assert table["totals"] == {"human_objects": 60, "machine_objects": 40, "human_cost": 15.6, "machine_cost": 3.2,
                               "total_cost": 18.8, "all_human_cost": 26.0, "saving_percent": pytest.approx(27.69, abs=0.01)}


def test_report_cli_json_and_table(bird_job, capsys, tmp_path):
    folder, _ = bird_job
    assert main(["groundtruth", "report", str(folder), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == cost_table(load_job(folder))
    figures = tmp_path / "figures"
    assert main(["groundtruth", "report", str(folder), "--worker-price", "0.048", "--figures", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "human_boxes" in out and "$22.40" in out  # 60 x (0.08 + 5 x 0.048) + 40 x 0.08
    assert sorted(p.name for p in figures.iterdir()) == ["boxes.png", "iterations.png"]
    assert main(["groundtruth", "report", str(tmp_path / "missing")]) == 2


def test_report_figures_with_reference_boxes(bird_job):
    folder, lines = bird_job
    job = load_job(folder)
    references = {}
    for line in lines:  # references: the real boxes, the first one shifted on every other image
        boxes = [box(a["left"], a["top"], a["width"], a["height"]) for a in line["category"]["annotations"]]
        if len(references) % 2:
            boxes[0] = box(boxes[0].left + boxes[0].width / 2, boxes[0].top, boxes[0].width, boxes[0].height)
        references[line["source-ref"]] = boxes
    figures = report(job, references)
    assert set(figures) == {"iterations", "boxes", "miou_histograms", "best", "worst", "confidence", "most_confident"}
    for figure in figures.values():
        assert isinstance(figure, Figure)
        figure.savefig(io.BytesIO(), format="png")
    histogram = figures["miou_histograms"].axes
    assert histogram[0].get_title().startswith("human labels: 60 images")
    assert histogram[1].get_title().startswith("machine labels: 40 images")
    assert "Total annotation costs: $18.80" in figures["iterations"].axes[0].get_title()


def test_report_cli_strict_and_lenient(bird_job, capsys):
    folder, _ = bird_job
    auto = folder / "activelearning/job/2/out/auto_annotator_output.txt"
    lines = auto.read_text().splitlines()
    lines[4] = "t {not json"
    auto.write_text("\n".join(lines) + "\n")
    assert main(["groundtruth", "report", str(folder)]) == 2
    assert "auto_annotator_output.txt, line 5: not valid JSON" in capsys.readouterr().err
    assert main(["groundtruth", "report", str(folder), "--lenient", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["totals"]["machine_objects"] == 39
    assert "skipped 1 malformed lines" in captured.err


def test_group_miou_pools_boxes_across_images():
    from clickseg_widget.groundtruth.outputs import LabeledObject
    from clickseg_widget.groundtruth.quality import ScoredLabel, group_miou

    def scored(predicted, reference):
        item = LabeledObject("s3://b/x.jpg", "bounding_box", True, None, boxes=predicted)
        return ScoredLabel(item, image_box_miou(predicted, reference), matched_ious(predicted, reference))

    one_box = scored([box(0, 0, 10, 10)], [box(0, 0, 10, 10)])  # image mIoU 1, one pooled value
    three_missed = scored([box(0, 0, 10, 10)], [box(0, 0, 10, 10), box(50, 50, 5, 5), box(80, 80, 5, 5)])
    assert group_miou([one_box, three_missed]) == pytest.approx(2 / 4)  # pooled boxes, not mean of 1 and 1/3


def test_cost_dataframe_is_the_cost_table_with_a_total_row(bird_job):
    folder, _ = bird_job
    job = load_job(folder)
    frame = cost_dataframe(job)
    assert frame.index.tolist() == [1, 2, "total"] and frame.index.name == "iteration"
    assert frame.columns.tolist() == ["human_objects", "machine_objects", "human_boxes", "machine_boxes", "human_cost",
                                      "machine_cost", "total_cost"]
    totals = cost_table(job)["totals"]
    assert frame.loc["total", ["human_objects", "machine_objects", "human_cost", "machine_cost", "total_cost"]].tolist() == [
        totals["human_objects"], totals["machine_objects"], totals["human_cost"], totals["machine_cost"], totals["total_cost"]]
    assert frame.loc[2, ["machine_objects", "machine_cost", "total_cost"]].tolist() == [40, 3.2, 3.2]
    assert frame.attrs["totals"] == totals and frame["human_objects"].dtype.kind == "i"


def test_report_cli_counts_a_bad_output_manifest_line_once(bird_job, capsys):
    import shutil

    folder, _ = bird_job
    shutil.rmtree(folder / "activelearning")  # the iterations then read the output manifest too
    manifest = folder / "manifests/output/output.manifest"
    lines = manifest.read_text().splitlines()
    lines[3] = "{not json"
    manifest.write_text("\n".join(lines) + "\n")
    assert main(["groundtruth", "report", str(folder), "--lenient", "--json"]) == 0
    assert "skipped 1 malformed lines" in capsys.readouterr().err
