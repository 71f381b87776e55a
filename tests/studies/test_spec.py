"""Study files: built-ins load by name, every bad key or value is named in a one-line error."""

from __future__ import annotations

import pytest
import yaml

from padstride.studies import Study, StudyError, builtin_studies, load_study, parse_study
from padstride.studies.runner import check_study, plan

from .conftest import tiny


def test_builtins_load_full_and_quick():
    assert {"classification", "segmentation", "volumes", "augmentation"} <= set(builtin_studies())
    for name in builtin_studies():
        full, quick = load_study(name), load_study(name, quick=True)
        assert full.type == quick.type and full.variants == quick.variants
        assert quick.budget == "quick" and quick.data.n_train <= full.data.n_train
        assert all(full.fingerprint(v) != quick.fingerprint(v) for v in full.variants)


def test_plan_order_and_resume_keys(tiny_study):
    study = tiny_study("classification")
    jobs, skipped = plan(study)
    assert skipped == 0 and len(jobs) == 6 and len({j.key for j in jobs}) == 6
    done = {jobs[0].key, jobs[3].key}
    rest, skipped = plan(study, done)
    assert skipped == 2 and {j.key for j in rest} == {j.key for j in jobs} - done


@pytest.mark.parametrize("change,message", [
    ({"trian": {}}, "unknown key 'trian'"),
    ({"train": {"epoch": 2}}, "unknown key 'train.epoch'"),
    ({"train": {"epochs": "three"}}, "'train.epochs' must be an integer"),
    ({"train": {"lr": "fast"}}, "'train.lr' must be a number"),
    ({"seeds": 0}, "'seeds' must be between 1 and"),
    ({"type": "regression"}, "'type' must be one of"),
    ({"variants": {}}, "'variants' must be a non-empty mapping"),
    ({"variants": {"v": {"padding": "same", "strides": 2}}}, "unknown key 'variants.v.strides'"),
    ({"variants": {"v": {"pad_mode": "mirror"}}}, "unknown key 'variants.v.pad_mode' for a classification"),
    ({"variants": {"v": {"stride": [2, "2"]}}}, "'variants.v.stride' must be an integer or a list of integers"),
    ({"quick": {"train": {"epohcs": 1}}}, "unknown key 'train.epohcs'"),
    ({"quick": {"type": "volumes"}}, "unknown key 'quick.type'"),
    ({"data": {"name": "imagenet"}}, "'data.name' must be one of"),
    ({"data": {"name": "mnist"}}, "needs 'data.path'"),
    ({"model": []}, "'model' must be a mapping"),
])
def test_bad_keys_are_named(change, message):
    raw = tiny("classification", **change)
    with pytest.raises(StudyError, match=message.replace("(", r"\(").replace(".", r"\.")) as info:
        parse_study(raw, "s.yaml", quick=True)
    assert "\n" not in str(info.value) and str(info.value).startswith("s.yaml: ")


def test_bad_geometry_names_the_variant(tiny_study):
    wrong_length = tiny_study("classification", variants={"mix": {"padding": ["valid", "same"]}})
    with pytest.raises(StudyError, match="variant 'mix': padding lists 2 values but the model has 3 conv layers"):
        check_study(wrong_length)
    too_small = tiny_study("volumes", data={"name": "volumes", "n_train": 4, "n_test": 2, "size": 12})
    with pytest.raises(StudyError, match=r"variant 'valid'.*axis"):
        check_study(too_small)
    bad_seg = tiny_study("segmentation", data={"name": "shapes", "n_train": 4, "n_test": 2, "size": 50})
    message = r"variant 'same': a same U-Net of depth 2 cannot tile 50px.*use data.size in \[44, 48, 52, 56\]"
    with pytest.raises(StudyError, match=message):
        check_study(bad_seg)


def test_yaml_files(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(tiny("volumes")))
    assert load_study(str(good)).name == "tiny-vol"
    bad = tmp_path / "bad.yaml"
    bad.write_text("type: classification\nvariants: [unclosed\n")
    with pytest.raises(StudyError, match=r"bad\.yaml: invalid YAML at line 3"):
        load_study(str(bad))
    with pytest.raises(StudyError, match="no built-in study 'nope' and no such file"):
        load_study("nope")
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    with pytest.raises(StudyError, match="must be a mapping of keys"):
        load_study(str(tmp_path / "list.yaml"))


def test_fingerprints_are_stable():
    """Resume keys of existing result files: the fingerprint of a study's settings must not drift."""
    study = load_study("classification", quick=True)
    assert {v: study.fingerprint(v) for v in ("valid", "strided", "mixed")} == {
        "valid": "819d63a5ab1a", "strided": "6db72dfbeb2e", "mixed": "263ec0a91e60"}
    assert parse_study(tiny("segmentation"), "s").fingerprint("valid") == "51f3cecb77a9"


def test_sections_are_frozen_and_round_trip(tiny_study):
    import dataclasses

    study = tiny_study("augmentation")
    with pytest.raises(dataclasses.FrozenInstanceError):
        study.train.epochs = 2  # type: ignore[misc]
    assert Study.from_dict(study.to_dict()) == study
    changed = study.override(train={"epochs": 2}, variants={"none": {"max_pad": 2}})
    assert changed.train.epochs == 2 and changed.variants["none"].max_pad == 2 and study.train.epochs == 1
    with pytest.raises(StudyError, match=r"'variants\.none\.max_pad' must be an integer"):
        study.override(variants={"none": {"max_pad": "2"}})
