"""Output manifests: real Ground Truth outputs, segmentation lines, malformed lines."""
from __future__ import annotations

import json

import numpy as np
import pytest

from clickseg_widget.export.groundtruth import label_map, semantic_segmentation_manifest_line
from clickseg_widget.groundtruth.manifests import ManifestError, parse_json_lines, read_manifest
from clickseg_widget.groundtruth.outputs import labeled_objects
from clickseg_widget.groundtruth.storage import LocalJobFolder
from clickseg_widget.groundtruth.outputs import read_output_manifest

BIRDS = "groundtruth/aws-sagemaker-examples__yolov5_sample_output.manifest"


def objects_of(shared_data, name, lenient=False):
    return labeled_objects(read_manifest(shared_data / name, lenient), lenient=lenient)


def test_bird_tutorial_output_is_read_box_by_box(shared_data):
    result = objects_of(shared_data, BIRDS)
    assert result.attribute == "category"
    assert len(result.objects) == 100 and not result.skipped
    first = result.objects[0]
    assert first.task == "bounding_box" and first.human
    assert first.source_ref.endswith("000062a39995e348.jpg")
    assert first.image_size == (680, 1024)
    assert first.class_map == {0: "Bird"}
    assert first.boxes[0].left == pytest.approx(138.8) and first.boxes[0].height == 859
    assert first.boxes[0].confidence == pytest.approx(0.93)
    second = result.objects[1]
    assert second.box_count == 3
    assert second.confidence == pytest.approx((0.88 + 0.75 + 0.84) / 3)
    assert second.job_name == "labeling-job/ground-truth-od-demo-1662974840"
    assert all(o.human for o in result.objects)
    assert sum(o.box_count for o in result.objects) > 100


def test_other_real_detection_outputs_including_empty_images(shared_data):
    cats = objects_of(shared_data, "groundtruth/t04glovern__cat-ground-truth_output.manifest")
    assert cats.attribute == "cat-ground-truth"
    assert [o.box_count for o in cats.objects][:3] == [0, 1, 2]
    assert cats.objects[0].confidence is None and cats.objects[0].class_map == {}
    logos = objects_of(shared_data, "groundtruth/dannymorris__bcbs-logo-labeling_output.manifest")
    assert len(logos.objects) == 470 and logos.objects[0].class_map == {0: "BCBS"}


@pytest.mark.parametrize(
    "name, attribute, count",
    [
        ("groundtruth/myracheng__coral_dianthus_output.manifest", "test-label-dianthus", 229),
        ("groundtruth/chetnapriyadarshini__bird-classification_output.manifest", "label", 477),
        ("groundtruth/azatodeth__defect-auto-label_output.manifest", None, None),
    ],
)
def test_classification_outputs_parse(shared_data, name, attribute, count):
    parsed = read_manifest(shared_data / name)
    result = labeled_objects(parsed, attribute)
    if count is not None:
        assert len(result.objects) == count
        assert all(o.task == "classification" and o.class_name for o in result.objects)
    else:  # script-written: "auto-label-metadata" without an "auto-label" value: found by its metadata
        assert result.attribute == "auto-label" and result.unlabeled_lines == 0
        assert len(result.objects) == len(parsed.records) == 1140
        assert all(o.task == "classification" and o.class_name for o in result.objects)


def test_malformed_lines_name_file_and_line(tmp_path, shared_data):
    lines = (shared_data / BIRDS).read_text().splitlines()[:5]
    lines[2] = lines[2][:-10]  # truncated JSON
    bad_box = json.loads(lines[3])
    del bad_box["category"]["annotations"][0]["left"]
    lines[3] = json.dumps(bad_box)
    path = tmp_path / "output.manifest"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=r"output\.manifest, line 3: not valid JSON") as caught:
        labeled_objects(read_manifest(path))
    assert caught.value.line_number == 3
    lines[2] = lines[1]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ManifestError, match=r"line 4: annotation 0 lacks"):
        labeled_objects(read_manifest(path))


def test_lenient_mode_skips_and_counts(tmp_path, shared_data):
    lines = (shared_data / BIRDS).read_text().splitlines()[:6]
    lines.insert(2, "not json at all")
    lines.insert(4, "[1, 2]")
    path = tmp_path / "output.manifest"
    path.write_text("\n".join(lines) + "\n\n")
    result = labeled_objects(read_manifest(path, lenient=True), lenient=True)
    assert len(result.objects) == 6
    assert [e.line_number for e in result.skipped] == [3, 5]
    assert "expected a JSON object per line" in str(result.skipped[1])


