"""Run a segmenter through simulated clicks on a benchmark, the original tool's way.

Each object gets its four extreme points (or, with ``start="box"``, its
bounding box), then corrective clicks from the click simulator.  We record
IoU after every click, the latency of the first mask (``prepare`` included)
and of each corrective click, whether the final mask honours each
corrective click, and keep clicking past ``corrective_clicks`` only while
IoU is below 90% (for NoC), up to the cap.
"""
from __future__ import annotations

import resource
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..models.base import Segmenter
from ..simulation.clicker import Clicker
from ..simulation.datasets import Sample, load_mask
from ..simulation.metrics import clicks_to_reach, percentiles
from .click_loop import ObjectResult, label_object

NOC_THRESHOLDS = (0.85, 0.90)
START_NAMES = {"extreme": "4 extreme points", "box": "box"}


@dataclass
class EvaluationReport:
    backend: str
    corrective_clicks: int
    noc_cap: int
    objects: list[ObjectResult]
    peak_rss_mb: float
    settings: dict[str, Any] = field(default_factory=dict)

    def miou(self) -> list[float]:
        """Mean IoU in percent after the extreme points (index 0) and each corrective click."""
        return [
            100.0 * float(np.mean([o.iou_after(k) for o in self.objects])) for k in range(self.corrective_clicks + 1)
        ]

    def noc(self, threshold: float) -> tuple[float, int]:
        """Mean corrective clicks to reach ``threshold`` and how many objects never did."""
        counts = [clicks_to_reach(o.ious, threshold, self.noc_cap) for o in self.objects]
        failed = sum(1 for o in self.objects if max(o.ious[: self.noc_cap + 1]) < threshold)
        return float(np.mean(counts)), failed

    def honour_rate(self) -> float:
        """Share of all corrective clicks that the final masks honour (1.0 when no click was needed)."""
        clicks = sum(len(o.corrective_ms) for o in self.objects)
        return sum(o.honoured for o in self.objects) / clicks if clicks else 1.0

    def latency(self) -> dict[str, dict[str, float]]:
        corrective = [ms for o in self.objects for ms in o.corrective_ms]
        return {"first": percentiles([o.first_ms for o in self.objects]), "corrective": percentiles(corrective)}

    def to_json(self) -> dict[str, Any]:
        noc85, failed85 = self.noc(0.85)
        noc90, failed90 = self.noc(0.90)
        return {
            "backend": self.backend,
            "objects": len(self.objects),
            "miou": [round(v, 2) for v in self.miou()],
            "noc85": round(noc85, 2),
            "noc90": round(noc90, 2),
            "noc85_failed": failed85,
            "noc90_failed": failed90,
            "honour_rate": round(self.honour_rate(), 4),
            "corrective_clicks_made": sum(len(o.corrective_ms) for o in self.objects),
            "latency_ms": {k: {p: round(v, 1) for p, v in d.items()} for k, d in self.latency().items()},
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "settings": self.settings,
        }

    def to_dataframe(self) -> pd.DataFrame:
        """This report as one row of ``evaluation_dataframe``, for notebooks."""
        return evaluation_dataframe([self])

    def table(self) -> str:
        """The original tool's table: Baseline, 1..k corrective clicks, with mIoU and error rows."""
        miou = self.miou()
        header = ["Clicks", "Baseline"] + [str(k) for k in range(1, len(miou))]
        rows = [["mIoU"] + [f"{v:.2f}" for v in miou], ["Error"] + [f"{100 - v:.2f}" for v in miou]]
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        lines = [" | ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in [header, *rows]]
        noc85, failed85 = self.noc(0.85)
        noc90, failed90 = self.noc(0.90)
        latency = self.latency()
        lines.insert(1, "-+-".join("-" * w for w in widths))
        lines += [
            "",
            f"backend {self.backend}, {len(self.objects)} objects",
            f"NoC@85 {noc85:.2f} ({failed85} never reached), NoC@90 {noc90:.2f} ({failed90} never reached), "
            f"corrective clicks after the {START_NAMES[self.settings.get('start', 'extreme')]}, cap {self.noc_cap}",
            f"clicks honoured {100 * self.honour_rate():.2f}% of {sum(len(o.corrective_ms) for o in self.objects)} "
            "(the final mask gives each clicked pixel the label asked for)",
            f"latency first mask p50 {latency['first']['p50']:.0f} ms / p90 {latency['first']['p90']:.0f} ms, "
            f"corrective click p50 {latency['corrective']['p50']:.1f} ms / p90 {latency['corrective']['p90']:.1f} ms",
            f"peak memory {self.peak_rss_mb:.0f} MB RSS",
        ]
        return "\n".join(lines)


def evaluation_dataframe(reports: Iterable[EvaluationReport]) -> pd.DataFrame:
    """One row per report (indexed by backend): mIoU (%) after the extreme points and after each
    corrective click, NoC@85/90, latency p50/p90 (ms) of the first mask and of corrective clicks."""
    rows = []
    for report in reports:
        row: dict[str, Any] = {"backend": report.backend, "objects": len(report.objects)}
        for clicks, value in enumerate(report.miou()):
            row["extreme points" if clicks == 0 else f"{clicks} click{'s' if clicks > 1 else ''}"] = round(value, 2)
        for threshold in NOC_THRESHOLDS:
            row[f"NoC@{round(threshold * 100)}"] = round(report.noc(threshold)[0], 2)
        for stage, values in report.latency().items():
            for name, value in values.items():
                row[f"{'first mask' if stage == 'first' else stage} {name} (ms)"] = round(value, 1)
        rows.append(row)
    if not rows:
        raise ValueError("evaluation_dataframe needs at least one report")
    return pd.DataFrame(rows).set_index("backend")


def evaluate(
    segmenter: Segmenter,
    samples: Sequence[Sample],
    corrective_clicks: int = 5,
    noc_cap: int = 20,
    mode: str = "standard",
    jitter: float = 0.0,
    seed: int = 0,
    progress: bool = True,
    start: str = "extreme",
) -> EvaluationReport:
    if corrective_clicks < 0 or noc_cap < 1:
        raise ValueError("corrective_clicks must be >= 0 and noc_cap >= 1")
    results = []
    for index, sample in enumerate(tqdm(samples, desc=f"evaluate {segmenter.name}", disable=not progress)):
        truth, ignore = load_mask(sample.mask_path)
        clicker = Clicker(truth, ignore, mode=mode, jitter=jitter, seed=seed + index)
        results.append(label_object(
            segmenter, sample.image_path, truth, ignore, clicker, max(corrective_clicks, noc_cap),
            done=lambda ious: len(ious) > corrective_clicks and ious[-1] >= max(NOC_THRESHOLDS), name=sample.name, start=start,
        ))
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    settings = {"mode": mode, "jitter": jitter, "seed": seed, "start": start}
    return EvaluationReport(segmenter.name, corrective_clicks, noc_cap, results, peak_kb / 1024.0, settings)
