"""Deployment against moto (S3, model, endpoint config, endpoint) and botocore's Stubber where moto stops."""
from __future__ import annotations

import sys
from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from clickseg_widget.serving.archive import build_model_archive
from clickseg_widget.serving.deploy import DeploymentError, delete_endpoint, deploy_endpoint, upload_model_archive
from clickseg_widget.serving.profiling import cloudwatch_latency

ROLE = "arn:aws:iam::123456789012:role/SageMakerExecution"
IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-gpu-py311-cu124-ubuntu22.04-sagemaker"


@pytest.fixture()
def aws(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


def test_upload_deploy_and_delete(aws, tmp_path):
    aws.client("s3").create_bucket(Bucket="models")
    archive = build_model_archive(tmp_path / "model.tar.gz", backend="grabcut")
    uri = upload_model_archive(archive, "s3://models/clickseg/", boto3_session=aws)
    assert uri == "s3://models/clickseg/model.tar.gz"
    assert aws.client("s3").get_object(Bucket="models", Key="clickseg/model.tar.gz")["Body"].read() == archive.read_bytes()

    deployed = deploy_endpoint(uri, ROLE, endpoint_name="clickseg-test", image_uri=IMAGE, boto3_session=aws, waiter_delay_s=1)
    assert (deployed.endpoint_name, deployed.status, deployed.region) == ("clickseg-test", "InService", "us-east-1")
    sagemaker = aws.client("sagemaker")
    container = sagemaker.describe_model(ModelName="clickseg-test")["PrimaryContainer"]
    assert container["Image"] == IMAGE and container["ModelDataUrl"] == uri
    assert container["Environment"]["SAGEMAKER_PROGRAM"] == "inference.py"
    variant = sagemaker.describe_endpoint_config(EndpointConfigName="clickseg-test")["ProductionVariants"][0]
    assert (variant["InstanceType"], variant["InitialInstanceCount"]) == ("ml.g4dn.xlarge", 1)
    assert sagemaker.describe_endpoint(EndpointName="clickseg-test")["EndpointStatus"] == "InService"

    assert delete_endpoint("clickseg-test", boto3_session=aws) == ["endpoint/clickseg-test", "endpoint-config/clickseg-test", "model/clickseg-test"]
    assert sagemaker.list_endpoints()["Endpoints"] == []
    assert sagemaker.list_models()["Models"] == []


def test_image_uri_is_required_without_the_sagemaker_sdk(aws, monkeypatch):
    monkeypatch.setitem(sys.modules, "sagemaker", None)  # the optional extra is not installed
    with pytest.raises(DeploymentError, match=r"pip install 'clickseg-widget\[sagemaker\]', or pass image_uri="):
        deploy_endpoint("s3://models/model.tar.gz", ROLE, boto3_session=aws)
    assert aws.client("sagemaker").list_models()["Models"] == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"model_archive_s3_uri": "models/model.tar.gz"}, "not an S3 URI"),
        ({"model_archive_s3_uri": "s3://models/model.zip"}, "not a model.tar.gz"),
        ({"role_arn": "SageMakerRole"}, "not an IAM role ARN"),
        ({"instance_type": "g4dn.xlarge"}, "must be a SageMaker instance type"),
        ({"endpoint_name": "my_endpoint"}, "letters, digits and single hyphens"),
        ({"instance_count": 0}, "at least 1"),
    ],
)
def test_bad_deploy_arguments_are_refused_before_any_call(aws, arguments, message):
    call = {"model_archive_s3_uri": "s3://models/model.tar.gz", "role_arn": ROLE, "image_uri": IMAGE, "boto3_session": aws, **arguments}
    with pytest.raises(ValueError, match=message):
        deploy_endpoint(**call)


class OneClientSession:
    """Hands out one pre-built (stubbed) client, as boto3.Session.client would."""

    def __init__(self, client):
        self.client_instance = client
        self.region_name = client.meta.region_name

    def client(self, service, region_name=None):
        assert service == self.client_instance.meta.service_model.service_name
        return self.client_instance


