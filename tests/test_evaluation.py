import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clickseg_widget import ClickKind
from clickseg_widget.simulation.clicker import Clicker
from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.simulation.metrics import clicks_to_reach, iou, percentiles
from clickseg_widget.evaluation.runner import evaluate, evaluation_dataframe
from clickseg_widget.models.grabcut import GrabCutSegmenter


def _square(height=50, width=60):
    truth = np.zeros((height, width), bool)
    truth[10:40, 20:50] = True
    return truth


def test_extreme_clicks_are_on_the_object_extremes(grabcut_dir):
    truth, ignore = load_mask(grabcut_dir / "masks" / "124080.png")
    top, left, bottom, right = Clicker(truth, ignore).extreme_clicks()
    ys, xs = np.nonzero(truth)
    assert top.y == ys.min() and bottom.y == ys.max() and left.x == xs.min() and right.x == xs.max()
    for click in (top, left, bottom, right):
        assert click.kind is ClickKind.EXTREME and truth[int(click.y), int(click.x)]


def test_corrective_clicks_follow_the_largest_error():
    truth = _square()
    clicker = Clicker(truth)
    missed = clicker.next_click(np.zeros_like(truth))
    assert missed.kind is ClickKind.POSITIVE and (missed.x, missed.y) in {(34, 24), (35, 25), (34, 25), (35, 24)}
    spurious = truth.copy()
    spurious[0:30, 0:15] = True
    click = clicker.next_click(spurious)
    assert click.kind is ClickKind.NEGATIVE and not truth[int(click.y), int(click.x)]
    assert clicker.next_click(truth) is None


def test_ignored_pixels_are_never_errors():
    truth = _square()
    ignore = np.zeros_like(truth)
    ignore[:, :5] = True
    prediction = truth.copy()
    prediction[:, :5] = True
    assert Clicker(truth, ignore).next_click(prediction) is None


def test_boundary_mode_clicks_on_the_true_boundary():
    truth = _square()
    click = Clicker(truth, mode="boundary").next_click(np.zeros_like(truth))
    x, y = int(click.x), int(click.y)
    assert click.kind is ClickKind.BOUNDARY and truth[y, x]
    assert not truth[y - 1 : y + 2, x - 1 : x + 2].all()  # a neighbour is background


def test_jitter_is_seeded_and_stays_in_the_error_region():
    truth = _square()
    a = Clicker(truth, jitter=3, seed=7).next_click(np.zeros_like(truth))
    b = Clicker(truth, jitter=3, seed=7).next_click(np.zeros_like(truth))
    c = Clicker(truth, jitter=3, seed=8).next_click(np.zeros_like(truth))
    assert a == b and a != c and truth[int(a.y), int(a.x)]


def test_clicker_rejects_bad_setup():
    with pytest.raises(ValueError, match="unknown click mode"):
        Clicker(_square(), mode="scribble")
    with pytest.raises(ValueError, match="empty"):
        Clicker(np.zeros((4, 4), bool))


def test_metrics():
    truth = _square()
    assert iou(truth, truth) == 1.0 and iou(np.zeros_like(truth), np.zeros_like(truth)) == 1.0
    half = truth.copy()
    half[:, 35:] = False
    assert iou(half, truth) == pytest.approx(0.5)
    ignore = np.zeros_like(truth)
    ignore[:, 35:] = True
    assert iou(half, truth, ignore) == 1.0
    assert clicks_to_reach([0.5, 0.86, 0.91], 0.85, cap=20) == 1
    assert clicks_to_reach([0.5, 0.6], 0.9, cap=20) == 20
    assert percentiles([1, 2, 3, 4])["p50"] == 2.5


def test_datasets_match_stems_and_suffixes(tmp_path, shared_data):
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "images" / "cat.jpg")
    for stem in ("cat", "cat_1"):
        Image.new("L", (4, 4)).save(tmp_path / "masks" / f"{stem}.png")
    samples = load_samples(tmp_path)
    assert [(s.name, s.image_path.name) for s in samples] == [("cat", "cat.jpg"), ("cat_1", "cat.jpg")]
    Image.new("L", (4, 4)).save(tmp_path / "masks" / "dog.png")
    with pytest.raises(FileNotFoundError, match="dog.png has no image"):
        load_samples(tmp_path)
    with pytest.raises(FileNotFoundError, match="images/ and a masks/"):
        load_samples(tmp_path / "images")
    davis = load_samples(shared_data / "davis345", limit=3)
    truth, ignore = load_mask(davis[0].mask_path)
    assert truth.any() and not ignore.any()


