"""Deploy ``model.tar.gz`` as a SageMaker real-time endpoint with plain boto3, and tear it down.

boto3 is enough for the three create calls and the waiter; the heavy
``sagemaker`` SDK (the optional ``[sagemaker]`` extra) is used only, when
installed, to look up the PyTorch inference image for the region.  Without it,
pass ``image_uri`` explicitly, e.g.
``763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.5.1-gpu-py311-cu124-ubuntu22.04-sagemaker``
(see the "Available Deep Learning Containers Images" list of aws/deep-learning-containers).
"""
from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from ..aws import VARIANT_NAME, aws_client
from ..io.s3 import parse_s3_uri
from .autoscaling import remove_autoscaling

DEFAULT_INSTANCE_TYPE = "ml.g4dn.xlarge"
DEFAULT_FRAMEWORK_VERSION = "2.5"
DEFAULT_PY_VERSION = "py311"
_RESOURCE_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/\S+$")


class DeploymentError(RuntimeError):
    """A deployment step failed; the message says which and what to check."""


@dataclass(frozen=True)
class DeployedEndpoint:
    endpoint_name: str
    endpoint_config_name: str
    model_name: str
    region: str
    status: str


def upload_model_archive(archive_path: str | os.PathLike, s3_uri: str, region: str | None = None, boto3_session: Any = None) -> str:
    """Upload ``model.tar.gz`` to ``s3_uri`` (a key, or a prefix ending in ``/``); returns the object's URI."""
    archive_path = Path(archive_path)
    if not archive_path.is_file():
        raise FileNotFoundError(f"model archive {archive_path} does not exist: build it with build_model_archive()")
    bucket, key = parse_s3_uri(s3_uri)
    if key.endswith("/") or not key:
        key = f"{key}{archive_path.name}"
    aws_client("s3", boto3_session, region).upload_file(str(archive_path), bucket, key)
    return f"s3://{bucket}/{key}"


def pytorch_image_uri(region: str, instance_type: str = DEFAULT_INSTANCE_TYPE, framework_version: str = DEFAULT_FRAMEWORK_VERSION, py_version: str = DEFAULT_PY_VERSION) -> str:
    """The PyTorch inference container for ``region`` via the ``sagemaker`` SDK, which must be installed."""
    try:
        from sagemaker import image_uris  # SDK v2
    except ImportError:
        try:
            from sagemaker.core import image_uris  # SDK v3
        except ImportError:
            raise DeploymentError(
                "cannot look up the PyTorch inference image without the sagemaker SDK: "
                "pip install 'clickseg-widget[sagemaker]', or pass image_uri='<account>.dkr.ecr.<region>.amazonaws.com/"
                "pytorch-inference:<version>-<cpu|gpu>-<py>-...-sagemaker' explicitly"
            ) from None
    return image_uris.retrieve(
        framework="pytorch", region=region, version=framework_version, py_version=py_version, instance_type=instance_type, image_scope="inference"
    )


def deploy_endpoint(
    model_archive_s3_uri: str,
    role_arn: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    endpoint_name: str | None = None,
    image_uri: str | None = None,
    instance_count: int = 1,
    region: str | None = None,
    boto3_session: Any = None,
    environment: Mapping[str, str] | None = None,
    wait: bool = True,
    waiter_delay_s: int = 30,
    waiter_max_attempts: int = 60,
) -> DeployedEndpoint:
    """Create model, endpoint config and endpoint (all named ``endpoint_name``); wait until InService."""
    check_model_inputs(model_archive_s3_uri, role_arn, instance_type)
    if instance_count < 1:
        raise ValueError("instance_count must be at least 1")
    name = endpoint_name or f"clickseg-{time.strftime('%Y%m%d-%H%M%S')}"
    if not _RESOURCE_NAME.match(name):
        raise ValueError(f"endpoint name {name!r} must be 1-63 letters, digits and single hyphens, starting with a letter or digit")

    client = aws_client("sagemaker", boto3_session, region)
    region = client.meta.region_name
    container = model_container(model_archive_s3_uri, image_uri or pytorch_image_uri(region, instance_type), region, environment)
    variant = {
        "VariantName": VARIANT_NAME, "ModelName": name, "InitialInstanceCount": instance_count,
        "InstanceType": instance_type, "InitialVariantWeight": 1.0,
    }
    steps = [
        ("create_model", lambda: client.create_model(ModelName=name, ExecutionRoleArn=role_arn, PrimaryContainer=container),
         lambda: client.delete_model(ModelName=name)),
        ("create_endpoint_config", lambda: client.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant]),
         lambda: client.delete_endpoint_config(EndpointConfigName=name)),
        ("create_endpoint", lambda: client.create_endpoint(EndpointName=name, EndpointConfigName=name), None),
    ]
    _create_all(steps, name)
    status = "Creating"
    if wait:
        status = wait_for_endpoint(client, name, waiter_delay_s, waiter_max_attempts)
    return DeployedEndpoint(endpoint_name=name, endpoint_config_name=name, model_name=name, region=region, status=status)


