"""The tutorial's figures, each a function returning a matplotlib ``Figure``.

Figures are built with ``matplotlib.figure.Figure`` (no pyplot state), so they
render in notebooks, under Agg in tests, and never leak between calls.
"""
from __future__ import annotations

from typing import Mapping, Protocol, Sequence, TypeVar

import numpy as np
from matplotlib import colormaps
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import MaxNLocator

from .costs import CostModel, summarize_iterations
from .iterations import IterationCounts
from .job_results import Job
from .outputs import LabeledObject
from .quality import ScoredLabel, group_miou, mean_image_miou
from .worker_responses import WorkerAnswer

HUMAN_COLOR, MACHINE_COLOR = "C0", "C1"
LABEL_COLOR, REFERENCE_COLOR = "blue", "lime"  # the tutorial's consolidated and "true" boxes
LABEL_CLASS_CMAP = "tab10"  # segmentation labels: class id -> colour, drawn see-through
HISTOGRAM_BINS = np.linspace(0, 1, 17)  # 16 bins on [0, 1]
HEADROOM = 1.08  # stacked bars: room above the tallest (bar() pins the limits to a stacked bar's bottom edge)


class _Confident(Protocol):
    @property
    def confidence(self) -> float | None: ...


Ranked = TypeVar("Ranked", bound=_Confident)


def _stacked_bar_limits(ax, totals: Sequence[float]) -> None:
    ax.set_ylim(0, max(max(totals, default=0.0), 1e-9) * HEADROOM)


def draw_costs(ax, iterations: Sequence[IterationCounts], model: CostModel) -> None:
    numbers = [i.iteration for i in iterations]
    human = [float(model.human_cost(i.human_objects)) for i in iterations]
    machine = [float(model.machine_cost(i.machine_objects)) for i in iterations]
    ax.bar(numbers, human, width=0.8, color=HUMAN_COLOR, label="human")
    ax.bar(numbers, machine, bottom=human, width=0.8, color=MACHINE_COLOR, label="machine")
    _stacked_bar_limits(ax, [h + m for h, m in zip(human, machine)])
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
    totals = [h + m for h, m in zip(human, machine)]
    if with_boxes:
        totals += [i.human_boxes + i.machine_boxes for i in iterations]
    _stacked_bar_limits(ax, totals)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()


def draw_curves(ax, curves: Mapping[int, Sequence[float]], ylabel: str) -> None:
    cmap = colormaps["coolwarm"]
    ordered = sorted(curves.items())
    for index, (iteration, values) in enumerate(ordered):
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, marker="o", color=cmap(index / max(1, len(ordered) - 1)), label=f"iteration {iteration}")
    ax.set_title("Auto-labeling model training")
    ax.set_xlabel("Epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
    totals_from: str | None = None,
) -> Figure:
    """The tutorial's first figure: costs, counts and (when known) training curves per iteration.

    ``totals_from`` names where the counts came from when the job folder had no per-iteration files
    (e.g. "the output manifest"): the single bar is then labelled "all" and the figure says why.
    """
    panels = 3 if curves else 2
    figure = Figure(figsize=(5 * panels, 5), layout="constrained")
    axes = figure.subplots(1, panels)
    draw_costs(axes[0], iterations, model)
    draw_counts(axes[1], iterations, with_boxes)
    if curves:
        draw_curves(axes[2], curves, curve_label)
    if totals_from:
        for ax in axes[:2]:
            ax.set_xticks(ax.get_xticks(), ["all"] * len(ax.get_xticks()))
            ax.set_xlabel("Whole job (no per-iteration files)")
        figure.supxlabel(f"No per-iteration files in the job folder: totals from {totals_from}, drawn as one bar.",
                         fontsize=9, color="0.3")
    return figure


def split_kinds(scored: Sequence[ScoredLabel]) -> dict[str, list[ScoredLabel]]:
    return {"human": [s for s in scored if s.human], "machine": [s for s in scored if not s.human]}


