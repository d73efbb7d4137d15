"""The auto-labeling simulator on real DAVIS frames: its job folder is read and plotted like a real one."""
from __future__ import annotations

import io
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest

from clickseg_widget.cli import main
from clickseg_widget.groundtruth.autolabel import box_prompts, choose_threshold, degrade_mask, detector_box
from clickseg_widget.groundtruth.job_results import load_job
from clickseg_widget.groundtruth.quality import score_labels
from clickseg_widget.groundtruth.reporting import cost_table, report
from clickseg_widget.groundtruth.simulator import Simulation, SimulationSettings
from clickseg_widget.models.registry import get_segmenter

# a 4-object validation set is little evidence: a low confidence still lets this small run machine-label
SMALL = dict(limit=14, probe_size=2, batch_size=4, validation_fraction=0.25, fine_tune_epochs=0, seed=0, validation_confidence=0.6)


def fast_grabcut():
    return get_segmenter("grabcut", work_size=64, iterations=2)


@pytest.fixture(scope="module")
def segmentation_run(shared_data, tmp_path_factory):
    calls = []

    def trainer(segmenter, images, masks):
        calls.append((len(images), [m.shape for m in masks]))
        return [1.0 / (len(calls) + epoch) for epoch in range(2)]

    settings = SimulationSettings(target_miou=0.3, annotator_noise_px=2.0, **SMALL)
    simulation = Simulation(shared_data / "davis345", tmp_path_factory.mktemp("sim"), fast_grabcut(), settings, trainer)
    return simulation, simulation.run(), calls


def test_simulation_labels_everything_with_humans_and_machines(segmentation_run):
    simulation, result, calls = segmentation_run
    assert result.human_labels + result.machine_labels + result.unlabeled == 14
    assert result.machine_labels > 0 and result.unlabeled == 0
    assert [r.human for r in result.iterations[:3]] == [2, 2, 4]  # probe, rest of first batch, validation
    assert all(r.threshold is not None for r in result.iterations[3:] if r.machine)
    validation = set(json.loads((result.folder / "simulation.json").read_text())["validation"])
    assert len(validation) == 4
    # training sees the human labels outside the validation set, growing round by round
    assert calls[0][0] == 4 and [n for n, _ in calls] == sorted(n for n, _ in calls)
    assert 0.5 < result.human_miou < 1.0  # degraded by annotator noise, still close


def test_job_folder_has_the_real_layout(segmentation_run):
    _, result, _ = segmentation_run
    root = result.folder
    responses = sorted(root.glob("annotations/consolidated-annotation/consolidation-response/iteration-*/*.json"))
    assert {p.parent.name for p in responses} >= {"iteration-1", "iteration-2", "iteration-3"}
    assert list(root.glob("activelearning/*/*/*/auto_annotator_output.txt"))
    assert len(list(root.glob("annotations/consolidated-annotation/output/*.png"))) == 14
    assert (root / "manifests/output/output.manifest").is_file()
    intermediate = sorted(int(p.name) for p in (root / "manifests/intermediate").iterdir())
    assert intermediate == list(range(1, len(result.iterations) + 1))


def test_readers_and_plots_work_unchanged(segmentation_run):
    _, result, _ = segmentation_run
    job = load_job(result.folder)
    assert job.task == "semantic_segmentation" and len(job.objects) == 14
    assert sum(not o.human for o in job.objects) == result.machine_labels
    table = cost_table(job)
    assert table["totals"]["human_objects"] == result.human_labels
    assert table["totals"]["machine_objects"] == result.machine_labels
    assert [row["human_objects"] for row in table["iterations"]] == [r.human for r in result.iterations]
    assert [row["machine_objects"] for row in table["iterations"]] == [r.machine for r in result.iterations]
    scored = score_labels(job)
    machine = [s.miou for s in scored if not s.human]
    assert len(scored) == 14 and np.mean(machine) == pytest.approx(result.machine_miou)
    figures = report(job)
    assert {"iterations", "miou_histograms", "best", "worst", "confidence", "most_confident"} <= set(figures)
    assert len(figures["iterations"].axes) == 3  # the training curves recorded by the simulator
    for figure in figures.values():
        figure.savefig(io.BytesIO(), format="png")