def model_container(model_archive_s3_uri: str, image_uri: str, region: str, environment: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The PyTorch container running the archive's ``code/inference.py``: one model for endpoints and Batch Transform."""
    return {
        "Image": image_uri,
        "ModelDataUrl": model_archive_s3_uri,
        "Environment": {
            "SAGEMAKER_PROGRAM": "inference.py",
            "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
            "SAGEMAKER_REGION": region,
            **dict(environment or {}),
        },
    }


def check_model_inputs(model_archive_s3_uri: str, role_arn: str, instance_type: str) -> None:
    """What SageMaker would refuse later, said before anything is created."""
    parse_s3_uri(model_archive_s3_uri, require_key=True)
    if not model_archive_s3_uri.endswith(".tar.gz"):
        raise ValueError(f"{model_archive_s3_uri} is not a model.tar.gz: SageMaker unpacks a gzipped tar")
    if not _ROLE_ARN.match(role_arn or ""):
        raise ValueError(f"role_arn {role_arn!r} is not an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>)")
    if not instance_type.startswith("ml."):
        raise ValueError(f"instance_type {instance_type!r} must be a SageMaker instance type such as ml.g4dn.xlarge")


def _create_all(steps: list[tuple[str, Callable[[], Any], Callable[[], Any] | None]], name: str) -> None:
    """Run the create calls in order; if one fails, delete what the earlier ones made so a retry can reuse the name."""
    from botocore.exceptions import ClientError

    undo: list[Callable[[], Any]] = []
    for step, create, delete in steps:
        try:
            create()
        except ClientError as err:
            for rollback in reversed(undo):
                try:
                    rollback()
                except ClientError:
                    pass  # best effort: the original failure is what the user must see
            raise DeploymentError(f"deploying {name!r} failed at {step}: {err}; nothing it created is left behind") from err
        if delete is not None:
            undo.append(delete)


def wait_for_endpoint(client: Any, endpoint_name: str, delay_s: int = 30, max_attempts: int = 60) -> str:
    """botocore's ``endpoint_in_service`` waiter, with the endpoint's FailureReason on failure."""
    from botocore.exceptions import WaiterError

    try:
        client.get_waiter("endpoint_in_service").wait(EndpointName=endpoint_name, WaiterConfig={"Delay": delay_s, "MaxAttempts": max_attempts})
    except WaiterError as err:
        description = client.describe_endpoint(EndpointName=endpoint_name)
        status = description.get("EndpointStatus", "unknown")
        reason = description.get("FailureReason") or str(err)
        raise DeploymentError(
            f"endpoint {endpoint_name} is {status}, not InService: {reason}. "
            f"Its container logs are in CloudWatch under /aws/sagemaker/Endpoints/{endpoint_name}"
        ) from None
    return "InService"


def delete_endpoint(endpoint_name: str, region: str | None = None, boto3_session: Any = None, delete_config: bool = True, delete_model: bool = True) -> list[str]:
    """Delete the endpoint (stops the billing), its autoscaling and, by default, its config and models; returns what was deleted.

    Scaling goes first, as AWS asks: a scalable target left behind keeps trying to scale a missing endpoint.
    """
    client = aws_client("sagemaker", boto3_session, region)
    endpoint = client.describe_endpoint(EndpointName=endpoint_name)
    config_name = endpoint["EndpointConfigName"]
    variants = client.describe_endpoint_config(EndpointConfigName=config_name)["ProductionVariants"]
    models = [variant["ModelName"] for variant in variants] if delete_model else []
    scaling = aws_client("application-autoscaling", boto3_session, client.meta.region_name)
    deleted = remove_autoscaling(scaling, endpoint_name, [variant["VariantName"] for variant in variants])
    client.delete_endpoint(EndpointName=endpoint_name)
    deleted.append(f"endpoint/{endpoint_name}")
    if delete_config:
        client.delete_endpoint_config(EndpointConfigName=config_name)
        deleted.append(f"endpoint-config/{config_name}")
    for model in models:
        client.delete_model(ModelName=model)
        deleted.append(f"model/{model}")
    return deleted
