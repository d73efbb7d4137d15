"""Training curves of a real job's auto-labeling model from CloudWatch Logs, through botocore's Stubber.

The Stubber checks every request against the CloudWatch Logs service model; the responses have the real
``FilterLogEvents`` shape, and the log lines the built-in algorithms' format (the public tutorial parses
``validation mAP <score>=(...)`` and ``num_training_samples`` from them).
"""
from __future__ import annotations

import math

import boto3
import matplotlib

matplotlib.use("Agg")

import pytest
from botocore.stub import Stubber

from clickseg_widget.groundtruth.training_logs import (
    LABELING_LOG_GROUP,
    TRAINING_LOG_GROUP,
    labeling_job_events,
    metric_curves,
    training_jobs,
    training_metrics,
)
from clickseg_widget.groundtruth.training_plots import training_curve_figure

T0 = 1_700_000_000_000


def event(stream: str, message: str, n: int) -> dict:
    return {"logStreamName": stream, "timestamp": T0 + n, "message": message, "ingestionTime": T0 + n + 5,
            "eventId": f"{n:056d}"}


def metric_line(host: str, epoch: int, value: str, metric: str = "validation mAP") -> str:
    return f"[11/28/2026 10:{epoch:02d}:00 INFO 140] #quality_metric: host={host}, epoch={epoch}, {metric} <score>=({value})"


FIRST, SECOND = "birds-labeling-training-4", "birds-labeling-training-5"
A1, A2 = f"{FIRST}/algo-1-1700000000", f"{FIRST}/algo-2-1700000000"
FIRST_PAGES = [
    [
        event(A1, "[11/28/2026 10:00:00 INFO 140] Final configuration: {'epochs': '4', 'num_training_samples': u'190'}", 0),
        event(A1, "#quality_metric: host=algo-1, epoch=0, batch=5 train cross_entropy <loss>=(1.93)", 1),  # per batch: not a curve
        event(A1, metric_line("algo-1", 0, "0.112"), 2),
        event(A2, metric_line("algo-2", 0, "0.999"), 3),  # the second host repeats the epoch: ignored
        event(A1, metric_line("algo-1", 1, "0.254"), 4),
    ],
    [
        event(A1, metric_line("algo-1", 2, "0.331"), 5),
        event(A1, metric_line("algo-1", 3, "0.368"), 6),
    ],
]
S1 = f"{SECOND}/algo-1-1700003600"
SECOND_PAGES = [[
    event(S1, "Final configuration: {\"num_training_samples\": \"390\"}", 10),
    event(S1, metric_line("algo-1", 0, "0.301"), 11),
    event(S1, metric_line("algo-1", 1, "0.4"), 12),
    event(S1, metric_line("algo-1", 2, "0.43"), 13),
    event(S1, metric_line("algo-1", 3, "0.4") + "\n", 14),
]]


