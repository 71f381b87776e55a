"""Tiny studies (seconds each) shared by the studies tests."""

from __future__ import annotations

import copy

import pytest

from padstride.studies import parse_study

TINY_EVAL = {"latency_batch": 2, "latency_size": 28, "latency_channels": 1, "latency_repeats": 2,
             "latency_warmup": 1, "samples": 4, "grad_batch": 16}

TINY = {
    "classification": {
        "name": "tiny-cls", "type": "classification", "seeds": 2, "threads": 1,
        "data": {"name": "digits", "n_train": 96, "n_test": 64},
        "model": {"arch": "slide4", "width": 0.25}, "train": {"epochs": 1, "batch_size": 32},
        "eval": TINY_EVAL,
        "variants": {"valid": {"padding": "valid"}, "same": {"padding": "same"},
                     "strided": {"padding": "same", "stride": [2, 2, 1], "pool": False}},
    },
    "segmentation": {
        "name": "tiny-seg", "type": "segmentation", "seeds": 1, "threads": 1,
        "data": {"name": "shapes", "n_train": 16, "n_test": 8, "size": 48, "objects": 2, "large": 120},
        "model": {"depth": 2, "base": 2}, "train": {"epochs": 1, "batch_size": 8},
        "eval": {**TINY_EVAL, "grad_batch": 4},
        "variants": {"same": {"padding": "same"}, "valid": {"padding": "valid"}},
    },
    "volumes": {
        "name": "tiny-vol", "type": "volumes", "seeds": 1, "threads": 1,
        "data": {"name": "volumes", "n_train": 16, "n_test": 8, "size": 20},
        "model": {"arch": "slide14", "width": 0.125}, "train": {"epochs": 1, "batch_size": 8},
        "eval": {**TINY_EVAL, "latency_size": 20, "grad_batch": 4},
        "variants": {"valid": {"padding": "valid"}, "same": {"padding": "same"}},
    },
    "augmentation": {
        "name": "tiny-aug", "type": "augmentation", "seeds": 1, "threads": 1,
        "data": {"name": "digits", "n_train": 64, "n_test": 32, "train_min_border": 4},
        "model": {"arch": "slide4", "width": 0.25}, "train": {"epochs": 1, "batch_size": 32},
        "eval": TINY_EVAL,
        "variants": {"none": {"pad_mode": "none"}, "reflect": {"pad_mode": "reflect", "max_pad": 3},
                     "circular": {"pad_mode": "circular", "max_pad": 3}},
    },
}


def tiny(kind: str, **changes):
    """A tiny study of ``kind`` as a raw mapping (for YAML files) with top-level ``changes``."""
    raw = copy.deepcopy(TINY[kind])
    raw.update(changes)
    return raw


@pytest.fixture
def tiny_study():
    def make(kind: str, **changes):
        return parse_study(tiny(kind, **changes), f"<tiny {kind}>")

    return make


@pytest.fixture(scope="session")
def tiny_records(tmp_path_factory):
    """Records of a tiny classification and segmentation run (shared by report tests)."""
    from padstride.studies import ResultsStore, run_study

    out = tmp_path_factory.mktemp("records") / "results.jsonl"
    for kind in ("classification", "segmentation"):
        run_study(parse_study(tiny(kind), kind), str(out), progress=False)
    return ResultsStore(out).records()
