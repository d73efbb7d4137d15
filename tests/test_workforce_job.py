"""The custom labeling job request: built from the stack's outputs, checked
against Ground Truth's rules, and accepted by botocore's Stubber (which
validates it against the SageMaker service model)."""
from __future__ import annotations

from datetime import datetime, timezone

import boto3
import pytest
from botocore.stub import Stubber

from clickseg_widget.groundtruth.job_control import launch
from clickseg_widget.groundtruth.labeling_requests import Workteam
from clickseg_widget.groundtruth.validation import RequestError
from clickseg_widget.workforce.custom_task_request import WorkforceStack, workforce_job_request

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = WorkforceStack(
    segment_url="https://abc123.execute-api.us-east-1.amazonaws.com/prod/segment",
    pre_annotation_lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-clickseg-PreAnnotation",
    consolidation_lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:SageMaker-clickseg-Consolidation",
)


def options(**changes):
    base = dict(
        job_name="clickseg-cats-1",
        label_attribute_name="animals-ref",
        manifest_uri="s3://jobs/input/manifest.jsonl",
        output_path="s3://jobs/output/",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/GroundTruthRole",
        template_uri="s3://jobs/templates/clickseg.liquid.html",
        label_category_uri="s3://jobs/input/labels.json",
        workteam=Workteam.private(REGION, ACCOUNT, "annotators"),
        task_title="Outline the animal",
        task_description="Click the animal's extreme points, then correct the mask",
        workers_per_object=3,
    )
    base.update(changes)
    return base


@pytest.fixture
def aws_env(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(key, value)


def test_stack_outputs_become_the_job_inputs(aws_env):
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    outputs = [
        {"OutputKey": "SegmentUrl", "OutputValue": STACK.segment_url},
        {"OutputKey": "PreAnnotationLambdaArn", "OutputValue": STACK.pre_annotation_lambda_arn},
        {"OutputKey": "ConsolidationLambdaArn", "OutputValue": STACK.consolidation_lambda_arn},
        {"OutputKey": "JobInvokePolicyArn", "OutputValue": f"arn:aws:iam::{ACCOUNT}:policy/x"},
    ]
    stack = {"StackName": "clickseg", "CreationTime": datetime.now(timezone.utc), "StackStatus": "CREATE_COMPLETE"}
    with Stubber(cloudformation) as stubber:
        stubber.add_response("describe_stacks", {"Stacks": [{**stack, "Outputs": outputs}]}, {"StackName": "clickseg"})
        stubber.add_response("describe_stacks", {"Stacks": [stack]}, {"StackName": "clickseg"})
        assert WorkforceStack.from_cloudformation(cloudformation, "clickseg") == STACK
        with pytest.raises(ValueError, match="CREATE_COMPLETE"):
            WorkforceStack.from_cloudformation(cloudformation, "clickseg")


def test_the_request_uses_the_stacks_lambdas_and_is_accepted_by_the_service_model(aws_env):
    request = workforce_job_request(stack=STACK, region=REGION, **options())
    human = request["HumanTaskConfig"]
    assert human["PreHumanTaskLambdaArn"] == STACK.pre_annotation_lambda_arn
    assert human["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"] == STACK.consolidation_lambda_arn
    assert human["UiConfig"] == {"UiTemplateS3Uri": "s3://jobs/templates/clickseg.liquid.html"}
    assert request["LabelCategoryConfigS3Uri"] == "s3://jobs/input/labels.json"
    assert "LabelingJobAlgorithmsConfig" not in request
    sagemaker = boto3.client("sagemaker", region_name=REGION)
    arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:labeling-job/clickseg-cats-1"
    with Stubber(sagemaker) as stubber:
        stubber.add_response("create_labeling_job", {"LabelingJobArn": arn}, request)
        assert launch(sagemaker, request) == arn
        stubber.assert_no_pending_responses()


def test_public_workforce_takes_custom_task_prices():
    public = Workteam.public(REGION, "0.024")
    request = workforce_job_request(
        stack=STACK, region=REGION, **options(workteam=public, content_classifiers=["FreeOfPersonallyIdentifiableInformation"])
    )
    assert request["HumanTaskConfig"]["PublicWorkforceTaskPrice"] == {
        "AmountInUsd": {"Dollars": 0, "Cents": 2, "TenthFractionsOfACent": 4}
    }
    with pytest.raises(RequestError, match=r"\$0.05 per task is not a Mechanical Turk price for custom tasks"):
        workforce_job_request(stack=STACK, region=REGION, **options(workteam=Workteam.public(REGION, "0.05"),
                                                                       content_classifiers=["FreeOfPersonallyIdentifiableInformation"]))


def test_rules_ground_truth_would_enforce_later_are_reported_at_once():
    bad_stack = WorkforceStack(
        segment_url=STACK.segment_url,
        pre_annotation_lambda_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:clickseg-pre",
        consolidation_lambda_arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:SageMaker-clickseg-Consolidation",
    )
    with pytest.raises(RequestError) as caught:
        workforce_job_request(stack=bad_stack, region=REGION, **options(label_attribute_name="animals"))
    problems = "\n".join(caught.value.problems)
    assert "contains SageMaker or LabelingFunction; rename 'clickseg-pre'" in problems
    assert "is in eu-west-1 but the job runs in us-east-1" in problems
    assert "must end in '-ref'" in problems
    with pytest.raises(RequestError, match="TaskTitle"):
        workforce_job_request(stack=STACK, region=REGION, **options(task_title="x" * 200))
    with pytest.raises(ValueError, match="not available for custom tasks"):
        workforce_job_request(stack=STACK, region=REGION, **options(auto_labeling=True))