def empty_panel(ax, message: str) -> None:
    """A panel with nothing to draw says so, instead of showing a meaningless empty axis."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, fontsize=11, color="0.35")


def miou_histogram_figure(scored: Sequence[ScoredLabel]) -> Figure:
    """Per-image mIoU histograms, human and machine; titles give the mean of what is drawn and the group mIoU."""
    figure = Figure(figsize=(10, 4.2), layout="constrained")
    axes = figure.subplots(1, 2)
    for ax, (kind, items), color in zip(axes, split_kinds(scored).items(), (HUMAN_COLOR, MACHINE_COLOR)):
        if not items:
            ax.set_title(f"{kind} labels: 0 images")
            empty_panel(ax, f"no {kind} labels")
            continue
        ax.hist([s.miou for s in items], bins=HISTOGRAM_BINS, color=color, edgecolor="k", rwidth=0.8)
        ax.set_title(f"{kind} labels: {len(items)} images\n"
                     f"mean of per-image mIoU {mean_image_miou(items):.3f} (group mIoU {group_miou(items):.3f})")
        ax.set_xlabel("Per-image mIoU against reference")
        ax.set_ylabel("Images")
        ax.set_xlim(0, 1)
        ax.set_xticks(np.linspace(0, 1, 5))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return figure


def _mask_outline(ax, mask: np.ndarray, color: str, lw: float) -> None:
    if np.any(mask) and not np.all(mask):
        ax.contour(mask.astype(np.uint8), levels=[0.5], colors=[color], linewidths=lw)


def _draw_boxes(ax, boxes, color: str, lw: float, linestyle: str = "-") -> None:
    for box in boxes:
        ax.add_patch(Rectangle((box.left, box.top), box.width, box.height, fill=False, lw=lw, edgecolor=color,
                               linestyle=linestyle))


def _show(ax, array: np.ndarray, thumbnail: int | None, shape: tuple[int, ...] | None = None, **kwargs) -> None:
    """``array`` over the pixel grid of ``shape`` (its own by default), every ``step``-th pixel so its longest side is
    at most ``thumbnail``: boxes and outlines keep their pixel coordinates while a PDF page embeds small images."""
    height, width = (shape or array.shape)[:2]
    step = 1 if thumbnail is None else max(1, -(-max(array.shape[:2]) // thumbnail))
    ax.imshow(array[::step, ::step], extent=(-0.5, width - 0.5, height - 0.5, -0.5), **kwargs)


def _draw_image(ax, job: Job, item: LabeledObject, shape: tuple[int, ...] | None = None,
                thumbnail: int | None = None) -> None:
    """The item's image, or a grey canvas of its size when the image is not at hand."""
    image = job.image(item.source_ref)
    canvas = np.full((1, 1, 3), 235, np.uint8)
    if image is not None:
        _show(ax, image, thumbnail)
    elif item.image_size:
        _show(ax, canvas, None, (item.image_size[1], item.image_size[0]))
    elif shape is not None:
        _show(ax, canvas, None, shape)
    ax.set_axis_off()


def draw_label(ax, job: Job, scored: ScoredLabel, reference: bool = True, label: bool = True, lw: float = 2.0,
               thumbnail: int | None = None) -> None:
    """An image with the job's label (blue boxes, or a see-through class overlay) and its reference (lime);
    ``thumbnail`` caps the longest side of the drawn image and overlay in pixels (None: full resolution)."""
    item = scored.item
    classes = job.label_classes(item) if label and item.task == "semantic_segmentation" else None
    reference_map = scored.reference if isinstance(scored.reference, np.ndarray) else None
    shape = classes.shape if classes is not None else reference_map.shape if reference_map is not None else None
    _draw_image(ax, job, item, shape, thumbnail)
    if classes is not None:
        overlay = np.ma.masked_where(classes == 0, classes)
        _show(ax, overlay, thumbnail, alpha=0.5, cmap=LABEL_CLASS_CMAP, vmin=0, vmax=9, interpolation="nearest")
    elif label:
        _draw_boxes(ax, item.boxes, LABEL_COLOR, lw)
    if reference and scored.reference is not None:
        if reference_map is not None:
            _mask_outline(ax, reference_map > 0, REFERENCE_COLOR, lw)
        else:
            _draw_boxes(ax, scored.reference, REFERENCE_COLOR, lw * 0.75, "--")


def legend_handles(task: str | None, reference: bool = True) -> list[Artist]:
    """Proxy artists naming what ``draw_label`` draws."""
    handles: list[Artist]
    if task == "semantic_segmentation":
        handles = [Patch(facecolor=colormaps[LABEL_CLASS_CMAP](1 / 9), alpha=0.5, label="job's label")]
    else:
        handles = [Line2D([], [], color=LABEL_COLOR, lw=2, label="job's label")]
    if reference:
        handles.append(Line2D([], [], color=REFERENCE_COLOR, lw=2, linestyle="-" if task == "semantic_segmentation" else "--",
                              label="reference"))
    return handles


def label_title(scored: ScoredLabel) -> str:
    confidence = f"{scored.confidence:.2f}" if scored.confidence is not None else "n/a"
    return f"mIoU {scored.miou:.2f}, conf {confidence}"


