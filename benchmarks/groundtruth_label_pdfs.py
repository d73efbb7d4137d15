"""Time, size and memory growth of ``write_label_pdfs`` as a box job grows.

The job repeats the 100 real lines of the public tutorial's bird job (../shared/data/groundtruth) under new
``source-ref``s; references are the same boxes with the first one shifted by half its width on every other image.
The bucket's images are not at hand, so every label is drawn on the same synthetic 480x640 photo-sized array
(random pixels: the worst case for the PDF's image compression).

    PYTHONPATH=$PWD python benchmarks/groundtruth_label_pdfs.py 100 400 1600
"""
from __future__ import annotations

import json
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")

from clickseg_widget.groundtruth import load_job, write_label_pdfs  # noqa: E402
from clickseg_widget.groundtruth.outputs import Box  # noqa: E402
from clickseg_widget.groundtruth.quality import score_labels  # noqa: E402

BIRDS = Path("../shared/data/groundtruth/aws-sagemaker-examples__yolov5_sample_output.manifest")


def job_folder(root: Path, images: int) -> tuple[Path, dict[str, list[Box]]]:
    lines = [json.loads(line) for line in BIRDS.read_text().splitlines()]
    out, references = [], {}
    for index in range(images):
        line = json.loads(json.dumps(lines[index % len(lines)]))
        line["source-ref"] = f"s3://bench/images/{index}.jpg"
        if index % 3 == 0:
            line["category-metadata"]["human-annotated"] = "no"
        boxes = [Box(0, a["left"], a["top"], a["width"], a["height"]) for a in line["category"]["annotations"]]
        if index % 2 and boxes:
            first = boxes[0]
            boxes[0] = Box(0, first.left + first.width / 2, first.top, first.width, first.height)
        references[line["source-ref"]] = boxes
        out.append(line)
    manifest = root / "manifests/output/output.manifest"
    manifest.parent.mkdir(parents=True)
    manifest.write_text("".join(json.dumps(line) + "\n" for line in out))
    return root, references


def rss_mib() -> float:
    return int(Path("/proc/self/statm").read_text().split()[1]) * 4096 / 2**20


def main(sizes: list[int]) -> None:
    warnings.simplefilter("ignore")
    photo = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    print("| images | pages (both PDFs) | PDF size (MiB) | seconds | RSS growth while writing (MiB) |")
    print("| --- | --- | --- | --- | --- |")
    for images in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder, references = job_folder(Path(tmp) / "job", images)
            job = load_job(folder)
            job.image = lambda source_ref: photo  # type: ignore[method-assign]
            scored = score_labels(job, references)
            before, start = rss_mib(), time.perf_counter()
            written = write_label_pdfs(job, scored, Path(tmp) / "pdfs")
            seconds, growth = time.perf_counter() - start, rss_mib() - before
            files = [path for paths in written.values() for path in paths]
            pages = sum(len(re.findall(rb"/Type\s*/Page\b", path.read_bytes())) for path in files)
            megabytes = sum(path.stat().st_size for path in files) / 2**20
            print(f"| {images} | {pages} | {megabytes:.1f} | {seconds:.1f} | {growth:.0f} |", flush=True)


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]] or [100, 400])
