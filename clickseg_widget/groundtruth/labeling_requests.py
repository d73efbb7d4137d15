"""CreateLabelingJob requests for bounding-box and semantic-segmentation jobs.

The builders fill in what follows from the task type and region (Lambda ARNs,
the auto-labeling algorithm, the price encoding) so a notebook only states its
choices; ``validation.validate_labeling_job_request`` checks the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

from . import arns

DEFAULT_TASK_TIME_LIMIT_S = 300
DEFAULT_AVAILABILITY_S = 21_600


@dataclass(frozen=True)
class Workteam:
    """Who labels: the public crowd (needs a price per task), a private team or a vendor."""

    arn: str
    price_usd: str | None = None

    @classmethod
    def public(cls, region: str, price_usd: str | float) -> "Workteam":
        return cls(arns.public_workteam_arn(region), str(price_usd))

    @classmethod
    def private(cls, region: str, account: str, name: str) -> "Workteam":
        return cls(arns.private_workteam_arn(region, account, name))

    @classmethod
    def vendor(cls, arn: str) -> "Workteam":
        if arns.workforce_kind(arn) != "vendor":
            raise ValueError(f"{arn!r} is not a vendor workteam ARN (…:workteam/vendor-crowd/<name>)")
        return cls(arn)


def price_to_usd(price: str | float | Decimal) -> dict[str, int]:
    """``0.036`` -> ``{"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}`` (exact, via Decimal)."""
    try:
        amount = Decimal(str(price))
    except InvalidOperation:
        raise ValueError(f"worker price {price!r} is not a number of dollars") from None
    if not amount.is_finite():
        raise ValueError(f"worker price {price!r} is not a number of dollars")
    tenths = amount * 1000
    if amount < 0 or tenths != tenths.to_integral_value():
        raise ValueError(f"worker price {price!r} must be non-negative with at most 3 decimals (tenths of a cent)")
    whole = int(tenths)
    return {"Dollars": whole // 1000, "Cents": whole // 10 % 100, "TenthFractionsOfACent": whole % 10}


def usd_to_price(amount: Mapping[str, int]) -> Decimal:
    return (
        Decimal(amount.get("Dollars", 0))
        + Decimal(amount.get("Cents", 0)) / 100
        + Decimal(amount.get("TenthFractionsOfACent", 0)) / 1000
    )


def labeling_job_request(
    task: str,
    *,
    job_name: str,
    label_attribute_name: str,
    manifest_uri: str,
    output_path: str,
    role_arn: str,
    region: str,
    template_uri: str,
    label_category_uri: str,
    workteam: Workteam,
    task_title: str,
    task_description: str,
    workers_per_object: int,
    task_time_limit_s: int = DEFAULT_TASK_TIME_LIMIT_S,
    task_availability_s: int | None = None,
    max_concurrent_tasks: int | None = None,
    keywords: Sequence[str] = (),
    content_classifiers: Sequence[str] = (),
    auto_labeling: bool = False,
    initial_model_arn: str | None = None,
    max_human_labeled: int | None = None,
    max_percent_labeled: int | None = None,
    tags: Mapping[str, str] | None = None,
    output_kms_key: str | None = None,
) -> dict[str, Any]:
    """The CreateLabelingJob parameters for a built-in image task (``bounding_box`` or ``semantic_segmentation``)."""
    arns.task_type(task)
    human: dict[str, Any] = {
        "WorkteamArn": workteam.arn,
        "UiConfig": {"UiTemplateS3Uri": template_uri},
        "PreHumanTaskLambdaArn": arns.pre_annotation_lambda_arn(region, task),
        "TaskTitle": task_title,
        "TaskDescription": task_description,
        "NumberOfHumanWorkersPerDataObject": workers_per_object,
        "TaskTimeLimitInSeconds": task_time_limit_s,
        "AnnotationConsolidationConfig": {"AnnotationConsolidationLambdaArn": arns.consolidation_lambda_arn(region, task)},
    }
    if keywords:
        human["TaskKeywords"] = list(keywords)
    if task_availability_s is not None:
        human["TaskAvailabilityLifetimeInSeconds"] = task_availability_s
    if max_concurrent_tasks is not None:
        human["MaxConcurrentTaskCount"] = max_concurrent_tasks
    if workteam.price_usd is not None:
        human["PublicWorkforceTaskPrice"] = {"AmountInUsd": price_to_usd(workteam.price_usd)}

    input_config: dict[str, Any] = {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest_uri}}}
    if content_classifiers:
        input_config["DataAttributes"] = {"ContentClassifiers": list(content_classifiers)}
    output_config: dict[str, Any] = {"S3OutputPath": output_path}
    if output_kms_key:
        output_config["KmsKeyId"] = output_kms_key

    request: dict[str, Any] = {
        "LabelingJobName": job_name,
        "LabelAttributeName": label_attribute_name,
        "InputConfig": input_config,
        "OutputConfig": output_config,
        "RoleArn": role_arn,
        "LabelCategoryConfigS3Uri": label_category_uri,
        "HumanTaskConfig": human,
    }
    stopping = {}
    if max_human_labeled is not None:
        stopping["MaxHumanLabeledObjectCount"] = max_human_labeled
    if max_percent_labeled is not None:
        stopping["MaxPercentageOfInputDatasetLabeled"] = max_percent_labeled
    if stopping:
        request["StoppingConditions"] = stopping
    if auto_labeling:
        algorithms: dict[str, Any] = {"LabelingJobAlgorithmSpecificationArn": arns.algorithm_arn(region, task)}
        if initial_model_arn:
            algorithms["InitialActiveLearningModelArn"] = initial_model_arn
        request["LabelingJobAlgorithmsConfig"] = algorithms
    elif initial_model_arn:
        raise ValueError("initial_model_arn only applies with auto_labeling=True")
    if tags:
        request["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
    return request


def bounding_box_job_request(**options: Any) -> dict[str, Any]:
    return labeling_job_request("bounding_box", **options)


def semantic_segmentation_job_request(**options: Any) -> dict[str, Any]:
    return labeling_job_request("semantic_segmentation", **options)
