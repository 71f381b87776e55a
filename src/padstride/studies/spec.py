"""Study definitions: YAML files, validated (the offending key named), built-ins addressable by name.

A study file names its ``type`` (classification, segmentation, volumes, augmentation), its
``data``, ``model``, ``train`` and ``eval`` settings, its ``variants`` (name → padding choice)
and a ``quick`` overlay with a smaller budget. Unspecified keys take the defaults below.

>>> study = load_study("classification", quick=True)
>>> study.type, list(study.variants)[:3]
('classification', ['valid', 'same', 'strided'])
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import StudyError

__all__ = ["DEFAULTS", "MAX_SEEDS", "TYPES", "Data", "Eval", "Model", "Study", "Train", "Variant",
           "builtin_studies", "load_study", "parse_study"]

#: Study types and the variant keys each understands.
TYPES: dict[str, tuple[str, ...]] = {
    "classification": ("padding", "stride", "pool", "description"),
    "volumes": ("padding", "stride", "pool", "description"),
    "segmentation": ("padding", "description"),
    "augmentation": ("padding", "pad_mode", "max_pad", "description"),
}

#: The data keys that matter for each data source (the others are dropped after validation).
_DATA_KEYS = {
    "digits": ("name", "n_train", "n_test", "size", "scale", "seed", "train_min_border"),
    "shapes": ("name", "n_train", "n_test", "size", "objects", "noise", "seed", "large"),
    "volumes": ("name", "n_train", "n_test", "size", "objects", "noise", "seed"),
    "mnist": ("name", "path", "n_train", "n_test"),
    "fashion_mnist": ("name", "path", "n_train", "n_test"),
}


@dataclass(frozen=True)
class Data:
    """The ``data`` section: the source and its settings (unused ones keep their defaults).

    ``in_effect`` are the settings in effect, in the order records store them (:meth:`to_dict`): those
    of the data source.

    >>> Data(n_train=8).to_dict()
    {'name': 'digits', 'n_train': 8, 'n_test': 1000, 'size': 28, 'scale': 2, 'seed': 0, 'train_min_border': 0}
    """

    name: str = "digits"
    path: str = ""
    n_train: int = 4000
    n_test: int = 1000
    size: int = 28
    scale: int = 2
    seed: int = 0
    train_min_border: int = 0
    objects: int = 1
    noise: float = 0.1
    large: int = 160
    in_effect: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.in_effect:
            object.__setattr__(self, "in_effect", _DATA_KEYS.get(self.name, ("name",)))

    def to_dict(self) -> dict[str, Any]:
        """The settings in effect, as a plain mapping (what records and fingerprints hold)."""
        return {k: getattr(self, k) for k in self.in_effect}


@dataclass(frozen=True)
class Model:
    """The ``model`` section: architecture and its size knobs."""

    arch: str = "slide4"
    width: float = 1.0
    depth: int = 2
    base: int = 16


@dataclass(frozen=True)
class Train:
    """The ``train`` section."""

    epochs: int = 3
    batch_size: int = 64
    lr: float = 1e-3


@dataclass(frozen=True)
class Eval:
    """The ``eval`` section: latency measurement, sample predictions, gradient batch."""

    latency_batch: int = 32
    latency_size: int = 224
    latency_channels: int = 3
    latency_repeats: int = 10
    latency_warmup: int = 3
    samples: int = 8
    grad_batch: int = 256


@dataclass(frozen=True)
class Variant:
    """One variant: the padding choice and, per study type, the keys of :data:`TYPES`.

    ``padding`` is any padding spec the models take (a name, an int, pairs or a per-layer list);
    ``stride`` an int or one per conv layer.
    """

    padding: object = "same"
    stride: int | Sequence[int] = 1
    pool: bool = True
    pad_mode: str = "none"
    max_pad: int = 4
    description: str = ""

    def to_dict(self, study_type: str) -> dict[str, Any]:
        """The settings a ``study_type`` study uses, as a plain mapping (what records hold)."""
        return {k: getattr(self, k) for k in TYPES[study_type]}


_ANY = object()  # padding specs: a name, an int, pairs or a per-layer list


def _section(cls: type[Any]) -> dict[str, Any]:
    """A section's keys with their defaults, in order (``in_effect`` is derived, not a setting)."""
    return {f.name: f.default for f in fields(cls) if f.name != "in_effect"}


#: Every section's keys with their default values (the default's type is the expected type).
DEFAULTS: dict[str, Any] = {
    "name": "",
    "type": "classification",
    "description": "",
    "seeds": 3,
    "threads": 0,  # 0 = all of the CPU's cores
    "data": _section(Data),
    "model": _section(Model),
    "train": _section(Train),
    "eval": _section(Eval),
}
#: The seeds one study may ask for (planning is linear in seeds × variants).
MAX_SEEDS = 100_000
#: Integer settings and their largest value (at least 1; threads: 0 … 4 × the CPU count).
_BOUNDS = {"seeds": MAX_SEEDS, "threads": 0, "train.epochs": 100_000, "train.batch_size": 1_000_000,
           "data.n_train": 10_000_000, "data.n_test": 10_000_000}
