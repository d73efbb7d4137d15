"""From a finished bounding-box job to a semantic-segmentation adjustment job on the pre-labels."""
from __future__ import annotations

import json
from html.parser import HTMLParser

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from clickseg_widget.groundtruth import arns, job_control
from clickseg_widget.groundtruth.labeling_requests import Workteam
from clickseg_widget.groundtruth.templates import render_template
from clickseg_widget.groundtruth.validation import RequestError
from clickseg_widget.prelabel.adjustment import adjustment_job_request, upload_adjustment_manifest
from clickseg_widget.prelabel.local import prelabel_file
from test_prelabel import STEMS, boxes_manifest_line, object_box
from workforce_local import FAKE_AWS_ENV, liquid_environment

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"


def request_options(manifest_uri, **overrides):
    options = dict(
        job_name="birds-masks", manifest_uri=manifest_uri, output_path="s3://labels/output/", role_arn=ROLE, region=REGION,
        template_uri="s3://labels/adjust.liquid.html", label_category_uri="s3://labels/classes.json",
        workteam=Workteam.private(REGION, "123456789012", "team"), task_title="Correct the masks",
        task_description="Fix the drafted mask of each object", workers_per_object=1,
    )
    options.update(overrides)
    return options


class InitialValue(HTMLParser):
    def handle_starttag(self, tag, attrs):
        if tag == "crowd-semantic-segmentation":
            self.value = dict(attrs)["initial-value"]


def test_box_job_to_adjustment_job(tmp_path, grabcut_dir, monkeypatch):
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    boxes = tmp_path / "output.manifest"  # a finished bounding-box job's output manifest, as Ground Truth writes it
    boxes.write_text("".join(json.dumps(boxes_manifest_line(grabcut_dir / "images" / f"{stem}.jpg",
                                                             object_box(grabcut_dir / "masks" / f"{stem}.png"))) + "\n" for stem in STEMS[:2]))
    prelabels = tmp_path / "prelabels.jsonl"
    assert prelabel_file(boxes, prelabels, backend="grabcut", progress=False).done == 2
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="labels")
        manifest_uri, count = upload_adjustment_manifest(s3, prelabels, "s3://labels/adjust/")
        lines = [json.loads(t) for t in s3.get_object(Bucket="labels", Key="adjust/adjustment.manifest")["Body"].read().splitlines()]
        png = s3.get_object(Bucket="labels", Key="adjust/label-maps/00000001.png")["Body"].read()
    assert (manifest_uri, count) == ("s3://labels/adjust/adjustment.manifest", 2)
    assert lines[0]["prelabel-ref"] == "s3://labels/adjust/label-maps/00000001.png" and png.startswith(b"\x89PNG")
    assert lines[0]["prelabel-ref-metadata"]["internal-color-map"]["1"]["class-name"] == "thing"

    request = adjustment_job_request(object_count=count, **request_options(manifest_uri))
    human = request["HumanTaskConfig"]
    assert human["PreHumanTaskLambdaArn"] == f"arn:aws:lambda:{REGION}:432418664414:function:PRE-AdjustmentSemanticSegmentation"
    assert human["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"].endswith(":function:ACS-AdjustmentSemanticSegmentation")
    client = boto3.client("sagemaker", region_name=REGION)
    job_arn = f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/birds-masks"
    with Stubber(client) as stub:
        stub.add_response("create_labeling_job", {"LabelingJobArn": job_arn}, request)
        assert job_control.launch(client, request, object_count=count) == job_arn

    # the worker page opens on the pre-label: Liquid as Ground Truth runs it, the manifest line as task input
    page = render_template("adjustment_semantic_segmentation", header="Fix", short_instructions="a", full_instructions="b",
                           previous_attribute="prelabel-ref")
    rendered = liquid_environment(lambda uri: uri.replace("s3://labels/", "https://signed.example/")).from_string(page).render(
        task={"input": {"taskObject": lines[0]["source-ref"], "labels": ["thing"], "manifestLine": lines[0]}})
    parser = InitialValue()
    parser.feed(rendered)
    assert json.loads(parser.value) == {"src": "https://signed.example/adjust/label-maps/00000001.png",
                                        "labelMappings": {"thing": {"color": "#1f77b4"}}}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"label_attribute_name": "masks"}, "must end in '-ref'"), ({"label_attribute_name": "prelabel-ref"}, "their own attribute"),
     ({"auto_labeling": True}, "no automated labeling")],
)
def test_bad_adjustment_requests_are_refused(overrides, message):
    with pytest.raises((RequestError, ValueError), match=message):
        adjustment_job_request(**request_options("s3://labels/adjust/adjustment.manifest", **overrides))


def test_adjustment_template_needs_the_previous_attribute():
    with pytest.raises(ValueError, match="previous_attribute"):
        render_template("adjustment_semantic_segmentation", header="h", short_instructions="a", full_instructions="b")
    assert arns.task_type("adjustment_semantic_segmentation").segmentation
