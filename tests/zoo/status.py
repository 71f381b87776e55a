"""Which zoo models padstride reads today: ``python -m tests.zoo.status [torchvision|timm|onnx]``.

Runs the zoo's checks outside pytest and prints the ``TORCH`` and ``ONNX`` dicts of ``_known.py``
(one-line reasons), and the count read / tried on stderr.
"""

from __future__ import annotations

import sys
import warnings


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def main(argv: list[str]) -> None:
    import torch

    from ._zoo import cases

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    wanted = set(argv)
    failing: dict[str, str] = {}
    tried = 0
    if not wanted or wanted - {"onnx"}:
        from .test_zoo_torch import check_model

        for zoo, name, size in cases():
            if wanted and zoo not in wanted:
                continue
            tried += 1
            try:
                check_model(zoo, name, size)
            except Exception as exc:  # any failure is a reason to list
                failing[f"{zoo}/{name}@{size}"] = _reason(exc)
            print(f"{zoo}/{name}@{size}", failing.get(f"{zoo}/{name}@{size}", "ok"), file=sys.stderr, flush=True)
    if "onnx" in wanted:
        import tempfile
        from pathlib import Path

        from .test_zoo_onnx import EXPORTS, test_exported_zoo_model_matches_onnxruntime

        for name, size in EXPORTS.items():
            tried += 1
            with tempfile.TemporaryDirectory() as tmp:
                try:
                    test_exported_zoo_model_matches_onnxruntime(name, size, Path(tmp))
                except Exception as exc:
                    failing[f"onnx/{name}"] = _reason(exc)
            print(f"onnx/{name}", failing.get(f"onnx/{name}", "ok"), file=sys.stderr, flush=True)
    merged: dict[str, str] = {}
    for key, reason in failing.items():  # both sizes failing for one reason: one entry for the model
        model = key.split("@")[0]
        same = [r for k, r in failing.items() if k.split("@")[0] == model]
        total = sum(1 for z, n, _ in cases() if f"{z}/{n}" == model)
        merged[model if len(same) == total and len(set(same)) == 1 else key] = reason
    print("TORCH: dict[str, str] = {")
    for key, reason in merged.items():
        if not key.startswith("onnx/"):
            print(f"    {key!r}: {reason!r},")
    print("}\nONNX: dict[str, str] = {")
    for key, reason in merged.items():
        if key.startswith("onnx/"):
            print(f"    {key[5:]!r}: {reason!r},")
    print("}")
    print(f"# read {tried - len(failing)} of {tried}", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:])