def _gallery(job: Job, rows: Sequence[tuple[str, Sequence[ScoredLabel]]], title: str, notes: Sequence[str] = ()) -> Figure:
    """One row of images per kind; kinds with nothing to show are named in ``notes`` by the caller."""
    shown = [(label, items) for label, items in rows if items]
    if not shown:  # a figure of the usual width that says why it is empty, not a sliver
        figure = Figure(figsize=(8, 3), layout="constrained")
        empty_panel(figure.subplots(), "\n".join(notes) or "no labels to show")
        figure.suptitle(title)
        return figure
    columns = max(len(items) for _, items in shown)
    figure = Figure(figsize=(max(2.6 * columns, 6.0), 2.6 * len(shown) + 0.9), layout="constrained")
    axes = np.atleast_2d(figure.subplots(len(shown), columns, squeeze=False))
    for row, (label, items) in enumerate(shown):
        for column in range(columns):
            ax = axes[row, column]
            if column >= len(items):
                ax.set_axis_off()
                continue
            draw_label(ax, job, items[column])
            ax.set_title(f"{label}\n{label_title(items[column])}", fontsize=8)
    figure.suptitle(title)
    # the notes title the legend: a supxlabel would share the bottom edge with it and be drawn over
    figure.legend(handles=legend_handles(job.task), loc="outside lower center", ncol=2, fontsize=9,
                  title="\n".join(notes) or None, title_fontsize=9)
    return figure


def examples_figure(job: Job, scored: Sequence[ScoredLabel], best: bool = True, count: int = 6) -> Figure:
    """The ``count`` best (or worst) labels of each kind, drawn on their images with their reference."""
    rows, notes = [], []
    for kind, items in split_kinds(scored).items():
        ordered = sorted(items, key=lambda s: s.miou, reverse=best)
        rows.append((kind, ordered[:count]))
        if not items:
            notes.append(f"no {kind} labels")
    return _gallery(job, rows, f"{'Best' if best else 'Worst'} {count} labels by mIoU", notes)


def worker_figure(job: Job, scored: Sequence[ScoredLabel], answers: Mapping[str, Sequence[WorkerAnswer]],
                  count: int = 5) -> Figure:
    """Human-labeled images: each worker's boxes (one colour per worker), the consolidated label, the reference."""
    shown = [s for s in scored if s.human and answers.get(s.item.source_ref)][:count]
    columns = ("Worker labels", "Consolidated label", "Reference")
    figure = Figure(figsize=(9, 2.6 * max(1, len(shown)) + 0.6), layout="constrained")
    axes = np.atleast_2d(figure.subplots(max(1, len(shown)), 3, squeeze=False))
    if not shown:
        for ax in axes.ravel():
            ax.set_axis_off()
        empty_panel(axes[0, 1], "no worker responses for the scored human labels")
        return figure
    for row, item in enumerate(shown):
        workers: dict[str, str] = {}
        worker_ax, label_ax, reference_ax = axes[row]
        _draw_image(worker_ax, job, item.item)
        for answer in answers[item.item.source_ref]:
            color = workers.setdefault(answer.worker_id, f"C{(9 - len(workers)) % 10}")
            _draw_boxes(worker_ax, answer.boxes, color, 1.5)
        worker_ax.legend(handles=[Line2D([], [], color=c, label=w[-12:]) for w, c in workers.items()], fontsize=6,
                         loc="upper right", title=f"{len(workers)} workers", title_fontsize=6)
        draw_label(label_ax, job, item, reference=False)
        label_ax.set_title(label_title(item), fontsize=8)
        draw_label(reference_ax, job, item, label=False)
    for ax, name in zip(axes[0], columns):
        ax.set_title(f"{name}\n{ax.get_title()}".strip(), fontsize=10)
    figure.suptitle("Human-labeled examples: worker answers, consolidation, reference")
    figure.legend(handles=legend_handles(job.task), loc="outside lower center", ncol=2, fontsize=9)
    return figure


def ranked_by_confidence(items: Sequence[Ranked]) -> tuple[list[Ranked], str | None]:
    """Most confident first, or no ranking and the reason: a group without confidences, or with one value for all
    (simulated human labels carry 0), has no order to show."""
    known = [s for s in items if s.confidence is not None]
    if not known:
        return [], "no confidences"
    values = {float(s.confidence) for s in known}  # type: ignore[arg-type]
    if len(known) > 1 and len(values) == 1:
        return [], f"all {len(known)} have confidence {values.pop():.2f}"
    return sorted(known, key=lambda s: float(s.confidence), reverse=True), None  # type: ignore[arg-type]


def unranked_note(kind: str, reason: str) -> str:
    """What a figure says in place of a group it cannot rank."""
    return f"{kind} labels not ranked by confidence ({reason}): none drawn"


def _ranked_groups(scored: Sequence[ScoredLabel]) -> tuple[dict[str, list[ScoredLabel]], list[str]]:
    ranked, notes = {}, []
    for kind, items in split_kinds(scored).items():
        if not items:
            continue
        order, reason = ranked_by_confidence(items)
        if reason:
            notes.append(unranked_note(kind, reason))
        else:
            ranked[kind] = order
    return ranked, notes


