"""The README's quick start is what CI runs, and the packaged demo finds its files."""
import re
import subprocess
import sys
from pathlib import Path

from clickseg_widget.demo import jupyter_command, prepare_workdir, tutorial_source
from clickseg_widget.samples import sample_images
from clickseg_widget import load_image

REPO = Path(__file__).resolve().parents[1]


def _bash_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", text, re.S)]


def test_ci_runs_the_readme_setup_and_test_commands_verbatim():
    setup, demo, tests = _bash_blocks((REPO / "README.md").read_text())[:3]
    assert "torch==2.13.0" in setup.split("&&")[0] and demo == "clickseg demo"
    ci_lines = [line.strip() for line in (REPO / ".ci" / "run").read_text().splitlines()]
    assert setup in ci_lines and tests in ci_lines


def test_sample_images_are_shipped_and_decode():
    paths = sample_images()
    assert len(paths) == 4
    for path in paths:
        assert load_image(path).ndim == 3


def test_demo_prepares_its_folder_without_overwriting_edits(tmp_path):
    notebook = prepare_workdir(tmp_path / "demo")
    assert notebook.read_bytes() == tutorial_source().read_bytes()
    notebook.write_text("{}")  # the user's own edits
    assert prepare_workdir(tmp_path / "demo").read_text() == "{}"
    command = jupyter_command(notebook, 9999, open_browser=False, ip="127.0.0.1")
    assert command[1:3] == ["-m", "jupyterlab"] and "--ServerApp.port=9999" in command


def test_demo_dry_run_from_the_console_script(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "clickseg_widget.cli", "demo", "--dir", str(tmp_path), "--dry-run", "--no-browser"],
        capture_output=True, text=True, check=True,
    )
    assert "01_few_click_labeling.ipynb" in result.stdout and "--ServerApp.open_browser=False" in result.stdout
    assert (tmp_path / "01_few_click_labeling.ipynb").exists()


def test_demo_serves_the_tutorial_in_jupyterlab(tmp_path):
    import socket
    import time
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "clickseg_widget.cli", "demo", "--dir", str(tmp_path), "--no-browser",
         "--port", str(port), "--", "--IdentityProvider.token=demo-test"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/api/contents/01_few_click_labeling.ipynb?token=demo-test&content=0"
    try:
        deadline = time.time() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(timeout=30)
