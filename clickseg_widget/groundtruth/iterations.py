"""Per-iteration human and machine counts of a job, read the robust way.

Human labels come from ``consolidation-response/iteration-<N>/*.json`` (each
data object counted once, at its first appearance); machine labels from
``activelearning/.../<N>/<dir>/auto_annotator_output.txt``.  Iteration numbers
are parsed as whole integers and sorted numerically (the tutorial read only
the last character, which breaks at iteration 10), and files are read in
sorted order.  When these undocumented parts are missing, the counts degrade
to the final manifest or to ``LabelCounters`` with a warning.
"""
from __future__ import annotations

import json
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from .job_control import LabelCounters
from .manifests import ManifestError, parse_json_lines
from .outputs import OUTPUT_MANIFEST, labeled_objects, read_output_manifest
from .storage import JobFolder, read_text

CONSOLIDATION_DIR = "annotations/consolidated-annotation/consolidation-response/"
ACTIVE_LEARNING_DIR = "activelearning/"
AUTO_LABEL_FILE = "auto_annotator_output.txt"
_ITERATION_DIR = re.compile(r"(?:^|/)iteration-(\d+)(?:/|$)")


class GroundTruthWarning(UserWarning):
    """Part of a job folder was missing or undocumented; numbers come from a coarser source."""


@dataclass
class IterationCounts:
    iteration: int
    human_objects: int = 0
    machine_objects: int = 0
    human_boxes: int = 0
    machine_boxes: int = 0


@dataclass
class JobIterations:
    """Counts per iteration, where they came from, and what was skipped or guessed."""

    iterations: list[IterationCounts]
    source: str  # "job folder" | "output manifest" | "label counters"
    has_boxes: bool = False
    warnings: list[str] = field(default_factory=list)
    skipped: list[ManifestError] = field(default_factory=list)
    human_object_ids: dict[int, list[str]] = field(default_factory=dict)

    @property
    def human_objects(self) -> int:
        return sum(item.human_objects for item in self.iterations)

    @property
    def machine_objects(self) -> int:
        return sum(item.machine_objects for item in self.iterations)


def consolidation_iteration(path: str) -> int | None:
    """``.../iteration-12/2018-10-18_22:18:13.json`` -> 12."""
    match = _ITERATION_DIR.search(path)
    return int(match.group(1)) if match else None


