"""The per-iteration cost table and the full set of figures for one job."""
from __future__ import annotations

import warnings
from typing import Any, Mapping

import pandas as pd
from matplotlib.figure import Figure

from . import plots
from .costs import CENT, CostModel, job_prices, summarize_iterations
from .job_results import Job
from .quality import Reference, quality_summary, score_labels
from .worker_responses import read_worker_boxes


def _money(value) -> float:
    return float(value.quantize(CENT))


def cost_table(job: Job, model: CostModel | None = None) -> dict[str, Any]:
    """Iterations and totals as the CLI's ``--json`` prints them (box counts only for box tasks).

    ``model`` defaults to the job's own task prices (``job_prices``).
    """
    model = model or job_prices(job.task)
    with_boxes = job.iterations.has_boxes
    rows = []
    for item in job.iterations.iterations:
        row: dict[str, Any] = {
            "iteration": item.iteration,
            "human_objects": item.human_objects,
            "machine_objects": item.machine_objects,
        }
        if with_boxes:
            row["human_boxes"] = item.human_boxes
            row["machine_boxes"] = item.machine_boxes
        row["human_cost"] = _money(model.human_cost(item.human_objects))
        row["machine_cost"] = _money(model.machine_cost(item.machine_objects))
        rows.append(row)
    summary = summarize_iterations(job.iterations.iterations, model)
    totals = {
        "human_objects": summary.human_objects,
        "machine_objects": summary.machine_objects,
        "human_cost": _money(summary.human_cost),
        "machine_cost": _money(summary.machine_cost),
        "total_cost": _money(summary.total_cost),
        "all_human_cost": _money(summary.all_human_cost),
        "saving_percent": round(summary.saving_percent, 2),
    }
    return {"iterations": rows, "totals": totals}


def cost_dataframe(job: Job, model: CostModel | None = None) -> pd.DataFrame:
    """``cost_table`` for notebooks: one row per iteration plus a ``total`` row, costs in dollars.

    ``attrs["totals"]`` keeps the totals (all-human cost, saving in percent).
    """
    table = cost_table(job, model)
    frame = pd.DataFrame(table["iterations"]).set_index("iteration")
    frame["total_cost"] = frame["human_cost"] + frame["machine_cost"]
    totals = frame.sum().to_frame("total").T.astype(frame.dtypes)  # counts stay integers
    frame = pd.concat([frame, totals]).round({"human_cost": 2, "machine_cost": 2, "total_cost": 2})
    frame.index.name = "iteration"
    frame.attrs["totals"] = table["totals"]
    return frame


def format_table(table: Mapping[str, Any]) -> str:
    """A plain-text table for terminals and notebooks."""
    columns = ["iteration", "human_objects", "machine_objects"]
    if table["iterations"] and "human_boxes" in table["iterations"][0]:
        columns += ["human_boxes", "machine_boxes"]
    columns += ["human_cost", "machine_cost"]
    widths = [max(len(c), 10) for c in columns]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths))]
    for row in table["iterations"]:
        cells = [f"{row[c]:.2f}" if c.endswith("_cost") else str(row[c]) for c in columns]
        lines.append("  ".join(cell.rjust(w) for cell, w in zip(cells, widths)))
    t = table["totals"]
    lines.append(
        f"total: {t['human_objects']} human + {t['machine_objects']} machine objects = ${t['total_cost']:.2f} "
        f"(${t['human_cost']:.2f} human, ${t['machine_cost']:.2f} machine) vs ${t['all_human_cost']:.2f} "
        f"all human: {t['saving_percent']:.1f}% saved"
    )
    return "\n".join(lines)


def label_quality(job: Job, references: Mapping[str, Reference] | None = None) -> dict[str, Any] | None:
    """Whole / human / machine mIoU against reference labels (a simulator folder brings its own); None without any."""
    scored = score_labels(job, references)
    return quality_summary(scored) if scored else None


def training_curves(job: Job) -> dict[int, list[float]]:
    """Per-iteration training curves a simulator recorded (real jobs keep theirs in CloudWatch)."""
    if job.simulation is None:
        return {}
    return {
        entry["iteration"]: entry["training_loss"]
        for entry in job.simulation.get("iterations", [])
        if entry.get("training_loss")
    }


def report(
    job: Job,
    references: Mapping[str, Reference] | None = None,
    model: CostModel | None = None,
    examples: int = 6,
    curves: Mapping[int, list[float]] | None = None,
    curve_label: str = "Validation mAP",
) -> dict[str, Figure]:
    """Every figure that the job's data supports, by name.

    Quality figures need reference labels: pass ``references`` (source-ref ->
    boxes or class map) or use a simulator folder, which carries its own.
    ``curves`` (iteration -> per-epoch values, e.g. from the training jobs'
    CloudWatch logs) fill the third panel; a simulator folder brings its
    fine-tuning losses.
    """
    model = model or job_prices(job.task)
    with_boxes = job.iterations.has_boxes
    if curves is None:
        curves, curve_label = training_curves(job), "Fine-tuning loss"
    source = job.iterations.source
    totals_from = None if source == "job folder" else f"the {source}"
    figures = {"iterations": plots.iteration_figure(job.iterations.iterations, model, with_boxes, curves, curve_label,
                                                    totals_from)}
    if with_boxes and job.objects:
        figures["boxes"] = plots.boxes_figure(job.objects)
    scored = score_labels(job, references)
    if not scored:
        if job.objects:
            warnings.warn("no reference labels for this job's images: quality figures skipped", stacklevel=2)
        return figures
    figures["miou_histograms"] = plots.miou_histogram_figure(scored)
    figures["best"] = plots.examples_figure(job, scored, best=True, count=examples)
    figures["worst"] = plots.examples_figure(job, scored, best=False, count=examples)
    figures["confidence"] = plots.confidence_figure(scored)
    figures["most_confident"] = plots.most_confident_figure(job, scored)
    answers = read_worker_boxes(job, lenient=True)
    if answers:
        figures["workers"] = plots.worker_figure(job, scored, answers)
    return figures
