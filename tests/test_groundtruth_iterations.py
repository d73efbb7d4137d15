"""Per-iteration counts: 12 iterations in shuffled order, locally and on S3 (moto), and the fallbacks."""
from __future__ import annotations

import json
import random
import warnings

import boto3
import pytest
from moto import mock_aws

from clickseg_widget.groundtruth.iterations import (
    GroundTruthWarning,
    active_learning_iteration,
    consolidation_iteration,
    read_iterations,
)
from clickseg_widget.groundtruth.job_control import LabelCounters
from clickseg_widget.groundtruth.manifests import ManifestError
from clickseg_widget.groundtruth.storage import LocalJobFolder, open_job_folder

BIRDS = "groundtruth/aws-sagemaker-examples__yolov5_sample_output.manifest"
CONSOLIDATION = "annotations/consolidated-annotation/consolidation-response"


@pytest.fixture(scope="module")
def bird_lines(shared_data):
    return [json.loads(line) for line in (shared_data / BIRDS).read_text().splitlines()]


def job_files(bird_lines):
    """12 iterations: humans in every one (some objects re-sent later), machines from iteration 4 on."""
    files: dict[str, bytes] = {}
    expected = {}
    next_line = 0
    for iteration in range(1, 13):
        human = bird_lines[next_line : next_line + 4]
        next_line += 4
        entries = [
            {"datasetObjectId": str(1000 + next_line + i), "consolidatedAnnotation": {
                "content": {"category": line["category"], "category-metadata": line["category-metadata"]}}}
            for i, line in enumerate(human)
        ]
        human_boxes = sum(len(line["category"]["annotations"]) for line in human)
        if iteration > 1:  # an object already counted in iteration 1 shows up again: counted once
            entries.append(json.loads(json.dumps(first_entry)))
        else:
            first_entry = entries[0]
        half = len(entries) // 2
        files[f"{CONSOLIDATION}/iteration-{iteration}/2026-01-01_{iteration:02d}:00:00.json"] = json.dumps(entries[:half]).encode()
        files[f"{CONSOLIDATION}/iteration-{iteration}/2026-01-01_{iteration:02d}:30:00.json"] = json.dumps(entries[half:]).encode()
        machine = []
        if iteration >= 4:
            machine = bird_lines[next_line : next_line + 3]
            next_line += 3
            text = ""
            for i, line in enumerate(machine):
                line = json.loads(json.dumps(line))
                line["category-metadata"]["human-annotated"] = "no"
                text += f"token{i} {json.dumps(line)}\n"
            files[f"activelearning/job/{iteration}/output-abc/auto_annotator_output.txt"] = text.encode()
        expected[iteration] = (4, len(machine), human_boxes, sum(len(l["category"]["annotations"]) for l in machine))
    return files, expected


def write_local(root, files, seed=0):
    names = list(files)
    random.Random(seed).shuffle(names)
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(files[name])


def check(result, expected):
    assert [c.iteration for c in result.iterations] == list(range(1, 13))
    for counts in result.iterations:
        assert (counts.human_objects, counts.machine_objects, counts.human_boxes, counts.machine_boxes) == expected[counts.iteration]
    assert result.has_boxes and result.source == "job folder" and not result.warnings


def test_iteration_numbers_are_whole_integers():
    assert consolidation_iteration(f"{CONSOLIDATION}/iteration-12/2026-01-01_10:00:00.json") == 12
    assert consolidation_iteration(f"{CONSOLIDATION}/iteration-1/x.json") == 1
    assert active_learning_iteration("activelearning/job/10/abc/auto_annotator_output.txt") == 10
    assert active_learning_iteration("activelearning/x/auto_annotator_output.txt") is None


def test_twelve_shuffled_iterations_from_a_local_folder(tmp_path, bird_lines):
    files, expected = job_files(bird_lines)
    write_local(tmp_path, files, seed=3)
    result = read_iterations(LocalJobFolder(tmp_path))
    check(result, expected)
    assert result.human_objects == 48 and result.machine_objects == 27


