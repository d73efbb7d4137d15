"""The package type-checks: mypy runs with the settings in pyproject.toml ([tool.mypy], dev extra)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_type_checks_clean():
    # mypy's incremental cache (.mypy_cache) makes reruns take a second or two
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