def logs_client():
    return boto3.client("logs", region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def add_pages(stub: Stubber, group: str, job: str, pages: list[list[dict]]) -> None:
    """The pages CloudWatch returns for one training job's streams (``<job>/...``) or a labeling job's stream."""
    streams = {"logStreamNames": [job]} if group == LABELING_LOG_GROUP else {"logStreamNamePrefix": f"{job}/"}
    for number, events in enumerate(pages):
        expected = {"logGroupName": group, **streams}
        response = {"events": events, "searchedLogStreams": []}
        if number:
            expected["nextToken"] = f"page-{number}"
        if number + 1 < len(pages):
            response["nextToken"] = f"page-{number + 1}"
        stub.add_response("filter_log_events", response, expected)


@pytest.fixture
def metrics():
    client = logs_client()
    with Stubber(client) as stub:
        add_pages(stub, TRAINING_LOG_GROUP, FIRST, FIRST_PAGES)
        add_pages(stub, TRAINING_LOG_GROUP, SECOND, SECOND_PAGES)
        frame = training_metrics(client, {FIRST: 4, SECOND: 5})
        stub.assert_no_pending_responses()
    return frame


def test_validation_scores_per_iteration_and_epoch(metrics):
    assert list(metrics.columns) == ["iteration", "training_job", "epoch", "training_samples", "validation mAP"]
    assert metrics["iteration"].tolist() == [4] * 4 + [5] * 4
    assert metrics["epoch"].tolist() == [0, 1, 2, 3] * 2
    assert metrics["validation mAP"].tolist() == [0.112, 0.254, 0.331, 0.368, 0.301, 0.4, 0.43, 0.4]
    assert metrics.groupby("iteration")["training_samples"].first().to_dict() == {4: 190, 5: 390}
    assert metric_curves(metrics) == {4: [0.112, 0.254, 0.331, 0.368], 5: [0.301, 0.4, 0.43, 0.4]}
    with pytest.raises(KeyError, match="validation mIOU.*validation mAP"):
        metric_curves(metrics, "validation mIOU")


def test_training_jobs_come_from_the_job_folder(tmp_path):
    for iteration, name in ((4, FIRST), (5, SECOND), (12, "birds-labeling-training-12")):
        model = tmp_path / "training" / "birds-labeling" / str(iteration) / "model" / name / "output" / "model.tar.gz"
        model.parent.mkdir(parents=True)
        model.write_bytes(b"")
    (tmp_path / "training" / "birds-labeling" / "notes.txt").write_text("not a model")
    assert training_jobs(tmp_path) == {FIRST: 4, SECOND: 5, "birds-labeling-training-12": 12}
    (tmp_path / "untrained").mkdir()
    assert training_jobs(tmp_path / "untrained") == {}  # a job without auto-labeling rounds


def test_the_labeling_jobs_own_log():
    client = logs_client()
    stream = "birds-labeling"
    with Stubber(client) as stub:
        add_pages(stub, LABELING_LOG_GROUP, stream, [[event(stream, '{"event-name": "TASK_SUBMITTED"}', 0)],
                                                     [event(stream, '{"event-name": "TASK_COMPLETED"}', 60_000)]])
        frame = labeling_job_events(client, stream)
        stub.assert_no_pending_responses()
    assert frame["message"].tolist() == ['{"event-name": "TASK_SUBMITTED"}', '{"event-name": "TASK_COMPLETED"}']
    assert (frame["time"].iloc[1] - frame["time"].iloc[0]).total_seconds() == 60


def test_a_region_without_the_log_group_says_so():
    client = logs_client()
    with Stubber(client) as stub:
        stub.add_client_error("filter_log_events", "ResourceNotFoundException", "The specified log group does not exist.",
                              expected_params={"logGroupName": TRAINING_LOG_GROUP, "logStreamNamePrefix": f"{FIRST}/"})
        with pytest.raises(LookupError, match="no log group /aws/sagemaker/TrainingJobs in us-east-1: use the region"):
            training_metrics(client, {FIRST: 4})


def test_no_metric_lines_give_an_empty_frame_and_a_clear_plot_error():
    client = logs_client()
    with Stubber(client) as stub:
        add_pages(stub, TRAINING_LOG_GROUP, FIRST, [[event(A1, "starting training", 0)]])
        empty = training_metrics(client, {FIRST: 4})
    assert empty.empty and list(empty.columns) == ["iteration", "training_job", "epoch", "training_samples"]
    with pytest.raises(ValueError, match="no metric lines"):
        training_curve_figure(empty)


def test_the_curve_figure(metrics):
    figure = training_curve_figure(metrics)
    ax = figure.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["iteration 4 (190 training images)",
                                                             "iteration 5 (390 training images)"]
    assert ax.get_ylabel() == "Validation mAP" and ax.get_xlabel() == "Epoch"
    ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
    assert ticks and all(math.isclose(t, round(t)) for t in ticks)  # whole epochs only


def test_report_cli_adds_the_training_curves(tmp_path, capsys, monkeypatch):
    import json
    from datetime import datetime

    import numpy as np

    from clickseg_widget.cli import main
    from clickseg_widget.groundtruth import cli
    from clickseg_widget.groundtruth.job_folder_writer import JobFolderWriter

    root = tmp_path / "birds-labeling"
    writer = JobFolderWriter(root, "birds-labeling", "bounding_box", "bird", "bird", "s3://bucket/output/")
    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    line = writer.label_line("0", "s3://bucket/birds/0.jpg", mask, True, 0.9, datetime(2019, 8, 1))
    writer.write_consolidation(1, {"0": line}, datetime(2019, 8, 1))
    writer.write_manifest([line])
    model = root / "training" / "birds-labeling" / "4" / "model" / FIRST / "output" / "model.tar.gz"
    model.parent.mkdir(parents=True)
    model.write_bytes(b"")

    def stubbed(pages):
        client = logs_client()
        stub = Stubber(client)
        add_pages(stub, TRAINING_LOG_GROUP, FIRST, pages)
        stub.activate()
        return lambda region: client

    monkeypatch.setattr(cli, "_logs_client", stubbed(FIRST_PAGES))
    assert main(["groundtruth", "report", str(root), "--training-logs", "--json"]) == 0
    out = capsys.readouterr().out
    training = json.loads(out[out.index("{"):])["training"]
    assert [(row["iteration"], row["epoch"], row["validation mAP"]) for row in training] == [
        (4, 0, 0.112), (4, 1, 0.254), (4, 2, 0.331), (4, 3, 0.368)]

    monkeypatch.setattr(cli, "_logs_client", stubbed(FIRST_PAGES))
    assert main(["groundtruth", "report", str(root), "--training-logs", "--figures", str(tmp_path / "figs")]) == 0
    assert "auto-labeling model training (CloudWatch Logs):" in capsys.readouterr().out
    assert {"iterations.png", "training.png"} <= {p.name for p in (tmp_path / "figs").iterdir()}
