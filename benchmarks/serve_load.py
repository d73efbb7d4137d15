"""`clickseg serve` under load: many clickers, heavy uploads and slow sockets, many distinct images.

    python benchmarks/serve_load.py ../shared/data/grabcut --backend default

Starts `clickseg serve` on 127.0.0.1 in its own process and runs three phases:

(a) N clients (default 16), each uploading one image once, then sending corrective clicks by image hash;
(b) the same while 4 clients keep sending uploads near the 6 MB InvokeEndpoint limit and 100 idle
    slow sockets hold half-sent requests open;
(c) uploads of 300 distinct images (a real image with one pixel changed each), one after the other.

Records throughput, p50/p90/p99 click latency, /ping p99 (a pinger every 50 ms), errors and the
server's RSS over time (Linux /proc). Goals (issue 13): 0 click errors in (a) and (b); click and
/ping p99 under (b) within 3x of (a); RSS flat in (c) and below the image cache bound plus the
model. Every loop is bounded in count and in time; loopback only. Writes JSON to benchmarks/results/.
"""
from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from clickseg_widget.clicks import Click
from clickseg_widget.protocol.masks import mask_to_rle
from clickseg_widget.protocol.schema import MAX_INVOKE_PAYLOAD_BYTES, ImageReference, SegmentRequest
from clickseg_widget.serving.server import ServerProcess
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples

RESULTS_DIR = Path(__file__).parent / "results"
PHASE_TIME_LIMIT_S = 600.0


@dataclass
class Tally:
    latencies_ms: list[float] = field(default_factory=list)
    errors: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, status: int, code: str, elapsed_ms: float) -> None:
        with self.lock:
            if status == 200:
                self.latencies_ms.append(elapsed_ms)
            else:
                self.errors[f"{status} {code}"] = self.errors.get(f"{status} {code}", 0) + 1

    def summary(self) -> dict:
        values = np.asarray(self.latencies_ms or [np.nan])
        return {
            "ok": len(self.latencies_ms),
            "errors": dict(self.errors),
            **{f"p{q}_ms": round(float(np.percentile(values, q)), 1) for q in (50, 90, 99)},
        }


class Client:
    """One keep-alive HTTP connection to the server's container route."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, body: bytes) -> tuple[int, dict, float]:
        start = time.perf_counter()
        try:
            self.connection.request("POST", "/invocations", body, {"Content-Type": "application/json"})
            answer = self.connection.getresponse()
            payload = json.loads(answer.read())
            status = answer.status
        except (OSError, http.client.HTTPException, ValueError) as err:
            self.connection.close()
            return 0, {"error": {"code": type(err).__name__}}, (time.perf_counter() - start) * 1000.0
        return status, payload, (time.perf_counter() - start) * 1000.0

    def get(self, path: str) -> tuple[int, float]:
        start = time.perf_counter()
        try:
            self.connection.request("GET", path)
            answer = self.connection.getresponse()
            answer.read()
            return answer.status, (time.perf_counter() - start) * 1000.0
        except (OSError, http.client.HTTPException):
            self.connection.close()
            return 0, (time.perf_counter() - start) * 1000.0

    def close(self) -> None:
        self.connection.close()


def error_code(payload: dict) -> str:
    error = payload.get("error")
    return str(error.get("code")) if isinstance(error, dict) else ""


def clicker_run(port: int, image: bytes, extremes: list[Click], truth: np.ndarray, clicks: int, tally: Tally, deadline: float) -> None:
    """Upload once, then ``clicks`` corrective clicks by hash, each with the previous mask."""
    client = Client(port)
    status, first, _ = client.post(SegmentRequest(ImageReference(data=image), tuple(extremes)).to_bytes())
    if status != 200:
        tally.record(status, error_code(first), 0.0)
        client.close()
        return
    reference = ImageReference(hash=first["image_hash"])
    previous = first["mask"]
    ys, xs = np.nonzero(truth)
    rng = np.random.default_rng(len(xs))
    for _ in range(clicks):
        if time.monotonic() > deadline:
            break
        pick = int(rng.integers(len(xs)))
        request = {**SegmentRequest(reference, (*extremes, Click(float(xs[pick]), float(ys[pick]), "positive"))).to_json(),
                   "previous_mask": previous}
        status, answer, elapsed = client.post(json.dumps(request, separators=(",", ":")).encode())
        tally.record(status, error_code(answer), elapsed)
        if status == 200:
            previous = answer["mask"]
    client.close()


def heavy_run(port: int, body: bytes, stop: threading.Event, tally: Tally) -> None:
    client = Client(port)
    while not stop.is_set():
        status, answer, elapsed = client.post(body)
        tally.record(status, error_code(answer), elapsed)
        if status != 200:
            time.sleep(0.05)  # a client that got 503 retries a little later
    client.close()


def pinger(port: int, stop: threading.Event, tally: Tally) -> None:
    client = Client(port)
    while not stop.is_set():
        status, elapsed = client.get("/ping")
        tally.record(status, "ping", elapsed)
        stop.wait(0.05)
    client.close()


def rss_mb(pid: int) -> float:
    """The server's resident memory, its worker processes included."""
    with open(f"/proc/{pid}/statm") as handle:
        own = int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return own + sum(rss_mb(int(child)) for child in handle.read().split())


