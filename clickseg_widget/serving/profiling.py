"""Latency as an annotator feels it: the first mask of an object, then each corrective click.

``profile_latency`` drives any segmenter (in-process or ``endpoint``) with the
simulated clicker on real images and reports p50/p90/p99 for both;
``latency_dataframe`` lays profiles out like the original post's instance-type
table for notebooks (``latency_table``: the same as Markdown); ``cloudwatch_latency``
reads a deployed endpoint's ``ModelLatency`` percentiles, which is what SageMaker
itself measured.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Sequence, Union

import numpy as np
import pandas as pd

from ..evaluation.click_loop import label_object
from ..io.images import ImageSource
from ..models.base import Segmenter
from ..simulation.clicker import Clicker
from ..simulation.datasets import Sample, load_mask
from ..simulation.metrics import percentiles

PERCENTILES = (50, 90, 99)
# The original few-click tool's p90 latency per SageMaker instance type (ms), for comparison rows.
ORIGINAL_POST_P90_MS = {"ml.p2.xlarge": 751.0, "ml.p3.2xlarge": 424.0, "ml.g4dn.xlarge": 459.0}

# An object to profile: a benchmark sample, or an image with its ground-truth mask.
ProfileItem = Union[Sample, tuple[ImageSource, np.ndarray]]


@dataclass
class LatencyProfile:
    label: str
    first_mask_ms: list[float] = field(default_factory=list)
    corrective_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "objects": len(self.first_mask_ms),
            "corrective_clicks": len(self.corrective_ms),
            "first_mask": percentiles(self.first_mask_ms, PERCENTILES),
            "corrective": percentiles(self.corrective_ms, PERCENTILES),
        }


def profile_latency(
    segmenter: Segmenter,
    images: Sequence[ProfileItem],
    clicks_per_object: int = 5,
    label: str | None = None,
    warmup: int = 1,
    mode: str = "standard",
) -> LatencyProfile:
    """Time prepare + the extreme-point mask, then up to ``clicks_per_object`` corrective clicks per object.

    The first ``warmup`` objects run once untimed (model load, JIT, connection set-up); each
    timed object is prepared afresh, so its first mask includes the per-image work.
    """
    if not images:
        raise ValueError("profile_latency needs at least one image with its ground-truth mask")
    profile = LatencyProfile(label or segmenter.describe().get("backend", segmenter.name))
    for item in list(images[:warmup]):
        _run_object(segmenter, item, clicks_per_object, mode, LatencyProfile("warmup"))
    for item in images:
        _run_object(segmenter, item, clicks_per_object, mode, profile)
    return profile


def _run_object(segmenter: Segmenter, item: ProfileItem, clicks_per_object: int, mode: str, profile: LatencyProfile) -> None:
    image, truth, ignore = _unpack(item)
    result = label_object(segmenter, image, truth, ignore, Clicker(truth, ignore, mode=mode), clicks_per_object)
    profile.first_mask_ms.append(result.first_ms)
    profile.corrective_ms.extend(result.corrective_ms)


def _unpack(item: ProfileItem) -> tuple[ImageSource, np.ndarray, np.ndarray | None]:
    if isinstance(item, Sample):
        truth, ignore = load_mask(item.mask_path)
        return item.image_path, truth, ignore
    image, truth = item
    return image, np.asarray(truth).astype(bool), None


def latency_dataframe(profiles: Sequence[LatencyProfile], reference: dict[str, float] | None = ORIGINAL_POST_P90_MS) -> pd.DataFrame:
    """p50/p90/p99 (ms) of the first mask and of corrective clicks, one row per profile (indexed by label),
    then the original post's p90 per instance type for comparison; for notebooks."""
    rows = []
    for profile in profiles:
        summary = profile.summary()
        row: dict[str, Any] = {"backend / instance": profile.label, "objects": summary["objects"], "corrective clicks": summary["corrective_clicks"]}
        for part, name in (("first_mask", "first mask"), ("corrective", "corrective")):
            row |= {f"{name} p{p} (ms)": round(summary[part][f"p{p}"], 1) for p in PERCENTILES}
        rows.append(row)
    rows += [{"backend / instance": f"original post, {instance}", "first mask p90 (ms)": p90} for instance, p90 in (reference or {}).items()]
    columns = ["backend / instance", "objects", "corrective clicks"] + [
        f"{name} p{p} (ms)" for name in ("first mask", "corrective") for p in PERCENTILES
    ]
    frame = pd.DataFrame(rows, columns=columns).set_index("backend / instance")
    return frame.astype({"objects": "Int64", "corrective clicks": "Int64"})


def latency_table(profiles: Sequence[LatencyProfile], reference: dict[str, float] | None = ORIGINAL_POST_P90_MS) -> str:
    """``latency_dataframe`` as the Markdown table of the original post (RESULTS.md, terminals)."""
    lines = [
        "| backend / instance | objects | first mask p50 / p90 / p99 (ms) | corrective p50 / p90 / p99 (ms) |",
        "|---|---:|---:|---:|",
    ]
    for label, row in latency_dataframe(profiles, reference).iterrows():
        if pd.isna(row["objects"]):  # a reference row: the post gave one p90
            lines.append(f"| {label} | | p90 {row['first mask p90 (ms)']:.0f} | |")
            continue
        triples = [" / ".join(f"{row[f'{name} p{p} (ms)']:.0f}" for p in PERCENTILES) for name in ("first mask", "corrective")]
        lines.append(f"| {label} | {row['objects']} | {triples[0]} | {triples[1]} |")
    return "\n".join(lines)


def cloudwatch_latency(
    endpoint_name: str,
    start: datetime,
    end: datetime,
    variant_name: str = "AllTraffic",
    metric: str = "ModelLatency",
    period_s: int = 300,
    statistics: Sequence[str] = ("p50", "p90"),
    region: str | None = None,
    boto3_session: Any = None,
) -> pd.DataFrame:
    """Per-period percentiles (ms) of a deployed endpoint's ``ModelLatency`` (or ``OverheadLatency``),
    indexed by period start, oldest first; columns ``p50_ms``, ``p90_ms``, ...

    SageMaker publishes these in microseconds under ``AWS/SageMaker`` with the endpoint and
    variant as dimensions; an empty table means no invocations in the window.
    """
    import boto3

    if end <= start:
        raise ValueError(f"end ({end}) must be after start ({start})")
    session = boto3_session or boto3.session.Session()
    client = session.client("cloudwatch", region_name=region or session.region_name)
    answer = client.get_metric_statistics(
        Namespace="AWS/SageMaker",
        MetricName=metric,
        Dimensions=[{"Name": "EndpointName", "Value": endpoint_name}, {"Name": "VariantName", "Value": variant_name}],
        StartTime=start,
        EndTime=end,
        Period=period_s,
        ExtendedStatistics=list(statistics),
        Unit="Microseconds",
    )
    rows = []
    for point in sorted(answer.get("Datapoints", []), key=lambda p: p["Timestamp"]):
        extended = point.get("ExtendedStatistics", {})
        rows.append({"timestamp": point["Timestamp"], **{f"{name}_ms": extended[name] / 1000.0 for name in statistics if name in extended}})
    return pd.DataFrame(rows, columns=["timestamp", *(f"{name}_ms" for name in statistics)]).set_index("timestamp")
