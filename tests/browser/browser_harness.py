"""A real JupyterLab (or Notebook 7) on 127.0.0.1 and Debian's Chromium driven by Playwright.

Shared by the browser tests and benchmarks/widget_click_latency.py (which puts this folder on sys.path), so the
benchmark measures exactly what the test exercises.
"""
from __future__ import annotations

import base64
import io
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat
import numpy as np
from jupyter_client import BlockingKernelClient
from PIL import Image
from playwright.sync_api import Locator
from playwright.sync_api import TimeoutError as PlaywrightTimeout

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SERVER_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class Frontend:
    """Which Jupyter app serves the notebook page: the widget must work in JupyterLab 4 and Notebook 7 (issue 4)."""

    name: str
    module: str  # run as ``python -m <module>``
    notebook_path: str  # URL path under which a notebook opens
    options: tuple[str, ...] = ()


JUPYTERLAB = Frontend(
    "JupyterLab", "jupyterlab", "lab/tree",
    ("--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
     "--LabApp.extension_manager=readonly"),
)
NOTEBOOK7 = Frontend("Notebook 7", "notebook", "notebooks")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    runtime_dir: Path
    frontend: Frontend = JUPYTERLAB

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/{self.frontend.notebook_path}/{name}?token={self.token}"

    def sessions(self) -> list[dict]:
        request = urllib.request.Request(f"{self.url}/api/sessions", headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def wait_for_idle_kernel(self, timeout: float) -> None:
        """Until the notebook's kernel has started and is idle."""
        deadline = time.monotonic() + timeout
        while not any(s["kernel"]["execution_state"] == "idle" for s in self.sessions()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the notebook's kernel was not idle within {timeout:g} s")
            time.sleep(0.2)

    def kernel_client(self) -> BlockingKernelClient:
        """A second client on the notebook's kernel, to read widget state back from Python."""
        sessions = self.sessions()
        if len(sessions) != 1:
            raise RuntimeError(f"expected one running notebook kernel, found {len(sessions)}")
        client = BlockingKernelClient(connection_file=str(self.runtime_dir / f"kernel-{sessions[0]['kernel']['id']}.json"))
        client.load_connection_file()
        client.start_channels()
        client.wait_for_ready(timeout=30)
        return client


@contextmanager
def jupyter_lab(root: Path, frontend: Frontend = JUPYTERLAB) -> Iterator[Lab]:
    """Start JupyterLab (or another ``frontend``) with a token, no browser and fresh settings; stop it afterwards."""
    port, token = free_port(), secrets.token_hex(16)
    runtime_dir = root.parent / f"{root.name}-runtime"
    settings_dir = root.parent / f"{root.name}-settings"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "JUPYTER_RUNTIME_DIR": str(runtime_dir),
        "JUPYTERLAB_SETTINGS_DIR": str(settings_dir / "user-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(settings_dir / "workspaces"),
    }
    command = [
        sys.executable, "-m", frontend.module,
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", "--ServerApp.open_browser=False", f"--ServerApp.root_dir={root}",
        "--ServerApp.allow_root=True", *frontend.options,
    ]
    # No "get Jupyter news?" prompt: it would cover part of the page and ask for the network.
    notification = settings_dir / "user-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(json.dumps({"fetchNews": "false"}))
    log = (root.parent / f"{root.name}-{frontend.module}.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{frontend.name} exited with {process.returncode}; see {log.name}")
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{frontend.name} did not answer on {url} within {SERVER_START_TIMEOUT_S} s"
                    ) from None
                time.sleep(0.3)
        yield Lab(url, token, root, runtime_dir, frontend)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextmanager
def chromium_page(width: int = 1280, height: int = 1000):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            yield page
        finally:
            browser.close()


def write_notebook(path: Path, source: str) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))


def run_first_cell(page, lab: Lab, name: str, timeout_s: float = 90) -> Locator:
    """Open the notebook, run its first cell, return the locator of the widget's canvas once drawn.

    A cell run before the page has connected to its kernel is silently
    dropped, so the run is repeated until the cell gets an execution count.
    """
    page.goto(lab.notebook_url(name))
    first_cell = page.locator(".jp-Notebook .jp-Cell").first
    first_cell.wait_for(timeout=timeout_s * 1000)
    canvas = page.locator(".clickseg-widget canvas").first
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        lab.wait_for_idle_kernel(deadline - time.monotonic())
        first_cell.locator(".jp-InputArea-editor").click()
        page.keyboard.press("Control+Enter")
        try:
            canvas.wait_for(timeout=10_000)
            return canvas
        except PlaywrightTimeout:
            if "[ ]" not in first_cell.locator(".jp-InputPrompt").inner_text():
                break  # it ran: wait for its output below
    error = first_cell.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
    try:
        canvas.or_(error).first.wait_for(timeout=max(1.0, deadline - time.monotonic()) * 1000)
    except PlaywrightTimeout:
        raise TimeoutError(f"the notebook's first cell did not show the widget within {timeout_s:g} s") from None
    if error.count():
        raise RuntimeError(f"the notebook's first cell failed:\n{first_cell.locator('.jp-OutputArea').inner_text()}")
    return canvas


def kernel_eval(client: BlockingKernelClient, code: str, timeout: float = 60) -> dict:
    """Run ``code`` (which prints one JSON line) in the notebook's kernel and parse it."""
    chunks: list[str] = []

    def collect(message: dict) -> None:
        if message["msg_type"] == "stream":
            chunks.append(message["content"]["text"])
        elif message["msg_type"] == "error":
            chunks.append("\n".join(message["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=collect, timeout=timeout)
    text = "".join(chunks)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel code failed:\n{text}")
    return json.loads(text.strip().splitlines()[-1])


def canvas_pixels(canvas) -> np.ndarray:
    """What the widget's canvas shows now, as an HxWx4 array."""
    data_url = canvas.evaluate("el => el.toDataURL('image/png')")
    png = base64.b64decode(data_url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def page_point(canvas, canvas_x: float, canvas_y: float) -> tuple[float, float]:
    """Canvas pixel -> page coordinates for ``page.mouse``."""
    box = canvas.bounding_box()
    width, height = canvas.evaluate("el => [el.width, el.height]")
    return box["x"] + canvas_x * box["width"] / width, box["y"] + canvas_y * box["height"] / height