def test_failed_endpoint_reports_its_failure_reason():
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
    stubber = Stubber(client)
    arn = "arn:aws:sagemaker:eu-west-1:123456789012:{}/broken"
    stubber.add_response("create_model", {"ModelArn": arn.format("model")},
                         {"ModelName": "broken", "ExecutionRoleArn": ROLE, "PrimaryContainer": {
                             "Image": IMAGE, "ModelDataUrl": "s3://models/model.tar.gz",
                             "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
                                             "SAGEMAKER_REGION": "eu-west-1"}}})
    stubber.add_response("create_endpoint_config", {"EndpointConfigArn": arn.format("endpoint-config")},
                         {"EndpointConfigName": "broken", "ProductionVariants": [
                             {"VariantName": "AllTraffic", "ModelName": "broken", "InitialInstanceCount": 1,
                              "InstanceType": "ml.g4dn.xlarge", "InitialVariantWeight": 1.0}]})
    stubber.add_response("create_endpoint", {"EndpointArn": arn.format("endpoint")}, {"EndpointName": "broken", "EndpointConfigName": "broken"})
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    description = {"EndpointName": "broken", "EndpointArn": arn.format("endpoint"), "EndpointConfigName": "broken", "CreationTime": now, "LastModifiedTime": now}
    stubber.add_response("describe_endpoint", {**description, "EndpointStatus": "Creating"}, {"EndpointName": "broken"})
    failed = {**description, "EndpointStatus": "Failed", "FailureReason": "The primary container did not pass the ping health check."}
    stubber.add_response("describe_endpoint", failed, {"EndpointName": "broken"})  # the waiter's failure state
    stubber.add_response("describe_endpoint", failed, {"EndpointName": "broken"})  # our look-up of the reason
    with stubber, pytest.raises(DeploymentError, match="broken is Failed, not InService: The primary container did not pass the ping"):
        deploy_endpoint("s3://models/model.tar.gz", ROLE, endpoint_name="broken", image_uri=IMAGE,
                        boto3_session=OneClientSession(client), waiter_delay_s=0)
    stubber.assert_no_pending_responses()


def test_cloudwatch_model_latency_percentiles():
    client = boto3.client("cloudwatch", region_name="us-east-1", aws_access_key_id="k", aws_secret_access_key="s")
    start, end = datetime(2026, 1, 1, 10, tzinfo=timezone.utc), datetime(2026, 1, 1, 11, tzinfo=timezone.utc)
    later, earlier = datetime(2026, 1, 1, 10, 5, tzinfo=timezone.utc), datetime(2026, 1, 1, 10, 0, tzinfo=timezone.utc)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_metric_statistics",
            {"Label": "ModelLatency", "Datapoints": [
                {"Timestamp": later, "Unit": "Microseconds", "ExtendedStatistics": {"p50": 210000.0, "p90": 459000.0}},
                {"Timestamp": earlier, "Unit": "Microseconds", "ExtendedStatistics": {"p50": 200000.0, "p90": 424000.0}},
            ]},
            {"Namespace": "AWS/SageMaker", "MetricName": "ModelLatency",
             "Dimensions": [{"Name": "EndpointName", "Value": "clickseg"}, {"Name": "VariantName", "Value": "AllTraffic"}],
             "StartTime": start, "EndTime": end, "Period": 300, "ExtendedStatistics": ["p50", "p90"], "Unit": "Microseconds"},
        )
        rows = cloudwatch_latency("clickseg", start, end, boto3_session=OneClientSession(client))
    assert rows.index.name == "timestamp" and rows.index.tolist() == [earlier, later]
    assert rows.to_dict("records") == [{"p50_ms": 200.0, "p90_ms": 424.0}, {"p50_ms": 210.0, "p90_ms": 459.0}]
    with pytest.raises(ValueError, match="must be after start"):
        cloudwatch_latency("clickseg", end, start, boto3_session=OneClientSession(client))



def test_a_failed_create_step_removes_what_the_earlier_steps_made():
    client = boto3.client("sagemaker", region_name="eu-west-1", aws_access_key_id="k", aws_secret_access_key="s")
    stubber = Stubber(client)
    stubber.add_response("create_model", {"ModelArn": "arn:aws:sagemaker:eu-west-1:123456789012:model/half"})
    stubber.add_client_error("create_endpoint_config", "ResourceLimitExceeded", "account limit for ml.g4dn.xlarge reached")
    stubber.add_response("delete_model", {}, {"ModelName": "half"})
    with stubber, pytest.raises(DeploymentError, match="failed at create_endpoint_config: .*ResourceLimitExceeded"):
        deploy_endpoint("s3://models/model.tar.gz", ROLE, endpoint_name="half", image_uri=IMAGE,
                        boto3_session=OneClientSession(client), waiter_delay_s=0)
    stubber.assert_no_pending_responses()
