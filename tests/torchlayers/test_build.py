"""The IR → torch builder on graphs no framework wrote: the YAML specs and the Python builder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from padstride.analysis import GraphBuilder, load_spec, propagate
from padstride.torch import BuildError, build

SPECS = sorted(Path(__file__).resolve().parents[2].joinpath("examples", "specs").glob("*.yaml"))


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_every_example_spec_builds_with_the_shapes_the_analysis_predicts(path):
    graph = load_spec(path)
    infos = propagate(graph)
    if any(i.errors for i in infos.values()):  # seed 001's "valid" U-Net cannot concatenate without a crop
        with pytest.raises(BuildError, match="cannot concatenate"):
            build(graph)
        return
    net = build(graph)
    with torch.no_grad():
        out = net(torch.zeros(2, *infos[graph.inputs[0]].shape))
    assert tuple(out.shape[1:]) == infos[graph.outputs[0]].shape


def test_weights_by_node_and_tf_same_at_stride_two():
    b = GraphBuilder("g")
    x = b.conv(b.input((2, 8, 9)), 3, 3, stride=2, padding="same", name="c")
    graph = b.build(b.activation(x, "relu", name="r"))
    rng = np.random.default_rng(0)
    w, bias = rng.standard_normal((3, 2, 3, 3)).astype("float32"), rng.standard_normal(3).astype("float32")
    net = build(graph, lambda node: {"weight": w, "bias": bias} if node.name == "c" else None)
    x = torch.from_numpy(rng.standard_normal((1, 2, 8, 9)).astype("float32"))
    # TF SAME: total pad 1 on H (8 → 4: (0, 1)) and 2 on W (9 → 5: (1, 1))
    want = F.relu(F.conv2d(F.pad(x, (1, 1, 0, 1)), torch.from_numpy(w), torch.from_numpy(bias), stride=2))
    torch.testing.assert_close(net(x), want)


def test_a_weight_of_the_wrong_shape_is_named():
    b = GraphBuilder("g")
    graph = b.build(b.dense(b.flatten(b.input((4,))), 2, name="fc"))
    with pytest.raises(BuildError, match=r"'fc'.*weight 'weight' has shape \(3, 4\), the module expects \(2, 4\)"):
        build(graph, lambda node: {"weight": np.zeros((3, 4))} if node.name == "fc" else None)
