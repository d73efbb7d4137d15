"""Launch, describe, list, stop and wait for labeling jobs.

Calls go through a boto3 SageMaker client made with adaptive retries, so
throttling is retried with backoff by botocore; what still fails becomes a
``GroundTruthError`` that says what to do.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .validation import validate_labeling_job_request, validate_request

TERMINAL_STATUSES = ("Completed", "Failed", "Stopped")
_HINTS = {
    "ThrottlingException": "AWS throttled the calls even after retries; wait a minute or poll less often",
    "ResourceNotFound": "no labeling job by that name in this account and region; check the name and region",
    "ResourceInUse": "a labeling job by that name exists already; job names are unique per account and region",
    "ResourceLimitExceeded": "the account's labeling-job quota is reached; stop a job or ask AWS for more",
    "AccessDeniedException": "the credentials may not call SageMaker; check the IAM policy",
}


class GroundTruthError(RuntimeError):
    """An AWS call that failed for good, with AWS's code and a hint."""

    def __init__(self, operation: str, code: str, message: str) -> None:
        self.operation, self.code = operation, code
        hint = _HINTS.get(code, "see the AWS message above")
        super().__init__(f"{operation} failed ({code}): {message} -> {hint}")


@dataclass(frozen=True)
class LabelCounters:
    """DescribeLabelingJob's counts; also the fallback when a job folder is incomplete."""

    total_labeled: int = 0
    human_labeled: int = 0
    machine_labeled: int = 0
    failed: int = 0
    unlabeled: int = 0

    @classmethod
    def from_api(cls, counters: dict[str, int]) -> "LabelCounters":
        return cls(
            counters.get("TotalLabeled", 0),
            counters.get("HumanLabeled", 0),
            counters.get("MachineLabeled", 0),
            counters.get("FailedNonRetryableError", 0),
            counters.get("Unlabeled", 0),
        )

    @property
    def total_objects(self) -> int:
        return self.total_labeled + self.failed + self.unlabeled

    @property
    def done(self) -> int:
        return self.total_labeled + self.failed


@dataclass(frozen=True)
class JobStatus:
    name: str
    status: str
    counters: LabelCounters
    failure_reason: str | None = None
    output_manifest_uri: str | None = None
    final_model_arn: str | None = None
    job_folder_uri: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL_STATUSES


def sagemaker_client(region: str | None = None, max_attempts: int = 10) -> Any:
    """A SageMaker client that retries throttling with adaptive backoff."""
    import boto3
    from botocore.config import Config

    return boto3.client("sagemaker", region_name=region, config=Config(retries={"max_attempts": max_attempts, "mode": "adaptive"}))


def _call(client: Any, operation: str, **params: Any) -> dict[str, Any]:
    from botocore import xform_name
    from botocore.exceptions import ClientError

    try:
        return getattr(client, xform_name(operation))(**params)
    except ClientError as err:
        error = err.response.get("Error", {})
        raise GroundTruthError(operation, error.get("Code", "Unknown"), error.get("Message", str(err))) from err


def launch(client: Any, request: dict[str, Any], object_count: int | None = None) -> str:
    """Validate then create the job; returns its ARN."""
    validate_labeling_job_request(request, object_count)
    return _call(client, "CreateLabelingJob", **request)["LabelingJobArn"]


def describe(client: Any, name: str) -> JobStatus:
    validate_request("DescribeLabelingJob", {"LabelingJobName": name})
    raw = _call(client, "DescribeLabelingJob", LabelingJobName=name)
    output = raw.get("LabelingJobOutput") or {}
    output_path = (raw.get("OutputConfig") or {}).get("S3OutputPath")
    return JobStatus(
        name=raw["LabelingJobName"],
        status=raw["LabelingJobStatus"],
        counters=LabelCounters.from_api(raw.get("LabelCounters") or {}),
        failure_reason=raw.get("FailureReason"),
        output_manifest_uri=output.get("OutputDatasetS3Uri"),
        final_model_arn=output.get("FinalActiveLearningModelArn"),
        job_folder_uri=f"{output_path.rstrip('/')}/{raw['LabelingJobName']}/" if output_path else None,
        raw=raw,
    )


def list_jobs(
    client: Any,
    status: str | None = None,
    name_contains: str | None = None,
    page_size: int = 100,
) -> Iterator[dict[str, Any]]:
    """Every job summary, newest first, following ``NextToken``."""
    params: dict[str, Any] = {"MaxResults": page_size, "SortBy": "CreationTime", "SortOrder": "Descending"}
    if status:
        params["StatusEquals"] = status
    if name_contains:
        params["NameContains"] = name_contains
    validate_request("ListLabelingJobs", params)
    while True:
        page = _call(client, "ListLabelingJobs", **params)
        yield from page.get("LabelingJobSummaryList", [])
        token = page.get("NextToken")
        if not token:
            return
        params["NextToken"] = token


def stop(client: Any, name: str) -> None:
    validate_request("StopLabelingJob", {"LabelingJobName": name})
    _call(client, "StopLabelingJob", LabelingJobName=name)


def wait(
    client: Any,
    name: str,
    poll_s: float = 30.0,
    timeout_s: float | None = None,
    progress: bool = True,
    sleep: Callable[[float], None] = time.sleep,
) -> JobStatus:
    """Poll until the job finishes; a tqdm bar shows labeled / total objects from ``LabelCounters``."""
    from tqdm.auto import tqdm

    waited = 0.0
    bar = tqdm(desc=name, unit="obj", disable=not progress)
    try:
        while True:
            job = describe(client, name)
            counters = job.counters
            bar.total = counters.total_objects or None
            bar.n = counters.done
            bar.set_postfix(status=job.status, human=counters.human_labeled, machine=counters.machine_labeled)
            bar.refresh()
            if job.finished:
                return job
            if timeout_s is not None and waited >= timeout_s:
                raise TimeoutError(f"labeling job {name} is still {job.status} after {waited:.0f} s; call wait() again later")
            sleep(poll_s)
            waited += poll_s
    finally:
        bar.close()
