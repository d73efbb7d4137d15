"""The tutorial's figures, each a function returning a matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so they
render in notebooks, under Agg in tests, and never leak between calls.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from .costs import CostModel, summarize_iterations
from .iterations import IterationCounts
from .job_results import Job
from .outputs import LabeledObject
from .quality import ScoredLabel, group_miou

HUMAN_COLOR, MACHINE_COLOR = "C0", "C1"
HISTOGRAM_BINS = np.linspace(0, 1, 17)  # 16 bins on [0, 1]


def draw_costs(ax, iterations: Sequence[IterationCounts], model: CostModel) -> None:
    numbers = [i.iteration for i in iterations]
    human = [float(model.human_cost(i.human_objects)) for i in iterations]
    machine = [float(model.machine_cost(i.machine_objects)) for i in iterations]
    ax.bar(numbers, human, width=0.8, color=HUMAN_COLOR, label="human")
    ax.bar(numbers, machine, bottom=human, width=0.8, color=MACHINE_COLOR, label="machine")
    summary = summarize_iterations(iterations, model)
    ax.set_title(
        f"Total annotation costs: ${summary.total_cost:.2f}\n"
        f"${summary.human_cost:.2f} human, ${summary.machine_cost:.2f} machine "
        f"(all human: ${summary.all_human_cost:.2f})"
    )
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Cost in dollars")
    ax.set_xticks(numbers)
    ax.legend()


def draw_counts(ax, iterations: Sequence[IterationCounts], with_boxes: bool) -> None:
    numbers = np.array([i.iteration for i in iterations], float)
    width = 0.4 if with_boxes else 0.8
    human = [i.human_objects for i in iterations]
    machine = [i.machine_objects for i in iterations]
    ax.bar(numbers, machine, width=width, color=MACHINE_COLOR, label="images, machine")
    ax.bar(numbers, human, bottom=machine, width=width, color=HUMAN_COLOR, label="images, human")
    title = f"Human: {sum(human)} images"
    if with_boxes:
        human_boxes = [i.human_boxes for i in iterations]
        machine_boxes = [i.machine_boxes for i in iterations]
        ax.bar(numbers + width, machine_boxes, width=width, color=MACHINE_COLOR, alpha=0.4, label="boxes, machine")
        ax.bar(numbers + width, human_boxes, bottom=machine_boxes, width=width, color=HUMAN_COLOR, alpha=0.4, label="boxes, human")
        title += f", {sum(human_boxes)} boxes\nMachine: {sum(machine)} images, {sum(machine_boxes)} boxes"
    else:
        title += f"\nMachine: {sum(machine)} images"
    ax.set_title(title)
    ax.set_xlabel("Iteration")
    ax.set_ylabel("Count")
    ax.set_xticks(numbers + (width / 2 if with_boxes else 0), [str(i.iteration) for i in iterations])
    ax.legend()


def draw_curves(ax, curves: Mapping[int, Sequence[float]], ylabel: str) -> None:
    cmap = colormaps["coolwarm"]
    ordered = sorted(curves.items())
    for index, (iteration, values) in enumerate(ordered):
        ax.plot(values, color=cmap(index / max(1, len(ordered) - 1)), label=f"iteration {iteration}")
    ax.set_title("Auto-labeling model training")
    ax.set_xlabel("Epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True)
    ax.legend()


def cost_figure(iterations: Sequence[IterationCounts], model: CostModel = CostModel()) -> Figure:
    figure = Figure(figsize=(6, 4.5), layout="constrained")
    draw_costs(figure.add_subplot(), iterations, model)
    return figure


def count_figure(iterations: Sequence[IterationCounts], with_boxes: bool = False) -> Figure:
    figure = Figure(figsize=(7, 4.5), layout="constrained")
    draw_counts(figure.add_subplot(), iterations, with_boxes)
    return figure


def iteration_figure(
    iterations: Sequence[IterationCounts],
    model: CostModel = CostModel(),
    with_boxes: bool = False,
    curves: Mapping[int, Sequence[float]] | None = None,
    curve_label: str = "Validation score",
) -> Figure:
    """The tutorial's first figure: costs, counts and (when known) training curves per iteration."""
    panels = 3 if curves else 2
    figure = Figure(figsize=(5 * panels, 5), layout="constrained")
    axes = figure.subplots(1, panels)
    draw_costs(axes[0], iterations, model)
    draw_counts(axes[1], iterations, with_boxes)
    if curves:
        draw_curves(axes[2], curves, curve_label)
    return figure


def _split(scored: Sequence[ScoredLabel]) -> dict[str, list[ScoredLabel]]:
    return {"human": [s for s in scored if s.human], "machine": [s for s in scored if not s.human]}


def miou_histogram_figure(scored: Sequence[ScoredLabel]) -> Figure:
    figure = Figure(figsize=(10, 4), layout="constrained")
    axes = figure.subplots(1, 2, sharex=True)
    for ax, (kind, items), color in zip(axes, _split(scored).items(), (HUMAN_COLOR, MACHINE_COLOR)):
        values = [s.miou for s in items]
        ax.hist(values, bins=HISTOGRAM_BINS, color=color)
        mean = f"{group_miou(items):.3f}" if values else "n/a"
        ax.set_title(f"{kind} labels: {len(values)} images, mIoU {mean}")
        ax.set_xlabel("mIoU against reference")
        ax.set_ylabel("Images")
    return figure


