"""Endpoint autoscaling: Application Auto Scaling calls checked by Stubber, removed by delete_endpoint."""
from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from clickseg_widget.serving.autoscaling import configure_autoscaling, target_invocations_per_instance
from clickseg_widget.serving.deploy import delete_endpoint

RESOURCE = "endpoint/clickseg-live/variant/AllTraffic"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
POLICY_ARN = "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1:resource/sagemaker/endpoint/clickseg-live/variant/AllTraffic:policyName/p"


@pytest.fixture()
def session():
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def stub_clients(session, monkeypatch, services):
    stubs = {}
    for service in services:
        client = session.client(service)
        stubs[service] = (client, Stubber(client))
    monkeypatch.setattr(session, "client", lambda service, **_: stubs[service][0])
    return {service: stub for service, (_, stub) in stubs.items()}


def test_configure_registers_target_and_tracking_policy(session, monkeypatch):
    stubber = stub_clients(session, monkeypatch, ["application-autoscaling"])["application-autoscaling"]
    stubber.add_response("register_scalable_target", {}, {
        "ServiceNamespace": "sagemaker", "ResourceId": RESOURCE, "ScalableDimension": DIMENSION, "MinCapacity": 1, "MaxCapacity": 4})
    stubber.add_response("put_scaling_policy", {"PolicyARN": POLICY_ARN, "Alarms": []}, {
        "PolicyName": "clickseg-live-AllTraffic-invocations", "ServiceNamespace": "sagemaker", "ResourceId": RESOURCE,
        "ScalableDimension": DIMENSION, "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": 1500.0, "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
            "ScaleInCooldown": 300, "ScaleOutCooldown": 60}})
    with stubber:
        scaling = configure_autoscaling("clickseg-live", 1, 4, target_invocations_per_instance(50), boto3_session=session)
    stubber.assert_no_pending_responses()
    assert (scaling.resource_id, scaling.policy_arn, scaling.target_invocations_per_instance) == (RESOURCE, POLICY_ARN, 1500.0)


@pytest.mark.parametrize(("low", "high", "target"), [(0, 2, 10), (3, 2, 10), (1, 2, 0)])
def test_impossible_ranges_are_refused_before_any_call(session, low, high, target):
    with pytest.raises(ValueError):
        configure_autoscaling("clickseg-live", low, high, target, boto3_session=session)


def test_delete_endpoint_deregisters_scaling_first(session, monkeypatch):
    stubs = stub_clients(session, monkeypatch, ["sagemaker", "application-autoscaling"])
    sagemaker, scaling = stubs["sagemaker"], stubs["application-autoscaling"]
    sagemaker.add_response("describe_endpoint", {
        "EndpointName": "clickseg-live", "EndpointArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint/clickseg-live",
        "EndpointConfigName": "clickseg-live", "EndpointStatus": "InService",
        "CreationTime": "2026-01-01T00:00:00Z", "LastModifiedTime": "2026-01-01T00:00:00Z"}, {"EndpointName": "clickseg-live"})
    sagemaker.add_response("describe_endpoint_config", {
        "EndpointConfigName": "clickseg-live", "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/clickseg-live",
        "ProductionVariants": [{"VariantName": "AllTraffic", "ModelName": "clickseg-live"}], "CreationTime": "2026-01-01T00:00:00Z"},
        {"EndpointConfigName": "clickseg-live"})
    scaling.add_response("describe_scalable_targets", {"ScalableTargets": [{
        "ServiceNamespace": "sagemaker", "ResourceId": RESOURCE, "ScalableDimension": DIMENSION, "MinCapacity": 1, "MaxCapacity": 4,
        "RoleARN": "arn:aws:iam::123456789012:role/scaling", "CreationTime": "2026-01-01T00:00:00Z"}]},
        {"ServiceNamespace": "sagemaker", "ResourceIds": [RESOURCE], "ScalableDimension": DIMENSION})
    scaling.add_response("deregister_scalable_target", {}, {"ServiceNamespace": "sagemaker", "ResourceId": RESOURCE, "ScalableDimension": DIMENSION})
    sagemaker.add_response("delete_endpoint", {}, {"EndpointName": "clickseg-live"})
    sagemaker.add_response("delete_endpoint_config", {}, {"EndpointConfigName": "clickseg-live"})
    sagemaker.add_response("delete_model", {}, {"ModelName": "clickseg-live"})
    with sagemaker, scaling:
        deleted = delete_endpoint("clickseg-live", boto3_session=session)
    assert deleted == [f"scalable-target/{RESOURCE}", "endpoint/clickseg-live", "endpoint-config/clickseg-live", "model/clickseg-live"]
    sagemaker.assert_no_pending_responses()
    scaling.assert_no_pending_responses()


def test_target_from_measured_clicks_per_second():
    assert target_invocations_per_instance(20) == 600.0  # half of 20 clicks/s, per minute
    with pytest.raises(ValueError):
        target_invocations_per_instance(0)
