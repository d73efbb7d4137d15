"""Request builders, validation, templates and job calls, checked by botocore's Stubber."""
from __future__ import annotations

import datetime as dt
import html

import boto3
import pytest
from botocore.stub import Stubber

from clickseg_widget.groundtruth import arns, job_control
from clickseg_widget.groundtruth.labeling_requests import (
    Workteam,
    bounding_box_job_request,
    price_to_usd,
    semantic_segmentation_job_request,
)
from clickseg_widget.groundtruth.templates import render_template
from clickseg_widget.groundtruth.validation import RequestError, validate_labeling_job_request

REGION = "us-west-2"
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
JOB_ARN = f"arn:aws:sagemaker:{REGION}:123456789012:labeling-job/birds"


@pytest.fixture
def client():
    return boto3.client(
        "sagemaker", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing"
    )


def common(**overrides):
    options = dict(
        job_name="birds-1",
        label_attribute_name="category",
        manifest_uri="s3://bucket/birds/input.manifest",
        output_path="s3://bucket/birds/output/",
        role_arn=ROLE,
        region=REGION,
        template_uri="s3://bucket/birds/template.liquid.html",
        label_category_uri="s3://bucket/birds/class_labels.json",
        workteam=Workteam.public(REGION, "0.036"),
        task_title="Draw a box around each bird",
        task_description="Dear annotator, please draw a box around each bird.",
        workers_per_object=5,
        content_classifiers=["FreeOfPersonallyIdentifiableInformation", "FreeOfAdultContent"],
        keywords=["image", "bird"],
    )
    options.update(overrides)
    return options


def send(client, request):
    with Stubber(client) as stub:
        stub.add_response("create_labeling_job", {"LabelingJobArn": JOB_ARN}, request)
        assert job_control.launch(client, request, object_count=2000) == JOB_ARN
        stub.assert_no_pending_responses()


def test_price_encoding_is_exact():
    assert price_to_usd("0.036") == {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}
    assert price_to_usd(1.2) == {"Dollars": 1, "Cents": 20, "TenthFractionsOfACent": 0}
    with pytest.raises(ValueError, match="tenths of a cent"):
        price_to_usd("0.0365")


def test_bounding_box_request_with_auto_labeling_goes_through_stubber(client):
    request = bounding_box_job_request(**common(auto_labeling=True, tags={"project": "birds"}, max_concurrent_tasks=200))
    human = request["HumanTaskConfig"]
    assert human["PreHumanTaskLambdaArn"] == "arn:aws:lambda:us-west-2:081040173940:function:PRE-BoundingBox"
    assert human["AnnotationConsolidationConfig"]["AnnotationConsolidationLambdaArn"].endswith(":function:ACS-BoundingBox")
    assert human["PublicWorkforceTaskPrice"]["AmountInUsd"] == {"Dollars": 0, "Cents": 3, "TenthFractionsOfACent": 6}
    assert request["LabelingJobAlgorithmsConfig"]["LabelingJobAlgorithmSpecificationArn"] == (
        "arn:aws:sagemaker:us-west-2:027400017018:labeling-job-algorithm-specification/object-detection"
    )
    assert request["Tags"] == [{"Key": "project", "Value": "birds"}]
    send(client, request)


def test_segmentation_request_private_team_goes_through_stubber(client):
    request = semantic_segmentation_job_request(
        **common(
            label_attribute_name="birds-ref",
            workteam=Workteam.private(REGION, "123456789012", "my-team"),
            content_classifiers=[],
            max_human_labeled=500,
            max_percent_labeled=90,
            task_availability_s=86_400,
        )
    )
    assert "PublicWorkforceTaskPrice" not in request["HumanTaskConfig"]
    assert request["StoppingConditions"] == {"MaxHumanLabeledObjectCount": 500, "MaxPercentageOfInputDatasetLabeled": 90}
    send(client, request)


def test_vendor_workteam_request_goes_through_stubber(client):
    vendor = Workteam.vendor(f"arn:aws:sagemaker:{REGION}:111122223333:workteam/vendor-crowd/acme-labeling")
    send(client, bounding_box_job_request(**common(workteam=vendor)))
    with pytest.raises(ValueError, match="vendor"):
        Workteam.vendor(arns.public_workteam_arn(REGION))


