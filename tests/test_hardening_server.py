"""The server stays responsive: heavy uploads, slow sockets and large images do not starve /ping or clicks."""
from __future__ import annotations

import json
import os
import socket
import threading
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from clickseg_widget.io import images
from clickseg_widget.models import base
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.protocol.schema import ImageReference, SegmentRequest
from clickseg_widget.serving.app import create_app
from clickseg_widget.serving.handler import ServingModel, context_bytes, handle_invocation
from clickseg_widget.serving.server import CONNECTION_LIMIT, BackgroundServer, ServerProcess
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples

ANSWER_WITHIN_S = 20  # generous on a loaded 2-core machine; the failure mode is "never, until the heavy work ends"


@pytest.fixture(scope="module")
def samples(grabcut_dir):
    items = load_samples(grabcut_dir, limit=4)
    out = []
    for item in items:
        truth, ignore = load_mask(item.mask_path)
        out.append({"bytes": item.image_path.read_bytes(), "extremes": Clicker(truth, ignore).extreme_clicks()})
    return out


def post(url: str, body: bytes, timeout: float = ANSWER_WITHIN_S) -> tuple[int, dict]:
    request = urllib.request.Request(f"{url}/invocations", data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def ping(url: str) -> int:
    with urllib.request.urlopen(f"{url}/ping", timeout=ANSWER_WITHIN_S) as answer:
        return answer.status


def upload(sample) -> bytes:
    return SegmentRequest(ImageReference(data=sample["bytes"]), tuple(sample["extremes"])).to_bytes()


def test_the_image_cache_is_bounded_by_bytes(samples):
    model = ServingModel(get_segmenter("grabcut"), "test", cache_size=32, cache_bytes=1)
    hashes = []
    for sample in samples[:3]:
        status, payload = handle_invocation(model, upload(sample), "application/json", None)
        assert status == 200
        hashes.append(json.loads(payload)["image_hash"])
    assert len(model._images) == 1 and hashes[-1] in model._images  # the newest always stays
    single = context_bytes(model._images[hashes[-1]])
    model = ServingModel(get_segmenter("grabcut"), "test", cache_size=32, cache_bytes=2 * single + single // 2)
    for sample in samples[:4]:
        assert handle_invocation(model, upload(sample), "application/json", None)[0] == 200
        assert model.cached_bytes <= model.cache_bytes
    assert len(model._images) == 2


def test_ping_and_clicks_answer_while_new_images_are_being_decoded(samples, monkeypatch):
    released = threading.Event()
    decoding = threading.Semaphore(0)

    def slow_decode(source):  # a huge image's decode, held until the test lets it finish
        decoding.release()
        released.wait(60)
        return images.load_image(source)

    model = ServingModel(get_segmenter("grabcut"), "test")
    with BackgroundServer(create_app(model), threads=4) as server:
        status, first = post(server.url, upload(samples[0]))
        assert status == 200
        monkeypatch.setattr(base, "load_image", slow_decode)
        click = SegmentRequest(ImageReference(hash=first["image_hash"]), tuple(samples[0]["extremes"])).to_bytes()
        with ThreadPoolExecutor(4) as pool:
            heavy = [pool.submit(post, server.url, upload(sample), 90) for sample in samples[1:4]]
            try:
                for _ in range(model.concurrent_uploads):
                    assert decoding.acquire(timeout=ANSWER_WITHIN_S), "the uploads never reached the decoder"
                assert ping(server.url) == 200
                status, answer = post(server.url, click)
                assert status == 200 and answer["image_hash"] == first["image_hash"]
            finally:
                released.set()
            statuses = sorted(future.result()[0] for future in heavy)
    assert statuses.count(200) >= model.concurrent_uploads and set(statuses) <= {200, 503}
    if 503 in statuses:
        busy = [future.result()[1] for future in heavy if future.result()[0] == 503][0]
        assert busy["error"]["code"] == "server_busy" and "retry" in busy["error"]["message"]


def test_ping_answers_while_more_slow_sockets_are_open_than_a_default_server_allows(samples):
    model = ServingModel(get_segmenter("grabcut"), "test")
    with BackgroundServer(create_app(model)) as server:
        port = int(server.url.rsplit(":", 1)[1])
        slow = []
        try:
            for _ in range(110):  # waitress' default connection limit is 100
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
                slow.append(sock)
            assert 110 < CONNECTION_LIMIT
            assert ping(server.url) == 200
            assert post(server.url, upload(samples[0]))[0] == 200
        finally:
            for sock in slow:
                sock.close()


def child_processes(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(value) for value in handle.read().split()]


@pytest.mark.skipif(not hasattr(os, "fork") or not os.path.exists("/proc/self/task"), reason="pre-fork workers need POSIX and /proc")
def test_serve_with_two_worker_processes_answers_and_stops_them_all(samples):
    with ServerProcess(["--backend", "grabcut", "--workers", "2"]) as server:
        workers = child_processes(server.process.pid)
        assert len(workers) == 2
        for sample in samples[:3]:
            status, answer = post(server.url, upload(sample))
            assert status == 200 and answer["backend"] == "grabcut"
        assert "with 2 worker processes" in server.output()
    for worker in workers:
        assert not os.path.exists(f"/proc/{worker}") or "zombie" in open(f"/proc/{worker}/status").read()
