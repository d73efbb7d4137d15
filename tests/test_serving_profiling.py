"""profile_latency on real images and the original post's table layout."""
from __future__ import annotations

import math

import pytest

from clickseg_widget.simulation.datasets import load_mask, load_samples
from clickseg_widget.io.images import load_image
from clickseg_widget.models.registry import get_segmenter
from clickseg_widget.serving.profiling import latency_dataframe, latency_table, profile_latency


def test_profile_counts_first_masks_and_corrective_clicks(grabcut_dir):
    samples = load_samples(grabcut_dir, limit=2)
    segmenter = get_segmenter("grabcut")
    profile = profile_latency(segmenter, samples, clicks_per_object=2, label="grabcut, 2-core CPU")
    summary = profile.summary()
    assert summary["objects"] == 2 and 1 <= summary["corrective_clicks"] <= 4
    for part in ("first_mask", "corrective"):
        assert set(summary[part]) == {"p50", "p90", "p99"}
        assert all(math.isfinite(value) and value > 0 for value in summary[part].values())
    assert summary["first_mask"]["p50"] <= summary["first_mask"]["p99"]

    truth, _ = load_mask(samples[0].mask_path)
    pair_profile = profile_latency(segmenter, [(load_image(samples[0].image_path), truth)], clicks_per_object=0, warmup=0)
    assert (len(pair_profile.first_mask_ms), pair_profile.corrective_ms) == (1, [])

    table = latency_table([profile, pair_profile]).splitlines()
    assert table[0].startswith("| backend / instance |")
    assert table[2].startswith("| grabcut, 2-core CPU | 2 |")
    assert "| original post, ml.p3.2xlarge | | p90 424 | |" in table
    assert len(latency_table([profile], reference=None).splitlines()) == 3

    frame = latency_dataframe([profile, pair_profile])  # what notebooks display
    assert frame.index.tolist() == ["grabcut, 2-core CPU", pair_profile.label, "original post, ml.p2.xlarge",
                                    "original post, ml.p3.2xlarge", "original post, ml.g4dn.xlarge"]
    assert frame.loc["grabcut, 2-core CPU", "first mask p90 (ms)"] == round(summary["first_mask"]["p90"], 1)
    assert frame.loc["grabcut, 2-core CPU", ["objects", "corrective clicks"]].tolist() == [2, summary["corrective_clicks"]]
    assert frame.loc["original post, ml.p3.2xlarge", "first mask p90 (ms)"] == 424.0
    assert frame.loc["original post, ml.p3.2xlarge"].drop("first mask p90 (ms)").isna().all()


def test_profile_needs_images():
    with pytest.raises(ValueError, match="at least one image"):
        profile_latency(get_segmenter("grabcut"), [], clicks_per_object=1)