def test_budget_stops_the_job(shared_data, tmp_path):
    settings = SimulationSettings(target_miou=1.01, max_human_labels=5, **SMALL)  # unreachable target: no machine labels
    result = Simulation(shared_data / "davis345", tmp_path, fast_grabcut(), settings).run()
    assert (result.human_labels, result.machine_labels, result.unlabeled) == (5, 0, 9)
    job = load_job(result.folder)
    assert job.manifest.unlabeled_lines == 9


def test_bounding_box_simulation_and_cli(shared_data, tmp_path, capsys):
    code = main(["groundtruth", "simulate", str(shared_data / "davis345"), str(tmp_path), "--task", "bounding_box",
                 "--model", "grabcut", "--limit", "8", "--probe-size", "2", "--batch-size", "3", "--target-miou", "0.3",
                 "--epochs", "0", "--validation-confidence", "0.6", "--no-progress", "--json"])
    assert code == 0
    out = capsys.readouterr().out
    table = json.loads(out[out.index("{"):])
    assert table["totals"]["human_objects"] + table["totals"]["machine_objects"] <= 8
    assert "human_boxes" in table["iterations"][0]
    job = load_job(tmp_path / "clickseg-simulation")
    assert job.task == "bounding_box" and all(o.box_count == 1 for o in job.objects)
    assert job.simulation is not None and job.simulation["settings"]["validation_confidence"] == 0.6
    # no annotator noise: the human labels are the references, so the threshold's estimate is the true one
    admitted = [r for r in job.simulation["iterations"] if r["validation_miou_above"] is not None]
    assert admitted and all(r["validation_miou_above_reference"] == r["validation_miou_above"] for r in admitted)
    with pytest.raises(FileExistsError, match="not empty"):
        Simulation(shared_data / "davis345", tmp_path, fast_grabcut(), SimulationSettings(**SMALL))


def test_threshold_is_the_widest_confident_set_reaching_the_target():
    scores = [0.9, 0.8, 0.7, 0.6, 0.5]
    ious = [0.9, 0.8, 0.7, 0.2, 0.9]
    assert choose_threshold(scores, ious, 0.7, 1) == 0.5  # all five average 0.7
    assert choose_threshold(scores, ious, 0.75, 1) == 0.7
    assert choose_threshold(scores, ious, 0.95, 1) == float("inf")
    assert choose_threshold(scores, ious, 0.85, 3) == float("inf")  # the top-1/2 reach it but too few to trust
    assert choose_threshold([0.7, 0.7, 0.7], [1.0, 0.9, 0.0], 0.9, 1) > 0.7  # ties cannot slip in below target


def test_a_confidence_bound_keeps_a_lucky_small_validation_set_from_admitting_labels():
    # the top 4 average 0.75 but spread widely: the mean alone admits them, the 95% lower bound (0.51) does not
    scores, ious = [0.9, 0.8, 0.7, 0.6, 0.5], [1.0, 0.5, 1.0, 0.5, 0.1]
    assert choose_threshold(scores, ious, 0.7, 3) == 0.6
    assert choose_threshold(scores, ious, 0.7, 3, confidence=0.95) == float("inf")
    # the same mean over 200 items with a narrow spread is enough evidence
    many = np.linspace(0.74, 0.76, 200)
    assert choose_threshold(np.linspace(1, 0.5, 200), many, 0.7, 3, confidence=0.95) == 0.5
    assert choose_threshold([0.9], [1.0], 0.7, 1, confidence=0.95) == float("inf")  # one item has no spread to trust
    with pytest.raises(ValueError, match="between 0 and 1"):
        choose_threshold(scores, ious, 0.7, 3, confidence=95)
    with pytest.raises(ValueError, match="validation_confidence"):
        SimulationSettings(validation_confidence=1.5).resolved(100)


def test_iterations_record_the_lower_bound_that_admitted_the_machine_labels(segmentation_run):
    _, result, _ = segmentation_run
    rounds = [r for r in result.iterations[3:] if r.machine]
    assert rounds and all(r.validation_miou_low is not None for r in rounds)
    assert all(0.3 <= r.validation_miou_low < r.validation_miou_above for r in rounds)  # target_miou=0.3
    assert result.settings.target_miou == 0.3 and result.settings.validation_confidence == 0.6
    # human labels were degraded references: scored against the references, the admitted labels read differently
    assert all(r.validation_miou_above_reference != r.validation_miou_above for r in rounds)


