"""Every study type end to end on a tiny budget, checked against what the geometry says must happen."""

from __future__ import annotations

import pytest

from padstride import conv
from padstride.studies import ResultsStore, run_study


def test_classification_end_to_end(tiny_study, tmp_path):
    study = tiny_study("classification")
    out = tmp_path / "r.jsonl"
    summary = run_study(study, str(out), progress=False)
    assert (summary.ran, summary.skipped, summary.left) == (6, 0, 0)
    recs = {(r["variant"], r["seed"]): r for r in ResultsStore(out).records()}
    assert set(recs) == {(v, s) for v in ("valid", "same", "strided") for s in (0, 1)}
    # feature maps follow the geometry of each convention (TF same at stride 2 on 28: 14, then 7)
    assert recs["valid", 0]["feature_shapes"][0][1:] == list(conv((28, 28), 3).output)
    assert recs["strided", 0]["feature_shapes"][0][1:] == list(conv((28, 28), 3, 2, "same").output)
    assert recs["same", 0]["feature_shapes"][-1][1:] == [7, 7]
    for r in recs.values():
        assert 0 <= r["test_acc"] <= 1 and r["samples_per_s"] > 0 and r["latency"]["ms"] > 0
        assert sum(n for _, n in r["acc_by_border"].values()) == study.data.n_test
        assert set(r["grad_final"]) >= {"conv1", "conv2", "conv3", "fc1", "fc2"}
        assert r["env"]["torch"] and r["data"]["name"] == "digits"
    # valid has fewer parameters than same (smaller flatten), as seed 003's summaries show
    assert recs["valid", 0]["params"] < recs["same", 0]["params"] == recs["strided", 0]["params"]
    # deterministic seeds: the same seed gives the same model and the same accuracy
    again = run_study(study, str(tmp_path / "again.jsonl"), progress=False).records
    assert again[0]["test_acc"] == recs[again[0]["variant"], again[0]["seed"]]["test_acc"]
    # resume: nothing left to do
    assert run_study(study, str(out), progress=False).skipped == 6


def test_segmentation_valid_tiles_without_seams(tiny_study, tmp_path):
    recs = {r["variant"]: r for r in run_study(tiny_study("segmentation"), str(tmp_path / "r.jsonl"),
                                               progress=False).records}
    valid, same = recs["valid"], recs["same"]
    assert same["output_size"] == [48, 48] and valid["output_size"] == [8, 8]  # 48 − 2·20 margin
    assert valid["margin"] == 20 and same["margin"] == 0
    assert valid["tiling"]["max_diff"] < 1e-4  # stitched == whole image: no seams
    assert same["tiling"]["max_diff"] > 10 * max(valid["tiling"]["max_diff"], 1e-6)  # zero pads at tile edges
    # the same 88px input tile (48 + 2·20): valid outputs 48px per tile, same 88px → 120px image: 3², 2² tiles
    assert valid["tiling"]["in_tile"] == same["tiling"]["in_tile"] == 88
    assert valid["tiling"]["tiles"] == 9 and same["tiling"]["tiles"] == 4
    for r in recs.values():
        assert 0 <= r["test_iou"] <= 1 and r["params"] > 0


def test_volumes_end_to_end(tiny_study, tmp_path):
    recs = {r["variant"]: r for r in run_study(tiny_study("volumes"), str(tmp_path / "r.jsonl"),
                                               progress=False).records}
    assert recs["valid"]["feature_shapes"][-1][1:] == [1, 1, 1]  # 20-18-9-7-3-1
    assert recs["same"]["feature_shapes"][-1][1:] == [5, 5, 5]
    assert all(r["sample_predictions"]["images"]["shape"][1:] == [20, 20] for r in recs.values())


def test_augmentation_end_to_end(tiny_study, tmp_path):
    recs = run_study(tiny_study("augmentation"), str(tmp_path / "r.jsonl"), progress=False).records
    assert [r["variant"] for r in recs] == ["none", "reflect", "circular"]
    assert recs[1]["variant_config"].items() >= {"padding": "same", "pad_mode": "reflect", "max_pad": 3}.items()


def test_max_time_leaves_no_partial_record(tiny_study, tmp_path):
    study = tiny_study("classification")
    out = tmp_path / "r.jsonl"
    summary = run_study(study, str(out), progress=False, max_time=1e-3)
    assert summary.ran == 0 and summary.left == 6 and not summary.complete
    assert ResultsStore(out).records() == []


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_random_pad_crop_is_a_translation(mode):
    import torch
    import torch.nn.functional as F

    from padstride.studies.train import random_pad_crop

    x = torch.rand(16, 2, 9, 7)
    out = random_pad_crop(x, 3, mode, torch.Generator().manual_seed(1))
    padded = F.pad(x, (3, 3, 3, 3), mode=mode)
    for i in range(len(x)):  # each sample is some 9×7 window of its own padded image
        windows = padded[i].unfold(1, 9, 1).unfold(2, 7, 1)  # C × 7 × 7 × 9 × 7
        match = (windows == out[i][:, None, None]).flatten(3).all(-1).all(0)
        assert match.any(), f"sample {i} ({mode}) is not a crop of its padded image"