def rss_sampler(pid: int, stop: threading.Event, samples: list[tuple[float, float]], start: float) -> None:
    while not stop.is_set():
        samples.append((round(time.monotonic() - start, 2), round(rss_mb(pid), 1)))
        stop.wait(0.5)


def slow_sockets(port: int, count: int) -> list[socket.socket]:
    """Connections that sent half a request and then go quiet (slow-loris)."""
    opened = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
        opened.append(sock)
    return opened


def near_limit_upload(image: np.ndarray, extremes: list[Click]) -> bytes:
    """A real image upscaled until its request body is just under the 6 MB InvokeEndpoint limit."""
    scale = 2.0
    while True:
        height, width = image.shape[:2]
        big = Image.fromarray(image).resize((int(width * scale), int(height * scale)), Image.BICUBIC)
        buffer = io.BytesIO()
        big.save(buffer, format="PNG", compress_level=1)
        clicks = tuple(Click(c.x * scale, c.y * scale, c.kind) for c in extremes)
        body = SegmentRequest(ImageReference(data=buffer.getvalue()), clicks).to_bytes()
        if len(body) > MAX_INVOKE_PAYLOAD_BYTES:
            return previous_body
        previous_body, scale = body, scale * 1.15


def load_phase(port: int, objects: list[dict], clients: int, clicks: int, heavy: bytes | None, slow: int, pid: int) -> dict:
    tally, pings, heavy_tally = Tally(), Tally(), Tally()
    stop = threading.Event()
    rss: list[tuple[float, float]] = []
    start = time.monotonic()
    deadline = start + PHASE_TIME_LIMIT_S
    background = [threading.Thread(target=pinger, args=(port, stop, pings)),
                  threading.Thread(target=rss_sampler, args=(pid, stop, rss, start))]
    held = slow_sockets(port, slow) if slow else []
    if heavy is not None:
        background += [threading.Thread(target=heavy_run, args=(port, heavy, stop, heavy_tally)) for _ in range(4)]
    for thread in background:
        thread.start()
    workers = [
        threading.Thread(target=clicker_run, args=(port, o["bytes"], o["extremes"], o["truth"], clicks, tally, deadline))
        for o in (objects[i % len(objects)] for i in range(clients))
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    elapsed = time.monotonic() - start
    stop.set()
    for thread in background:
        thread.join()
    for sock in held:
        sock.close()
    result = {"clients": clients, "seconds": round(elapsed, 1), "clicks_per_s": round(len(tally.latencies_ms) / elapsed, 1),
              "clicks": tally.summary(), "ping": pings.summary(), "rss_mb_max": max(v for _, v in rss)}
    if heavy is not None:
        result["heavy_uploads"] = {"body_mb": round(len(heavy) / 2**20, 2), **heavy_tally.summary()}
        result["slow_sockets"] = slow
    return result


def distinct_images_phase(port: int, sample: dict, count: int, pid: int) -> dict:
    """``count`` uploads of distinct images (one pixel changed each), RSS sampled after each."""
    client = Client(port)
    pixels = np.asarray(Image.open(io.BytesIO(sample["bytes"])).convert("RGB")).copy()
    tally = Tally()
    rss = []
    for index in range(count):
        pixels[0, 0] = [index % 256, index // 256, 7]
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
        status, answer, elapsed = client.post(SegmentRequest(ImageReference(data=buffer.getvalue()), tuple(sample["extremes"])).to_bytes())
        tally.record(status, error_code(answer), elapsed)
        rss.append(round(rss_mb(pid), 1))
    client.close()
    tenth = max(1, count // 10)
    return {"images": count, "uploads": tally.summary(), "rss_mb_first_tenth_max": max(rss[:tenth]),
            "rss_mb_last_tenth_max": max(rss[-tenth:]), "rss_mb_max": max(rss), "rss_mb_every_30": rss[::30]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--backend", default="default")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--clicks", type=int, default=200, help="corrective clicks per client")
    parser.add_argument("--images", type=int, default=300, help="distinct images in phase (c)")
    parser.add_argument("--slow-sockets", type=int, default=100)
    parser.add_argument("--cache-mb", type=int, default=256, help="the server's image cache bound for this run")
    parser.add_argument("--workers", type=int, default=1, help="clickseg serve --workers")
    parser.add_argument("--phases", default="abc", help="which phases to run (e.g. 'a' to compare --workers)")
    args = parser.parse_args()

    objects = []
    for sample in load_samples(args.data_dir, limit=min(args.clients, 16)):
        truth, ignore = load_mask(sample.mask_path)
        objects.append({"bytes": sample.image_path.read_bytes(), "truth": truth, "extremes": Clicker(truth, ignore).extreme_clicks()})
    first_pixels = np.asarray(Image.open(io.BytesIO(objects[0]["bytes"])).convert("RGB"))
    heavy = near_limit_upload(first_pixels, objects[0]["extremes"])

    serve_arguments = ["--backend", args.backend, "--cache-mb", str(args.cache_mb), "--workers", str(args.workers)]
    result: dict = {"backend": args.backend, "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
                    "cache_mb": args.cache_mb, "workers": args.workers}
    with ServerProcess(serve_arguments) as server:
        port, pid = int(server.url.rsplit(":", 1)[1]), server.process.pid
        result["rss_mb_idle"] = round(rss_mb(pid), 1)
        if "a" in args.phases:
            result["a_clicks"] = load_phase(port, objects, args.clients, args.clicks, None, 0, pid)
        if "b" in args.phases:
            result["b_clicks_with_heavy_and_slow"] = load_phase(port, objects, args.clients, args.clicks, heavy, args.slow_sockets, pid)
        if "c" in args.phases:
            result["c_distinct_images"] = distinct_images_phase(port, objects[0], args.images, pid)
    if "a" in args.phases and "b" in args.phases:
        a, b = result["a_clicks"], result["b_clicks_with_heavy_and_slow"]
        result["ratios_b_over_a"] = {"click_p99": round(b["clicks"]["p99_ms"] / a["clicks"]["p99_ms"], 2),
                                     "ping_p99": round(b["ping"]["p99_ms"] / a["ping"]["p99_ms"], 2)}
    RESULTS_DIR.mkdir(exist_ok=True)
    name = f"serve_load_{args.backend}_{args.phases}_w{args.workers}.json"
    (RESULTS_DIR / name).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
