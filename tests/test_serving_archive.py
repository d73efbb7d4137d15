"""model.tar.gz: SageMaker's layout, and code/inference.py working from the vendored package alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile

import numpy as np
import pytest

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.protocol.masks import rle_to_mask
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.serving.archive import build_model_archive
from clickseg_widget.serving.handler import load_serving_model
from clickseg_widget.protocol.schema import ImageReference, SegmentRequest

# Runs inside the unpacked archive the way the container does: code/ on the path, model_dir given.
CONTAINER_SCRIPT = """
import json, sys
import clickseg_widget, inference
assert clickseg_widget.__file__.startswith(sys.argv[1]), clickseg_widget.__file__
model = inference.model_fn(sys.argv[2])
request = inference.input_fn(open(sys.argv[3], "rb").read(), "application/json")
body, content_type = inference.output_fn(inference.predict_fn(request, model), "application/json")
sys.stdout.write(body.decode())
"""


def test_layout_and_serving_config(tmp_path):
    weights = tmp_path / "extra.bin"
    weights.write_bytes(b"\x00" * 16)
    archive = build_model_archive(tmp_path / "out" / "model.tar.gz", backend="grabcut", weights={"notes": weights},
                                  options={"work_size": 256}, model_version="gc-7", requirements=["pycocotools>=2.0.7"])
    with tarfile.open(archive) as bundle:
        names = set(bundle.getnames())
        config = json.load(bundle.extractfile("serving.json"))
        requirements = bundle.extractfile("code/requirements.txt").read().decode()
    assert {"serving.json", "extra.bin", "code/inference.py", "code/requirements.txt",
            "code/clickseg_widget/__init__.py", "code/clickseg_widget/serving/handler.py"} <= names
    assert not any("__pycache__" in name or name.startswith("code/clickseg_widget/assets") for name in names)
    assert config == {"backend": "grabcut", "options": {"work_size": 256}, "file_options": {"notes": "extra.bin"}, "model_version": "gc-7"}
    assert requirements == "pycocotools>=2.0.7\n"
    default = build_model_archive(tmp_path / "default.tar.gz")
    with tarfile.open(default) as bundle:
        assert "pycocotools" in bundle.extractfile("code/requirements.txt").read().decode()


def test_bad_arguments_fail_when_building_not_on_the_endpoint(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file .* does not exist"):
        build_model_archive(tmp_path / "m.tar.gz", weights={"weights": tmp_path / "missing.safetensors"})
    with pytest.raises(ValueError, match="backend options must be JSON values"):
        build_model_archive(tmp_path / "m.tar.gz", options={"bad": object()})
    assert not (tmp_path / "m.tar.gz").exists()


def test_model_fn_finds_weights_and_reports_missing_ones(tmp_path):
    build_model_archive(tmp_path / "model.tar.gz", backend="grabcut", model_version="gc-1", image_cache_size=3)
    with tarfile.open(tmp_path / "model.tar.gz") as bundle:
        bundle.extractall(tmp_path / "model", filter="data")
    model = load_serving_model(tmp_path / "model")
    assert (model.backend, model.model_version, model.cache_size) == ("grabcut", "gc-1", 3)
    config_path = tmp_path / "model" / "serving.json"
    config = json.loads(config_path.read_text())
    config["file_options"] = {"weights": "gone.safetensors"}
    config_path.write_text(json.dumps(config))
    with pytest.raises(FileNotFoundError, match="names gone.safetensors for option 'weights'"):
        load_serving_model(tmp_path / "model")
    with pytest.raises(FileNotFoundError, match="serving.json does not exist: point at an unpacked archive"):
        load_serving_model(tmp_path)
    assert load_serving_model(tmp_path, backend="grabcut").backend == "grabcut"


def test_inference_py_runs_from_the_unpacked_archive(tmp_path, grabcut_dir):
    sample = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(sample.mask_path)
    clicks = Clicker(truth, ignore).extreme_clicks()
    archive = build_model_archive(tmp_path / "model.tar.gz", backend="grabcut", model_version="gc-archive")
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(archive) as bundle:
        bundle.extractall(model_dir, filter="data")
    request = tmp_path / "request.json"
    request.write_bytes(SegmentRequest(image=ImageReference(data=sample.image_path.read_bytes()), clicks=tuple(clicks)).to_bytes())
    code_dir = model_dir / "code"
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    result = subprocess.run([sys.executable, "-c", CONTAINER_SCRIPT, str(code_dir), str(model_dir), str(request)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    response = json.loads(result.stdout)
    assert response["model_version"] == "gc-archive"
    local = get_segmenter("grabcut")
    np.testing.assert_array_equal(rle_to_mask(response["mask"]), local.predict(local.prepare(sample.image_path), clicks).mask)


# The inference toolkit's own Transformer (what the PyTorch container runs) driving code/inference.py.
# The context object stands in for TorchServe's: request headers in, status and content type out.
TOOLKIT_SCRIPT = """
import json, sys
from sagemaker_inference.transformer import Transformer

class Context:
    def __init__(self, model_dir):
        self.system_properties = {"model_dir": model_dir}
        self.request_processor = [self]
        self.status = (200, None)
    def get_request_properties(self):
        return {"Content-Type": "application/json", "Accept": "application/json"}
    def set_response_content_type(self, index, content_type):
        self.content_type = content_type
    def set_response_status(self, code, phrase):
        self.status = (code, phrase)

transformer = Transformer()
results = {}
for name in ("good", "bad"):
    context = Context(sys.argv[1])
    body = transformer.transform([{"body": open(sys.argv[2 if name == "good" else 3], "rb").read()}], context)[0]
    body = body.decode() if isinstance(body, bytes) else body
    results[name] = {"status": context.status[0], "first_line": body.split(chr(10), 1)[0]}
print(json.dumps(results))
"""


def test_inference_toolkit_transformer_runs_the_archive(tmp_path, grabcut_dir):
    pytest.importorskip("sagemaker_inference", reason="the SageMaker inference toolkit (dev extra) is not installed")
    sample = load_samples(grabcut_dir, limit=1)[0]
    truth, ignore = load_mask(sample.mask_path)
    clicks = Clicker(truth, ignore).extreme_clicks()
    model_dir = tmp_path / "opt-ml-model"
    with tarfile.open(build_model_archive(tmp_path / "model.tar.gz", backend="grabcut")) as bundle:
        bundle.extractall(model_dir, filter="data")
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_bytes(SegmentRequest(image=ImageReference(data=sample.image_path.read_bytes()), clicks=tuple(clicks)).to_bytes())
    bad.write_bytes(SegmentRequest(image=ImageReference(hash="0" * 64), clicks=tuple(clicks)).to_bytes())
    env = {**os.environ, "PYTHONPATH": str(model_dir / "code"), "SAGEMAKER_PROGRAM": "inference.py"}
    result = subprocess.run([sys.executable, "-c", TOOLKIT_SCRIPT, str(model_dir), str(good), str(bad)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert answers["good"]["status"] == 200
    local = get_segmenter("grabcut")
    np.testing.assert_array_equal(rle_to_mask(json.loads(answers["good"]["first_line"])["mask"]),
                                  local.predict(local.prepare(sample.image_path), clicks).mask)
    assert answers["bad"]["status"] == 404  # unknown_image_hash keeps its status through the toolkit...
    assert json.loads(answers["bad"]["first_line"])["error"]["code"] == "unknown_image_hash"  # ...and its v1 body