@pytest.mark.parametrize(
    "overrides, builder, fragment",
    [
        ({"label_attribute_name": "birds"}, semantic_segmentation_job_request, "must end in '-ref'"),
        ({"label_attribute_name": "birds-ref"}, bounding_box_job_request, "must not end in '-ref'"),
        ({"label_attribute_name": "category-metadata"}, bounding_box_job_request, "-metadata"),
        ({"workteam": Workteam.public(REGION, "0.036")}, semantic_segmentation_job_request, "not a Mechanical Turk price"),
        ({"workteam": Workteam.public(REGION, "0.05")}, bounding_box_job_request, "not a Mechanical Turk price"),
        ({"content_classifiers": ["FreeOfAdultContent"]}, bounding_box_job_request, "FreeOfPersonallyIdentifiableInformation"),
        ({"content_classifiers": ["FreeOfSpam"]}, bounding_box_job_request, "is not one of"),
        ({"task_time_limit_s": 30_000}, bounding_box_job_request, "28800"),
        ({"task_availability_s": 50_000}, bounding_box_job_request, "Mechanical Turk maximum"),
        ({"workers_per_object": 12}, bounding_box_job_request, "above the maximum 9"),
        ({"task_title": "x" * 129}, bounding_box_job_request, "at most 128"),
        ({"keywords": list("abcdef")}, bounding_box_job_request, "at most 5"),
        ({"job_name": "birds_1"}, bounding_box_job_request, "does not match the pattern"),
        ({"role_arn": "arn:aws:iam::1:role/x"}, bounding_box_job_request, "RoleArn"),
        ({"max_concurrent_tasks": 6000}, bounding_box_job_request, "5000"),
        ({"task_time_limit_s": 10}, bounding_box_job_request, "TaskTimeLimitInSeconds"),
    ],
)
def test_mistakes_raise_before_anything_is_sent(client, overrides, builder, fragment):
    request = builder(**common(**overrides))
    with Stubber(client) as stub:  # no responses queued: a call that got through would fail differently
        with pytest.raises(RequestError, match=fragment.replace("(", r"\(")):
            job_control.launch(client, request)
        stub.assert_no_pending_responses()


def test_auto_labeling_needs_1250_objects():
    request = bounding_box_job_request(**common(auto_labeling=True))
    with pytest.raises(RequestError, match="at least 1250 objects"):
        validate_labeling_job_request(request, object_count=1249)
    validate_labeling_job_request(request, object_count=1250)


def test_arn_region_and_account_checks():
    request = bounding_box_job_request(**common(auto_labeling=True))
    request["HumanTaskConfig"]["PreHumanTaskLambdaArn"] = "arn:aws:lambda:us-west-2:432418664414:function:PRE-BoundingBox"
    request["LabelingJobAlgorithmsConfig"]["LabelingJobAlgorithmSpecificationArn"] = arns.algorithm_arn(
        "us-east-1", "semantic_segmentation"
    )
    request["HumanTaskConfig"]["WorkteamArn"] = "arn:aws:sagemaker:us-west-2:123456789012:team/x"
    with pytest.raises(RequestError) as caught:
        validate_labeling_job_request(request)
    text = str(caught.value)
    assert "live in 081040173940" in text
    assert "does not fit bounding_box" in text
    assert "not a workteam ARN" in text
    assert "different regions" in text


def test_unknown_region_is_refused():
    with pytest.raises(ValueError, match="not listed for region"):
        arns.pre_annotation_lambda_arn("mars-north-1", "bounding_box")


def test_templates_escape_instructions_and_read_labels_from_task_input():
    page = render_template(
        "bounding_box",
        header='Box every <b>"bird"</b> & {{ nest }}',
        short_instructions="Tight boxes.\n\nOne per bird <script>alert(1)</script>",
        full_instructions="Include wings {% if x %}",
    )
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "{{ nest }}" not in page and "&#123;&#123; nest &#125;&#125;" in page
    assert "{% if" not in page
    assert 'labels="{{ task.input.labels | to_json | escape }}"' in page
    assert 'src="{{ task.input.taskObject | grant_read_access }}"' in page
    assert "<crowd-bounding-box" in page and "crowd-html-elements.js" in page
    assert html.escape('"bird"') in page
    segmentation = render_template("semantic_segmentation", header="Paint", short_instructions="a", full_instructions="b")
    assert "<crowd-semantic-segmentation" in segmentation


def describe_response(status, labeled, unlabeled):
    now = dt.datetime(2026, 1, 1)
    return {
        "LabelingJobStatus": status,
        "LabelCounters": {"TotalLabeled": labeled, "HumanLabeled": labeled, "MachineLabeled": 0,
                          "FailedNonRetryableError": 0, "Unlabeled": unlabeled},
        "CreationTime": now,
        "LastModifiedTime": now,
        "JobReferenceCode": "ref",
        "LabelingJobName": "birds-1",
        "LabelingJobArn": JOB_ARN,
        "LabelAttributeName": "category",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://bucket/in.manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://bucket/birds/output/"},
        "RoleArn": ROLE,
        "HumanTaskConfig": {
            "WorkteamArn": arns.public_workteam_arn(REGION),
            "UiConfig": {"UiTemplateS3Uri": "s3://bucket/t.html"},
            "TaskTitle": "t",
            "TaskDescription": "d",
            "NumberOfHumanWorkersPerDataObject": 1,
            "TaskTimeLimitInSeconds": 300,
        },
        "LabelingJobOutput": {"OutputDatasetS3Uri": "s3://bucket/birds/output/birds-1/manifests/output/output.manifest"},
    }


