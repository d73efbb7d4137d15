"""The base install, as an annotator who labels through an endpoint has it: no PyTorch, no web server.

A child Python gets a ``sitecustomize`` that makes torch, safetensors, flask,
waitress and the SageMaker packages unimportable, as if never installed; in it
the widget labels with ``default`` (which must become ``grabcut`` and say so),
then through the endpoint client against a real ``clickseg serve``.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from light_python import MISSING, light_environment

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask
from clickseg_widget.simulation.metrics import iou
from clickseg_widget.models import registry
from clickseg_widget.serving.server import ServerProcess

ENDPOINT = "clickseg-light"

ANNOTATOR = """
import json
import sys
import warnings

import boto3
import numpy as np

from clickseg_widget.extras import MissingDependencyError
from clickseg_widget.models.endpoint import EndpointSegmenter
from clickseg_widget.models.registry import available, get_segmenter, resolve
from clickseg_widget.widget import ClickSegWidget

image, url, endpoint, out = sys.argv[1:5]
extremes, missing = json.loads(sys.argv[5]), json.loads(sys.argv[6])
result = {"resolved": resolve("default"), "available": available()}
try:
    import torch  # noqa: F401
    result["torch_imported"] = True
except ImportError:
    result["torch_imported"] = False

try:
    get_segmenter("torch")
except MissingDependencyError as err:
    result["torch_error"] = str(err)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    local = ClickSegWidget([image], segmenter="default", classes=["flower"], autosave=out + "/local")
result["warnings"] = [str(w.message) for w in caught]
result["local_backend"] = local.backend
for x, y in extremes:
    local.click(x, y, "extreme")
np.save(out + "/local.npy", local.accept().mask)

session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
remote = ClickSegWidget([image], segmenter=EndpointSegmenter(endpoint, boto3_session=session, endpoint_url=url),
                        classes=["flower"], autosave=out + "/remote")
for x, y in extremes:
    remote.click(x, y, "extreme")
result["remote_backend"] = remote.backend
np.save(out + "/remote.npy", remote.accept().mask)
result["loaded"] = sorted({name.split(".")[0] for name in sys.modules} & set(missing))
print(json.dumps(result))
"""


def run_light(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *arguments], env=light_environment(tmp_path), capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def flower(grabcut_dir):
    truth, ignore = load_mask(grabcut_dir / "masks" / "124080.png")
    extremes = [(click.x, click.y) for click in Clicker(truth, ignore).extreme_clicks()]
    return grabcut_dir / "images" / "124080.jpg", truth, extremes


def test_widget_grabcut_and_endpoint_client_work_without_torch_or_a_server(tmp_path, flower):
    image, truth, extremes = flower
    with ServerProcess(["--backend", "grabcut", "--endpoint-name", ENDPOINT, "--threads", "2"]) as server:
        answer = run_light(tmp_path, "-c", ANNOTATOR, str(image), server.url, ENDPOINT, str(tmp_path / "labels"),
                           json.dumps(extremes), json.dumps(MISSING))
    assert answer.returncode == 0, answer.stderr
    result = json.loads(answer.stdout.splitlines()[-1])
    assert result["torch_imported"] is False and result["loaded"] == []
    assert result["resolved"] == "grabcut" and result["available"] == ["default", "endpoint", "grabcut"]
    assert "pip install 'clickseg-widget[torch]'" in result["torch_error"]
    assert result["warnings"] == [
        "backend 'default' is 'grabcut': the 'torch' backend is not installed (pip install 'clickseg-widget[torch]' adds it)"
    ]
    assert result["local_backend"] == "grabcut" and result["remote_backend"] == "endpoint"
    local, remote = (np.load(tmp_path / "labels" / f"{key}.npy") for key in ("local", "remote"))
    assert iou(local, truth) > 0.85
    assert (local == remote).all()  # the same GrabCut, in the kernel or behind the endpoint
    assert (tmp_path / "labels" / "remote" / "annotations.json").is_file()


@pytest.mark.parametrize(("command", "extra"), [("serve", "serve"), ("train", "torch")])
def test_cli_names_the_extra_a_command_needs(tmp_path, command, extra):
    answer = run_light(tmp_path, "-m", "clickseg_widget.cli", command, "--help")
    assert answer.returncode == 2
    assert answer.stderr.strip().endswith(f"pip install 'clickseg-widget[{extra}]'")
    assert "Traceback" not in answer.stderr


def test_base_commands_run_without_torch(tmp_path):
    answer = run_light(tmp_path, "-m", "clickseg_widget.cli", "evaluate", "--help")
    assert answer.returncode == 0, answer.stderr
    assert "one of default, endpoint, grabcut" in answer.stdout


def test_default_prefers_torch_and_falls_back_to_grabcut_with_a_warning(monkeypatch):
    monkeypatch.setattr(registry, "installed", lambda extra: True)
    assert registry.resolve("default") == "torch"
    monkeypatch.setattr(registry, "installed", lambda extra: extra != "torch")
    assert registry.resolve("default") == "grabcut" and registry.resolve("torch") == "torch"
    assert registry.available() == ["default", "endpoint", "grabcut"]
    with pytest.warns(UserWarning, match=r"'default' is 'grabcut'.*clickseg-widget\[torch\]"):
        assert registry.get_segmenter("default").name == "grabcut"
    with pytest.raises(ImportError, match=r"pip install 'clickseg-widget\[torch\]'"):
        registry.get_segmenter("torch")
