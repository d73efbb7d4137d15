"""Batch Transform jobs: requests checked by botocore's model, the calls through Stubber, the outputs written by
the real handler into moto's S3 and read back."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.groundtruth.validation import RequestError
from clickseg_widget.serving import handler
from clickseg_widget.serving.handler import load_serving_model
from clickseg_widget.serving.transform import TransformError, output_key, run_transform, transform_job_request
from workforce_local import FAKE_AWS_ENV

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-gpu-py311-cu124-ubuntu22.04-sagemaker"
ARCHIVE = "s3://models/clickseg/model.tar.gz"


@pytest.fixture()
def aws(monkeypatch):
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def test_request_is_line_split_multi_record_and_checked_by_botocore():
    request = transform_job_request("prelabel-1", "clickseg-model", "s3://data/in/", "s3://data/out/", instance_type="ml.g4dn.xlarge")
    assert request["TransformInput"]["SplitType"] == "Line" and request["BatchStrategy"] == "MultiRecord"
    assert request["TransformInput"]["ContentType"] == request["TransformOutput"]["Accept"] == "application/jsonlines"
    assert request["TransformOutput"]["AssembleWith"] == "Line"
    assert request["MaxPayloadInMB"] == 1 and request["ModelClientConfig"]["InvocationsTimeoutInSeconds"] == 3600
    with pytest.raises(RequestError, match="TransformJobName"):
        transform_job_request("bad_name!", "m", "s3://data/in/", "s3://data/out/")
    with pytest.raises(RequestError, match="InstanceType"):
        transform_job_request("ok", "m", "s3://data/in/", "s3://data/out/", instance_type="ml.nope.huge")


@pytest.mark.parametrize(
    ("input_uri", "key", "expected"),
    [("s3://d/in/", "in/a.jsonl", "out/a.jsonl.out"), ("s3://d/in/a.jsonl", "in/a.jsonl", "out/a.jsonl.out"),
     ("s3://d/in/", "in/sub/b.jsonl", "out/sub/b.jsonl.out")],
)
def test_output_key_follows_batch_transform_naming(input_uri, key, expected):
    assert output_key(input_uri, key, "s3://r/out/") == ("r", expected)


def stubbed_sagemaker(session, job_name, final_status, on_describe=None):
    client = session.client("sagemaker")
    stubber = Stubber(client)
    stubber.add_response("create_model", {"ModelArn": f"arn:aws:sagemaker:us-east-1:123456789012:model/{job_name}"},
                         {"ModelName": job_name, "ExecutionRoleArn": ROLE, "PrimaryContainer": {
                             "Image": IMAGE, "ModelDataUrl": ARCHIVE, "Environment": {
                                 "SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                                 "SAGEMAKER_REGION": "us-east-1", "SAGEMAKER_MODEL_SERVER_TIMEOUT": "3600"}}})
    request = transform_job_request(job_name, job_name, "s3://data/in/", "s3://data/out/")
    stubber.add_response("create_transform_job", {"TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job_name}"}, request)
    now = datetime.now(timezone.utc)
    common = {"TransformJobName": job_name, "TransformJobArn": f"arn:aws:sagemaker:us-east-1:123456789012:transform-job/{job_name}",
              "ModelName": job_name, "TransformInput": request["TransformInput"], "TransformResources": request["TransformResources"],
              "CreationTime": now}
    stubber.add_response("describe_transform_job", {**common, "TransformJobStatus": "InProgress"}, {"TransformJobName": job_name})
    final = {**common, "TransformJobStatus": final_status}
    if final_status == "Failed":
        final["FailureReason"] = "ClientError: model container failed the ping"
    stubber.add_response("describe_transform_job", final, {"TransformJobName": job_name})
    stubber.activate()
    return client, stubber


def test_run_transform_waits_and_reads_outputs_back(aws, tmp_path, grabcut_dir, monkeypatch):
    s3 = aws.client("s3")
    for bucket in ("data", "images"):
        s3.create_bucket(Bucket=bucket)
    image = sorted((grabcut_dir / "images").glob("*.jpg"))[0]
    s3.put_object(Bucket="images", Key=image.name, Body=image.read_bytes())
    lines = [{"source-ref": f"s3://images/{image.name}", "objects": [{"box": [40, 30, 300, 250], "class": "a"}]},
             {"source-ref": f"s3://images/{image.name}", "objects": [{"box": [1, 1, 9000, 9]}]}]
    body = "".join(json.dumps(line) + "\n" for line in lines)
    s3.put_object(Bucket="data", Key="in/part-1.jsonl", Body=body)

    def job_runs(*_):  # what the container does: the archive's handler answers the lines, Batch Transform stores them
        model = load_serving_model(backend="grabcut", model_version="gc-1")
        answer, content_type = handler.output_fn(handler.predict_fn(handler.input_fn(body.encode(), "application/jsonlines"), model), None)
        s3.put_object(Bucket="data", Key="out/part-1.jsonl.out", Body=answer)

    sagemaker, stubber = stubbed_sagemaker(aws, "prelabel-job", "Completed")
    real_client = aws.client

    def clients(service, **kwargs):
        if service == "sagemaker":
            job_runs()
            return sagemaker
        return real_client(service, **kwargs)

    monkeypatch.setattr(aws, "client", clients)
    result = run_transform(ARCHIVE, ROLE, "s3://data/in/", "s3://data/out/", tmp_path / "pre.jsonl", job_name="prelabel-job",
                           image_uri=IMAGE, boto3_session=aws, poll_s=0, progress=False)
    stubber.assert_no_pending_responses()
    assert result.status == "Completed"
    assert (result.summary.done, [line for line, _ in result.summary.failed]) == (1, [2])
    assert "outside" in result.summary.failed[0][1]
    record = json.loads((tmp_path / "pre.jsonl").read_text())
    assert record["line"] == 1 and record["model-version"] == "gc-1" and "label-map-png" not in record
    assert rle_to_mask(record["objects"][0]["segmentation"]).any()
    manifest = json.loads((tmp_path / "pre.manifest").read_text())
    assert manifest["source-ref"] == lines[0]["source-ref"] and manifest["prelabel-ref"].endswith("00000001.png")


def test_failed_job_says_why_and_where_the_logs_are(aws, monkeypatch):
    aws.client("s3").create_bucket(Bucket="data")
    aws.client("s3").put_object(Bucket="data", Key="in/a.jsonl", Body=b"{}\n")
    sagemaker, stubber = stubbed_sagemaker(aws, "failing-job", "Failed")
    real_client = aws.client
    monkeypatch.setattr(aws, "client", lambda service, **kw: sagemaker if service == "sagemaker" else real_client(service, **kw))
    with pytest.raises(TransformError, match=r"failing-job is Failed: ClientError: model container failed the ping.*/aws/sagemaker/TransformJobs/failing-job"):
        run_transform(ARCHIVE, ROLE, "s3://data/in/", "s3://data/out/", job_name="failing-job", image_uri=IMAGE,
                      boto3_session=aws, poll_s=0, progress=False)
    stubber.assert_no_pending_responses()


def test_no_input_objects_is_refused_before_anything_is_created(aws):
    aws.client("s3").create_bucket(Bucket="data")
    with pytest.raises(ValueError, match="no input objects under s3://data/in/"):
        run_transform(ARCHIVE, ROLE, "s3://data/in/", "s3://data/out/", image_uri=IMAGE, boto3_session=aws, progress=False)
    assert aws.client("sagemaker").list_models()["Models"] == []
