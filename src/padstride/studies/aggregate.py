"""Group result records into one table per study: a row per variant, mean ± std over seeds.

>>> recs = [{"study": "s", "budget": "quick", "type": "classification", "variant": "same", "seed": i,
...          "fingerprint": "f", "test_acc": a, "params": 10} for i, a in enumerate([0.8, 0.9])]
>>> row = aggregate(recs)[0].rows[0]
>>> row.variant, round(row.mean, 3), round(row.std, 4), row.seeds
('same', 0.85, 0.0707, [0, 1])
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Row", "Table", "aggregate", "metric_of", "summary"]


def metric_of(study_type: str) -> tuple[str, str]:
    """The headline metric of a study type: (record key, label).

    >>> metric_of("segmentation")
    ('test_iou', 'IoU')
    """
    return ("test_iou", "IoU") if study_type == "segmentation" else ("test_acc", "accuracy")


def _mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else None


@dataclass
class Row:
    """One variant: its records and the headline metric's mean and std (sample std, 0 for one seed)."""

    variant: str
    records: list[dict[str, Any]]
    mean: float
    std: float
    seeds: list[int]

    def avg(self, key: str) -> float | None:
        """Mean over seeds of a numeric record field (``latency.ms`` style dotted keys work)."""
        values = []
        for r in self.records:
            v: Any = r
            for part in key.split("."):
                v = v.get(part) if isinstance(v, dict) else None
            values.append(v)
        return _mean(values)

    def first(self, key: str) -> Any:
        return self.records[0].get(key)


@dataclass
class Table:
    """One study (name, budget): its rows in variant order, and the records it was built from."""

    study: str
    budget: str
    type: str
    rows: list[Row] = field(default_factory=list)
    stale: int = 0

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for row in self.rows for r in row.records]

    @property
    def metric(self) -> tuple[str, str]:
        return metric_of(self.type)


def aggregate(records: list[dict[str, Any]], order: list[str] | None = None) -> list[Table]:
    """Tables in first-seen order; for each variant only its latest configuration (fingerprint) counts.

    Rows follow ``order`` (variant names; e.g. the study file's order) where given, else first-seen order.

    >>> aggregate([])
    []
    """
    tables: dict[tuple[str, str], Table] = {}
    by_variant: dict[tuple[str, str], dict[str, list[dict[str, Any]]]] = {}
    for r in records:
        key = (r["study"], r.get("budget", "full"))
        tables.setdefault(key, Table(r["study"], key[1], r.get("type", "classification")))
        by_variant.setdefault(key, {}).setdefault(r["variant"], []).append(r)
    for key, table in tables.items():
        for variant, recs in by_variant[key].items():
            latest = recs[-1].get("fingerprint", "")
            kept = {r["seed"]: r for r in recs if r.get("fingerprint", "") == latest}  # one per seed
            table.stale += len(recs) - len(kept)
            chosen = [kept[s] for s in sorted(kept)]
            values = [r.get(table.metric[0]) or 0.0 for r in chosen]
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            table.rows.append(Row(variant, chosen, statistics.fmean(values), std, sorted(kept)))
        rank = order or next((r["variant_order"] for r in reversed(records) if r.get("variant_order")
                              and r["study"] == table.study), None)
        if rank:
            table.rows.sort(key=lambda row: rank.index(row.variant) if row.variant in rank else len(rank))
    return list(tables.values())


def _fmt(value: float | None, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def summary(table: Table) -> list[dict[str, str]]:
    """One formatted row per variant (the columns of the CLI table, the report and the markdown).

    >>> t = aggregate([{"study": "s", "variant": "v", "seed": 0, "test_acc": 0.5, "params": 1200}])[0]
    >>> summary(t)[0]["accuracy"], summary(t)[0]["params"]
    ('0.5000 ± 0.0000', '1,200')
    """
    _key, label = table.metric
    out = []
    for row in table.rows:
        macs = row.avg("macs")
        line = {
            "variant": row.variant,
            label: f"{row.mean:.4f} ± {row.std:.4f}",
            "seeds": str(len(row.seeds)),
            "params": _fmt(row.avg("params"), ",.0f"),
            "MACs": _fmt(macs, ",.0f"),
            "train s": _fmt(row.avg("train_time_s"), ".1f"),
            "samples/s": _fmt(row.avg("samples_per_s"), ",.0f"),
            "latency ms": _fmt(row.avg("latency.ms"), ".2f"),
        }
        if table.type == "segmentation":
            out_size = row.first("output_size")
            tiling = row.first("tiling") or {}
            line["output"] = "×".join(map(str, out_size)) if out_size else "—"
            line["tiles"] = str(tiling.get("tiles", "—"))
            line["seam max |Δ|"] = _fmt(row.avg("tiling.max_diff"), ".2e")
        out.append(line)
    return out
