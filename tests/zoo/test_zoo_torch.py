"""Models others wrote, read statically and checked against their real forward (issue 12).

For every torchvision and timm model of the zoo (random init, two input sizes each, see
:mod:`tests.zoo._zoo`): padstride's parameter total equals ``sum(p.numel() for p in
model.parameters())``; every node padstride records under a module path has the output shape
that module produced in a real forward (forward hooks, batch 1; modules called once); the final
output shape is the model's; and no error is reported at a size where the model runs.

``KNOWN_FAILING`` (``_known.py``) lists what padstride does not read yet, with the reason, as
strict xfails: a model that starts passing fails the run (XPASS) until it is removed from the list
(``python -m tests.zoo.status`` prints the list for the code as it is).
"""

from __future__ import annotations

import pytest

from padstride.analysis import analyze

from ._known import TORCH as KNOWN_FAILING
from ._zoo import build, cases, forward_shapes

pytestmark = pytest.mark.zoo


def _params() -> list[object]:
    out = []
    for zoo, name, size in cases():
        key = f"{zoo}/{name}"
        reason = KNOWN_FAILING.get(f"{key}@{size}", KNOWN_FAILING.get(key))
        marks = [pytest.mark.xdist_group(key)]
        if reason:
            marks.append(pytest.mark.xfail(reason=reason, strict=True))
        out.append(pytest.param(zoo, name, size, marks=marks, id=f"{key}@{size}"))
    return out


def check_model(zoo: str, name: str, size: int) -> int:
    """Run every check; returns how many layer shapes were compared."""
    model, shape = build(zoo, name, size)
    s = analyze(model, shape)
    out, real = forward_shapes(model, shape)  # after the read: it must leave nothing (meta caches) behind
    assert not s.errors, "; ".join(s.errors[:3])
    torch_params = sum(p.numel() for p in model.parameters())
    assert s.total_params == torch_params, f"params: padstride {s.total_params:,}, torch {torch_params:,}"
    compared, wrong = 0, []
    for info in s.layers:
        calls = real.get(info.name)
        if calls is None or len(calls) != 1 or calls[0] is None:
            continue  # not a module path, a module called several times, or a non-tensor output
        compared += 1
        if s.output_shape(info) != calls[0]:
            wrong.append(f"{info.name}: padstride {s.output_shape(info)}, torch {calls[0]}")
    assert not wrong, f"{len(wrong)} of {compared} layer shapes differ: " + "; ".join(wrong[:5])
    assert compared > 0, "no layer of the summary matches a module path of the model"
    final = s.output_shape(s.layer(s.graph.outputs[0]))
    assert final == tuple(out.shape[1:]), f"output: padstride {final}, torch {tuple(out.shape[1:])}"
    return compared


@pytest.mark.parametrize(("zoo", "name", "size"), _params())
def test_zoo_model_matches_its_forward(zoo: str, name: str, size: int) -> None:
    check_model(zoo, name, size)
