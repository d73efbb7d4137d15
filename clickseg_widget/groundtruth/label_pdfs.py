"""Every scored image in two PDFs, sorted by mIoU and by confidence, as the tutorial writes them.

Each page is one ``Figure``, drawn only when it is written and cleared right after.  matplotlib's PDF
backend keeps every image of a file until the file is closed, so a file holds at most ``pages_per_file``
pages and a long job rolls over into numbered volumes: memory stays that of one volume whatever the
job's size.
"""
from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from .job_results import Job
from .plots import draw_label, label_title, legend_handles, ranked_by_confidence, split_kinds
from .quality import ScoredLabel

PAGE_SIZE = (10, 10)  # inches
THUMBNAIL = 400  # longest side of an image on a page, in pixels: ~200 dpi at 5 x 5 a page, and a small file
PAGES_PER_FILE = 40  # 1,000 images at 5 x 5: what a file holds in memory until it is closed
MODES = {"miou": "mIoU", "confidence": "confidence"}

Page = Callable[[], Figure]


def write_label_pdfs(job: Job, scored: Sequence[ScoredLabel], folder: str | Path, rows: int = 5, columns: int = 5,
                     limit: int | None = None, pages_per_file: int = PAGES_PER_FILE) -> dict[str, list[Path]]:
    """``labels-by-miou.pdf`` and ``labels-by-confidence.pdf`` in ``folder`` (``labels-by-miou-1-of-3.pdf`` ... when
    a file would pass ``pages_per_file`` pages): per kind (human, machine) a title page, then ``rows`` x ``columns``
    images a page with the label and its reference drawn; ``limit`` caps the images of each kind.  A kind whose
    labels carry no confidence ranking gets a page saying why instead.  Returns each mode's files in order."""
    if rows < 1 or columns < 1 or pages_per_file < 1:
        raise ValueError(f"rows, columns and pages_per_file must be at least 1, got {rows}, {columns}, {pages_per_file}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return {mode: _write_volumes(folder / f"labels-by-{mode}", list(_pages(job, scored, mode, rows, columns, limit)),
                                 pages_per_file)
            for mode in MODES}


def _pages(job: Job, scored: Sequence[ScoredLabel], mode: str, rows: int, columns: int,
           limit: int | None) -> Iterator[Page]:
    yield partial(_text_page, f"Images labeled by the job, sorted by {MODES[mode]}\n\n{_drawn(job.task)}")
    for kind, items in split_kinds(scored).items():
        if mode == "miou":
            ordered, reason = sorted(items, key=lambda s: s.miou, reverse=True), None
        else:
            ordered, reason = ranked_by_confidence(items)
        if not items or reason:
            yield partial(_text_page, f"{kind} labels: {'none' if not items else f'not sorted by confidence: {reason}'}")
            continue
        ordered = ordered[:limit] if limit is not None else ordered
        yield partial(_text_page, f"{kind} labels: {len(ordered)} of {len(items)} images, sorted by {MODES[mode]}")
        per_page = rows * columns
        for start in range(0, len(ordered), per_page):
            yield partial(_image_page, job, ordered[start:start + per_page], rows, columns, kind, mode)


def _write_volumes(stem: Path, pages: Sequence[Page], pages_per_file: int) -> list[Path]:
    volumes = [pages[start:start + pages_per_file] for start in range(0, len(pages), pages_per_file)]
    paths = []
    for number, volume in enumerate(volumes, 1):
        path = stem.with_name(f"{stem.name}.pdf" if len(volumes) == 1 else f"{stem.name}-{number}-of-{len(volumes)}.pdf")
        with PdfPages(path) as pdf:
            for page in volume:
                figure = page()
                pdf.savefig(figure)
                figure.clear()
        paths.append(path)
    return paths


def _drawn(task: str | None) -> str:
    if task == "semantic_segmentation":
        return "job's label: see-through colour\nreference: lime outline"
    return "job's label: blue boxes\nreference: dashed lime boxes"


def _text_page(text: str) -> Figure:
    figure = Figure(figsize=PAGE_SIZE)
    figure.text(0.08, 0.5, text, fontsize=18, va="center", wrap=True)
    return figure


def _image_page(job: Job, page: Sequence[ScoredLabel], rows: int, columns: int, kind: str, mode: str) -> Figure:
    figure = Figure(figsize=PAGE_SIZE, layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for ax, item in zip(axes, page):
        draw_label(ax, job, item, lw=1.0, thumbnail=THUMBNAIL)
        ax.set_title(label_title(item), fontsize=7)
    for ax in axes[len(page):]:
        ax.set_axis_off()
    value = (lambda s: s.miou) if mode == "miou" else (lambda s: float(s.confidence))
    figure.suptitle(f"{kind} labels, {MODES[mode]} from {value(page[0]):.3f} to {value(page[-1]):.3f}")
    figure.legend(handles=legend_handles(job.task), loc="outside lower center", ncol=2, fontsize=9)
    return figure
