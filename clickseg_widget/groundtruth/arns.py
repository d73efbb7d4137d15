"""The ARNs Ground Truth's built-in tasks need, per region.

Taken from botocore's CreateLabelingJob documentation (see
``../shared/reference/ground-truth.md``): the pre-annotation and consolidation
Lambdas live in one AWS-owned account per region, the auto-labeling algorithms
and the public workforce in fixed accounts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

LAMBDA_ACCOUNTS = {
    "us-east-1": "432418664414",
    "us-east-2": "266458841044",
    "us-west-2": "081040173940",
    "ca-central-1": "918755190332",
    "eu-west-1": "568282634449",
    "eu-west-2": "487402164563",
    "eu-central-1": "203001061592",
    "ap-northeast-1": "477331159723",
    "ap-northeast-2": "845288260483",
    "ap-south-1": "565803892007",
    "ap-southeast-1": "377565633583",
    "ap-southeast-2": "454466003867",
}
ALGORITHM_ACCOUNT = "027400017018"
PUBLIC_WORKFORCE_ACCOUNT = "394669845002"


@dataclass(frozen=True)
class TaskType:
    """A built-in task: its Lambda suffix, auto-labeling algorithm and price points."""

    key: str
    lambda_name: str
    algorithm: str  # "" where Ground Truth offers no automated labeling (adjustment jobs)
    prices_usd: tuple[str, ...]
    target_miou: float

    @property
    def segmentation(self) -> bool:
        """Label maps as PNG references: the label attribute ends in ``-ref``."""
        return self.lambda_name.endswith("SemanticSegmentation")


_BOX_PRICES = ("0.036", "0.048", "0.060", "0.072", "0.120", "0.240", "0.360", "0.480", "0.600", "0.720",
               "0.840", "0.960", "1.080", "1.200")
TASK_TYPES = {
    "bounding_box": TaskType("bounding_box", "BoundingBox", "object-detection", _BOX_PRICES, 0.6),
    "semantic_segmentation": TaskType(
        "semantic_segmentation", "SemanticSegmentation", "semantic-segmentation", ("0.840", "0.960", "1.080", "1.200"), 0.7
    ),
    # workers correct a previous label map (ours: the pre-labels) instead of drawing from nothing
    "adjustment_semantic_segmentation": TaskType(
        "adjustment_semantic_segmentation", "AdjustmentSemanticSegmentation", "", ("0.840", "0.960", "1.080", "1.200"), 0.7
    ),
}
TASK_BY_LAMBDA_NAME = {task.lambda_name: task for task in TASK_TYPES.values()}

LAMBDA_ARN = re.compile(
    r"^arn:aws:lambda:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):function:(?P<kind>PRE|ACS)-(?P<task>[A-Za-z]+)$"
)
ALGORITHM_ARN = re.compile(
    r"^arn:aws:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):labeling-job-algorithm-specification/(?P<algorithm>[a-z-]+)$"
)
WORKTEAM_ARN = re.compile(
    r"^arn:aws:sagemaker:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):workteam/(?P<crowd>public|private|vendor)-crowd/(?P<name>.+)$"
)


def task_type(key: str) -> TaskType:
    if key not in TASK_TYPES:
        raise ValueError(f"unknown task type {key!r}: use one of {', '.join(TASK_TYPES)}")
    return TASK_TYPES[key]


def lambda_account(region: str) -> str:
    if region not in LAMBDA_ACCOUNTS:
        raise ValueError(
            f"Ground Truth's built-in Lambdas are not listed for region {region!r}: use one of {', '.join(LAMBDA_ACCOUNTS)}"
        )
    return LAMBDA_ACCOUNTS[region]


def pre_annotation_lambda_arn(region: str, task: str) -> str:
    return f"arn:aws:lambda:{region}:{lambda_account(region)}:function:PRE-{task_type(task).lambda_name}"


def consolidation_lambda_arn(region: str, task: str) -> str:
    return f"arn:aws:lambda:{region}:{lambda_account(region)}:function:ACS-{task_type(task).lambda_name}"


def algorithm_arn(region: str, task: str) -> str:
    lambda_account(region)  # same region list; fail early on a typo
    if not task_type(task).algorithm:
        raise ValueError(f"Ground Truth has no automated labeling for {task}: turn auto_labeling off")
    return (
        f"arn:aws:sagemaker:{region}:{ALGORITHM_ACCOUNT}:labeling-job-algorithm-specification/{task_type(task).algorithm}"
    )


def public_workteam_arn(region: str) -> str:
    lambda_account(region)
    return f"arn:aws:sagemaker:{region}:{PUBLIC_WORKFORCE_ACCOUNT}:workteam/public-crowd/default"


def private_workteam_arn(region: str, account: str, name: str) -> str:
    if not re.fullmatch(r"\d{12}", str(account)):
        raise ValueError(f"AWS account id {account!r} must be 12 digits")
    return f"arn:aws:sagemaker:{region}:{account}:workteam/private-crowd/{name}"


def workforce_kind(workteam_arn: str) -> str | None:
    """``public``, ``private`` or ``vendor`` for a well-formed workteam ARN, else None."""
    match = WORKTEAM_ARN.match(workteam_arn)
    return match["crowd"] if match else None
