"""The same layer written for PyTorch, Keras, ONNX and JAX, with notes where a framework cannot say it.

Every snippet is executable code (tests run the PyTorch, Keras and ONNX ones and compare the output
size with padstride.geometry).

>>> from padstride.explain.request import LayerRequest
>>> code = pytorch(LayerRequest.make("conv", (28, 28), 3, padding=1))
>>> code.code
'nn.Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), dilation=(1, 1))'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..geometry import AxisTranspose, AxisWindow, Geometry, full_divisors, is_transposed
from .request import LayerRequest

__all__ = ["FrameworkCode", "all_frameworks", "jax", "keras", "onnx", "pytorch"]


@dataclass
class FrameworkCode:
    """A layer in one framework: ``code`` (an expression), the ``imports`` it needs, exactness, notes."""

    framework: str
    code: str
    imports: str
    exact: bool = True
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "imports": self.imports, "exact": self.exact, "notes": self.notes}


def _t(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(values) == 1 else "(" + ", ".join(map(str, values)) + ")"


def _torch_pad(pairs: tuple[tuple[int, int], ...]) -> str:
    """``F.pad`` order: last axis first."""
    return "(" + ", ".join(f"{b}, {a}" for b, a in reversed(pairs)) + ")"


def _floor_pairs(g: Geometry[AxisWindow], ceil_mode: bool) -> tuple[tuple[int, int], ...]:
    """Explicit pads whose floor-mode windows are the geometry's.

    Under ``ceil_mode`` the right pad ends where the last window does: the overhang is padded
    too, and a window that PyTorch's rule drops (it would start in the right padding) is cut off.
    """
    if not ceil_mode:
        return g.pads
    return tuple((a.pad_before, (a.output - 1) * a.stride + a.span - a.input - a.pad_before) for a in g.axes)


def _size_note(req: LayerRequest) -> list[str]:
    if req.padding.is_static(req.stride):
        return []
    return [f"these pads hold for input {_t(req.input)} only: '{req.padding.convention}' at stride "
            f"{_t(req.stride)} depends on the input size; padstride.torch layers compute it per input"]


# ---------------------------------------------------------------- PyTorch
def pytorch(req: LayerRequest) -> FrameworkCode:
    """``torch.nn`` code for the layer (explicit pads when PyTorch has no name for the convention)."""
    g, nd = req.geometry(), req.ndim
    cin, cout = req.channels
    imports = "import torch\nimport torch.nn as nn"
    notes = _size_note(req)
    if req.op == "conv":
        args = f"{cin}, {cout}, kernel_size={_t(req.kernel)}, stride={_t(req.stride)}"
        dil = f", dilation={_t(req.dilation)}"
        if req.padding.convention == "same" and any(s > 1 for s in req.stride):
            notes.append("PyTorch refuses padding='same' for strided convolutions")
        if max(req.stride) == 1 and req.padding.convention in ("same", "torch_same"):
            code = f'nn.Conv{nd}d({args}, padding="same"{dil})'
            if not g.symmetric:
                notes.append("PyTorch pads an asymmetric 'same' with a zero-padded copy of the input")
        elif g.symmetric and all(b >= 0 for b, _ in g.pads):
            code = f"nn.Conv{nd}d({args}, padding={_t(tuple(b for b, _ in g.pads))}{dil})"
        else:
            code = (f"nn.Sequential(nn.ZeroPad{nd}d({_torch_pad(g.pads)}), "
                    f"nn.Conv{nd}d({args}, padding=0{dil}))")
            notes.append("asymmetric or negative pads: nn.Conv has one pad per axis for both sides, "
                         f"so pad first (or use padstride.torch.Conv{nd}d with padding="
                         f"{req.padding.convention!r})")
        return FrameworkCode("pytorch", code, imports, True, notes)
    if is_transposed(g):
        return _pytorch_transpose(req, g, imports, notes)
    return _pytorch_pool(req, g, imports, notes)


def _pytorch_transpose(req: LayerRequest, g: Geometry[AxisTranspose], imports: str,
                       notes: list[str]) -> FrameworkCode:
    nd = req.ndim
    cin, cout = req.channels
    args = f"{cin}, {cout}, kernel_size={_t(req.kernel)}, stride={_t(req.stride)}"
    axes = g.axes
    torch_args = [a.torch_args for a in axes]
    dil = f", dilation={_t(req.dilation)}"
    if all(t is not None for t in torch_args):
        pads = tuple(t[0] for t in torch_args if t is not None)
        ops = tuple(t[1] for t in torch_args if t is not None)
        code = f"nn.ConvTranspose{nd}d({args}, padding={_t(pads)}, output_padding={_t(ops)}{dil})"
        return FrameworkCode("pytorch", code, imports, True, notes)
    crops = tuple((-a.pad_before, -a.pad_after) for a in axes)
    extends = any(a.pad_after < 0 or a.pad_before < 0 for a in axes)
    code = (f"nn.Sequential(nn.ConvTranspose{nd}d({args}, padding=0{dil}, bias={not extends}), "
            f"nn.ZeroPad{nd}d({_torch_pad(crops)}))")
    notes.append("the crop is not symmetric with an output_padding PyTorch accepts: crop after the layer")
    if extends:
        notes.append("the output is extended past the full transposed output; bias disabled so the extension is 0")
    return FrameworkCode("pytorch", code, imports, True, notes)


def _pytorch_pool(req: LayerRequest, g: Geometry[AxisWindow], imports: str, notes: list[str]) -> FrameworkCode:
    nd = req.ndim
    kind = "Max" if req.op == "maxpool" else "Avg"
    args = f"kernel_size={_t(req.kernel)}, stride={_t(req.stride)}"
    if req.op == "maxpool":
        args += f", dilation={_t(req.dilation)}"
    native_ok = g.symmetric and all(0 <= b <= k // 2 for (b, _), k in zip(g.pads, req.kernel))
    extra = ""
    if req.op == "avgpool":
        extra = f", count_include_pad={req.include_pad}"
    if native_ok:
        ceil = f", ceil_mode={req.ceil_mode}" if req.ceil_mode else ""
        code = f"nn.{kind}Pool{nd}d({args}, padding={_t(tuple(b for b, _ in g.pads))}{ceil}{extra})"
        return FrameworkCode("pytorch", code, imports, True, notes)
    if not g.symmetric:
        notes.append("PyTorch pooling pads both sides equally")
    else:
        notes.append("PyTorch pooling refuses padding > kernel_size // 2")
    pairs = _floor_pairs(g, req.ceil_mode)
    if req.op == "maxpool":
        code = (f"nn.Sequential(nn.ConstantPad{nd}d({_torch_pad(pairs)}, float('-inf')), "
                f"nn.MaxPool{nd}d({args}))")
        return FrameworkCode("pytorch", code, imports, True, notes)
    # nn.AvgPool divides by the kernel size: exact when every window's divisor is the kernel size
    exact = all(full_divisors(a, req.include_pad) for a in g.axes)
    code = f"nn.Sequential(nn.ZeroPad{nd}d({_torch_pad(pairs)}), nn.AvgPool{nd}d({args}))"
    if not exact:
        notes.append(f"no plain torch.nn layer excludes asymmetric pads from the average: "
                     f"use padstride.torch.AvgPool{nd}d(..., padding={req.padding.convention!r})")
    return FrameworkCode("pytorch", code, imports, exact, notes)


# ---------------------------------------------------------------- Keras
def keras(req: LayerRequest) -> FrameworkCode:
    """``keras.layers`` code; explicit pads become ZeroPadding/Cropping layers."""
    g, nd = req.geometry(), req.ndim
    imports = "import keras"
    notes: list[str] = []
    cout = req.channels[1]
    conv_name = req.padding.convention
    if req.op in ("conv", "convtranspose") and max(req.stride) > 1 and max(req.dilation) > 1:
        notes.append("Keras refuses strides > 1 together with dilation_rate > 1")
        return FrameworkCode("keras", "", imports, False, notes)
    if req.op == "conv":
        base = f"keras.layers.Conv{nd}D({cout}, {_t(req.kernel)}, strides={_t(req.stride)}"
        tail = f", dilation_rate={_t(req.dilation)})"
        name = {"torch_same": "same"}.get(conv_name, conv_name)
        if name in ("valid", "same") or (name == "causal" and nd == 1):
            return FrameworkCode("keras", f'{base}, padding="{name}"{tail}', imports, True, notes)
        if name == "causal":
            notes.append("Keras has 'causal' padding for Conv1D only")
        return FrameworkCode("keras", _keras_padded(nd, g.pads, f'{base}, padding="valid"{tail}'),
                             imports, True, notes)
    if is_transposed(g):
        base = f"keras.layers.Conv{nd}DTranspose({cout}, {_t(req.kernel)}, strides={_t(req.stride)}"
        tail = f", dilation_rate={_t(req.dilation)})"
        if conv_name in ("valid", "same") and (req.rule or "keras") == "keras":
            op = "" if req.output_padding is None else f", output_padding={_t(req.output_padding)}"
            return FrameworkCode("keras", f'{base}, padding="{conv_name}"{op}{tail}', imports, True, notes)
        if any(a.pad_after < 0 or a.pad_before < 0 for a in g.axes):
            notes.append("Keras cannot extend a transposed output past its full size")
            return FrameworkCode("keras", "", imports, False, notes)
        layer = f'{base}, padding="valid", output_padding={_t((0,) * nd)}{tail}'
        return FrameworkCode("keras", _keras_seq(nd, layer, crop=g.pads), imports, True, notes)
    kind = "Max" if req.op == "maxpool" else "Average"
    base = f"keras.layers.{kind}Pooling{nd}D({_t(req.kernel)}, strides={_t(req.stride)}"
    if any(d > 1 for d in req.dilation):
        notes.append("Keras pooling has no dilation")
        return FrameworkCode("keras", "", imports, False, notes)
    if conv_name in ("valid", "same") and not req.ceil_mode and (req.op == "maxpool" or not req.include_pad
                                                                  or conv_name == "valid"):
        if conv_name == "same" and req.op == "avgpool" and not g.symmetric:
            notes.append("Keras on the torch backend averages asymmetric SAME borders differently from TF "
                         "(keras-team/keras#19721); TF's rule is the one shown by padstride")
        return FrameworkCode("keras", f'{base}, padding="{conv_name}")', imports, True, notes)
    if req.op == "maxpool":
        notes.append("Keras pads with zeros only, which changes maxima of negative inputs; "
                     "exact for non-negative inputs (after ReLU)")
    elif not req.include_pad:
        notes.append("Keras cannot exclude explicit pads from an average")
    pairs = _floor_pairs(g, req.ceil_mode)
    exact = req.op == "avgpool" and req.include_pad and not req.ceil_mode
    return FrameworkCode("keras", _keras_padded(nd, pairs, f'{base}, padding="valid")'), imports, exact, notes)


def _keras_pairs(pairs: tuple[tuple[int, int], ...]) -> str:
    inner = ", ".join(f"({b}, {a})" for b, a in pairs)
    return inner if len(pairs) == 1 else f"({inner})"


def _keras_padded(nd: int, pads: tuple[tuple[int, int], ...], layer: str) -> str:
    crop = tuple((max(-b, 0), max(-a, 0)) for b, a in pads)
    pad = tuple((max(b, 0), max(a, 0)) for b, a in pads)
    return _keras_seq(nd, layer, crop=crop, pad=pad, crop_first=True)


def _keras_seq(nd: int, layer: str, crop: tuple[tuple[int, int], ...] = (),
               pad: tuple[tuple[int, int], ...] = (), crop_first: bool = False) -> str:
    cropping = f"keras.layers.Cropping{nd}D({_keras_pairs(crop)})" if any(map(any, crop)) else ""
    padding = f"keras.layers.ZeroPadding{nd}D({_keras_pairs(pad)})" if any(map(any, pad)) else ""
    order = (cropping, padding, layer) if crop_first else (padding, layer, cropping)
    parts = [p for p in order if p]
    return parts[0] if len(parts) == 1 else "keras.Sequential([" + ", ".join(parts) + "])"


# ---------------------------------------------------------------- ONNX
def onnx(req: LayerRequest) -> FrameworkCode:
    """An ``onnx.helper.make_node`` call with explicit ``pads`` (exact for every convention)."""
    g = req.geometry()
    imports = "from onnx import helper"
    notes: list[str] = []
    k, s, d = list(req.kernel), list(req.stride), list(req.dilation)
    if is_transposed(g):
        pads = [a.pad_before for a in g.axes] + [max(a.pad_after, 0) for a in g.axes]
        op = [max(-a.pad_after, 0) for a in g.axes]
        code = (f'helper.make_node("ConvTranspose", ["X", "W"], ["Y"], kernel_shape={k}, strides={s}, '
                f"dilations={d}, pads={pads}, output_padding={op})")
        if req.padding.convention in ("same", "same_lower"):
            notes.append("ONNX auto_pad SAME_* for ConvTranspose fixes the output at n·stride; "
                         "explicit pads are shown so that the result matches padstride's rule")
        return FrameworkCode("onnx", code, imports, True, notes)
    crop = [min(b, 0) for b, _ in g.pads] + [min(a, 0) for _, a in g.pads]
    pads = [max(b, 0) for b, _ in g.pads] + [max(a, 0) for _, a in g.pads]
    source = '"Xc"' if any(crop) else '"X"'
    if req.op == "conv":
        code = (f'helper.make_node("Conv", [{source}, "W"], ["Y"], kernel_shape={k}, strides={s}, '
                f"dilations={d}, pads={pads})")
        if req.padding.convention in ("same", "same_lower") and any(x > 1 for x in d):
            notes.append("onnxruntime rejects dilation with auto_pad SAME_UPPER/SAME_LOWER: use explicit pads")
    elif any(p >= kk for p, kk in zip(pads, k + k)):
        notes.append("onnxruntime requires pooling pads smaller than the kernel")
        return FrameworkCode("onnx", "", imports, False, notes)
    else:
        kind = "MaxPool" if req.op == "maxpool" else "AveragePool"
        extra = f", dilations={d}" if req.op == "maxpool" else f", count_include_pad={int(req.include_pad)}"
        ceil = ", ceil_mode=1" if req.ceil_mode else ""
        code = (f'helper.make_node("{kind}", [{source}], ["Y"], kernel_shape={k}, strides={s}, '
                f"pads={pads}{ceil}{extra})")
        if req.ceil_mode:
            notes.append("ceil_mode: the ONNX spec text keeps a last window that starts in the right padding; "
                         "PyTorch drops it (see docs/conventions.md for onnxruntime)")
    if any(crop):
        nd = req.ndim
        full = [0, 0, *crop[:nd], 0, 0, *crop[nd:]]
        notes.append("ONNX pads must be >= 0: crop first with a Pad node of negative pads")
        code = (f'[helper.make_node("Constant", [], ["crop"], value_ints={full}), '
                f'helper.make_node("Pad", ["X", "crop"], ["Xc"]), {code}]')
    return FrameworkCode("onnx", code, imports, True, notes)


# ---------------------------------------------------------------- JAX
def jax(req: LayerRequest) -> FrameworkCode:
    """``jax.lax`` code, channels first (NCHW) like the PyTorch snippet."""
    g, nd = req.geometry(), req.ndim
    notes: list[str] = []
    spatial = "DHW"[-nd:] if nd <= 3 else None
    dn = f'("NC{spatial}", "OI{spatial}", "NC{spatial}")'
    if req.op == "conv":
        name = {"same": '"SAME"', "same_lower": '"SAME_LOWER"', "valid": '"VALID"'}.get(
            req.padding.convention, repr(list(g.pads)))
        code = (f"jax.lax.conv_general_dilated(x, w, window_strides={list(req.stride)}, padding={name}, "
                f"rhs_dilation={list(req.dilation)}, dimension_numbers={dn})")
        return FrameworkCode("jax", code, "import jax", True, notes)
    if is_transposed(g):
        pads = [a.conv_pads() for a in g.axes]
        flip = tuple(range(2, 2 + nd))
        code = (f"jax.lax.conv_general_dilated(x, jax.numpy.flip(w, {flip}).swapaxes(0, 1), "
                f"window_strides={[1] * nd}, padding={pads}, lhs_dilation={list(req.stride)}, "
                f"rhs_dilation={list(req.dilation)}, dimension_numbers={dn})")
        notes.append("w in PyTorch ConvTranspose layout (C_in, C_out, *k)")
        return FrameworkCode("jax", code, "import jax", True, notes)
    pairs = [(0, 0), (0, 0), *_floor_pairs(g, req.ceil_mode)]
    win = (1, 1, *req.kernel)
    strides = (1, 1, *req.stride)
    if req.op == "maxpool":
        code = (f"jax.lax.reduce_window(x, -jax.numpy.inf, jax.lax.max, {win}, {strides}, {pairs}, "
                f"window_dilation={(1, 1, *req.dilation)})")
        return FrameworkCode("jax", code, "import jax", True, notes)
    total = f"jax.lax.reduce_window(x, 0.0, jax.lax.add, {win}, {strides}, {pairs})"
    if not req.include_pad:
        count = f"jax.lax.reduce_window(jax.numpy.ones_like(x), 0.0, jax.lax.add, {win}, {strides}, {pairs})"
        return FrameworkCode("jax", f"{total} / {count}", "import jax", True, notes)
    real = [(0, 0), (0, 0)] + [(a.pad_before, a.pad_after) for a in g.axes]
    over = [(0, 0), (0, 0)] + [(0, p[1] - a.pad_after) for a, p in zip(g.axes, pairs[2:])]
    count = (f"jax.lax.reduce_window(jax.numpy.pad(jax.numpy.ones_like(x), {real}, constant_values=1.0), "
             f"0.0, jax.lax.add, {win}, {strides}, {over})")
    notes.append("the divisor counts padded cells but not the ceil_mode overhang, as PyTorch does")
    return FrameworkCode("jax", f"{total} / {count}", "import jax", True, notes)


def all_frameworks(req: LayerRequest) -> dict[str, FrameworkCode]:
    """PyTorch, Keras, ONNX and JAX code for ``req``, keyed by framework."""
    return {f.__name__: f(req) for f in (pytorch, keras, onnx, jax)}
