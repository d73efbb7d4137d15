"""End to end: `clickseg serve` in a subprocess, the real boto3 sagemaker-runtime client in front of it."""
from __future__ import annotations

import base64
import json

import boto3
import numpy as np
import pytest
import requests

from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.models.endpoint import EndpointError, EndpointSegmenter
from clickseg_widget.models.registry import available, get_segmenter
from clickseg_widget.serving.archive import build_model_archive
from clickseg_widget.serving.server import ServerProcess

ENDPOINT = "clickseg-local"
BACKENDS = ["grabcut"] + (["torch"] if "torch" in available() else [])


def served_model(backend: str, tmp_path_factory) -> tuple[list[str], dict]:
    """CLI arguments selecting the model, and the options that build the same model in-process.

    Until trained ClickNet weights ship, the torch backend is served from a model archive
    holding freshly initialised weights: the serving path is the same, only the masks are poor.
    """
    try:
        get_segmenter(backend)
        return ["--backend", backend], {}
    except (ValueError, FileNotFoundError):
        if backend != "torch":
            raise
    import tarfile

    import torch

    from clickseg_widget.models.clicknet import ClickNet, ClickNetConfig, save_weights

    folder = tmp_path_factory.mktemp("torch-model")
    torch.manual_seed(0)
    weights = save_weights(ClickNet(ClickNetConfig()), folder / "clicknet.safetensors")
    archive = build_model_archive(folder / "model.tar.gz", backend="torch", weights={"weights": weights})
    with tarfile.open(archive) as bundle:
        bundle.extractall(folder / "model", filter="data")
    return ["--model-dir", str(folder / "model")], {"weights": str(weights)}


@pytest.fixture(scope="module", params=BACKENDS)
def server(request, tmp_path_factory):
    """`clickseg serve` for one backend; image cache of 2 so evictions can be provoked."""
    model_arguments, local_options = served_model(request.param, tmp_path_factory)
    with ServerProcess([*model_arguments, "--endpoint-name", ENDPOINT, "--cache-size", "2", "--threads", "2"]) as process:
        yield {"url": process.url, "local": lambda: get_segmenter(request.param, **local_options)}


def dummy_session():
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def client_for(server, name=ENDPOINT, **options):
    segmenter = EndpointSegmenter(name, boto3_session=dummy_session(), endpoint_url=server["url"], **options)
    bodies: list[bytes] = []
    segmenter.client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", lambda request, **_: bodies.append(request.body))
    return segmenter, bodies


def objects(grabcut_dir, count):
    for sample in load_samples(grabcut_dir, limit=count):
        truth, ignore = load_mask(sample.mask_path)
        yield sample, truth, ignore


def sent_image_kind(body: bytes) -> str:
    return next(iter(json.loads(body)["image"]))


def test_extreme_and_corrective_clicks_match_in_process(server, grabcut_dir):
    remote, bodies = client_for(server)
    local = server["local"]()
    for sample, truth, ignore in objects(grabcut_dir, 2):
        clicker = Clicker(truth, ignore)
        clicks = clicker.extreme_clicks()
        local_context, remote_context = local.prepare(sample.image_path), remote.prepare(sample.image_path)
        expected, got = local.predict(local_context, clicks), remote.predict(remote_context, clicks)
        np.testing.assert_array_equal(got.mask, expected.mask)
        for _ in range(3):
            click = clicker.next_click(expected.mask)
            if click is None:
                break
            clicks.append(click)
            expected, got = local.predict(local_context, clicks, expected), remote.predict(remote_context, clicks, got)
            np.testing.assert_array_equal(got.mask, expected.mask)
        assert got.score == pytest.approx(expected.score, abs=1e-5)
        first_four = clicks[:4]  # a context another backend prepared works too
        np.testing.assert_array_equal(remote.predict(local_context, first_four).mask, local.predict(local_context, first_four).mask)
    kinds = [sent_image_kind(body) for body in bodies]
    assert kinds.count("b64") == 4, kinds  # each context sends its image once...
    assert all(len(body) < 4000 for body, kind in zip(bodies, kinds) if kind == "hash")  # ...then referred to by hash
    assert remote.describe()["model_version"]


def test_evicted_image_is_resent_transparently(server, grabcut_dir):
    remote, bodies = client_for(server)
    local = server["local"]()
    items = list(objects(grabcut_dir, 3))
    first_context = remote.prepare(items[0][0].image_path)
    first_clicks = Clicker(items[0][1]).extreme_clicks()
    remote.predict(first_context, first_clicks)
    for sample, truth, _ in items[1:]:  # the server keeps 2 images: these evict the first
        remote.predict(remote.prepare(sample.image_path), Clicker(truth).extreme_clicks())
    bodies.clear()
    again = remote.predict(first_context, first_clicks)
    assert [sent_image_kind(body) for body in bodies] == ["hash", "b64"]
    np.testing.assert_array_equal(again.mask, local.predict(local.prepare(items[0][0].image_path), first_clicks).mask)


def test_unknown_endpoint_name_is_a_clear_error(server, grabcut_dir):
    remote, _ = client_for(server, name="no-such-endpoint")
    sample, truth, _ = next(objects(grabcut_dir, 1))
    with pytest.raises(EndpointError, match="'no-such-endpoint' does not exist in region us-east-1"):
        remote.predict(remote.prepare(sample.image_path), Clicker(truth).extreme_clicks())


def test_malformed_requests_get_4xx_and_the_server_keeps_serving(server, grabcut_dir):
    sample, truth, _ = next(objects(grabcut_dir, 1))
    runtime = f"{server['url']}/endpoints/{ENDPOINT}/invocations"
    json_header = {"Content-Type": "application/json"}
    answer = requests.post(f"{server['url']}/invocations", data=b"{oops", headers=json_header, timeout=10)
    assert answer.status_code == 400 and "not valid JSON" in answer.json()["error"]["message"]
    answer = requests.post(f"{server['url']}/invocations", data=b"a,b", headers={"Content-Type": "text/csv"}, timeout=10)
    assert answer.status_code == 415 and answer.json()["error"]["code"] == "unsupported_content_type"
    outside = {"version": "1", "image": {"b64": base64.b64encode(sample.image_path.read_bytes()).decode()},
               "clicks": [{"x": 1e6, "y": 1, "kind": "extreme"}]}
    answer = requests.post(f"{server['url']}/invocations", json=outside, timeout=30)
    assert answer.status_code == 400 and "lies outside" in answer.json()["error"]["message"]
    answer = requests.post(runtime, data=b"{oops", headers=json_header, timeout=10)  # runtime route: wrapped as ModelError
    assert answer.status_code == 424 and answer.json()["OriginalStatusCode"] == 400
    assert requests.get(f"{server['url']}/nothing-here", timeout=10).status_code == 404
    assert requests.get(f"{server['url']}/ping", timeout=10).status_code == 200
    remote, _ = client_for(server)
    assert remote.predict(remote.prepare(sample.image_path), Clicker(truth).extreme_clicks()).mask.shape == truth.shape


def test_serve_refuses_an_unknown_backend_with_the_choices():
    with pytest.raises(RuntimeError, match="exited with status 2: .*unknown segmentation backend 'nope': choose one of .*grabcut"):
        ServerProcess(["--backend", "nope"])