def active_learning_iteration(path: str) -> int | None:
    """``activelearning/.../<N>/<dir>/auto_annotator_output.txt`` -> N (or an ``iteration-N`` folder)."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 3 and parts[-3].isdigit():
        return int(parts[-3])
    return consolidation_iteration(path)


def read_iterations(
    folder: JobFolder,
    lenient: bool = False,
    counters: LabelCounters | None = None,
    attribute: str | None = None,
) -> JobIterations:
    """Per-iteration counts from a job folder, degrading gracefully (see module doc)."""
    notes: list[str] = []
    skipped: list[ManifestError] = []
    per_iteration: dict[int, IterationCounts] = {}

    def counts(number: int) -> IterationCounts:
        return per_iteration.setdefault(number, IterationCounts(number))

    has_boxes = False
    human_ids: dict[int, list[str]] = defaultdict(list)
    seen: set[str] = set()
    consolidation = _numbered(folder.list_files(CONSOLIDATION_DIR), consolidation_iteration, notes)
    for number, relative in consolidation:
        for object_id, value in _consolidated(folder, relative, lenient, skipped, attribute):
            counts(number)
            if object_id in seen:
                continue
            seen.add(object_id)
            human_ids[number].append(object_id)
            counts(number).human_objects += 1
            if isinstance(value, dict) and isinstance(value.get("annotations"), list):
                has_boxes = True
                counts(number).human_boxes += len(value["annotations"])

    auto_files = [f for f in folder.list_files(ACTIVE_LEARNING_DIR) if f.endswith("/" + AUTO_LABEL_FILE)]
    for number, relative in _numbered(auto_files, active_learning_iteration, notes):
        parsed = parse_json_lines(folder.read_bytes(relative), folder.location(relative), lenient, prefix_token=True)
        objects = labeled_objects(parsed, attribute, lenient)
        skipped.extend(objects.skipped)
        counts(number).machine_objects += len(objects.objects)
        for item in objects.objects:
            if item.task == "bounding_box":
                has_boxes = True
                counts(number).machine_boxes += item.box_count

    if per_iteration:
        result = JobIterations(sorted(per_iteration.values(), key=lambda c: c.iteration), "job folder", has_boxes, notes, skipped)
        result.human_object_ids = dict(human_ids)
        if not auto_files:
            _place_unseen_machine_labels(folder, result, counters, lenient, attribute)
        return _warned(result)
    return _warned(_fallback(folder, counters, lenient, attribute, notes, skipped))


def _numbered(files: list[str], number_of, notes: list[str]) -> list[tuple[int, str]]:
    numbered = []
    spellings: dict[int, set[str]] = defaultdict(set)
    for relative in files:
        if relative.endswith("/"):
            continue
        number = number_of(relative)
        if number is None:
            notes.append(f"{relative}: no iteration number in the path; file ignored")
            continue
        numbered.append((number, relative))
        spellings[number].add(_iteration_folder(relative))
    for number, names in sorted(spellings.items()):
        if len(names) > 1:
            notes.append(f"folders {', '.join(sorted(names))} are all iteration {number}: their labels are counted together; "
                         "check that the job folder was not assembled from two copies")
    return sorted(numbered)


def _iteration_folder(relative: str) -> str:
    """The path part that gave a file its iteration number, as spelled (``iteration-01``, ``3``)."""
    match = _ITERATION_DIR.search(relative)
    return match.group(0).strip("/") if match else PurePosixPath(relative).parts[-3]


def _consolidated(folder: JobFolder, relative: str, lenient: bool, skipped: list[ManifestError], attribute: str | None):
    """(datasetObjectId, label value) pairs of one consolidation-response file."""
    location = folder.location(relative)
    try:
        entries = json.loads(read_text(folder, relative))
        if not isinstance(entries, list):
            raise ValueError(f"expected a JSON list of consolidated annotations, found {type(entries).__name__}")
    except json.JSONDecodeError as err:
        error = ManifestError(location, err.lineno, f"not valid JSON ({err.msg})")
        if not lenient:
            raise error from None
        skipped.append(error)
        return
    except ValueError as err:
        error = ManifestError(location, 1, str(err))
        if not lenient:
            raise error from None
        skipped.append(error)
        return
    for index, entry in enumerate(entries):
        try:
            object_id = str(entry["datasetObjectId"])
            content = entry["consolidatedAnnotation"]["content"]
            name = attribute or next(k for k in content if not k.endswith("-metadata"))
            yield object_id, content[name]
        except (KeyError, TypeError, StopIteration):
            error = ManifestError(
                location, index, "needs datasetObjectId and consolidatedAnnotation.content.<attribute>", unit="entry"
            )
            if not lenient:
                raise error from None
            skipped.append(error)


def _place_unseen_machine_labels(folder, result: JobIterations, counters, lenient, attribute) -> None:
    """No active-learning files: machine labels known only in total go to the last iteration."""
    machine = None
    if folder.exists(OUTPUT_MANIFEST):
        manifest = read_output_manifest(folder, attribute=attribute, lenient=lenient)
        result.skipped.extend(manifest.skipped)
        objects = manifest.objects
        machine = sum(not item.human for item in objects)
        boxes = sum(item.box_count for item in objects if not item.human)
    elif counters is not None:
        machine, boxes = counters.machine_labeled, 0
    if machine:
        last = result.iterations[-1]
        last.machine_objects += machine
        last.machine_boxes += boxes
        result.warnings.append(
            f"no {ACTIVE_LEARNING_DIR}…/{AUTO_LABEL_FILE} files: {machine} machine labels counted in iteration {last.iteration}"
        )


def _fallback(folder, counters, lenient, attribute, notes, skipped) -> JobIterations:
    if folder.exists(OUTPUT_MANIFEST):
        manifest = read_output_manifest(folder, attribute=attribute, lenient=lenient)
        human = [o for o in manifest.objects if o.human]
        machine = [o for o in manifest.objects if not o.human]
        has_boxes = any(o.task == "bounding_box" for o in manifest.objects)
        only = IterationCounts(
            1, len(human), len(machine), sum(o.box_count for o in human), sum(o.box_count for o in machine)
        )
        notes.append("no per-iteration files (consolidation-response, activelearning): totals from the output manifest, as one iteration")
        return JobIterations([only], "output manifest", has_boxes, notes, skipped + manifest.skipped)
    if counters is not None:
        notes.append("no per-iteration files and no output manifest: totals from LabelCounters, as one iteration")
        only = IterationCounts(1, counters.human_labeled, counters.machine_labeled)
        return JobIterations([only], "label counters", False, notes, skipped)
    raise FileNotFoundError(
        f"{folder.location('')} has no consolidation responses, active-learning output or output manifest: "
        "is it a Ground Truth job folder (<S3OutputPath>/<job>/)? Pass the job's LabelCounters to fall back on them."
    )


def _warned(result: JobIterations) -> JobIterations:
    for note in result.warnings:
        warnings.warn(note, GroundTruthWarning, stacklevel=3)
    return result
