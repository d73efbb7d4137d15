"""The custom task's pre-annotation and consolidation Lambdas, with Ground
Truth's event shapes and S3 through moto."""
from __future__ import annotations

import base64
import io
import json

import boto3
import numpy as np
import pytest
from moto import mock_aws
from PIL import Image

from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.export.groundtruth import read_label_map
from clickseg_widget.workforce.lambdas import consolidation, pre_annotation
from workforce_local import FAKE_AWS_ENV

JOB_ARN = "arn:aws:sagemaker:us-east-1:123456789012:labeling-job/clickseg-job-1"
BUCKET = "clickseg-jobs"
COLORS = {"Cat": "#1f77b4", "Dog": "#ff7f0e"}


# -- pre-annotation ---------------------------------------------------------------
def test_pre_annotation_passes_the_image_and_the_labels(monkeypatch):
    monkeypatch.setenv("LABELS", json.dumps(["Cat", 'Dog "<b>"']))
    event = {"version": "2018-10-16", "labelingJobArn": JOB_ARN, "dataObject": {"source-ref": "s3://bucket/images/a.jpg"}}
    assert pre_annotation.handler(event) == {
        "taskInput": {"taskObject": "s3://bucket/images/a.jpg", "labels": ["Cat", 'Dog "<b>"']},
        "isHumanAnnotationRequired": True,
    }


@pytest.mark.parametrize(
    "data_object, labels, message",
    [
        ({"source": "some text"}, '["Cat"]', 'has no "source-ref"'),
        ({"source-ref": "https://example.com/a.jpg"}, '["Cat"]', "not an S3 URI"),
        ({"source-ref": "s3://b/a.jpg"}, "Cat,Dog", "not JSON"),
        ({"source-ref": "s3://b/a.jpg"}, '["Cat", "Cat"]', "unique"),
        ({"source-ref": "s3://b/a.jpg"}, "[]", "at least one label"),
    ],
)
def test_pre_annotation_errors_say_what_to_fix(monkeypatch, data_object, labels, message):
    monkeypatch.setenv("LABELS", labels)
    with pytest.raises(ValueError, match=message):
        pre_annotation.handler({"version": "2018-10-16", "labelingJobArn": JOB_ARN, "dataObject": data_object})


# -- consolidation ----------------------------------------------------------------
def color_png(classes: np.ndarray, labels: list[str]) -> str:
    """A worker answer's PNG as the page writes it: opaque RGBA, white background, label colours."""
    rgba = np.full(classes.shape + (4,), 255, np.uint8)
    for index, label in enumerate(labels, start=1):
        value = int(COLORS[label][1:], 16)
        rgba[classes == index, :3] = [(value >> 16) & 255, (value >> 8) & 255, value & 255]
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def worker_answer(classes: np.ndarray, labels=("Cat", "Dog")) -> dict:
    answer = {
        "labeledImage": {"pngImageData": color_png(classes, list(labels))},
        "labelMappings": {label: {"color": COLORS[label]} for label in labels},
        "inputImageProperties": {"width": classes.shape[1], "height": classes.shape[0]},
    }
    # crowd-form submits the hidden input's string; annotationData.content is the JSON of all fields
    return {"annotationData": {"content": json.dumps({"clickseg": json.dumps(answer)})}}


@pytest.fixture
def s3(monkeypatch):
    for key, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("OUTPUT_S3_URI", f"s3://{BUCKET}/labels")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


@pytest.fixture(scope="module")
def truth(grabcut_dir):
    sample = load_samples(grabcut_dir, limit=2)[1]
    return load_mask(sample.mask_path)[0]


def consolidation_event(s3, payload, categories=("Cat", "Dog")):
    key = "clickseg-job-1/annotations/consolidated-annotation/consolidation-request/iteration-1/2026-11-21_05:00:00.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(payload).encode())
    return {
        "version": "2018-10-16",
        "labelingJobArn": JOB_ARN,
        "labelCategories": list(categories),
        "labelAttributeName": "animals-ref",
        "roleArn": "arn:aws:iam::123456789012:role/GroundTruth",
        "payload": {"s3Uri": f"s3://{BUCKET}/{key}"},
    }


def test_three_workers_are_majority_voted_into_one_label_map(s3, truth):
    rng = np.random.default_rng(0)
    shifted = np.roll(truth, 6, axis=1)
    noisy = truth ^ (rng.random(truth.shape) < 0.05)
    answers = [truth, shifted, noisy]
    payload = [
        {
            "datasetObjectId": "0",
            "dataObject": {"source-ref": "s3://bucket/images/a.jpg"},
            "annotations": [
                {"workerId": f"w{i}", **worker_answer(mask.astype(np.int32) * 2)} for i, mask in enumerate(answers)
            ]
            + [{"workerId": "broken", "annotationData": {"content": json.dumps({"clickseg": "{}"})}}],
        }
    ]
    result = consolidation.handler(consolidation_event(s3, payload))
    assert len(result) == 1 and result[0]["datasetObjectId"] == "0"
    content = result[0]["consolidatedAnnotation"]["content"]
    uri = content["animals-ref"]
    assert uri == f"s3://{BUCKET}/labels/clickseg-job-1/consolidated/0.png"
    metadata = content["animals-ref-metadata"]
    assert metadata["type"] == "groundtruth/semantic-segmentation"
    assert metadata["job-name"] == "labeling-job/clickseg-job-1"
    color_map = metadata["internal-color-map"]
    assert color_map["2"]["class-name"] == "Dog" and color_map["2"]["hex-color"] == "#ff7f0e"
    assert 0.5 < color_map["0"]["confidence"] < 1.0
    png = s3.get_object(Bucket=BUCKET, Key=uri.split(f"s3://{BUCKET}/", 1)[1])["Body"].read()
    classes = read_label_map(png)
    votes = np.sum(answers, axis=0) >= 2
    assert np.array_equal(classes == 2, votes)
    assert not (classes == 1).any()


