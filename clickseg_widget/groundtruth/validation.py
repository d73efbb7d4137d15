"""Check a request before it is sent: botocore's model, then what botocore skips.

botocore's client-side validation checks required members, types and minimums
but not maximums, patterns or enumerations; those come from the same service
model here.  Ground Truth's own rules (naming, ARN shapes and regions, price
points, the auto-labeling minimum) are written out below.  Every problem is
reported at once so a notebook user fixes them in one pass.
"""
from __future__ import annotations

import re
from decimal import Decimal
from functools import lru_cache
from typing import Any

from . import arns
from .labeling_requests import usd_to_price

MIN_AUTO_LABELING_OBJECTS = 1250
MAX_IMAGE_TASK_TIME_S = 28_800
MAX_PUBLIC_AVAILABILITY_S = 43_200
PII_CLASSIFIER = "FreeOfPersonallyIdentifiableInformation"
# Java's Unicode classes, which Python's ``re`` lacks, mapped to near equivalents.
_UNICODE_CLASSES = {r"\p{L}": r"\w", r"\p{N}": r"\d", r"\p{Z}": r"\s"}


class RequestError(ValueError):
    """A request that AWS would refuse (or that would fail later), with every problem listed."""

    def __init__(self, operation: str, problems: list[str]) -> None:
        self.operation, self.problems = operation, problems
        super().__init__(f"{operation} request is invalid:\n" + "\n".join(f"  - {p}" for p in problems))


@lru_cache(maxsize=1)
def _service_model():
    import botocore.session

    return botocore.session.get_session().get_service_model("sagemaker")


def model_problems(operation: str, params: dict[str, Any]) -> list[str]:
    """Problems botocore's own validator finds, plus maximums, patterns and enums from its model."""
    from botocore.validate import ParamValidator

    shape = _service_model().operation_model(operation).input_shape
    report = ParamValidator().validate(params, shape)
    problems = [line.strip() for line in report.generate_report().splitlines() if line.strip()] if report.has_errors() else []
    _walk(shape, params, "", problems)
    return problems


def _walk(shape: Any, value: Any, path: str, problems: list[str]) -> None:
    meta = shape.metadata
    name = path or shape.name
    if shape.type_name == "structure" and isinstance(value, dict):
        for key, member in shape.members.items():
            if key in value:
                _walk(member, value[key], f"{path}.{key}" if path else key, problems)
    elif shape.type_name == "list" and isinstance(value, list):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{name} has {len(value)} items; at most {meta['max']} allowed")
        for index, item in enumerate(value):
            _walk(shape.member, item, f"{name}[{index}]", problems)
    elif shape.type_name == "string" and isinstance(value, str):
        if "max" in meta and len(value) > meta["max"]:
            problems.append(f"{name} is {len(value)} characters long; at most {meta['max']} allowed")
        if shape.enum and value not in shape.enum:
            problems.append(f"{name}={value!r} is not one of {', '.join(shape.enum)}")
        pattern = _compiled(meta.get("pattern"))
        if pattern is not None and not pattern.fullmatch(value):
            problems.append(f"{name}={value!r} does not match the pattern {meta['pattern']}")
    elif shape.type_name in ("integer", "long") and isinstance(value, int):
        if "max" in meta and value > meta["max"]:
            problems.append(f"{name}={value} is above the maximum {meta['max']}")


@lru_cache(maxsize=None)
def _compiled(pattern: str | None) -> re.Pattern | None:
    if not pattern:
        return None
    for java, python in _UNICODE_CLASSES.items():
        pattern = pattern.replace(java, python)
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error:
        return None


def validate_request(operation: str, params: dict[str, Any]) -> None:
    problems = model_problems(operation, params)
    if problems:
        raise RequestError(operation, problems)


def validate_labeling_job_request(request: dict[str, Any], object_count: int | None = None) -> None:
    """Raise ``RequestError`` listing every problem of a CreateLabelingJob request.

    ``object_count`` (the input manifest's line count) enables the automated
    labeling minimum check.
    """
    problems = model_problems("CreateLabelingJob", request)
    problems += labeling_job_rule_problems(request, object_count)
    if problems:
        raise RequestError("CreateLabelingJob", problems)


def labeling_job_rule_problems(request: dict[str, Any], object_count: int | None = None) -> list[str]:
    problems: list[str] = []
    human = request.get("HumanTaskConfig") or {}
    task, regions = _task_and_regions(human, problems)
    attribute = str(request.get("LabelAttributeName", ""))
    if attribute.endswith("-metadata"):
        problems.append(f"LabelAttributeName {attribute!r} must not end in '-metadata' (Ground Truth adds that key itself)")
    if task is not None:
        if task.segmentation and not attribute.endswith("-ref"):
            problems.append(f"LabelAttributeName {attribute!r} must end in '-ref' for semantic segmentation (e.g. {attribute}-ref)")
        if task.key == "bounding_box" and attribute.endswith("-ref"):
            problems.append(f"LabelAttributeName {attribute!r} must not end in '-ref' for bounding boxes")
        ui = human.get("UiConfig") or {}
        if "UiTemplateS3Uri" not in ui:
            problems.append("UiConfig needs UiTemplateS3Uri for image tasks (HumanTaskUiArn is for NER, point cloud and video)")
        if human.get("TaskTimeLimitInSeconds", 0) > MAX_IMAGE_TASK_TIME_S:
            problems.append(f"TaskTimeLimitInSeconds is above {MAX_IMAGE_TASK_TIME_S} (8 hours), the maximum for image tasks")
    if "AnnotationConsolidationConfig" not in human and task is not None:
        problems.append("built-in tasks need AnnotationConsolidationConfig with the region's ACS- Lambda")
    _workforce_rules(request, human, task, regions, problems)
    _auto_labeling_rules(request, task, regions, object_count, problems)
    if len(regions) > 1:
        problems.append(f"the ARNs name different regions ({', '.join(sorted(regions))}); a job and its resources share one region")
    return problems


