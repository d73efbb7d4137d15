"""Every scored image in two PDFs, sorted by mIoU and by confidence, as the tutorial writes them.

Each page is one ``Figure`` written and cleared before the next is drawn, so a job of
any size costs the memory of one page.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .job_results import Job
from .plots import draw_label, label_title, legend_handles, ranked_by_confidence, split_kinds
from .quality import ScoredLabel

PAGE_SIZE = (10, 10)  # inches
THUMBNAIL = 400  # longest side of an image on a page, in pixels: ~200 dpi at 5 x 5 a page, and a small file


def write_label_pdfs(job: Job, scored: Sequence[ScoredLabel], folder: str | Path, rows: int = 5, columns: int = 5,
                     limit: int | None = None) -> dict[str, Path]:
    """``labels-by-miou.pdf`` and ``labels-by-confidence.pdf`` in ``folder``: per kind (human, machine) a title
    page, then ``rows`` x ``columns`` images a page with the label and its reference drawn; ``limit`` caps the images
    of each kind.  A kind whose labels carry no confidence ranking gets a page saying why instead."""
    if rows < 1 or columns < 1:
        raise ValueError(f"rows and columns must be at least 1, got {rows} x {columns}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    for mode in ("miou", "confidence"):
        path = folder / f"labels-by-{mode}.pdf"
        with PdfPages(path) as pdf:
            _text_page(pdf, f"Images labeled by the job, sorted by {_MODE_NAMES[mode]}\n\n{_drawn(job.task)}")
            for kind, items in split_kinds(scored).items():
                if mode == "miou":
                    ordered, reason = sorted(items, key=lambda s: s.miou, reverse=True), None
                else:
                    ordered, reason = ranked_by_confidence(items)
                if not items or reason:
                    _text_page(pdf, f"{kind} labels: {'none' if not items else f'not sorted by confidence: {reason}'}")
                    continue
                ordered = ordered[:limit] if limit is not None else ordered
                _text_page(pdf, f"{kind} labels: {len(ordered)} of {len(items)} images, sorted by {_MODE_NAMES[mode]}")
                per_page = rows * columns
                for start in range(0, len(ordered), per_page):
                    _image_page(pdf, job, ordered[start:start + per_page], rows, columns, kind, mode)
        written[mode] = path
    return written


_MODE_NAMES = {"miou": "mIoU", "confidence": "confidence"}


def _drawn(task: str | None) -> str:
    if task == "semantic_segmentation":
        return "job's label: see-through colour\nreference: lime outline"
    return "job's label: blue boxes\nreference: dashed lime boxes"


def _text_page(pdf: PdfPages, text: str) -> None:
    figure = Figure(figsize=PAGE_SIZE)
    figure.text(0.08, 0.5, text, fontsize=18, va="center", wrap=True)
    pdf.savefig(figure)
    figure.clear()


def _image_page(pdf: PdfPages, job: Job, page: Sequence[ScoredLabel], rows: int, columns: int, kind: str,
                mode: str) -> None:
    figure = Figure(figsize=PAGE_SIZE, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, item in zip(axes, page):
        draw_label(ax, job, item, lw=1.0, thumbnail=THUMBNAIL)
        ax.set_title(label_title(item), fontsize=7)
    for ax in axes[len(page):]:
        ax.set_axis_off()
    value = (lambda s: s.miou) if mode == "miou" else (lambda s: float(s.confidence))
    figure.suptitle(f"{kind} labels, {_MODE_NAMES[mode]} from {value(page[0]):.3f} to {value(page[-1]):.3f}")
    figure.legend(handles=legend_handles(job.task), loc="outside lower center", ncol=2, fontsize=9)
    pdf.savefig(figure)
    figure.clear()