def test_one_worker_gets_confidence_zero_and_an_unreadable_object_is_skipped(s3, truth):
    payload = [
        {"datasetObjectId": "7", "dataObject": {"source-ref": "s3://b/x.jpg"}, "annotations": [worker_answer(truth.astype(np.int32))]},
        {
            "datasetObjectId": "8",
            "dataObject": {"source-ref": "s3://b/y.jpg"},
            "annotations": [{"workerId": "w", "annotationData": {"content": "not json"}}],
        },
    ]
    result = consolidation.handler(consolidation_event(s3, payload, categories=[{"label": "Cat"}, {"label": "Dog"}]))
    assert [r["datasetObjectId"] for r in result] == ["7"]
    metadata = result[0]["consolidatedAnnotation"]["content"]["animals-ref-metadata"]
    assert metadata["internal-color-map"]["1"]["confidence"] == 0.0


def test_answers_with_foreign_labels_or_colours_are_refused():
    classes = np.zeros((4, 5), np.int32)
    classes[1:3, 1:3] = 1
    content = worker_answer(classes)["annotationData"]["content"]
    assert (consolidation.answer_classes(content, ["Cat", "Dog"]) == classes).all()
    with pytest.raises(consolidation.AnswerError, match="not among the job's categories"):
        consolidation.answer_classes(content, ["Bird"])
    recoloured = json.loads(json.loads(content)["clickseg"])
    recoloured["labelMappings"]["Cat"]["color"] = "#000000"
    with pytest.raises(consolidation.AnswerError, match="colours that its internal-color-map does not list"):
        consolidation.answer_classes(recoloured, ["Cat", "Dog"])
    with pytest.raises(consolidation.AnswerError, match="no field holds"):
        consolidation.answer_classes({"other": "field"}, ["Cat"])


def test_majority_vote_breaks_ties_towards_background_and_drops_odd_sizes():
    a = np.array([[1, 1], [0, 2]])
    b = np.array([[1, 0], [0, 2]])
    odd = np.ones((3, 3), int)
    classes, agreement = consolidation.majority_vote([a, b, odd])
    assert classes.tolist() == [[1, 0], [0, 2]]
    assert agreement == 0.875


def test_event_problems_are_named(s3, monkeypatch):
    monkeypatch.setenv("OUTPUT_S3_URI", "")
    with pytest.raises(ValueError, match="OUTPUT_S3_URI"):
        consolidation.handler(consolidation_event(s3, []))
    with pytest.raises(ValueError, match="labelCategories"):
        consolidation.category_names([])
    with pytest.raises(ValueError, match="labeling-job/<name>"):
        consolidation.job_name_of("arn:aws:sagemaker:us-east-1:1:endpoint/x")


def test_an_answer_declaring_a_huge_image_is_left_out_and_the_batch_consolidated(s3, truth, with_header_size):
    bomb = worker_answer(truth.astype(np.int32))
    answer = json.loads(json.loads(bomb["annotationData"]["content"])["clickseg"])
    png = base64.b64decode(answer["labeledImage"]["pngImageData"])
    answer["labeledImage"]["pngImageData"] = base64.b64encode(with_header_size(png, 40000, 40000)).decode()
    bomb["annotationData"]["content"] = json.dumps({"clickseg": json.dumps(answer)})
    good = [worker_answer(truth.astype(np.int32)) for _ in range(2)]
    payload = [
        {"datasetObjectId": "1", "dataObject": {"source-ref": "s3://b/x.jpg"}, "annotations": [bomb, *good]},
        {"datasetObjectId": "2", "dataObject": {"source-ref": "s3://b/y.jpg"}, "annotations": [bomb]},
        {"datasetObjectId": "3", "dataObject": {"source-ref": "s3://b/z.jpg"}, "annotations": good},
    ]
    result = consolidation.handler(consolidation_event(s3, payload))
    assert [r["datasetObjectId"] for r in result] == ["1", "3"]
    uri = result[0]["consolidatedAnnotation"]["content"]["animals-ref"]
    classes = read_label_map(s3.get_object(Bucket=BUCKET, Key=uri.split(f"s3://{BUCKET}/", 1)[1])["Body"].read())
    assert np.array_equal(classes == 1, truth)
