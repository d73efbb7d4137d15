"""Endpoints that follow the load: Application Auto Scaling on the variant's instance count.

A target-tracking policy on ``SageMakerVariantInvocationsPerInstance`` (invocations per
instance per minute) adds instances when annotators click faster than the target and
removes them when they stop.  Size the target from what one instance measurably holds:
``target_invocations_per_instance(clicks_per_second)``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..aws import VARIANT_NAME, aws_client

NAMESPACE = "sagemaker"
DIMENSION = "sagemaker:variant:DesiredInstanceCount"
METRIC = "SageMakerVariantInvocationsPerInstance"
DEFAULT_SAFETY_FACTOR = 0.5  # AWS's load-testing guidance: target half of what an instance holds at its latency limit


@dataclass(frozen=True)
class Autoscaling:
    resource_id: str
    policy_name: str
    policy_arn: str
    min_instances: int
    max_instances: int
    target_invocations_per_instance: float


def resource_id(endpoint_name: str, variant: str = VARIANT_NAME) -> str:
    return f"endpoint/{endpoint_name}/variant/{variant}"


def target_invocations_per_instance(clicks_per_second: float, safety_factor: float = DEFAULT_SAFETY_FACTOR) -> float:
    """Per-minute target from the clicks/s one instance serves within your latency limit (measured, e.g. profile_latency)."""
    if clicks_per_second <= 0 or not 0 < safety_factor <= 1:
        raise ValueError("clicks_per_second must be positive and safety_factor in (0, 1]")
    return round(clicks_per_second * safety_factor * 60, 1)


def configure_autoscaling(
    endpoint_name: str,
    min_instances: int,
    max_instances: int,
    target_invocations_per_instance: float,
    variant: str = VARIANT_NAME,
    scale_in_cooldown_s: int = 300,
    scale_out_cooldown_s: int = 60,
    region: str | None = None,
    boto3_session: Any = None,
) -> Autoscaling:
    """Register the variant as a scalable target and attach the target-tracking policy (calling again updates both)."""
    if not 1 <= min_instances <= max_instances:
        raise ValueError(f"need 1 <= min_instances <= max_instances, got {min_instances} and {max_instances}")
    if target_invocations_per_instance <= 0:
        raise ValueError("target_invocations_per_instance must be positive (invocations per instance per minute)")
    client = aws_client("application-autoscaling", boto3_session, region)
    resource = resource_id(endpoint_name, variant)
    client.register_scalable_target(
        ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=DIMENSION,
        MinCapacity=min_instances, MaxCapacity=max_instances,
    )
    policy_name = f"{endpoint_name}-{variant}-invocations"
    answer = client.put_scaling_policy(
        PolicyName=policy_name, ServiceNamespace=NAMESPACE, ResourceId=resource, ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": float(target_invocations_per_instance),
            "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
            "ScaleInCooldown": scale_in_cooldown_s,
            "ScaleOutCooldown": scale_out_cooldown_s,
        },
    )
    return Autoscaling(resource, policy_name, answer["PolicyARN"], min_instances, max_instances, float(target_invocations_per_instance))


def remove_autoscaling(client: Any, endpoint_name: str, variants: list[str]) -> list[str]:
    """Deregister the variants' scalable targets (their policies go with them); returns what was removed."""
    resources = [resource_id(endpoint_name, variant) for variant in variants]
    found = client.describe_scalable_targets(ServiceNamespace=NAMESPACE, ResourceIds=resources, ScalableDimension=DIMENSION)
    removed = []
    for target in found.get("ScalableTargets", []):
        client.deregister_scalable_target(ServiceNamespace=NAMESPACE, ResourceId=target["ResourceId"], ScalableDimension=DIMENSION)
        removed.append(f"scalable-target/{target['ResourceId']}")
    return removed
