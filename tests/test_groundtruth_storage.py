"""Uploads and S3 reads with moto: images, input manifests, label categories, templates."""
from __future__ import annotations

import json
import shutil

import boto3
import pytest
from moto import mock_aws

from clickseg_widget.groundtruth.manifests import (
    input_manifest,
    label_category_config,
    list_s3_images,
    parse_json_lines,
    upload_images,
    upload_input_manifest,
    upload_label_categories,
)
from clickseg_widget.groundtruth.storage import S3JobFolder, join_s3, parse_s3_uri, relative_in_job
from clickseg_widget.groundtruth.templates import upload_template


@pytest.fixture
def s3():
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="gt-bucket")
        yield client


def test_local_folder_to_s3_manifest(tmp_path, shared_data, s3):
    images = sorted((shared_data / "davis345" / "images").iterdir())[:3]
    for image in images:
        shutil.copy(image, tmp_path / image.name)
    (tmp_path / "notes.txt").write_text("not an image")
    uris = upload_images(s3, tmp_path, "s3://gt-bucket/birds/images/")
    assert uris == [f"s3://gt-bucket/birds/images/{p.name}" for p in images]
    assert list_s3_images(s3, "s3://gt-bucket/birds/") == uris
    upload_input_manifest(s3, uris, "s3://gt-bucket/birds/input.manifest")
    body = s3.get_object(Bucket="gt-bucket", Key="birds/input.manifest")["Body"].read().decode()
    records = [record for _, record in parse_json_lines(body, "input.manifest").records]
    assert records == [{"source-ref": uri} for uri in uris]
    head = s3.head_object(Bucket="gt-bucket", Key=f"birds/images/{images[0].name}")
    assert head["ContentLength"] == images[0].stat().st_size


def test_empty_prefix_and_bad_uris_are_explained(tmp_path, s3):
    with pytest.raises(FileNotFoundError, match="no images"):
        list_s3_images(s3, "s3://gt-bucket/nothing/")
    with pytest.raises(FileNotFoundError, match="holds no images"):
        upload_images(s3, tmp_path, "s3://gt-bucket/x/")
    with pytest.raises(ValueError, match="not an S3 URI"):
        input_manifest(["/local/file.jpg"])
    with pytest.raises(ValueError, match="needs at least one image"):
        input_manifest([])


def test_label_categories(s3):
    assert label_category_config(["Bird", "Nest"]) == {
        "document-version": "2018-11-28", "labels": [{"label": "Bird"}, {"label": "Nest"}]}
    with pytest.raises(ValueError, match="unique; repeated: Bird"):
        label_category_config(["Bird", "Bird"])
    with pytest.raises(ValueError, match="at least one label"):
        label_category_config([])
    upload_label_categories(s3, ["Bird"], "s3://gt-bucket/birds/class_labels.json")
    stored = json.loads(s3.get_object(Bucket="gt-bucket", Key="birds/class_labels.json")["Body"].read())
    assert stored["labels"] == [{"label": "Bird"}]


def test_template_upload(s3):
    uri = upload_template(s3, "s3://gt-bucket/birds/template.liquid.html", "semantic_segmentation",
                          header="Paint <birds>", short_instructions="s", full_instructions="f")
    page = s3.get_object(Bucket="gt-bucket", Key="birds/template.liquid.html")["Body"].read().decode()
    assert uri.endswith("template.liquid.html") and "Paint &lt;birds&gt;" in page
    with pytest.raises(ValueError, match="names a folder"):
        upload_template(s3, "s3://gt-bucket/birds/", "bounding_box", header="h", short_instructions="s", full_instructions="f")


def test_s3_job_folder_lists_reads_and_checks(s3):
    s3.put_object(Bucket="gt-bucket", Key="out/job/manifests/output/output.manifest", Body=b"{}\n")
    s3.put_object(Bucket="gt-bucket", Key="out/job/annotations/x/1.json", Body=b"[]")
    folder = S3JobFolder(s3, "gt-bucket", "out/job")
    assert folder.list_files("annotations/") == ["annotations/x/1.json"]
    assert folder.exists("manifests/output/output.manifest") and not folder.exists("simulation.json")
    assert folder.read_bytes("annotations/x/1.json") == b"[]"
    assert folder.location("a/b") == "s3://gt-bucket/out/job/a/b"


def test_uri_helpers():
    assert parse_s3_uri("s3://bucket/a/b.png") == ("bucket", "a/b.png")
    assert join_s3("s3://b/out/", "job", "/x/") == "s3://b/out/job/x"
    assert relative_in_job("s3://b/out/job/annotations/consolidated-annotation/output/0.png") == (
        "annotations/consolidated-annotation/output/0.png")
    assert relative_in_job("s3://b/images/0.png") is None
    assert relative_in_job("s3://b/team/annotations/manifests/job/annotations/consolidated-annotation/output/0.png") == (
        "annotations/consolidated-annotation/output/0.png")