@mock_aws
def test_twelve_iterations_from_s3(bird_lines):
    files, expected = job_files(bird_lines)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket="gt-out")
    names = list(files)
    random.Random(7).shuffle(names)
    for name in names:
        s3.put_object(Bucket="gt-out", Key=f"output/job/{name}", Body=files[name])
    folder = open_job_folder("s3://gt-out/output/job/", s3)
    check(read_iterations(folder), expected)


def test_malformed_active_learning_line_names_file_and_line(tmp_path, bird_lines):
    files, _ = job_files(bird_lines)
    name = "activelearning/job/5/output-abc/auto_annotator_output.txt"
    lines = files[name].decode().splitlines()
    lines[1] = "token1 {broken"
    files[name] = ("\n".join(lines) + "\n").encode()
    write_local(tmp_path, files)
    with pytest.raises(ManifestError, match=r"auto_annotator_output\.txt, line 2: not valid JSON"):
        read_iterations(LocalJobFolder(tmp_path))
    lenient = read_iterations(LocalJobFolder(tmp_path), lenient=True)
    assert len(lenient.skipped) == 1 and lenient.skipped[0].line_number == 2
    assert lenient.iterations[4].machine_objects == 2


def test_iteration_folders_spelled_two_ways_are_counted_together_with_a_warning(tmp_path, bird_lines):
    files, expected = job_files(bird_lines)
    name = f"{CONSOLIDATION}/iteration-2/2026-01-01_02:30:00.json"
    files[name.replace("iteration-2/", "iteration-02/")] = files.pop(name)
    write_local(tmp_path, files)
    with pytest.warns(GroundTruthWarning, match="folders iteration-02, iteration-2 are all iteration 2"):
        result = read_iterations(LocalJobFolder(tmp_path))
    assert result.iterations[1].human_objects == expected[2][0]


def test_a_utf8_byte_order_mark_is_accepted(tmp_path, bird_lines):
    files, expected = job_files(bird_lines)
    for name in files:
        files[name] = b"\xef\xbb\xbf" + files[name]
    write_local(tmp_path, files)
    check(read_iterations(LocalJobFolder(tmp_path)), expected)


def test_malformed_consolidation_file_is_reported(tmp_path, bird_lines):
    files, _ = job_files(bird_lines)
    files[f"{CONSOLIDATION}/iteration-2/2026-01-01_02:00:00.json"] = b'[{"datasetObjectId": "1"}]'
    write_local(tmp_path, files)
    with pytest.raises(ManifestError, match=r"iteration-2/2026-01-01_02:00:00\.json, entry 0"):
        read_iterations(LocalJobFolder(tmp_path))
    assert read_iterations(LocalJobFolder(tmp_path), lenient=True).iterations[1].human_objects == 2


def test_missing_active_learning_puts_machine_totals_in_last_iteration_with_warning(tmp_path, bird_lines):
    files, _ = job_files(bird_lines)
    write_local(tmp_path, {k: v for k, v in files.items() if not k.startswith("activelearning/")})
    with pytest.warns(GroundTruthWarning, match="27 machine labels counted in iteration 12"):
        result = read_iterations(LocalJobFolder(tmp_path), counters=LabelCounters(75, 48, 27, 0, 0))
    assert result.machine_objects == 27 and result.iterations[-1].machine_objects == 27


def test_only_an_output_manifest_gives_one_iteration_with_warning(tmp_path, shared_data):
    (tmp_path / "manifests/output").mkdir(parents=True)
    (tmp_path / "manifests/output/output.manifest").write_bytes((shared_data / BIRDS).read_bytes())
    with pytest.warns(GroundTruthWarning, match="from the output manifest"):
        result = read_iterations(LocalJobFolder(tmp_path))
    assert result.source == "output manifest"
    assert [(c.iteration, c.human_objects, c.machine_objects) for c in result.iterations] == [(1, 100, 0)]


def test_empty_folder_falls_back_to_label_counters_or_explains(tmp_path):
    with pytest.warns(GroundTruthWarning, match="LabelCounters"):
        result = read_iterations(LocalJobFolder(tmp_path), counters=LabelCounters(1000, 608, 392, 0, 0))
    assert (result.human_objects, result.machine_objects, result.source) == (608, 392, "label counters")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(FileNotFoundError, match="Ground Truth job folder"):
            read_iterations(LocalJobFolder(tmp_path))
