"""transformers vision models (default configs made small, random init) as the oracle of the torch reader.

Per model and two odd sizes: the total parameters equal torch's, every layer that is an IR node has
the shape a real forward's hooks saw, and the outputs (a ``ModelOutput``) have the real shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from padstride.analysis import analyze

from ._forward import real_shapes

transformers = pytest.importorskip("transformers")

SIZES = (67, 97)
T = transformers


def _vit(cls: str, size: int, **kw: Any) -> Any:
    config = getattr(T, f"{cls}Config")(image_size=size, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                         num_attention_heads=2, intermediate_size=64, **kw)
    return getattr(T, f"{cls}Model")(config)


CASES: dict[str, Callable[[int], Any]] = {
    "resnet": lambda s: T.ResNetModel(T.ResNetConfig(embedding_size=16, hidden_sizes=[16, 24, 32, 48],
                                                     depths=[1, 1, 1, 1])),
    "convnext": lambda s: T.ConvNextModel(T.ConvNextConfig(hidden_sizes=[16, 24, 32, 48], depths=[1, 1, 1, 1])),
    "convnextv2": lambda s: T.ConvNextV2Model(T.ConvNextV2Config(hidden_sizes=[16, 24, 32, 48], depths=[1, 1, 1, 1])),
    "swin": lambda s: T.SwinModel(T.SwinConfig(image_size=s, embed_dim=16, depths=[1, 1], num_heads=[1, 2],
                                               window_size=4)),
    "vit": lambda s: _vit("ViT", s),
    "deit": lambda s: _vit("DeiT", s),
    "beit": lambda s: _vit("Beit", s, use_relative_position_bias=True),
    "dinov2": lambda s: T.Dinov2Model(T.Dinov2Config(image_size=s, patch_size=8, hidden_size=32, num_hidden_layers=2,
                                                     num_attention_heads=2, mlp_ratio=2, layerscale_value=0.5)),
    "mobilenet_v1": lambda s: T.MobileNetV1Model(T.MobileNetV1Config(depth_multiplier=0.25)),
    "mobilenet_v2": lambda s: T.MobileNetV2Model(T.MobileNetV2Config(depth_multiplier=0.25)),
    "efficientnet": lambda s: T.EfficientNetModel(T.EfficientNetConfig(width_coefficient=0.25, depth_coefficient=0.2,
                                                                        hidden_dim=320)),
    "regnet": lambda s: T.RegNetModel(T.RegNetConfig(embedding_size=16, hidden_sizes=[16, 24, 32, 48],
                                                     depths=[1, 1, 1, 1], groups_width=8)),
    "bit": lambda s: T.BitModel(T.BitConfig(embedding_size=32, hidden_sizes=[128, 128, 128, 128], depths=[1, 1, 1, 1])),
    "segformer": lambda s: T.SegformerModel(T.SegformerConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1],
                                                              num_attention_heads=[1, 1, 1, 1],
                                                              decoder_hidden_size=32)),
    "dpt": lambda s: T.DPTModel(T.DPTConfig(image_size=s, patch_size=8, hidden_size=32, num_hidden_layers=4,
                                            num_attention_heads=2, intermediate_size=64,
                                            backbone_out_indices=[0, 1, 2, 3])),
    "poolformer": lambda s: T.PoolFormerModel(T.PoolFormerConfig(hidden_sizes=[8, 16, 24, 32], depths=[1, 1, 1, 1])),
    "mobilevit": lambda s: T.MobileViTModel(T.MobileViTConfig(image_size=s, hidden_sizes=[16, 24, 32],
                                                              neck_hidden_sizes=[8, 8, 16, 16, 24, 24, 32])),
    "swinv2": lambda s: T.Swinv2Model(T.Swinv2Config(image_size=s, embed_dim=16, depths=[1, 1], num_heads=[1, 2],
                                                     window_size=4)),
    "focalnet": lambda s: T.FocalNetModel(T.FocalNetConfig(embed_dim=16, depths=[1, 1, 1, 1])),
    "data2vec_vision": lambda s: _vit("Data2VecVision", s, use_relative_position_bias=True),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_transformers_model_is_read_exactly(name: str) -> None:
    torch.manual_seed(0)
    for size in SIZES:
        net = CASES[name](size).eval()
        real, outs = real_shapes(net, torch.zeros(1, 3, size, size))
        s = analyze(net, (3, size, size))
        where = f"{name} at {size} ({s.graph.reader})"
        assert not s.errors and not s.graph.notes, (where, s.errors, s.graph.notes)
        assert s.total_params == sum(p.numel() for p in net.parameters()), where
        checked = [n.name for n in s.graph.nodes if n.name in real]
        assert len(checked) >= 5, where
        for layer in checked:
            assert s.layer(layer).shape == real[layer], f"{where}: {layer} {s.layer(layer).shape} vs {real[layer]}"
        assert [s.layer(o).shape for o in s.graph.outputs] == outs, where


def test_a_shape_with_the_batch_and_several_inputs() -> None:
    net = CASES["resnet"](67).eval()
    assert analyze(net, (1, 3, 67, 67)).to_dict() == analyze(net, (3, 67, 67)).to_dict()
    with pytest.raises(Exception, match=r"expects 3 channels at dim 1"):
        analyze(net, (1, 4, 67, 67))
    s = analyze(net, {"pixel_values": (3, 67, 67)})
    assert s.graph.reader == "meta" and s.graph.inputs == ("pixel_values",)