def _task_and_regions(human: dict[str, Any], problems: list[str]) -> tuple[arns.TaskType | None, set[str]]:
    """The built-in task named by the Lambda ARNs, checking they agree and are AWS's own."""
    tasks, regions = set(), set()
    pairs = (
        ("PreHumanTaskLambdaArn", human.get("PreHumanTaskLambdaArn"), "PRE"),
        (
            "AnnotationConsolidationLambdaArn",
            (human.get("AnnotationConsolidationConfig") or {}).get("AnnotationConsolidationLambdaArn"),
            "ACS",
        ),
    )
    for field, arn, kind in pairs:
        if not arn:
            continue
        match = arns.LAMBDA_ARN.match(arn)
        if not match:
            continue  # a custom Lambda: only the model's pattern applies
        if match["kind"] != kind:
            problems.append(f"{field} {arn!r} names a {match['kind']}- Lambda; expected {kind}-<TaskType>")
        region = match["region"]
        regions.add(region)
        expected = arns.LAMBDA_ACCOUNTS.get(region)
        if expected is None:
            problems.append(f"{field}: no Ground Truth Lambdas are known in region {region!r}")
        elif match["account"] != expected:
            problems.append(f"{field} {arn!r} uses account {match['account']}; {region}'s Ground Truth Lambdas live in {expected}")
        if match["task"] in arns.TASK_BY_LAMBDA_NAME:
            tasks.add(match["task"])
    if len(tasks) > 1:
        problems.append(f"the pre-annotation and consolidation Lambdas name different tasks ({', '.join(sorted(tasks))})")
    task = arns.TASK_BY_LAMBDA_NAME[tasks.pop()] if len(tasks) == 1 else None
    return task, regions


def _workforce_rules(request, human, task, regions, problems) -> None:
    workteam = str(human.get("WorkteamArn", ""))
    match = arns.WORKTEAM_ARN.match(workteam)
    if workteam and not match:
        problems.append(
            f"WorkteamArn {workteam!r} is not a workteam ARN: use …:workteam/public-crowd/default, "
            "…:workteam/private-crowd/<name> or a vendor-crowd ARN"
        )
        return
    if not match:
        return
    regions.add(match["region"])
    price = (human.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if match["crowd"] == "public":
        if match["account"] != arns.PUBLIC_WORKFORCE_ACCOUNT or match["name"] != "default":
            problems.append(f"the public workforce is {arns.public_workteam_arn(match['region'])}, not {workteam!r}")
        if price is None:
            problems.append("the public workforce (Mechanical Turk) needs PublicWorkforceTaskPrice")
        elif task is not None:
            value = usd_to_price(price)
            allowed = [Decimal(p) for p in task.prices_usd]
            if value not in allowed:
                problems.append(
                    f"${value} per task is not a Mechanical Turk price for {task.key}: choose one of "
                    + ", ".join(f"${p}" for p in task.prices_usd)
                )
        classifiers = ((request.get("InputConfig") or {}).get("DataAttributes") or {}).get("ContentClassifiers", [])
        if PII_CLASSIFIER not in classifiers:
            problems.append(
                f"Mechanical Turk jobs fail unless ContentClassifiers includes {PII_CLASSIFIER!r}: "
                "declare it (only if true) or use a private workteam"
            )
        lifetime = human.get("TaskAvailabilityLifetimeInSeconds")
        if lifetime is not None and lifetime > MAX_PUBLIC_AVAILABILITY_S:
            problems.append(f"TaskAvailabilityLifetimeInSeconds is above {MAX_PUBLIC_AVAILABILITY_S} (12 h), the Mechanical Turk maximum")
    elif price is not None:
        problems.append(f"PublicWorkforceTaskPrice applies to the public workforce only; remove it for a {match['crowd']} workteam")


def _auto_labeling_rules(request, task, regions, object_count, problems) -> None:
    algorithms = request.get("LabelingJobAlgorithmsConfig")
    if not algorithms:
        return
    arn = str(algorithms.get("LabelingJobAlgorithmSpecificationArn", ""))
    match = arns.ALGORITHM_ARN.match(arn)
    if not match or match["account"] != arns.ALGORITHM_ACCOUNT:
        problems.append(
            f"LabelingJobAlgorithmSpecificationArn {arn!r} must look like "
            f"arn:aws:sagemaker:<region>:{arns.ALGORITHM_ACCOUNT}:labeling-job-algorithm-specification/<algorithm>"
        )
    else:
        regions.add(match["region"])
        if task is not None and match["algorithm"] != task.algorithm:
            problems.append(f"auto-labeling algorithm {match['algorithm']!r} does not fit {task.key}; use {task.algorithm!r}")
    if "SnsDataSource" in ((request.get("InputConfig") or {}).get("DataSource") or {}):
        problems.append("automated data labeling is not available for streaming (SNS) jobs")
    if object_count is not None and object_count < MIN_AUTO_LABELING_OBJECTS:
        problems.append(
            f"automated data labeling needs at least {MIN_AUTO_LABELING_OBJECTS} objects (5,000+ recommended); "
            f"the input manifest has {object_count}: turn auto_labeling off or add images"
        )
