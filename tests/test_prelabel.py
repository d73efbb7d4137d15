"""Pre-labeling: input lines (ours and Ground Truth box manifests), output records, the resumable local run."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clickseg_widget.cli import main
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.export.groundtruth import read_label_map
from clickseg_widget.prelabel.local import finished_lines, prelabel_file
from clickseg_widget.prelabel.records import parse_task

STEMS = ("106024", "124080", "153077")


def object_box(mask_path: Path) -> list[float]:
    mask = np.asarray(Image.open(mask_path)) == 255
    ys, xs = np.nonzero(mask)
    return [float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())]


def boxes_manifest_line(image: Path, box: list[float]) -> dict:
    """A line in the format of the public bounding-box tutorial's output manifest."""
    x0, y0, x1, y1 = box
    return {
        "source-ref": str(image),
        "birds": {"image_size": [{"width": 640, "height": 480, "depth": 3}],
                  "annotations": [{"class_id": 0, "left": x0, "top": y0, "width": x1 - x0, "height": y1 - y0}]},
        "birds-metadata": {"objects": [{"confidence": 0.9}], "class-map": {"0": "thing"}, "type": "groundtruth/object-detection",
                           "human-annotated": "yes", "creation-date": "2022-09-12T09:51:00.148118", "job-name": "labeling-job/boxes"},
    }


@pytest.fixture()
def input_file(tmp_path, grabcut_dir) -> Path:
    lines = [
        json.dumps({"source-ref": str(grabcut_dir / "images" / f"{STEMS[0]}.jpg"),
                    "objects": [{"box": object_box(grabcut_dir / "masks" / f"{STEMS[0]}.png"), "class": "thing"}]}),
        "{not json",
        json.dumps(boxes_manifest_line(grabcut_dir / "images" / f"{STEMS[1]}.jpg", object_box(grabcut_dir / "masks" / f"{STEMS[1]}.png"))),
        json.dumps({"source-ref": "missing.jpg", "objects": [{"box": [1, 1, 20, 20]}]}),
        json.dumps({"source-ref": str(grabcut_dir / "images" / f"{STEMS[2]}.jpg"), "objects": [{"box": [10, 10, 200, 150], "class": "thing"},
                    {"extreme-points": [[100, 20], [30, 100], [100, 180], [170, 100]], "class": "other"}]}),
    ]
    path = tmp_path / "input.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_real_groundtruth_box_manifest_is_read_as_is(shared_data):
    lines = (shared_data / "groundtruth" / "aws-sagemaker-examples__yolov5_sample_output.manifest").read_text().splitlines()
    task = parse_task(lines[1], 2)
    assert task.line == 2 and task.source_ref.endswith("000411001ff7dd4f.jpg")
    assert task.class_names == ("Bird",) and len(task.objects) == len(json.loads(lines[1])["category"]["annotations"])
    first = json.loads(lines[1])["category"]["annotations"][0]
    assert task.objects[0].prompt == {"box": [first["left"], first["top"], first["left"] + first["width"], first["top"] + first["height"]]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"objects": []}', "no 'source-ref'"),
        ('{"source-ref": "a.jpg", "objects": [{"box": [1, 2, 3]}]}', r"object 0: needs \[x0, y0, x1, y1\]"),
        ('{"source-ref": "a.jpg", "objects": [{"extreme-points": [[1, 2]]}]}', "object 0: needs four"),
        ('{"source-ref": "a.jpg", "objects": [{"polygon": []}]}', "neither 'box'"),
        ('{"source-ref": "a.jpg"}', "no bounding-box label attributes"),
        ('[1]', "must be a JSON object"),
    ],
)
def test_bad_lines_say_what_is_wrong(line, message):
    with pytest.raises(ValueError, match=message):
        parse_task(line, 1)


