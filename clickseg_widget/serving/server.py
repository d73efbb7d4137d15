"""Serve the Flask app with waitress, a production WSGI server (threads, no hand-rolled sockets)."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from typing import Callable, Sequence

from flask import Flask
from waitress import create_server

from .app import MAX_CONTAINER_BODY_BYTES

DEFAULT_THREADS = 8
# Connection limits (README, "Serving"): waitress reads each request in its event loop before a
# thread sees it, so slow or idle sockets cost a connection slot, not a thread; allow many, drop
# idle ones, and refuse bodies above the container route's own limit while they arrive.
CONNECTION_LIMIT = 1000
IDLE_TIMEOUT_S = 30
MAX_REQUEST_BODY_BYTES = MAX_CONTAINER_BODY_BYTES


def create_limited_server(app: Flask, host: str, port: int, threads: int, listening: socket.socket | None = None):
    """waitress with the documented connection, idle and body limits (on ``listening`` when given)."""
    where: dict = {"sockets": [listening]} if listening is not None else {"host": host, "port": port}
    return create_server(
        app,
        threads=threads,
        ident="clickseg",
        connection_limit=CONNECTION_LIMIT,
        channel_timeout=IDLE_TIMEOUT_S,
        max_request_body_size=MAX_REQUEST_BODY_BYTES,
        **where,
    )


def serve(make_app: Callable[[], Flask], host: str = "127.0.0.1", port: int = 8080, threads: int = DEFAULT_THREADS,
          workers: int = 1) -> None:
    """Block serving the app ``make_app`` builds; prints the bound address (port 0 picks a free one).

    With ``workers`` > 1 the socket is bound once and that many processes are forked before any
    model is loaded, each with its own model and image cache, accepting from the one socket (the
    pre-fork model), so one machine uses all its cores despite the GIL. A client's keep-alive
    connection stays with one worker; a click by hash reaching another worker gets
    ``unknown_image_hash`` and the endpoint client re-sends the image.
    """
    if workers <= 1:
        server = create_limited_server(make_app(), host, port, threads)
        print(f"clickseg serve: listening on http://{server.effective_host}:{server.effective_port}", flush=True)
        server.run()
        return
    if not hasattr(os, "fork"):
        raise ValueError("--workers above 1 needs a POSIX system (fork); use --workers 1 here")
    listening = socket.create_server((host, port), backlog=1024)
    bound_host, bound_port = listening.getsockname()[:2]
    children = []
    for _ in range(workers):
        child = os.fork()
        if child == 0:  # a worker: its own model, served from the shared socket until terminated
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C for all workers
            create_limited_server(make_app(), host, port, threads, listening).run()
            os._exit(0)
        children.append(child)
    listening.close()
    print(f"clickseg serve: listening on http://{bound_host}:{bound_port} with {workers} worker processes", flush=True)
    _supervise(children)


def _supervise(children: list[int]) -> None:
    """Wait for the workers; on SIGTERM/Ctrl-C, or when one dies, stop them all."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        pid, status = os.wait()
        print(f"clickseg serve: worker {pid} exited ({status}); stopping the others", file=sys.stderr, flush=True)
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        for child in children:
            try:
                os.kill(child, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for child in children:
            try:
                os.waitpid(child, 0)
            except ChildProcessError:
                continue


class BackgroundServer:
    """``app`` served from a daemon thread (e.g. inside a notebook); port 0 picks a free port."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0, threads: int = DEFAULT_THREADS) -> None:
        self._server = create_limited_server(app, host, port, threads)
        self.url = f"http://{self._server.effective_host}:{self._server.effective_port}"
        self._thread = threading.Thread(target=self._server.run, name="clickseg-serve", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "BackgroundServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ServerProcess:
    """`clickseg serve` in a child process on a free 127.0.0.1 port, ready once ``/ping`` answers.

    For benchmarks, tests and notebooks that want the server out of their own
    process (no shared GIL), exactly as a user would start it.
    """

    def __init__(self, serve_arguments: Sequence[str] = (), startup_timeout_s: float = 60.0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "clickseg_widget.cli", "serve", "--host", "127.0.0.1", "--port", str(self.port), *serve_arguments]
        # A file, not a pipe: a pipe nobody reads fills up and blocks a chatty server.
        self.log = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + startup_timeout_s
        while not self._pings():
            if self.process.poll() is not None:
                raise RuntimeError(f"clickseg serve exited with status {self.process.returncode}: {self.output().strip()}")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"clickseg serve did not answer {self.url}/ping within {startup_timeout_s:g} s")
            time.sleep(0.2)

    def _pings(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/ping", timeout=1) as answer:
                return answer.status == 200
        except OSError:
            return False

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        """What the server printed so far."""
        self.log.seek(0)
        return self.log.read()

    def __enter__(self) -> "ServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