def _draw_label(ax, job: Job, item: LabeledObject) -> None:
    image = job.image(item.source_ref)
    if image is not None:
        ax.imshow(image)
    elif item.image_size:
        ax.imshow(np.full((item.image_size[1], item.image_size[0], 3), 235, np.uint8))
    if item.task == "bounding_box":
        for box in item.boxes:
            ax.add_patch(Rectangle((box.left, box.top), box.width, box.height, fill=False, lw=2, edgecolor="yellow"))
    elif item.task == "semantic_segmentation":
        classes = job.label_classes(item)
        overlay = np.ma.masked_where(classes == 0, classes)
        ax.imshow(overlay, alpha=0.5, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    ax.set_axis_off()


def _gallery(job: Job, rows: Sequence[tuple[str, Sequence[ScoredLabel]]], title: str) -> Figure:
    rows = [(label, items) for label, items in rows if items] or [("no labels", [])]
    columns = max([len(items) for _, items in rows] + [1])
    figure = Figure(figsize=(2.6 * columns, 2.6 * len(rows) + 0.5), layout="constrained")
    axes = np.atleast_2d(figure.subplots(len(rows), columns, squeeze=False))
    for row, (label, items) in enumerate(rows):
        for column in range(columns):
            ax = axes[row, column]
            if column >= len(items):
                ax.set_axis_off()
                continue
            scored = items[column]
            _draw_label(ax, job, scored.item)
            confidence = f"{scored.confidence:.2f}" if scored.confidence is not None else "n/a"
            ax.set_title(f"{label}\nmIoU {scored.miou:.2f}, conf {confidence}", fontsize=8)
    figure.suptitle(title)
    return figure


def examples_figure(job: Job, scored: Sequence[ScoredLabel], best: bool = True, count: int = 6) -> Figure:
    """The ``count`` best (or worst) labels of each kind, drawn on their images."""
    rows = []
    for kind, items in _split(scored).items():
        ordered = sorted(items, key=lambda s: s.miou, reverse=best)
        rows.append((kind, ordered[:count]))
    return _gallery(job, rows, f"{'Best' if best else 'Worst'} {count} labels by mIoU")


def most_confident_figure(job: Job, scored: Sequence[ScoredLabel], count: int = 5) -> Figure:
    rows = []
    for kind, items in _split(scored).items():
        ordered = sorted((s for s in items if s.confidence is not None), key=lambda s: float(s.confidence or 0.0), reverse=True)
        rows.append((kind, ordered[:count]))
    return _gallery(job, rows, f"The {count} most confident labels of each kind")


def confidence_figure(scored: Sequence[ScoredLabel]) -> Figure:
    """mIoU vs confidence with regression lines, and mIoU of the top x% most confident."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    scatter, top = figure.subplots(1, 2)
    deciles = np.arange(10, 101, 10)
    for (kind, items), color in zip(_split(scored).items(), (HUMAN_COLOR, MACHINE_COLOR)):
        items = [s for s in items if s.confidence is not None]
        if not items:
            continue
        confidence = np.array([s.confidence for s in items])
        miou = np.array([s.miou for s in items])
        ranked = [items[i] for i in np.argsort(-confidence, kind="stable")]
        scatter.scatter(confidence, miou, s=10, color=color, alpha=0.6, label=kind)
        if len(items) > 1 and np.ptp(confidence) > 0:
            slope, intercept = np.polyfit(confidence, miou, 1)
            xs = np.linspace(confidence.min(), confidence.max(), 2)
            scatter.plot(xs, slope * xs + intercept, color=color)
        top_miou = [group_miou(ranked[: max(1, int(np.ceil(len(ranked) * p / 100)))]) for p in deciles]
        top.plot(deciles, top_miou, marker="o", color=color, label=kind)
    scatter.set_xlabel("Confidence")
    scatter.set_ylabel("mIoU")
    scatter.set_title("mIoU vs confidence")
    scatter.legend()
    top.set_xlabel("Top x% most confident images")
    top.set_ylabel("mIoU")
    top.set_title("mIoU of the most confident labels")
    top.legend()
    return figure


def boxes_figure(objects: Sequence[LabeledObject]) -> Figure:
    """Boxes per image, human vs machine, and confidence against box count."""
    figure = Figure(figsize=(10, 4), layout="constrained")
    counts_ax, confidence_ax = figure.subplots(1, 2)
    for human, color, kind in ((True, HUMAN_COLOR, "human"), (False, MACHINE_COLOR, "machine")):
        items = [o for o in objects if o.human == human]
        if not items:
            continue
        counts = [o.box_count for o in items]
        counts_ax.hist(counts, bins=np.arange(max(counts) + 2) - 0.5, color=color, alpha=0.6, label=kind)
        with_confidence = [o for o in items if o.confidence is not None]
        confidence_ax.scatter(
            [o.box_count for o in with_confidence], [o.confidence for o in with_confidence], s=10, color=color, label=kind
        )
    counts_ax.set_xlabel("Boxes per image")
    counts_ax.set_ylabel("Images")
    counts_ax.legend()
    confidence_ax.set_xlabel("Boxes per image")
    confidence_ax.set_ylabel("Mean box confidence")
    confidence_ax.legend()
    return figure