_VARIANT = {"padding": _ANY, "stride": _ANY, "pool": True, "pad_mode": "none", "max_pad": 4, "description": ""}
_DATA_NAMES = ("digits", "shapes", "volumes", "mnist", "fashion_mnist")
_PAD_MODES = ("none", "constant", "reflect", "replicate", "circular")


@dataclass(frozen=True)
class Study:
    """A validated study: settings per section and the variants to compare.

    Sections are frozen: derive a changed study with :meth:`override` (validated like a study
    file) or :func:`dataclasses.replace`.

    >>> load_study("segmentation").variants["valid"].padding
    'valid'
    """

    name: str
    type: str
    description: str
    seeds: int
    threads: int
    data: Data
    model: Model
    train: Train
    eval: Eval
    variants: dict[str, Variant]
    source: str = ""
    budget: str = "full"
    #: the study's variant order, where a run keeps only some of them (``--variants``)
    order: tuple[str, ...] = ()

    def variant_config(self, variant: str) -> dict[str, Any]:
        """The settings of ``variant`` this study's type uses, as records store them."""
        return self.variants[variant].to_dict(self.type)

    def fingerprint(self, variant: str) -> str:
        """Hash of everything that determines a variant's result (not threads, not seeds)."""
        payload = {"type": self.type, "data": self.data.to_dict(), "model": asdict(self.model),
                   "train": asdict(self.train), "eval": asdict(self.eval), "variant": self.variant_config(variant)}
        return hashlib.sha1(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        """Plain data (what a worker process is sent); :meth:`from_dict` reads it back."""
        return {"name": self.name, "type": self.type, "description": self.description, "seeds": self.seeds,
                "threads": self.threads, "data": self.data.to_dict(), "model": asdict(self.model),
                "train": asdict(self.train), "eval": asdict(self.eval),
                "variants": {v: self.variant_config(v) for v in self.variants}, "source": self.source,
                "budget": self.budget, "extra": {"order": list(self.order)} if self.order else {}}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Study:
        """The study :meth:`to_dict` gave (already validated: not checked again)."""
        data = copy.deepcopy(d["data"])
        return cls(d["name"], d["type"], d["description"], d["seeds"], d["threads"],
                   Data(**data, in_effect=tuple(data)), Model(**d["model"]), Train(**d["train"]), Eval(**d["eval"]),
                   {str(k): Variant(**copy.deepcopy(v)) for k, v in d["variants"].items()},
                   d.get("source", ""), d.get("budget", "full"), tuple(d.get("extra", {}).get("order", ())))

    def override(self, **sections: Any) -> Study:
        """This study with some settings changed, validated like a study file (the offending key named).

        >>> s = load_study("volumes", quick=True).override(train={"epochs": 1}, seeds=1)
        >>> s.train.epochs, s.seeds, s.budget
        (1, 1, 'quick')
        >>> s.override(train={"epoch": 1})  # doctest: +IGNORE_EXCEPTION_DETAIL
        Traceback (most recent call last):
        StudyError: builtin:volumes: unknown key 'train.epoch' (expected one of: epochs, batch_size, lr)
        """
        raw = {k: v for k, v in self.to_dict().items() if k not in ("source", "budget", "extra")}
        out = parse_study(_merge(raw, sections), self.source)
        return replace(out, budget=self.budget, order=self.order)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}.get(type(value), "a mapping")


