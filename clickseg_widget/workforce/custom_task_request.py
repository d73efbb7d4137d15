"""CreateLabelingJob requests for the custom few-click task.

The request is the built-in semantic-segmentation request (same input,
output, workforce and price handling, built by the Ground Truth helper) with
the stack's own Lambdas in place of AWS's PRE-/ACS- ones and the worker
template that loads the tool.  What the generic validator cannot know about a
custom task is checked here: SageMaker may only invoke Lambdas whose name
contains SageMaker/LabelingFunction, the Lambdas must be in the job's region,
custom tasks have their own Mechanical Turk price points, and there is no
automated labeling.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from ..groundtruth import arns
from ..groundtruth.labeling_requests import labeling_job_request, usd_to_price
from ..groundtruth.validation import RequestError, validate_labeling_job_request

# bounding-box price points plus the two lower ones classification and custom tasks may use
CUSTOM_TASK_PRICES_USD = ("0.012", "0.024") + arns.TASK_TYPES["bounding_box"].prices_usd
INVOCABLE_NAME = re.compile(r"SageMaker|Sagemaker|sagemaker|LabelingFunction")
FUNCTION_ARN = re.compile(r"^arn:aws:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<name>[A-Za-z0-9_-]+)$")
# deploy with e.g. `aws cloudformation deploy --template-file <this> --capabilities CAPABILITY_IAM ...`
INFRASTRUCTURE_TEMPLATE = Path(__file__).resolve().parent / "infrastructure" / "template.yaml"
STACK_OUTPUTS = ("SegmentUrl", "PreAnnotationLambdaArn", "ConsolidationLambdaArn")


@dataclass(frozen=True)
class WorkforceStack:
    """What a deployed infrastructure/template.yaml stack gives the job."""

    segment_url: str
    pre_annotation_lambda_arn: str
    consolidation_lambda_arn: str

    @classmethod
    def from_cloudformation(cls, cloudformation: Any, stack_name: str) -> "WorkforceStack":
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
        missing = [key for key in STACK_OUTPUTS if key not in outputs]
        if missing:
            raise ValueError(
                f"stack {stack_name!r} has no outputs {missing}: deploy clickseg_widget/workforce/infrastructure/template.yaml "
                "and wait for CREATE_COMPLETE"
            )
        return cls(*(outputs[key] for key in STACK_OUTPUTS))


def workforce_job_request(*, stack: WorkforceStack, region: str, **options: Any) -> dict[str, Any]:
    """The CreateLabelingJob parameters; ``options`` are those of ``groundtruth.labeling_requests.labeling_job_request``.

    ``template_uri`` must hold ``template.build_template(stack.segment_url, ...)``
    and ``label_category_uri`` the same labels as the stack's ``Labels``.
    """
    if options.get("auto_labeling"):
        raise ValueError("automated data labeling is not available for custom tasks: drop auto_labeling")
    request = labeling_job_request("semantic_segmentation", region=region, **options)
    human = request["HumanTaskConfig"]
    human["PreHumanTaskLambdaArn"] = stack.pre_annotation_lambda_arn
    human["AnnotationConsolidationConfig"] = {"AnnotationConsolidationLambdaArn": stack.consolidation_lambda_arn}
    problems = custom_task_problems(request, region)
    if problems:
        raise RequestError("CreateLabelingJob", problems)
    validate_labeling_job_request(request)
    return request


def custom_task_problems(request: dict[str, Any], region: str) -> list[str]:
    problems: list[str] = []
    human = request.get("HumanTaskConfig") or {}
    lambdas = {
        "PreHumanTaskLambdaArn": human.get("PreHumanTaskLambdaArn", ""),
        "AnnotationConsolidationLambdaArn": (human.get("AnnotationConsolidationConfig") or {}).get(
            "AnnotationConsolidationLambdaArn", ""
        ),
    }
    for field, arn in lambdas.items():
        match = FUNCTION_ARN.match(arn or "")
        if not match:
            problems.append(f"{field} {arn!r} is not a Lambda function ARN (arn:aws:lambda:<region>:<account>:function:<name>)")
            continue
        if not INVOCABLE_NAME.search(match["name"]):
            problems.append(
                f"{field}: SageMaker may only invoke Lambdas whose name contains SageMaker or LabelingFunction; "
                f"rename {match['name']!r}"
            )
        if match["region"] != region:
            problems.append(f"{field} is in {match['region']} but the job runs in {region}: deploy the stack in {region}")
    attribute = str(request.get("LabelAttributeName", ""))
    if not attribute.endswith("-ref"):
        problems.append(
            f"LabelAttributeName {attribute!r} must end in '-ref': the consolidation Lambda writes label-map PNGs "
            "in the semantic-segmentation output format"
        )
    price = (human.get("PublicWorkforceTaskPrice") or {}).get("AmountInUsd")
    if price is not None and usd_to_price(price) not in {Decimal(p) for p in CUSTOM_TASK_PRICES_USD}:
        problems.append(
            f"${usd_to_price(price)} per task is not a Mechanical Turk price for custom tasks: choose one of "
            + ", ".join(f"${p}" for p in CUSTOM_TASK_PRICES_USD)
        )
    return problems
