"""A labeling job's outputs in one object: folder, per-iteration counts, final labels.

``load_job`` works on a local copy of ``<S3OutputPath>/<job>/``, its ``s3://``
URI, or a simulator's output folder; a simulator folder also carries the
reference labels and local image paths that the quality plots need.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..export.groundtruth import read_label_map
from ..io.images import load_image
from .job_control import LabelCounters
from .iterations import JobIterations, read_iterations
from .outputs import OUTPUT_MANIFEST, LabeledObject, ManifestObjects, read_output_manifest
from .storage import JobFolder, S3JobFolder, open_job_folder, parse_s3_uri, relative_in_job

SIMULATION_FILE = "simulation.json"


@dataclass
class Job:
    folder: JobFolder
    iterations: JobIterations
    manifest: ManifestObjects | None
    simulation: dict[str, Any] | None = None
    s3_client: Any = field(default=None, repr=False)

    @property
    def objects(self) -> list[LabeledObject]:
        return self.manifest.objects if self.manifest else []

    @property
    def task(self) -> str | None:
        return self.objects[0].task if self.objects else None

    def image(self, source_ref: str) -> np.ndarray | None:
        """The image behind a ``source-ref``: local for simulations, else from S3 when a client is at hand."""
        if self.simulation is not None:
            local = self.simulation.get("images", {}).get(source_ref)
            path = Path(self.simulation["data_dir"]) / local if local else None
            if path is not None and path.is_file():
                return load_image(path)
            return None  # the dataset moved since the simulation ran: draw labels without images
        client = self.s3_client or (self.folder.client if isinstance(self.folder, S3JobFolder) else None)
        if client is None or not source_ref.startswith("s3://"):
            return None
        bucket, key = parse_s3_uri(source_ref)
        return load_image(client.get_object(Bucket=bucket, Key=key)["Body"].read())

    def label_classes(self, item: LabeledObject) -> np.ndarray:
        """A segmentation label as class ids per pixel, read from the job folder."""
        if item.label_ref is None:
            raise ValueError(f"{item.source_ref} has no segmentation label")
        relative = relative_in_job(item.label_ref)
        if relative is None:
            raise ValueError(f"label {item.label_ref} does not point inside a job folder (…/annotations/…)")
        color_map = {str(k): {"hex-color": v} for k, v in item.color_map.items()}
        return read_label_map(self.folder.read_bytes(relative), color_map)


def load_job(
    source: str | Path | JobFolder,
    s3_client: Any = None,
    lenient: bool = False,
    counters: LabelCounters | None = None,
    attribute: str | None = None,
) -> Job:
    """Read a job folder (path, ``s3://`` URI or ``JobFolder``)."""
    folder = open_job_folder(source, s3_client) if isinstance(source, (str, Path)) else source
    iterations = read_iterations(folder, lenient=lenient, counters=counters, attribute=attribute)
    manifest = None
    if folder.exists(OUTPUT_MANIFEST):
        manifest = read_output_manifest(folder, attribute=attribute, lenient=lenient)
    simulation = None
    if folder.exists(SIMULATION_FILE):
        simulation = json.loads(folder.read_bytes(SIMULATION_FILE))
    return Job(folder, iterations, manifest, simulation, s3_client)
