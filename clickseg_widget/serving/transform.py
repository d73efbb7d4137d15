"""Pre-label a whole dataset on SageMaker Batch Transform with the archive that deploys endpoints.

SageMaker's engine does the scheduling: the input JSON Lines are split by line
(``SplitType=Line``), sent several lines per request (``BatchStrategy=MultiRecord``) to
the same handler the endpoint runs, and the answers assembled line by line into
``<input>.out``.  ``run_transform`` creates the model and the job, waits with a progress
bar (finished output files over input files), and reads the outputs back into the local
layout ``clickseg prelabel`` writes.
"""
from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..groundtruth.validation import validate_request
from ..io.s3 import join_s3, parse_s3_uri
from ..prelabel.local import PrelabelSummary, RecordWriter
from .batch import JSONLINES_CONTENT_TYPE, LABEL_PNG_KEY
from ..aws import aws_client
from .deploy import DEFAULT_INSTANCE_TYPE, check_model_inputs, model_container, pytorch_image_uri

# MultiRecord packs lines up to MaxPayloadInMB into one request: 1 MB of ~200-byte lines is ~5,000 images, so the
# request may take minutes; the container (TorchServe's response timeout) and the job both wait up to an hour.
DEFAULT_MAX_PAYLOAD_MB = 1
DEFAULT_INVOCATION_TIMEOUT_S = 3600
CONTAINER_ENVIRONMENT = {"SAGEMAKER_MODEL_SERVER_TIMEOUT": str(DEFAULT_INVOCATION_TIMEOUT_S)}
OUTPUT_SUFFIX = ".out"
FINAL_STATES = ("Completed", "Failed", "Stopped")


class TransformError(RuntimeError):
    """The transform job did not complete; the message carries SageMaker's reason and where the logs are."""


@dataclass
class TransformResult:
    job_name: str
    status: str
    output_s3_uri: str
    summary: PrelabelSummary | None = None


def transform_job_request(
    job_name: str,
    model_name: str,
    input_s3_uri: str,
    output_s3_uri: str,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    max_payload_mb: int = DEFAULT_MAX_PAYLOAD_MB,
    max_concurrent_transforms: int | None = None,
    invocation_timeout_s: int = DEFAULT_INVOCATION_TIMEOUT_S,
    tags: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """``CreateTransformJob`` parameters for pre-labeling lines, checked against botocore's service model."""
    parse_s3_uri(input_s3_uri)
    parse_s3_uri(output_s3_uri)
    request: dict[str, Any] = {
        "TransformJobName": job_name,
        "ModelName": model_name,
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": max_payload_mb,
        "ModelClientConfig": {"InvocationsTimeoutInSeconds": invocation_timeout_s, "InvocationsMaxRetries": 1},
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_s3_uri}},
            "ContentType": JSONLINES_CONTENT_TYPE,
            "CompressionType": "None",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": output_s3_uri, "Accept": JSONLINES_CONTENT_TYPE, "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": instance_type, "InstanceCount": instance_count},
    }
    if max_concurrent_transforms is not None:
        request["MaxConcurrentTransforms"] = max_concurrent_transforms
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    validate_request("CreateTransformJob", request)
    return request


def run_transform(
    model_archive_s3_uri: str,
    role_arn: str,
    input_s3_uri: str,
    output_s3_uri: str,
    local_output: str | Path | None = None,
    instance_type: str = DEFAULT_INSTANCE_TYPE,
    instance_count: int = 1,
    job_name: str | None = None,
    image_uri: str | None = None,
    region: str | None = None,
    boto3_session: Any = None,
    poll_s: float = 30.0,
    max_wait_s: float = 24 * 3600,
    progress: bool = True,
) -> TransformResult:
    """Create the model and the transform job, wait for it, and read the outputs into ``local_output`` (JSON Lines)."""
    check_model_inputs(model_archive_s3_uri, role_arn, instance_type)
    name = job_name or f"clickseg-prelabel-{time.strftime('%Y%m%d-%H%M%S')}"
    sagemaker = aws_client("sagemaker", boto3_session, region)
    s3 = aws_client("s3", boto3_session, region)
    region = sagemaker.meta.region_name
    request = transform_job_request(name, name, input_s3_uri, output_s3_uri, instance_type, instance_count)
    inputs = input_keys(s3, input_s3_uri)
    container = model_container(model_archive_s3_uri, image_uri or pytorch_image_uri(region, instance_type), region, CONTAINER_ENVIRONMENT)
    sagemaker.create_model(ModelName=name, ExecutionRoleArn=role_arn, PrimaryContainer=container)
    sagemaker.create_transform_job(**request)
    status = wait_for_transform(sagemaker, s3, name, input_s3_uri, inputs, output_s3_uri, poll_s, max_wait_s, progress)
    result = TransformResult(name, status, output_s3_uri)
    if local_output is not None:
        result.summary = read_transform_output(s3, input_s3_uri, inputs, output_s3_uri, local_output)
    return result