def test_prelabel_file_skips_bad_lines_and_resumes(input_file, tmp_path, grabcut_dir, capsys):
    output = tmp_path / "out" / "prelabels.jsonl"
    summary = prelabel_file(input_file, output, backend="grabcut", progress=False)
    assert (summary.done, summary.skipped, summary.objects) == (3, 0, 4)
    assert [line for line, _ in summary.failed] == [2, 4]
    assert "missing.jpg does not exist" in summary.failed[1][1]
    records = [json.loads(text) for text in output.read_text().splitlines()]
    assert [r["line"] for r in records] == [1, 3, 5]

    first = records[0]["objects"][0]
    truth = np.asarray(Image.open(grabcut_dir / "masks" / f"{STEMS[0]}.png"))
    mask = rle_to_mask(first["segmentation"])
    valid = truth != 128
    iou = (mask & (truth == 255))[valid].sum() / (mask | (truth == 255))[valid].sum()
    assert iou > 0.7 and 0 < first["score"] <= 1 and first["model-version"].startswith("grabcut-clickseg-")

    two = records[2]
    assert [o["class"] for o in two["objects"]] == ["thing", "other"] and "extreme-points" in two["objects"][1]
    assert two["confidence"] == min(o["score"] for o in two["objects"])
    coco = json.loads(output.with_suffix(".coco.json").read_text())  # for review: least confident image first
    assert [image["confidence"] for image in coco["images"]] == sorted(r["confidence"] for r in records)
    assert [c["name"] for c in coco["categories"]] == ["thing", "other"] and len(coco["annotations"]) == 4
    scored = {(a["image_id"], a["score"]) for a in coco["annotations"]}
    assert all((image["id"], image["confidence"]) in scored for image in coco["images"])
    manifest = [json.loads(text) for text in summary.manifest.read_text().splitlines()]
    assert [m["source-ref"] for m in manifest] == [r["source-ref"] for r in records]
    line = manifest[2]
    assert line["prelabel-ref-metadata"]["human-annotated"] == "no"
    labels = read_label_map(Path(line["prelabel-ref"]).read_bytes())
    other = rle_to_mask(two["objects"][1]["segmentation"])
    assert (labels[other] == 2).all()  # objects painted in order, class k is pixel k + 1

    # a crash mid-write leaves half a record: the re-run drops it, redoes that line and skips the rest
    output.write_text(output.read_text()[: -20])
    assert finished_lines(output) == {1, 3}
    again = prelabel_file(input_file, output, backend="grabcut", progress=False)
    assert (again.done, again.skipped) == (1, 2)
    assert sorted(json.loads(t)["line"] for t in output.read_text().splitlines()) == [1, 3, 5]


def test_cli_with_two_workers_reports_bad_lines(input_file, tmp_path, capsys):
    output = tmp_path / "prelabels.jsonl"
    assert main(["prelabel", str(input_file), str(output), "--backend", "grabcut", "--workers", "2", "--no-progress"]) == 1
    captured = capsys.readouterr()
    assert f"{input_file}:2: skipped: not JSON" in captured.err
    assert "3 images (4 objects) drafted, 0 already done, 2 lines skipped" in captured.out
    assert [json.loads(t)["line"] for t in output.read_text().splitlines()] == [1, 3, 5]


def test_source_refs_in_s3_are_read_with_the_callers_credentials(tmp_path, grabcut_dir, monkeypatch):
    import boto3
    from moto import mock_aws

    from clickseg_widget.prelabel import local
    from workforce_local import FAKE_AWS_ENV

    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    image = grabcut_dir / "images" / f"{STEMS[0]}.jpg"
    source = tmp_path / "input.jsonl"
    source.write_text(json.dumps({"source-ref": f"s3://images/{image.name}", "objects": [{"box": [40, 30, 300, 250]}]}) + "\n"
                      + json.dumps({"source-ref": "s3://images/gone.jpg", "objects": [{"box": [1, 1, 9, 9]}]}) + "\n")
    local._s3_client.cache_clear()
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="images")
        boto3.client("s3").put_object(Bucket="images", Key=image.name, Body=image.read_bytes())
        summary = prelabel_file(source, tmp_path / "out.jsonl", backend="grabcut", progress=False)
    local._s3_client.cache_clear()
    assert summary.done == 1 and [line for line, _ in summary.failed] == [2]
    assert json.loads((tmp_path / "out.jsonl").read_text())["source-ref"] == f"s3://images/{image.name}"


def test_widget_opens_the_prelabels_least_confident_first(input_file, tmp_path):
    from clickseg_widget.prelabel.review import review_widget

    output = tmp_path / "prelabels.jsonl"
    prelabel_file(input_file, output, backend="grabcut", progress=False)
    records = sorted((json.loads(t) for t in output.read_text().splitlines()), key=lambda r: r["confidence"])
    widget = review_widget(output, segmenter="grabcut", autosave=tmp_path / "review", canvas_size=(160, 120))
    assert [item.name for item in widget.state.items] == [Path(r["source-ref"]).name for r in records]
    for record in records:
        objects = widget.state.objects[Path(record["source-ref"]).name]
        assert [o.score for o in objects] == [o["score"] for o in record["objects"]]
        assert [o.class_name for o in objects] == [o["class"] for o in record["objects"]]
        np.testing.assert_array_equal(objects[0].mask, rle_to_mask(record["objects"][0]["segmentation"]))
    exported = widget.to_coco()  # untouched pre-labels export exactly as drafted
    assert {a["segmentation"]["counts"] for a in exported["annotations"]} == {
        o["segmentation"]["counts"] for r in records for o in r["objects"]}