def test_simulated_inputs(shared_data):
    from clickseg_widget.simulation.datasets import load_mask, load_samples

    mask, _ = load_mask(load_samples(shared_data / "davis345", 1)[0].mask_path)
    rng = np.random.default_rng(0)
    exact = detector_box(mask, 0.0, rng)
    ys, xs = np.nonzero(mask)
    assert exact == (xs.min(), ys.min(), xs.max(), ys.max())
    noisy = detector_box(mask, 0.1, rng)
    assert noisy != exact and 0 <= noisy[0] < noisy[2] < mask.shape[1]
    top, left, bottom, right = box_prompts(exact)
    assert (top.y, left.x, bottom.y, right.x) == (exact[1], exact[0], exact[3], exact[2])
    degraded = degrade_mask(mask, 4.0, np.random.default_rng(1))
    assert degraded.any() and not np.array_equal(degraded, mask)
    assert np.array_equal(degrade_mask(mask, 0.0, rng), mask)
    sliver = np.zeros((10, 10), bool)
    sliver[3:7, 9] = True  # one pixel wide at the border: the prompts must still span an area
    x0, y0, x1, y1 = detector_box(sliver, 0.0, rng)
    assert (x0, x1) == (8.0, 9.0) and (y0, y1) == (3.0, 6.0)


def test_never_trains_on_the_grabcut_benchmark_unless_the_loop_fine_tune_is_asked_for(grabcut_dir, tmp_path):
    with pytest.raises(ValueError, match="never train on it.*--epochs 0"):
        Simulation(grabcut_dir, tmp_path, fast_grabcut(), SimulationSettings(**SMALL), trainer=lambda *args: [])
    # a benchmark of the product's loop on a held-out set: its in-memory fine-tune on the run's own human labels
    trained_on: list[int] = []
    simulation = Simulation(
        grabcut_dir, tmp_path, fast_grabcut(), SimulationSettings(**SMALL),
        trainer=lambda model, images, masks: trained_on.append(len(images)) or [], fine_tune_on_held_out=True,
    )
    result = simulation.run()
    assert trained_on and all(count > 0 for count in trained_on)
    assert max(trained_on) <= result.human_labels - len(simulation.validation)  # validation labels are never trained on
    # without fine-tuning the held-out set is fair game: the forecast the README and notebook 04 show
    assert Simulation(grabcut_dir, tmp_path / "forecast", fast_grabcut(), SimulationSettings(**SMALL)).trainer is None


@pytest.mark.slow
def test_clicknet_is_fine_tuned_on_human_labels(shared_data, tmp_path):
    """The torch backend's default trainer runs ``fine_tune`` each round (random weights: wiring, not accuracy)."""
    from clickseg_widget.models.clicknet import ClickNet, ClickNetConfig, ClickNetSegmenter, save_weights

    import torch

    torch.manual_seed(0)
    save_weights(ClickNet(ClickNetConfig()), tmp_path / "random.safetensors", {"purpose": "test"})
    segmenter = ClickNetSegmenter(tmp_path / "random.safetensors", device="cpu")
    settings = SimulationSettings(limit=8, probe_size=2, batch_size=3, validation_fraction=0.25, fine_tune_epochs=1,
                                  target_miou=0.0)
    result = Simulation(shared_data / "davis345", tmp_path / "out", segmenter, settings).run()
    trained = [r for r in result.iterations if r.training_loss]
    assert trained and len(trained[0].training_loss) == 1 and np.isfinite(trained[0].training_loss[0])
    assert result.human_labels + result.machine_labels == 8 and result.unlabeled == 0
    assert segmenter.last_fine_tune.windows == 1


def test_the_same_job_folder_read_from_s3(segmentation_run):
    import boto3
    from moto import mock_aws

    _, result, _ = segmentation_run
    local = load_job(result.folder)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="sim-out")
        for path in result.folder.rglob("*"):
            if path.is_file():
                s3.put_object(Bucket="sim-out", Key=f"output/{result.folder.name}/{path.relative_to(result.folder).as_posix()}",
                              Body=path.read_bytes())
        remote = load_job(f"s3://sim-out/output/{result.folder.name}", s3_client=s3)
        assert cost_table(remote) == cost_table(local)
        machine = next(o for o in remote.objects if not o.human)
        assert np.array_equal(remote.label_classes(machine), local.label_classes(machine))
        assert [s.miou for s in score_labels(remote)] == [s.miou for s in score_labels(local)]