def input_keys(s3: Any, input_s3_uri: str) -> list[str]:
    """The input objects the ``S3Prefix`` selects, in key order; an empty selection is refused before any cost."""
    bucket, prefix = parse_s3_uri(input_s3_uri)
    keys = [item["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for item in page.get("Contents", []) if not item["Key"].endswith("/")]
    if not keys:
        raise ValueError(f"no input objects under {input_s3_uri}: upload the JSON Lines file(s) there first")
    return sorted(keys)


def output_key(input_s3_uri: str, key: str, output_s3_uri: str) -> tuple[str, str]:
    """Where Batch Transform writes the answer to input ``key``: its path below the input prefix, plus ``.out``."""
    _, prefix = parse_s3_uri(input_s3_uri)
    folder = prefix[: prefix.rfind("/") + 1]  # s3://b/in/data.jsonl and s3://b/in/ both keep what follows in/
    return parse_s3_uri(join_s3(output_s3_uri, key[len(folder):] + OUTPUT_SUFFIX))


def wait_for_transform(
    sagemaker: Any, s3: Any, job_name: str, input_s3_uri: str, inputs: list[str], output_s3_uri: str,
    poll_s: float, max_wait_s: float, progress: bool = True,
) -> str:
    """Poll the job until it ends; the bar counts input files whose ``.out`` exists."""
    from tqdm.auto import tqdm

    deadline = time.monotonic() + max_wait_s
    with tqdm(total=len(inputs), unit="file", desc=f"transform {job_name}", disable=not progress) as bar:
        while True:
            description = sagemaker.describe_transform_job(TransformJobName=job_name)
            status = description["TransformJobStatus"]
            finished = sum(_exists(s3, *output_key(input_s3_uri, key, output_s3_uri)) for key in inputs)
            bar.update(finished - bar.n)
            bar.set_postfix_str(status)
            if status in FINAL_STATES:
                break
            if time.monotonic() > deadline:
                raise TransformError(f"transform job {job_name} is still {status} after {max_wait_s:.0f} s: stop it or wait longer")
            time.sleep(poll_s)
    if status != "Completed":
        reason = description.get("FailureReason", "no reason given")
        raise TransformError(
            f"transform job {job_name} is {status}: {reason}. "
            f"Its container logs are in CloudWatch under /aws/sagemaker/TransformJobs/{job_name}"
        )
    return status


def _exists(s3: Any, bucket: str, key: str) -> bool:
    return bool(s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1).get("KeyCount", 0))


def read_transform_output(s3: Any, input_s3_uri: str, inputs: list[str], output_s3_uri: str, local_output: str | Path) -> PrelabelSummary:
    """Write the job's records as ``clickseg prelabel`` would: lines numbered through the input files in key order."""
    output = Path(local_output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if output.exists():
        raise FileExistsError(f"{output} exists: read a transform job's output into a new file")
    summary = PrelabelSummary()
    line = 0
    with RecordWriter(output, summary) as writer:
        for key in inputs:
            bucket, out_key = output_key(input_s3_uri, key, output_s3_uri)
            body = s3.get_object(Bucket=bucket, Key=out_key)["Body"].read().decode("utf-8")
            for text in body.splitlines():
                if not text.strip():
                    continue
                line += 1
                record = json.loads(text)
                record["line"] = line
                if "error" in record:
                    writer.fail(line, record["error"], f"s3://{bucket}/{out_key}")
                else:
                    writer.add(record, base64.b64decode(record.pop(LABEL_PNG_KEY)))
    return summary