def test_wait_polls_until_completed_and_reports_counters(client):
    slept = []
    with Stubber(client) as stub:
        for status, labeled, unlabeled in (("InProgress", 0, 10), ("InProgress", 6, 4), ("Completed", 10, 0)):
            stub.add_response("describe_labeling_job", describe_response(status, labeled, unlabeled), {"LabelingJobName": "birds-1"})
        job = job_control.wait(client, "birds-1", poll_s=5, progress=False, sleep=slept.append)
        stub.assert_no_pending_responses()
    assert job.status == "Completed" and job.finished
    assert job.counters.total_labeled == 10 and job.counters.total_objects == 10
    assert job.job_folder_uri == "s3://bucket/birds/output/birds-1/"
    assert slept == [5, 5]


def test_wait_times_out_with_a_clear_message(client):
    with Stubber(client) as stub:
        stub.add_response("describe_labeling_job", describe_response("InProgress", 1, 9), {"LabelingJobName": "birds-1"})
        stub.add_response("describe_labeling_job", describe_response("InProgress", 2, 8), {"LabelingJobName": "birds-1"})
        with pytest.raises(TimeoutError, match="still InProgress"):
            job_control.wait(client, "birds-1", poll_s=10, timeout_s=10, progress=False, sleep=lambda s: None)


def test_list_follows_next_token_and_stop_sends_the_name(client):
    now = dt.datetime(2026, 1, 1)

    def summary(name):
        return {"LabelingJobName": name, "LabelingJobArn": JOB_ARN, "CreationTime": now, "LastModifiedTime": now,
                "LabelingJobStatus": "InProgress", "LabelCounters": {}, "WorkteamArn": arns.public_workteam_arn(REGION)}

    base = {"MaxResults": 100, "SortBy": "CreationTime", "SortOrder": "Descending", "StatusEquals": "InProgress"}
    with Stubber(client) as stub:
        stub.add_response("list_labeling_jobs", {"LabelingJobSummaryList": [summary("a"), summary("b")], "NextToken": "t1"}, base)
        stub.add_response("list_labeling_jobs", {"LabelingJobSummaryList": [summary("c")]}, {**base, "NextToken": "t1"})
        stub.add_response("stop_labeling_job", {}, {"LabelingJobName": "c"})
        names = [s["LabelingJobName"] for s in job_control.list_jobs(client, status="InProgress")]
        job_control.stop(client, "c")
        stub.assert_no_pending_responses()
    assert names == ["a", "b", "c"]
    with pytest.raises(RequestError, match="is not one of"):
        list(job_control.list_jobs(client, status="Running"))


def test_aws_errors_become_clear_messages(client):
    with Stubber(client) as stub:
        stub.add_client_error("describe_labeling_job", "ResourceNotFound", "Labeling job birds-9 not found")
        with pytest.raises(job_control.GroundTruthError, match="check the name and region"):
            job_control.describe(client, "birds-9")


def test_full_instructions_show_good_and_bad_example_images_with_escaped_captions():
    from clickseg_widget.groundtruth.templates import ExampleImage

    page = render_template(
        "bounding_box", header="Box birds", short_instructions="a", full_instructions="Tight boxes.",
        examples=[
            ExampleImage("s3://gt-bucket/examples/bad-loose.jpg", 'Too loose: <b>"wing"</b> & {{ sky }}', good=False),
            ExampleImage("https://example.com/good%20tight.png?v=1&size=2", "Tight box <script>alert(1)</script>"),
        ],
    )
    full = page.split("<full-instructions")[1].split("</full-instructions>")[0]
    # good before bad, the instructions' own text first
    assert full.index("Tight boxes.") < full.index("Good examples") < full.index("Bad examples")
    assert full.index("good%20tight.png") < full.index("bad-loose.jpg")
    # S3 examples are signed by the page, https ones used as they are (attribute-escaped)
    assert "src=\"{{ 's3://gt-bucket/examples/bad-loose.jpg' | grant_read_access }}\"" in full
    assert 'src="https://example.com/good%20tight.png?v=1&amp;size=2"' in full
    # every caption escaped, in the alt text and the caption, and no Liquid smuggled in
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in full
    assert full.count(html.escape('Too loose: <b>"wing"</b> & ', quote=True)) == 2
    assert "{{ sky }}" not in page and "&#123;&#123; sky &#125;&#125;" in full
    no_examples = render_template("bounding_box", header="h", short_instructions="a", full_instructions="b")
    assert "<figure>" not in no_examples and "examples" not in no_examples


@pytest.mark.parametrize("uri, message", [
    ("http://example.com/a.png", "neither s3://bucket/key nor an https"),
    ("/home/me/a.png", "neither s3://bucket/key nor an https"),
    ("javascript:alert(1)", "neither s3://bucket/key nor an https"),
    ("s3://gt-bucket/examples/", "names no object"),
    ("s3://gt-bucket/it's.png", "quote"),
    ("s3://gt-bucket/{{ x }}.png", "brace"),
    ('https://example.com/a.png" onerror="alert(1)', "quote"),
])
def test_example_image_uris_are_validated(uri, message):
    from clickseg_widget.groundtruth.templates import ExampleImage

    with pytest.raises(ValueError, match=message):
        render_template("bounding_box", header="h", short_instructions="a", full_instructions="b",
                        examples=[ExampleImage(uri, "caption")])
