"""Training curves of a real job's auto-labeling model, read from CloudWatch Logs.

Ground Truth trains its auto-labeling model in ordinary SageMaker training
jobs, one per iteration; their models land in the job folder as
``training/.../<iteration>/<dir>/<training-job>/output/model.tar.gz`` and
their logs in the ``/aws/sagemaker/TrainingJobs`` log group, one stream per
host named ``<training-job>/algo-<n>-<time>``.  The built-in algorithms
report each epoch's validation score as
``#quality_metric: host=algo-1, epoch=3, validation mAP <score>=(0.41)``
(``validation mIOU`` for segmentation) and the training-set size in their
``Final configuration`` line; that is what the public tutorial plots.  The
labeling job's own events are in ``/aws/sagemaker/LabelingJobs``, one stream
per job.  Everything is read with ``filter_log_events``, page by page, and
only the parsed numbers are kept.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from .storage import JobFolder, open_job_folder

LABELING_LOG_GROUP = "/aws/sagemaker/LabelingJobs"
TRAINING_LOG_GROUP = "/aws/sagemaker/TrainingJobs"
MODEL_FILE = "model.tar.gz"

QUALITY_METRIC = re.compile(
    r"#quality_metric: host=(?P<host>[^,\s]+), epoch=(?P<epoch>\d+), (?P<metric>[^<=,]+?) <score>=\((?P<value>[^)\s]+)\)"
)
TRAINING_SAMPLES = re.compile(r"""['"]num_training_samples['"]:\s*u?['"]?(?P<count>\d+)""")
KEYS = ["iteration", "training_job", "epoch"]


def log_events(logs_client: Any, group: str, **streams: Any) -> Iterator[dict[str, Any]]:
    """Every event of the chosen streams (``logStreamNamePrefix=`` or ``logStreamNames=``), page by page."""
    paginator = logs_client.get_paginator("filter_log_events")
    try:
        for page in paginator.paginate(logGroupName=group, **streams):
            yield from page.get("events", [])
    except logs_client.exceptions.ResourceNotFoundException:
        raise LookupError(
            f"CloudWatch has no log group {group} in {logs_client.meta.region_name}: "
            "use the region the labeling job ran in (its training jobs log there once they start)"
        ) from None


def labeling_job_events(logs_client: Any, job_name: str) -> pd.DataFrame:
    """The labeling job's own log (``/aws/sagemaker/LabelingJobs``): time, stream and message per event."""
    rows = [
        {"time": pd.Timestamp(event["timestamp"], unit="ms", tz="UTC"), "stream": event["logStreamName"],
         "message": event["message"]}
        for event in log_events(logs_client, LABELING_LOG_GROUP, logStreamNames=[job_name])  # "pets-1", not "pets-10"
    ]
    return pd.DataFrame(rows, columns=["time", "stream", "message"])


def training_jobs(folder: JobFolder | str | Path, s3_client: Any = None) -> dict[str, int]:
    """Training job name -> iteration, from the models in a job folder (``training/.../<N>/<d>/<job>/output/model.tar.gz``)."""
    folder = open_job_folder(folder, s3_client) if isinstance(folder, (str, Path)) else folder
    jobs: dict[str, int] = {}
    for relative in folder.list_files("training/"):
        parts = relative.split("/")
        if parts[-1] == MODEL_FILE and len(parts) >= 6 and parts[-2] == "output" and parts[-5].isdigit():
            jobs[parts[-3]] = int(parts[-5])
    return dict(sorted(jobs.items(), key=lambda item: (item[1], item[0])))


def training_metrics(logs_client: Any, jobs: Mapping[str, int]) -> pd.DataFrame:
    """One row per iteration and epoch: the validation scores its training job logged, and its training-set size.

    ``jobs`` maps training job names to iterations (``training_jobs(folder)``).
    Columns: ``iteration``, ``training_job``, ``epoch``, ``training_samples``
    and one per metric (e.g. ``validation mAP``).  A job that trained on several
    hosts logs each epoch once per host: the first host's lines are kept.
    """
    rows: list[dict[str, Any]] = []
    samples: dict[str, int] = {}
    for name, iteration in jobs.items():
        host = None
        # streams are "<job>/algo-<n>-<time>": the slash keeps job "...-1" from reading "...-12"'s streams
        for event in log_events(logs_client, TRAINING_LOG_GROUP, logStreamNamePrefix=f"{name}/"):
            message = event["message"]
            if (match := TRAINING_SAMPLES.search(message)) and "Final configuration" in message:
                samples.setdefault(name, int(match["count"]))
            for metric in QUALITY_METRIC.finditer(message):
                host = host or metric["host"]
                if metric["host"] != host:
                    continue
                try:
                    value = float(metric["value"])
                except ValueError:
                    continue  # a truncated line: the next epoch's value still counts
                rows.append({"iteration": iteration, "training_job": name, "epoch": int(metric["epoch"]),
                             "metric": metric["metric"].strip(), "value": value})
    if not rows:
        return pd.DataFrame(columns=[*KEYS, "training_samples"])
    long = pd.DataFrame(rows)
    wide = long.pivot_table(index=KEYS, columns="metric", values="value", aggfunc="last").reset_index()
    wide.columns.name = None
    wide.insert(3, "training_samples", wide["training_job"].map(samples).astype("Int64"))
    return wide.sort_values(KEYS, ignore_index=True)


def metric_names(metrics: pd.DataFrame) -> list[str]:
    """The metric columns of a ``training_metrics`` frame, validation scores first."""
    names = [c for c in metrics.columns if c not in (*KEYS, "training_samples")]
    return sorted(names, key=lambda name: not name.startswith("validation"))


def metric_curves(metrics: pd.DataFrame, metric: str = "validation mAP") -> dict[int, list[float]]:
    """Iteration -> per-epoch values of one metric, for ``report(job, curves=...)``."""
    if metric not in metrics.columns:
        raise KeyError(f"no {metric!r} in the training logs; found {metric_names(metrics) or 'no metric lines'}")
    present = metrics.dropna(subset=[metric]).sort_values(KEYS)
    return {int(iteration): group[metric].tolist() for iteration, group in present.groupby("iteration")}
