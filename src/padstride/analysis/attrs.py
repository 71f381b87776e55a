"""The attributes of IR nodes, per op: one ``TypedDict`` each, every key optional.

:attr:`Node.attrs <padstride.analysis.ir.Node.attrs>` stays an open mapping (readers may add keys
of their own, and it costs nothing to build); code that reads a node of a known op takes a typed
view of it with :func:`view` — no copy, no check, free at run time — and gets the value types
below instead of ``Any``. Defaults (in brackets) are what the propagation pass assumes when a key
is missing.

>>> from padstride.analysis import GraphBuilder
>>> b = GraphBuilder()
>>> _ = b.conv(b.input((3, 8, 8)), 4, 3, stride=2)
>>> a = view(b.nodes[-1], ConvAttrs)
>>> a["filters"], a.get("groups", 1), a.get("stride")
(4, 1, 2)
>>> undeclared(b.build())
[]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, TypedDict, TypeVar, cast

if TYPE_CHECKING:
    from .ir import Graph, Node

__all__ = [
    "ATTRS",
    "ActivationAttrs",
    "AddAttrs",
    "CommonAttrs",
    "ConcatAttrs",
    "ConvAttrs",
    "ConvTransposeAttrs",
    "CropAttrs",
    "DenseAttrs",
    "DropoutAttrs",
    "FlattenAttrs",
    "Floats",
    "GlobalPoolAttrs",
    "InputAttrs",
    "Ints",
    "MulAttrs",
    "NormAttrs",
    "OpaqueAttrs",
    "PadAttrs",
    "PoolAttrs",
    "ReshapeAttrs",
    "UpsampleAttrs",
    "undeclared",
    "view",
]

#: A scalar for every spatial axis, or one value per axis.
Ints = int | Sequence[int]
Floats = float | Sequence[float]


class CommonAttrs(TypedDict, total=False):
    """Keys any node may carry; only builders (:mod:`padstride.torch.build`) and porters read them."""

    #: the layer's path in the framework model (Keras: the names from the top model down; ONNX: the
    #: node's first output), for weight lookup [the node name]
    source: str | tuple[str, ...]
    #: which weights of that layer the node uses when one layer became several nodes:
    #: ``depthwise`` / ``pointwise`` of a separable convolution
    part: str
    #: a later call of a layer whose weights an earlier node (same ``source`` and ``part``) owns:
    #: its parameters are not counted again, and a builder reuses that module [False]
    shared: bool
    #: ONNX reader: the ONNX op type the node came from
    onnx_op: str
    #: ONNX reader: per ONNX input, its position among the node's inputs, or -1 for a constant
    onnx_inputs: Sequence[int]
    #: ONNX reader: which output of the ONNX node this node is, recorded only when not the first
    #: (Split pieces, MaxPool's indices) [0]
    onnx_output: int
    #: ONNX reader: on a constant used as data (a class token), the ONNX value it holds
    onnx_value: str
    #: set by :func:`padstride.analysis.sizes.input_sizes` on size-bound nodes whose output follows
    #: their input's spatial size, so another input size resizes them [False]
    follow_input: bool


class InputAttrs(CommonAttrs, total=False):
    """``input``: ``shape`` — per sample, channels first (required)."""

    shape: tuple[int, ...]


class ActivationAttrs(CommonAttrs, total=False):
    """``activation``: ``fn`` and the parameters some functions take.

    ``fn``: ``relu`` (``max_value``, ``negative_slope``, ``threshold``: Keras' rule), ``relu6``,
    ``leaky_relu`` (``negative_slope``), ``elu``/``celu`` (``alpha``), ``gelu`` (``approximate``),
    ``softmax``/``log_softmax`` (``axis``, framework axis), ``sigmoid``, ``tanh``, ``silu``,
    ``hard_sigmoid``, ``hard_silu``, ``mish``, ``selu``, ``softplus``, ``softsign``, ``exp``,
    ``abs``, ``sqrt``, ``square`` …; ``affine`` (``x·scale + offset``, a vector broadcasting on the
    framework's last axis); ``scalar`` (``x <operator> constant``, ``operator`` one of
    add/subtract/multiply/divide/power/maximum/minimum, ``reverse`` for ``constant <operator> x``).
    """

    fn: str
    max_value: float | None
    negative_slope: float
    threshold: float
    alpha: float
    approximate: bool | str
    axis: int
    scale: Floats
    offset: Floats
    operator: str
    constant: float
    reverse: bool


class ConvAttrs(CommonAttrs, total=False):
    """``conv``: ``filters`` (required; the depth multiplier when ``depthwise``), ``kernel``
    (required), ``stride`` [1], ``padding`` (anything :meth:`~padstride.geometry.Padding.parse`
    takes) [valid], ``dilation`` [1], ``groups`` [1], ``bias`` [True], ``activation`` — an ``fn``
    name or a mapping of :class:`ActivationAttrs` applied after the layer [none], ``in_channels``
    (checked against the input) [not checked], ``depthwise`` (Keras DepthwiseConv) [False]."""

    filters: int
    kernel: Ints
    stride: Ints
    padding: object
    dilation: Ints
    groups: int
    bias: bool
    activation: str | ActivationAttrs | None
    in_channels: int | None
    depthwise: bool


class ConvTransposeAttrs(ConvAttrs, total=False):
    """``conv_transpose``: as ``conv`` (``padding`` [0]), plus ``output_padding`` [none],
    ``output_size`` (fixes the length) [none] and ``rule`` (see
    :func:`padstride.geometry.conv_transpose`) [keras]."""

    output_padding: Ints | None
    output_size: Sequence[int] | None
    rule: str


class PoolAttrs(CommonAttrs, total=False):
    """``pool``: ``kind`` (``max``/``avg``), ``kernel`` (required), ``stride`` [the kernel],
    ``padding`` [valid], ``dilation`` [1], ``ceil_mode`` [False], ``rule`` (ceil rule) [torch],
    ``count_include_pad`` (average pooling's divisor) [True]."""

    kind: str
    kernel: Ints
    stride: Ints | None
    padding: object
    dilation: Ints
    ceil_mode: bool
    rule: str
    count_include_pad: bool


class GlobalPoolAttrs(CommonAttrs, total=False):
    """``global_pool``: ``kind`` (``max``/``avg``), ``keepdims`` [False]."""

    kind: str
    keepdims: bool


class PadAttrs(CommonAttrs, total=False):
    """``pad``: ``pads`` (an int, or per spatial axis an int or a pair; required), ``mode``
    [constant], ``value`` (the constant) [0]."""

    pads: object
    mode: str
    value: float | None


class CropAttrs(CommonAttrs, total=False):
    """``crop``: ``crops`` (an int, or per spatial axis an int or a pair; required)."""

    crops: object


class UpsampleAttrs(CommonAttrs, total=False):
    """``upsample``: ``scale`` (per axis) [2] or ``size`` (fixed output size) [none], ``mode``
    [nearest], ``align_corners`` [False]."""

    scale: Floats
    size: Sequence[int] | None
    mode: str
    align_corners: bool


class ConcatAttrs(CommonAttrs, total=False):
    """``concat``: ``axis`` — counts the batch axis, as frameworks do [None: the channels]."""

    axis: int | None


class AddAttrs(CommonAttrs, total=False):
    """``add``: ``mode`` — ``sum`` [default], ``max``, ``min``; ``scales`` — one factor per input
    for ``sum`` (subtract is ``(1, −1)``, average ``1/n`` each) [none]."""

    mode: str
    scales: Sequence[float] | None


class MulAttrs(CommonAttrs, total=False):
    """``mul``: ``mode`` — ``product`` [default] or ``quotient``."""

    mode: str


class FlattenAttrs(CommonAttrs, total=False):
    """``flatten``: ``order`` — ``channels_first`` [default] or ``channels_last`` (Keras flattens
    ``*spatial, C`` in both of its layouts)."""

    order: str


class ReshapeAttrs(CommonAttrs, total=False):
    """``reshape``: ``target`` (per sample, model layout, one ``-1`` allowed; required),
    ``batch_absorbing`` (PyTorch's ``x.view(-1, F)``) [False]."""

    target: Sequence[int]
    batch_absorbing: bool


class DenseAttrs(CommonAttrs, total=False):
    """``dense``: ``units`` (required), ``bias`` [True], ``activation`` (as ``conv``) [none],
    ``in_features`` (checked against the input) [not checked]."""

    units: int
    bias: bool
    activation: str | ActivationAttrs | None
    in_features: int | None


class NormAttrs(CommonAttrs, total=False):
    """``norm``: ``kind`` — ``batch``, ``layer``, ``group`` (``groups``), ``scale`` (one trainable
    factor per channel), ``normalization`` (fixed ``mean``/``variance``: ``(x − mean) /
    max(√variance, epsilon)``, ``invert``); ``affine`` — scale and shift (or how many per-feature
    vectors: 0, 1, 2) [True]; ``stats`` — running statistics exist [True]; ``stats_are_params`` —
    count them as non-trainable params, as Keras does [False]; ``features`` [the channels];
    ``epsilon``, ``momentum`` (the framework's: Keras' 0.99 is PyTorch's 0.01); ``center`` /
    ``scale`` — which affine vectors exist; ``rms`` (Keras RMS layer norm); ``extra_params`` —
    scalars the framework counts beside them (Keras ``Normalization``'s ``count``) [0]."""

    kind: str
    affine: bool | int
    stats: bool
    stats_are_params: bool
    features: int | None
    center: bool
    scale: bool
    epsilon: float
    momentum: float
    groups: int
    rms: bool
    invert: bool
    mean: Floats
    variance: Floats
    extra_params: int


class DropoutAttrs(CommonAttrs, total=False):
    """``dropout``: ``rate`` [0.5]."""

    rate: float


class OpaqueAttrs(CommonAttrs, total=False):
    """``opaque`` (a layer padstride does not model): ``shape`` (canonical output; required),
    ``params`` [0], ``trainable`` [``params``]."""

    shape: tuple[int, ...]
    params: int
    trainable: int


#: Per op of :data:`~padstride.analysis.ir.OPS`, its attributes.
ATTRS: Mapping[str, type[Mapping[str, object]]] = {
    "input": InputAttrs, "conv": ConvAttrs, "conv_transpose": ConvTransposeAttrs, "pool": PoolAttrs,
    "global_pool": GlobalPoolAttrs, "pad": PadAttrs, "crop": CropAttrs, "upsample": UpsampleAttrs,
    "concat": ConcatAttrs, "add": AddAttrs, "mul": MulAttrs, "flatten": FlattenAttrs, "reshape": ReshapeAttrs,
    "dense": DenseAttrs, "norm": NormAttrs, "activation": ActivationAttrs, "dropout": DropoutAttrs,
    "identity": CommonAttrs, "opaque": OpaqueAttrs,
}

A = TypeVar("A", bound=Mapping[str, object])


def view(node: Node, kind: type[A]) -> A:
    """``node.attrs`` seen as ``kind`` (the caller knows ``node.op``): no copy and no check."""
    return cast(A, node.attrs)


def undeclared(graph: Graph) -> list[str]:
    """``node: key`` for every attribute a node carries that its op's ``TypedDict`` does not declare.

    >>> from padstride.analysis.ir import Graph, Node
    >>> undeclared(Graph("g", [Node("x", "input", attrs={"shape": (3, 8), "colour": "red"})]))
    ["x: 'colour' (input)"]
    """
    out = []
    for node in graph.nodes:
        keys = _keys(ATTRS[node.op])
        out += [f"{node.name}: {key!r} ({node.op})" for key in node.attrs if key not in keys]
    return out


def _keys(kind: type[Mapping[str, object]]) -> frozenset[str]:
    """Declared keys of a ``TypedDict`` (its own and inherited ones)."""
    required: frozenset[str] = getattr(kind, "__required_keys__", frozenset())
    optional: frozenset[str] = getattr(kind, "__optional_keys__", frozenset())
    return required | optional
