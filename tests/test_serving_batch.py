"""Batch Transform pre-labeling through the archive's handler, driven by the real inference toolkit."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.export.groundtruth import read_label_map
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.prelabel.records import parse_task
from clickseg_widget.serving.archive import build_model_archive
from workforce_local import FAKE_AWS_ENV

HERE = Path(__file__).parent


def test_toolkit_runs_a_multi_record_batch_from_the_archive(tmp_path, grabcut_dir):
    pytest.importorskip("sagemaker_inference", reason="the SageMaker inference toolkit (dev extra) is not installed")
    images = sorted((grabcut_dir / "images").glob("*.jpg"))[:2]
    lines = [
        {"source-ref": f"s3://images/{images[0].name}", "objects": [{"box": [40, 30, 300, 250], "class": "a"}]},
        {"source-ref": "s3://images/not-there.jpg", "objects": [{"box": [1, 1, 9, 9]}]},
        {"source-ref": f"s3://images/{images[1].name}", "objects": [{"box": [20, 20, 200, 200], "class": "a"},
                                                                   {"box": [150, 100, 400, 300], "class": "b"}]},
    ]
    body = tmp_path / "batch.jsonl"
    body.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n")
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(build_model_archive(tmp_path / "model.tar.gz", backend="grabcut", model_version="gc-batch")) as bundle:
        bundle.extractall(model_dir, filter="data")
    env = {**os.environ, **FAKE_AWS_ENV, "PYTHONPATH": str(model_dir / "code"), "SAGEMAKER_PROGRAM": "inference.py"}
    result = subprocess.run([sys.executable, str(HERE / "toolkit_batch.py"), str(model_dir), str(body), *map(str, images)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert (answer["status"], answer["content_type"]) == (200, "application/jsonlines")
    records = [json.loads(line) for line in answer["body"].splitlines()]
    assert [r["line"] for r in records] == [1, 2, 3]
    assert "s3://images/not-there.jpg" in records[1]["error"] and "objects" not in records[1]

    local = get_segmenter("grabcut")
    for record, image in ((records[0], images[0]), (records[2], images[1])):
        assert record["model-version"] == "gc-batch"
        task = parse_task(json.dumps(lines[record["line"] - 1]), record["line"])
        context = local.prepare(image)
        masks = [rle_to_mask(o["segmentation"]) for o in record["objects"]]
        for mask, item in zip(masks, task.objects):
            np.testing.assert_array_equal(mask, local.predict(context, item.clicks).mask)
        labels = read_label_map(base64.b64decode(record["label-map-png"]))
        assert (labels[masks[-1]] == len(task.class_names)).all()