def _check(value: Any, default: Any, where: str, source: str) -> Any:
    if default is _ANY:
        return value
    if isinstance(default, dict):
        if not isinstance(value, dict):
            raise StudyError(f"{source}: {where!r} must be a mapping, got {value!r}")
        out = copy.deepcopy(default)
        for key, item in value.items():
            path = f"{where}.{key}" if where else str(key)
            if key not in default:
                raise StudyError(f"{source}: unknown key '{path}' (expected one of: {', '.join(default)})")
            out[key] = _check(item, default[key], path, source)
        return out
    ok = (isinstance(value, bool) if isinstance(default, bool)
          else isinstance(value, (int, float)) and not isinstance(value, bool) if isinstance(default, float)
          else isinstance(value, int) and not isinstance(value, bool) if isinstance(default, int)
          else isinstance(value, str))
    if not ok:
        raise StudyError(f"{source}: '{where}' must be {_type_name(default)}, got {value!r}")
    return float(value) if isinstance(default, float) else value


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in over.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def parse_study(raw: Any, source: str = "<study>", quick: bool = False) -> Study:
    """Validate a study mapping (as loaded from YAML) and apply the ``quick`` overlay if asked.

    >>> parse_study({"type": "volumes", "trian": {}}, "s.yaml")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    StudyError: s.yaml: unknown key 'trian' (expected one of: ...)
    """
    if not isinstance(raw, dict):
        raise StudyError(f"{source}: a study file must be a mapping of keys, got {type(raw).__name__}")
    allowed = (*DEFAULTS, "variants", "quick")
    for key in raw:
        if key not in allowed:
            raise StudyError(f"{source}: unknown key {key!r} (expected one of: {', '.join(allowed)})")
    overlay = raw.get("quick") or {}
    if not isinstance(overlay, dict):
        raise StudyError(f"{source}: 'quick' must be a mapping, got {overlay!r}")
    for key in overlay:
        if key not in allowed or key in ("quick", "type", "name"):
            raise StudyError(f"{source}: unknown key 'quick.{key}' (the quick overlay may set: "
                             f"{', '.join(k for k in allowed if k not in ('quick', 'type', 'name'))})")
    merged = _merge({k: v for k, v in raw.items() if k != "quick"}, overlay) if quick else dict(raw)
    merged.pop("quick", None)
    study_type = merged.get("type")
    if study_type not in TYPES:
        raise StudyError(f"{source}: 'type' must be one of {', '.join(TYPES)}, got {study_type!r}")
    top = _check({k: v for k, v in merged.items() if k != "variants"}, DEFAULTS, "", source)
    top = {k: v for k, v in top.items()}
    variants_raw = merged.get("variants")
    if not isinstance(variants_raw, dict) or not variants_raw:
        raise StudyError(f"{source}: 'variants' must be a non-empty mapping of name → settings")
    variants: dict[str, Variant] = {}
    for name, cfg in variants_raw.items():
        cfg = {} if cfg is None else cfg
        if not isinstance(cfg, dict):
            raise StudyError(f"{source}: 'variants.{name}' must be a mapping, got {cfg!r}")
        for key in cfg:
            if key not in TYPES[study_type]:
                raise StudyError(f"{source}: unknown key 'variants.{name}.{key}' for a {study_type} study "
                                 f"(expected one of: {', '.join(TYPES[study_type])})")
        full: dict[str, Any] = asdict(Variant())
        for key, value in cfg.items():
            full[key] = _check(value, _VARIANT[key], f"variants.{name}.{key}", source)
        if full["pad_mode"] not in _PAD_MODES:
            raise StudyError(f"{source}: 'variants.{name}.pad_mode' must be one of {', '.join(_PAD_MODES)}, "
                             f"got {full['pad_mode']!r}")
        stride = full["stride"]
        if not (_is_int(stride) or (isinstance(stride, (list, tuple)) and all(_is_int(s) for s in stride))):
            raise StudyError(f"{source}: 'variants.{name}.stride' must be an integer or a list of integers, "
                             f"got {stride!r}")
        variants[str(name)] = Variant(**{k: full[k] for k in TYPES[study_type]})
    if top["data"]["name"] not in _DATA_NAMES:
        raise StudyError(f"{source}: 'data.name' must be one of {', '.join(_DATA_NAMES)}, got {top['data']['name']!r}")
    if top["data"]["name"] in ("mnist", "fashion_mnist") and not top["data"]["path"]:
        raise StudyError(f"{source}: data {top['data']['name']!r} needs 'data.path' (or --data PATH); "
                         "nothing is downloaded")
    for key, high in _BOUNDS.items():
        section, _, leaf = key.rpartition(".")
        value = top[section][leaf] if section else top[leaf]
        low = 0 if key == "threads" else 1
        high = 4 * (os.cpu_count() or 1) if key == "threads" else high
        if not low <= value <= high:
            raise StudyError(f"{source}: '{key}' must be between {low} and {high:,}, got {value:,}")
    keys = _DATA_KEYS[top["data"]["name"]]
    data = Data(**{k: top["data"][k] for k in keys}, in_effect=keys)
    name = top["name"] or Path(source).stem
    return Study(name, study_type, top["description"], top["seeds"], top["threads"], data, Model(**top["model"]),
                 Train(**top["train"]), Eval(**top["eval"]), variants, source, "quick" if quick else "full")


def builtin_studies() -> list[str]:
    """Names of the built-in studies (package data under ``padstride/studies/builtin``).

    >>> "classification" in builtin_studies()
    True
    """
    folder = resources.files(__package__) / "builtin"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_study(ref: str, quick: bool = False) -> Study:
    """A built-in study by name or a study file by path; ``quick`` applies the file's quick overlay.

    >>> load_study("no-such-study")  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    StudyError: no built-in study 'no-such-study' and no such file (built-ins: ...)
    """
    import yaml

    path = Path(ref)
    if ref in builtin_studies() and not path.exists():
        text = (resources.files(__package__) / "builtin" / f"{ref}.yaml").read_text(encoding="utf-8")
        source = f"builtin:{ref}"
    elif path.is_file():
        from .._yaml import YAMLBudgetError, read_text

        try:
            text = read_text(path)
        except YAMLBudgetError as exc:
            raise StudyError(f"{ref}: {exc.problem}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise StudyError(f"{ref}: cannot read study file ({exc})") from None
        source = str(path)
    elif path.exists():
        raise StudyError(f"{ref}: is not a file")
    else:
        raise StudyError(f"no built-in study {ref!r} and no such file (built-ins: {', '.join(builtin_studies())})")
    from .._yaml import safe_load

    try:
        raw = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise StudyError(f"{source}: invalid YAML{where}: {problem}") from None
    return parse_study(raw, source, quick)
