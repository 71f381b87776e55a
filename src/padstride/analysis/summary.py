"""The result of an analysis: per-layer rows, totals, findings; as a table, Markdown or JSON.

>>> from padstride.analysis import GraphBuilder, analyze
>>> b = GraphBuilder("seed003_valid", layout="channels_last")
>>> x = b.input((28, 28, 1))
>>> for _ in range(3):
...     x = b.conv(x, 32, 3)
>>> x = b.dense(b.dense(b.flatten(x), 128), 10)
>>> s = analyze(b.build())
>>> s.total_params, s.layer("conv_2").shape, s.output_rf[0].size
(2002698, (32, 22, 22), 7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .ir import Graph, to_layout
from .layer import LayerInfo, axis_names
from .rf import AxisRF

__all__ = ["Summary", "human_bytes", "num"]


def num(x: Fraction | int) -> int | float:
    """A Fraction as an int when whole, else a float (for JSON and tables).

    >>> num(Fraction(5, 2)), num(Fraction(4, 2))
    (2.5, 2)
    """
    if type(x) is int:
        return x
    f = x if type(x) is Fraction else Fraction(x)  # (a table prints several per row: no copy of each)
    return f.numerator if f.denominator == 1 else float(f)


def human_bytes(n: int) -> str:
    """Keras-style sizes (powers of 1024).

    >>> human_bytes(8010792)
    '7.64 MB'
    """
    value = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.2f} {unit}"
        value /= 1024
    return f"{value:.2f} TB"  # pragma: no cover


def _human_count(n: int) -> str:
    for unit, size in (("T", 10**12), ("G", 10**9), ("M", 10**6)):
        if n >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:,}"


def _same(values: Sequence[object]) -> bool:
    return len(set(values)) <= 1


def _join(values: Sequence[int | float]) -> str:
    return str(values[0]) if _same(values) else "×".join(str(v) for v in values)


@dataclass
class Summary:
    """Layers in graph order plus totals; ``str(summary)`` is the printed table."""

    graph: Graph
    layers: list[LayerInfo]

    # -- lookups and totals -----------------------------------------------------------------
    def layer(self, name: str) -> LayerInfo:
        """The row of layer ``name``."""
        for info in self.layers:
            if info.name == name:
                return info
        raise KeyError(name)

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(i.trainable for i in self.layers)

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.layers)

    @property
    def output_bytes(self) -> int:
        """Sum of every layer's output, batch 1 (what a forward pass writes)."""
        return sum(i.bytes for i in self.layers if i.op != "input")

    @property
    def peak_activation_bytes(self) -> int:
        """Most bytes alive at once running the layers in order, each freed after its last use."""
        last_use: dict[str, int] = {}
        for step, info in enumerate(self.layers):
            for name in info.inputs:
                last_use[name] = step
        keep = set(self.graph.outputs)
        live: dict[str, int] = {}
        peak = total = 0  # total: the sum of live's values, kept as it changes
        for step, info in enumerate(self.layers):
            live[info.name] = info.bytes
            total += info.bytes
            peak = max(peak, total)
            for name in {*info.inputs, info.name}:
                if last_use.get(name, -1) <= step and name not in keep and name in live:
                    total -= live.pop(name)
        return peak

    @property
    def warnings(self) -> list[str]:
        return [*self.graph.notes, *(w for i in self.layers for w in i.warnings)]

    @property
    def errors(self) -> list[str]:
        return [e for i in self.layers for e in i.errors]

    @property
    def output_rf(self) -> tuple[AxisRF, ...]:
        """Receptive field of the first output's last feature map, per input axis.

        For a classifier this is the feature map before global pooling or flattening; its units
        each see ``size`` pixels, every output sees them all.
        """
        rf = self.layer(self.graph.outputs[0]).rf
        return rf if rf is not None else ()

    @property
    def output_rf_global(self) -> bool:
        return self.layer(self.graph.outputs[0]).rf_global

    def output_shape(self, info: LayerInfo) -> tuple[int, ...] | None:
        """Shape of a layer in the model's own layout, without batch."""
        return None if info.shape is None else to_layout(info.shape, self.graph.layout)

    # -- rendering ----------------------------------------------------------------------------
    def _pads_text(self, info: LayerInfo) -> str:
        if info.pads is None:
            return ""
        pairs = [f"({b},{a})" for b, a in info.pads]
        text = pairs[0] if _same(pairs) else "".join(pairs)
        return ("crop " + text) if info.op == "conv_transpose" else text

    def _rows(self) -> tuple[list[str], list[list[str]], list[str]]:
        header = ["Layer (type)", "Output Shape", "Param #", "MACs", "Pads", "RF", "Eff. stride", "Eff. pad",
                  "Notes"]
        rows: list[list[str]] = []
        notes: list[str] = []
        rf_cells: dict[int, tuple[str, str, str]] = {}  # by id: every field stays alive in self.layers meanwhile
        for info in self.layers:
            shape = self.output_shape(info)
            marks = []
            for text, tag in [(e, "E") for e in info.errors] + [(w, "W") for w in info.warnings]:
                notes.append(f"{tag}{len(notes) + 1}  {text}")
                marks.append(f"{tag}{len(notes)}")
            rf = info.rf if info.rf and not info.rf_global else None
            if rf:
                cells = rf_cells.get(id(rf))  # layers that keep their input's field share it: written once
                if cells is None:
                    cells = rf_cells[id(rf)] = (_join([r.size for r in rf]), _join([num(r.stride) for r in rf]),
                                                _join([num(r.padding) for r in rf]))
            else:
                cells = ("global" if info.rf_global else "", "", "")
            rows.append([
                f"{info.name} ({info.type})",
                "?" if shape is None else "(None, " + ", ".join(map(str, shape)) + ")",
                f"{info.params:,}",
                f"{info.macs:,}" if info.macs else "0",
                self._pads_text(info),
                *cells,
                " ".join(marks),
            ])
        return header, rows, notes

    def _totals(self) -> list[str]:
        b = self.graph.dtype_bytes
        lines = [
            f"Total params: {self.total_params:,} ({human_bytes(self.total_params * b)})",
            f"Trainable params: {self.trainable_params:,} ({human_bytes(self.trainable_params * b)})",
            f"Non-trainable params: {self.non_trainable_params:,} ({human_bytes(self.non_trainable_params * b)})",
            f"Total MACs: {self.total_macs:,} ({_human_count(self.total_macs)})",
            f"Output memory, batch 1: {human_bytes(self.output_bytes)} "
            f"(peak live {human_bytes(self.peak_activation_bytes)})",
        ]
        if self.graph.reader == "meta":
            lines.append("Read by running forward on the meta device (shapes only, nothing computed)")
        rf = self.output_rf
        if rf:
            names = axis_names(len(rf))
            head = "Receptive field of the " + ("last feature map" if self.output_rf_global else "output")
            lines.append(head + ": " + ", ".join(
                f"{n} {r.size} (stride {num(r.stride)}, padding {num(r.padding)}, centre {num(r.centre)})"
                for n, r in zip(names, rf, strict=True)))
        return lines

    def table(self) -> str:
        """The Keras-like table with pads, receptive field, effective stride and notes."""
        header, rows, notes = self._rows()
        notes += [f"W  {n}" for n in self.graph.notes]
        widths = [max(map(len, column)) for column in zip(header, *rows, strict=True)]
        right = {2, 3, 5, 6, 7}
        justify = [str.rjust if i in right else str.ljust for i in range(len(header))]

        def fmt(row: list[str]) -> str:
            return "  ".join([j(c, w) for j, c, w in zip(justify, row, widths, strict=True)]).rstrip()

        rule = "─" * len(fmt(header))
        out = [f'Model: "{self.graph.name}"', rule, fmt(header), rule, *(fmt(r) for r in rows), rule,
               *self._totals()]
        if notes:
            out += [rule, *notes]
        return "\n".join(out)

    def markdown(self) -> str:
        """The same table as GitHub Markdown."""
        header, rows, notes = self._rows()
        notes += [f"W  {n}" for n in self.graph.notes]
        esc = [[c.replace("|", "\\|") for c in r] for r in [header, *rows]]
        lines = [f"**{self.graph.name}**", "", "| " + " | ".join(esc[0]) + " |",
                 "|" + "|".join("---:" if i in (2, 3, 5, 6, 7) else "---" for i in range(len(header))) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
        lines += [""] + [f"- {t}" for t in self._totals()]
        if notes:
            lines += [""] + [f"- {n}" for n in notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    @staticmethod
    def _rf_dict(rf: tuple[AxisRF, ...] | None,
                 memo: dict[int, list[list[int | float]]] | None = None) -> dict[str, list[int | float]] | None:
        """``rf`` as JSON; ``memo`` (by id, the fields alive meanwhile) computes each shared field once
        (the lists are fresh per call all the same)."""
        if not rf:
            return None
        values = None if memo is None else memo.get(id(rf))
        if values is None:
            values = [[r.size for r in rf], [num(r.stride) for r in rf], [num(r.padding) for r in rf],
                      [num(r.centre) for r in rf]]
            if memo is not None:
                memo[id(rf)] = values
        size, stride, padding, centre = values
        return {"size": size[:], "stride": stride[:], "padding": padding[:], "centre": centre[:]}

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``layers`` (name, type, output_shape, params, macs, pads, rf, …) and totals."""
        layers = []
        memo: dict[int, list[list[int | float]]] = {}
        for info in self.layers:
            shape = self.output_shape(info)
            layers.append({
                "name": info.name, "type": info.type, "op": info.op, "inputs": list(info.inputs),
                "output_shape": None if shape is None else list(shape),
                "params": info.params, "trainable_params": info.trainable, "macs": info.macs,
                "memory_bytes": info.bytes,
                "pads": None if info.pads is None else [list(p) for p in info.pads],
                "rf": self._rf_dict(info.rf, memo), "rf_global": info.rf_global,
                "misalignment": None if info.misalignment is None else [num(m) for m in info.misalignment],
                "warnings": list(info.warnings), "errors": list(info.errors),
            })
        return {
            "name": self.graph.name, "framework": self.graph.framework, "layout": self.graph.layout,
            "layers": layers, "total_params": self.total_params, "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params, "total_macs": self.total_macs,
            "output_bytes": self.output_bytes, "peak_activation_bytes": self.peak_activation_bytes,
            "rf": self._rf_dict(self.output_rf), "rf_global": self.output_rf_global,
            "warnings": self.warnings, "errors": self.errors, "reader": self.graph.reader,
        }