def test_active_learning_lines_need_a_token_and_json():
    good = '17 {"source-ref": "s3://b/x.jpg", "a": {"annotations": []}, "a-metadata": {"human-annotated": "no"}}'
    parsed = parse_json_lines(good + "\n", "auto.txt", prefix_token=True)
    assert parsed.records[0][1]["source-ref"] == "s3://b/x.jpg"
    with pytest.raises(ManifestError, match="auto.txt, line 2"):
        parse_json_lines(good + "\n17\n", "auto.txt", prefix_token=True)


def test_semantic_segmentation_lines_from_the_export_writer(tmp_path):
    mask = np.zeros((20, 30), bool)
    mask[5:15, 10:20] = True
    labels = label_map([mask], [0], ["Bird"], confidence=0.82)
    label_ref = "s3://bucket/out/job/annotations/consolidated-annotation/output/0_2026.png"
    (tmp_path / "annotations/consolidated-annotation/output").mkdir(parents=True)
    (tmp_path / "annotations/consolidated-annotation/output/0_2026.png").write_bytes(labels.png)
    human = semantic_segmentation_manifest_line("s3://bucket/img/0.jpg", label_ref, labels.color_map, "birds-ref", "job")
    machine = semantic_segmentation_manifest_line(
        "s3://bucket/img/1.jpg", label_ref, labels.color_map, "birds-ref", "job", human_annotated=False
    )
    (tmp_path / "manifests/output").mkdir(parents=True)
    (tmp_path / "manifests/output/output.manifest").write_text(json.dumps(human) + "\n" + json.dumps(machine) + "\n")
    folder = LocalJobFolder(tmp_path)
    result = read_output_manifest(folder)
    assert result.attribute == "birds-ref"
    first, second = result.objects
    assert first.task == "semantic_segmentation" and first.human and not second.human
    assert first.class_map == {0: "BACKGROUND", 1: "Bird"}
    assert first.confidence == pytest.approx(0.82)
    from clickseg_widget.groundtruth.job_results import Job
    from clickseg_widget.groundtruth.iterations import JobIterations

    classes = Job(folder, JobIterations([], "test"), result).label_classes(first)
    assert np.array_equal(classes == 1, mask)


def test_segmentation_without_color_map_is_an_error():
    record = {"source-ref": "s3://b/x.jpg", "x-ref": "s3://b/o.png",
              "x-ref-metadata": {"type": "groundtruth/semantic-segmentation", "human-annotated": "yes"}}
    parsed = parse_json_lines(json.dumps(record), "m")
    with pytest.raises(ManifestError, match="internal-color-map"):
        labeled_objects(parsed)


def test_lines_without_a_recognisable_label_attribute_say_what_was_found(tmp_path, shared_data):
    lines = [json.loads(line) for line in (shared_data / BIRDS).read_text().splitlines()[:3]]
    for line in lines:  # the label under "bird", its metadata under "bird-meta": nothing says which is the label
        line["bird"], line["bird-meta"] = line.pop("category"), line.pop("category-metadata")
    path = tmp_path / "renamed.manifest"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    with pytest.raises(ManifestError, match=r"renamed.manifest, line 1: no recognisable label attribute: .*found keys \['bird', 'bird-meta'\]"):
        labeled_objects(read_manifest(path))
    with pytest.warns(UserWarning, match="no recognisable label attribute"):
        assert labeled_objects(read_manifest(path), lenient=True).objects == []


def test_a_named_attribute_missing_from_the_lines_falls_back_to_the_metadata_key(shared_data):
    with pytest.warns(UserWarning, match="no line carries the label attribute 'my-job'"):
        result = labeled_objects(read_manifest(shared_data / BIRDS), "my-job")
    assert result.attribute != "my-job" and result.objects


def test_non_utf8_bytes_and_a_byte_order_mark(tmp_path, shared_data):
    lines = (shared_data / BIRDS).read_bytes().splitlines()[:4]
    lines[2] = lines[2].replace(b'"', b'"\xff', 1)
    path = tmp_path / "mixed.manifest"
    path.write_bytes(b"\xef\xbb\xbf" + b"\n".join(lines) + b"\n")
    with pytest.raises(ManifestError, match=r"mixed.manifest, line 3: byte 0xff at column 3 is not UTF-8"):
        read_manifest(path)
    lenient = read_manifest(path, lenient=True)
    assert [number for number, _ in lenient.records] == [1, 2, 4] and len(lenient.skipped) == 1
