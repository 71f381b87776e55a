"""By hand, in the zoo venv: read torchvision/timm models and compare with a real forward.

    PYTHONPATH=src .venv-zoo/bin/python tests/analysis/torch_zoo_by_hand.py [SIZE ...] [--only NAME ...]

Per model: total params equal torch's, every layer that is a node has the shape the real forward
hooks saw, the outputs' shapes equal; prints the reader used and the time. Not a test (it needs
torchvision and timm, and minutes); the zoo harness is the test.
"""

from __future__ import annotations

import sys
import time
import traceback

import torch

from padstride.analysis import analyze

TORCHVISION = ["alexnet", "vgg11", "resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2", "densenet121",
               "googlenet", "inception_v3", "mobilenet_v2", "mobilenet_v3_small", "mnasnet0_5", "shufflenet_v2_x0_5",
               "squeezenet1_0", "efficientnet_b0", "efficientnet_v2_s", "regnet_x_400mf", "regnet_y_400mf",
               "convnext_tiny", "vit_b_16", "swin_t", "swin_v2_t", "maxvit_t"]
TIMM = ["resnet18", "efficientnet_b0", "tf_efficientnet_b0", "mobilenetv3_small_050", "mixnet_s", "regnetx_002",
        "cspdarknet53", "convnext_atto", "poolformer_s12", "dla34", "hrnet_w18_small", "nfnet_l0",
        "efficientformer_l1", "maxvit_tiny_tf_224", "vit_tiny_patch16_224", "deit_tiny_patch16_224",
        "swin_tiny_patch4_window7_224", "coat_lite_tiny", "levit_128s", "rexnet_100", "ghostnet_100", "dpn68",
        "res2net50_26w_4s", "sknet18" if False else "skresnet18", "densenet121", "vovnet39a", "tresnet_m",
        "xception41", "inception_v4", "repvgg_a0", "mobilevit_xxs", "edgenext_xx_small", "convmixer_768_32",
        "gernet_s", "selecsls42b", "hardcorenas_a", "lcnet_050", "fbnetc_100", "botnet26t_256", "resnest14d"]


FIXED = ("vit_", "deit_", "swin_tiny", "coat_", "levit", "maxvit", "efficientformer", "botnet", "tresnet")


def real_shapes(net: torch.nn.Module, x: torch.Tensor) -> tuple[dict[str, tuple[int, ...]], list[tuple[int, ...]]]:
    shapes: dict[str, tuple[int, ...]] = {}
    hooks = []
    for name, m in net.named_modules():
        if not name:
            continue

        def record(mod: object, args: object, out: object, name: str = name) -> None:
            if isinstance(out, torch.Tensor):
                shapes.setdefault(name, tuple(out.shape[1:]))

        hooks.append(m.register_forward_hook(record))
    try:
        with torch.no_grad():
            out = net(x)
    finally:
        for h in hooks:
            h.remove()
    outs = [out] if isinstance(out, torch.Tensor) else [t for t in (out.values() if isinstance(out, dict) else out)
                                                        if isinstance(t, torch.Tensor)]
    return shapes, [tuple(t.shape[1:]) for t in outs]


def check(label: str, net: torch.nn.Module, size: int) -> tuple[bool, str]:
    net.eval()
    shape = (3, size, size)
    try:
        real, outs = real_shapes(net, torch.zeros(1, *shape))
    except Exception as exc:
        torch_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    else:
        torch_error = ""
    t0 = time.perf_counter()
    try:
        s = analyze(net, shape)
    except Exception as exc:
        msg = str(exc)
        if torch_error:  # both refuse: padstride's one line must say why
            return bool(msg) and "\n" not in msg, f"both fail | padstride: {msg[:200]} | torch: {torch_error[:100]}"
        return False, f"padstride fails: {msg[:300]}"
    ms = (time.perf_counter() - t0) * 1000
    if torch_error:
        return bool(s.errors), f"torch fails ({torch_error[:120]}); padstride errors: {s.errors[:1]}"
    problems = []
    total = sum(p.numel() for p in net.parameters())
    if s.total_params != total:
        problems.append(f"params {s.total_params} vs {total}")
    bad = [(n.name, s.layer(n.name).shape, real[n.name]) for n in s.graph.nodes
           if n.name in real and s.layer(n.name).shape != real[n.name]]
    if bad:
        problems.append(f"{len(bad)} layers differ, e.g. {bad[:2]}")
    got = [s.layer(o).shape for o in s.graph.outputs]
    if got != outs:
        problems.append(f"outputs {got} vs {outs}")
    if s.errors:
        problems.append(f"errors {s.errors[:1]}")
    if s.graph.notes:
        problems.append(f"notes {s.graph.notes[:2]}")
    layers = sum(1 for n in s.graph.nodes if n.name in real)
    return not problems, f"{s.graph.reader:5s} {ms:7.1f} ms {layers:4d} layers checked " + "; ".join(problems)


def main(argv: list[str]) -> int:
    only = argv[argv.index("--only") + 1:] if "--only" in argv else None
    sizes = [int(a) for a in (argv[:argv.index("--only")] if only is not None else argv)] or [225]
    import timm
    import torchvision.models as tv

    torch.manual_seed(0)
    cases = [(f"tv.{n}", lambda n=n: tv.get_model(n, weights=None)) for n in TORCHVISION]
    cases += [(f"timm.{n}", lambda n=n: timm.create_model(n, pretrained=False)) for n in TIMM]
    ok = tried = 0
    readers: dict[str, int] = {}
    for label, make in cases:
        if only and not any(o in label for o in only):
            continue
        try:
            net = make()
        except Exception as exc:
            print(f"SKIP {label}: cannot build ({exc})", flush=True)
            continue
        for size in sizes if not any(f in label for f in FIXED) else [224]:
            tried += 1
            try:
                good, text = check(label, net, size)
            except Exception:
                good, text = False, "check crashed: " + traceback.format_exc().splitlines()[-1]
            ok += good
            reader = (text.split()[0] if text.split()[0] in ("trace", "meta") else "refused") if good else "-"
            readers[reader] = readers.get(reader, 0) + 1
            print(f"{'OK  ' if good else 'FAIL'} {label}@{size}: {text}", flush=True)
    print(f"read exactly: {ok}/{tried}; readers: {readers}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
