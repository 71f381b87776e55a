"""Propagation while building is O(nodes): counted, not timed (issue 12, Deliver 7).

Adapters ask for a shape after nearly every node they add (``x.shape`` in a torch ``forward``,
ONNX ``Shape`` nodes). Each query used to rebuild and re-validate the whole graph and copy the
whole result: O(n) per query, O(n²) per model (800 residual blocks: 6 s). Here every propagation
step and every node validated by :class:`Graph` is counted, for 100, 200 and 400 blocks: the
counts per node must not grow with the depth.
"""

from __future__ import annotations

import importlib
from collections import Counter

import pytest

from padstride.analysis import GraphBuilder, analyze, ir

propagate = importlib.import_module("padstride.analysis.propagate")  # the package exports a function of that name


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    seen: Counter[str] = Counter()
    step, post_init = propagate._step, ir.Graph.__post_init__

    def counted_step(node: ir.Node, st: object) -> None:
        seen["steps"] += 1
        step(node, st)  # type: ignore[arg-type]

    def counted_post_init(graph: ir.Graph) -> None:
        seen["validated"] += len(graph.nodes)
        post_init(graph)

    monkeypatch.setattr(propagate, "_step", counted_step)
    monkeypatch.setattr(ir.Graph, "__post_init__", counted_post_init)
    return seen


def _residual(blocks: int) -> tuple[GraphBuilder, int]:
    """A residual chain built the way adapters build: a shape asked after every node."""
    b = GraphBuilder("chain")
    x = b.input((8, 16, 16))
    for _ in range(blocks):
        y = b.norm(b.conv(x, 8, 3, padding=1))
        assert b.propagated()[y].shape == b.propagated()[x].shape
        x = b.relu(b.add([y, x]))
        assert b.propagated()[x].shape == (8, 16, 16)
    return b, len(b.nodes)


@pytest.mark.parametrize("blocks", [100, 200, 400])
def test_builder_queries_cost_one_step_per_node(counts: Counter[str], blocks: int) -> None:
    b, n = _residual(blocks)
    assert counts["steps"] == n  # every node propagated exactly once, however often shapes are asked
    assert counts["validated"] <= n  # the live graph is validated once, when it is empty or nearly
    infos = b.propagated()
    assert infos is b.propagated()  # no copy of the whole result per query
    assert list(infos) == [node.name for node in b.nodes]
    s = analyze(b.build())  # the final graph: one more validation and one fresh pass
    assert s.layer(b.nodes[-1].name).shape == (8, 16, 16)
    assert counts["validated"] <= 2 * n + 1 and counts["steps"] == 2 * n


def test_unique_names_are_amortised(counts: Counter[str]) -> None:
    b = GraphBuilder()
    x = b.input((8, 4, 4))
    names = [x := b.relu(x) for _ in range(300)]
    assert names[:3] == ["relu", "relu_1", "relu_2"] and names[-1] == "relu_299"
    assert b._suffix["relu"] == 299  # the search resumes where it stopped instead of scanning from 1


def test_torch_trace_with_shape_queries_is_linear(counts: Counter[str]) -> None:
    nn = pytest.importorskip("torch.nn")

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn, self.act = nn.Conv2d(4, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()

        def forward(self, x):  # type: ignore[no-untyped-def]
            y = self.bn(self.conv(x))
            assert y.shape[-1] == x.shape[-1]  # a shape query per block, as real models do
            return self.act(y + x)

    per_node = []
    for blocks in (50, 200):
        counts.clear()
        s = analyze(nn.Sequential(*[Block() for _ in range(blocks)]), (4, 8, 8))
        n = len(s.layers)
        assert n == 4 * blocks + 1
        per_node.append((counts["steps"] / n, counts["validated"] / n))
    for steps, validated in per_node:  # O(n²) would be ~n/2 per node: 100 and 400 here
        assert steps == 1 and validated <= 1.1, per_node