def test_runner_on_real_images(grabcut_dir):
    samples = load_samples(grabcut_dir, limit=3)
    report = evaluate(GrabCutSegmenter(), samples, corrective_clicks=2, progress=False)
    data = report.to_json()
    assert data["objects"] == 3 and len(data["miou"]) == 3
    assert all(0 <= v <= 100 for v in data["miou"]) and data["miou"][2] >= data["miou"][0] - 5
    assert 0 <= data["noc90"] <= 20 and data["latency_ms"]["first"]["p50"] > 0
    table = report.table()
    assert "Baseline" in table and "Error" in table and "NoC@90" in table
    frame = evaluation_dataframe([report, report])  # what notebooks display: one row per backend
    assert frame.index.tolist() == ["grabcut", "grabcut"] and frame.index.name == "backend"
    assert frame.columns.tolist() == ["objects", "extreme points", "1 click", "2 clicks", "NoC@85", "NoC@90", "first mask p50 (ms)",
                                      "first mask p90 (ms)", "corrective p50 (ms)", "corrective p90 (ms)"]
    row = report.to_dataframe().loc["grabcut"]
    assert row["objects"] == 3 and row[["extreme points", "1 click", "2 clicks"]].tolist() == data["miou"]
    assert row["NoC@90"] == data["noc90"] and row["first mask p50 (ms)"] == data["latency_ms"]["first"]["p50"]
    with pytest.raises(ValueError, match="at least one report"):
        evaluation_dataframe([])


def test_cli_json(grabcut_dir):
    result = subprocess.run(
        [sys.executable, "-m", "clickseg_widget.cli", "evaluate", str(grabcut_dir), "--backend", "grabcut",
         "--limit", "2", "--corrective-clicks", "1", "--json"],
        capture_output=True, text=True, check=True,
    )
    data = json.loads(result.stdout)
    assert {"objects", "miou", "noc85", "noc90", "latency_ms", "backend"} <= set(data)
    assert data["backend"] == "grabcut" and len(data["miou"]) == 2
    assert set(data["latency_ms"]) == {"first", "corrective"} and set(data["latency_ms"]["first"]) == {"p50", "p90"}


def test_cli_reports_bad_input(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "clickseg_widget.cli", "evaluate", str(tmp_path), "--backend-option", "oops"],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "KEY=VALUE" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "clickseg_widget.cli", "evaluate", str(tmp_path)], capture_output=True, text=True
    )
    assert result.returncode == 2 and "images/ and a masks/" in result.stderr


def test_benchmark_root_prefers_the_environment_then_looks_upwards(tmp_path, monkeypatch, shared_data):
    from clickseg_widget.simulation.datasets import benchmark_root

    monkeypatch.setenv("CLICKSEG_SHARED_DATA", str(tmp_path))
    assert benchmark_root() == tmp_path
    monkeypatch.delenv("CLICKSEG_SHARED_DATA")
    notebooks = Path(__file__).resolve().parents[1] / "notebooks"
    assert benchmark_root(notebooks) == shared_data.resolve()
    with pytest.raises(FileNotFoundError, match="CLICKSEG_SHARED_DATA"):
        benchmark_root(tmp_path)


def test_cli_reports_aws_and_file_errors_in_one_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "clickseg_widget.cli", "groundtruth", "report", str(tmp_path / "no-such-job")],
        capture_output=True, text=True,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr and "error:" in result.stderr


def test_click_honoured_on_hand_built_masks():
    from clickseg_widget import Click
    from clickseg_widget.simulation.metrics import click_honoured

    mask = np.zeros((20, 20), bool)
    mask[5:15, 5:15] = True
    assert click_honoured(mask, Click(8, 8, ClickKind.POSITIVE))
    assert not click_honoured(mask, Click(2, 2, ClickKind.POSITIVE))
    assert click_honoured(mask, Click(2.7, 2.2, ClickKind.NEGATIVE))
    assert not click_honoured(mask, Click(14.9, 14.9, ClickKind.NEGATIVE))  # pixel (14, 14) is inside
    assert click_honoured(mask, Click(16, 10, ClickKind.BOUNDARY))  # the edge (x=14) is 2 px away
    assert not click_honoured(mask, Click(17, 10, ClickKind.BOUNDARY))  # 3 px away
    assert not click_honoured(mask, Click(10, 10, ClickKind.BOUNDARY))  # deep inside
    with pytest.raises(ValueError, match="only corrective clicks"):
        click_honoured(mask, Click(10, 10, ClickKind.EXTREME))


def test_runner_reports_the_honour_rate_and_a_box_start(grabcut_dir):
    samples = load_samples(grabcut_dir, limit=2)
    report = evaluate(GrabCutSegmenter(), samples, corrective_clicks=2, progress=False, start="box")
    data = report.to_json()
    assert data["settings"]["start"] == "box"
    made = data["corrective_clicks_made"]
    assert made >= 2 and data["honour_rate"] == round(sum(o.honoured for o in report.objects) / made, 4)
    assert "clicks honoured" in report.table() and "after the box" in report.table()


def test_box_clicks_are_the_ground_truth_box():
    clicks = Clicker(_square()).box_clicks()
    assert [(c.x, c.y, c.kind) for c in clicks] == [(20, 10, ClickKind.BOX), (49, 39, ClickKind.BOX)]
    with pytest.raises(ValueError, match="unknown start"):
        Clicker(_square()).prompt_clicks("polygon")