def most_confident_figure(job: Job, scored: Sequence[ScoredLabel], count: int = 5) -> Figure:
    ranked, notes = _ranked_groups(scored)
    rows = [(kind, items[:count]) for kind, items in ranked.items()]
    return _gallery(job, rows, f"The {count} most confident labels of each kind", notes)


def confidence_figure(scored: Sequence[ScoredLabel]) -> Figure:
    """mIoU vs confidence with regression lines, and mIoU of the top x% most confident.

    Only groups whose labels are ranked by a confidence are drawn; the figure says why any other is absent.
    """
    figure = Figure(figsize=(10, 4.4), layout="constrained")
    scatter, top = figure.subplots(1, 2)
    deciles = np.arange(10, 101, 10)
    ranked, notes = _ranked_groups(scored)
    colors = {"human": HUMAN_COLOR, "machine": MACHINE_COLOR}
    for kind, items in ranked.items():
        color = colors[kind]
        confidence = np.array([s.confidence for s in items], float)
        miou = np.array([s.miou for s in items])
        scatter.scatter(confidence, miou, s=10, color=color, alpha=0.6, label=kind)
        if len(items) > 1:
            slope, intercept = np.polyfit(confidence, miou, 1)
            xs = np.linspace(confidence.min(), confidence.max(), 2)
            scatter.plot(xs, slope * xs + intercept, color=color)
        top_miou = [group_miou(items[: max(1, int(np.ceil(len(items) * p / 100)))]) for p in deciles]
        top.plot(deciles, top_miou, marker="o", color=color, label=kind)
    scatter.set_title("mIoU vs confidence")
    top.set_title("mIoU of the most confident labels")
    if not ranked:
        for ax in (scatter, top):
            empty_panel(ax, "no labels ranked by confidence")
    else:
        scatter.set_xlabel("Confidence")
        scatter.set_ylabel("Per-image mIoU")
        scatter.set_ylim(-0.05, 1.05)
        scatter.legend()
        top.set_xlabel("Top x% most confident images")
        top.set_ylabel("Group mIoU")
        top.set_xticks(deciles)
        top.invert_xaxis()
        top.legend()
    if notes:
        figure.supxlabel("\n".join(notes), fontsize=9, color="0.3")
    return figure


def boxes_figure(objects: Sequence[LabeledObject]) -> Figure:
    """Boxes per image, human and machine side by side, and confidence against box count.

    The confidence panel draws only groups ranked by a confidence (simulated human labels all carry 0) and says
    which group is absent and why; both panels share integer box-count ticks.
    """
    figure = Figure(figsize=(10, 4), layout="constrained")
    counts_ax, confidence_ax = figure.subplots(1, 2)
    groups = [(kind, color, [o for o in objects if o.human == human])
              for human, color, kind in ((True, HUMAN_COLOR, "human"), (False, MACHINE_COLOR, "machine"))]
    groups = [group for group in groups if group[2]]
    if not groups:
        empty_panel(counts_ax, "no labels")
        empty_panel(confidence_ax, "no labels")
        return figure
    most = max(o.box_count for _, _, items in groups for o in items)
    counts_ax.hist([[o.box_count for o in items] for _, _, items in groups], bins=np.arange(most + 2) - 0.5,
                   color=[color for _, color, _ in groups], label=[kind for kind, _, _ in groups], rwidth=0.85)
    notes = [f"no {kind} labels" for kind in ("human", "machine") if kind not in {g[0] for g in groups}]
    drawn = []
    for kind, color, items in groups:
        ranked, reason = ranked_by_confidence(items)
        if reason:
            notes.append(unranked_note(kind, reason))
            continue
        confidence_ax.scatter([o.box_count for o in ranked], [o.confidence for o in ranked],
                              s=10, color=color, alpha=0.6, label=kind)
        drawn.append(kind)
    counts_ax.set_title("Images by number of boxes")
    counts_ax.set_xlabel("Boxes per image")
    counts_ax.set_ylabel("Images")
    counts_ax.legend()
    counts_ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    confidence_ax.set_title("Confidence vs number of boxes")
    if drawn:
        confidence_ax.set_xlabel("Boxes per image")
        confidence_ax.set_ylabel("Mean box confidence")
        confidence_ax.set_ylim(-0.02, 1.02)
        confidence_ax.legend()
    else:
        empty_panel(confidence_ax, "no labels ranked by confidence")
    for ax in (counts_ax, confidence_ax) if drawn else (counts_ax,):
        ax.set_xlim(-0.5, most + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if notes:
        figure.supxlabel("\n".join(notes), fontsize=9, color="0.3")
    return figure
