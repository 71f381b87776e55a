"""Training throughput of padstride.studies' loop vs a plain hand-written PyTorch loop, same model, same run.

Both loops train a fresh copy of the same initial model on the same in-memory digits with Adam;
runs alternate (study first on even repeats, plain first on odd ones) and the best run of each
(timeit's rule: other jobs only ever slow a run down) is compared, with every core (wall clock)
and with one thread (CPU time). Medians are kept in the JSON. Target: the study loop reaches
>= 0.95x the plain loop.
"""

from __future__ import annotations

import copy
import statistics
import time

from benchmarks._report import write_results

CASES = (  # (label, arch, variant kwargs)
    ("slide4 same", "slide4", {"padding": "same"}),
    ("slide4 valid", "slide4", {"padding": "valid"}),
    ("slide4 strided (TF same, s=2)", "slide4", {"padding": "same", "stride": [2, 2, 1], "pool": False}),
)
N, BATCH, REPEATS = 1024, 64, 9


def plain_loop(model, x, y, batch_size: int, seed: int) -> None:
    """The loop one writes by hand."""
    import torch
    import torch.nn.functional as F

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    order = torch.randperm(len(x), generator=gen)
    for i in range(0, len(x), batch_size):
        idx = order[i:i + batch_size]
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()


def _timed(run, clock) -> float:
    start = clock()
    run()
    return N / (clock() - start)


def measure(initial, x, y, clock) -> tuple[list[float], list[float]]:
    """Samples/s of the study loop and of the plain loop, alternating which goes first."""
    from padstride.studies.train import fit

    ours, plain = [], []
    for r in range(REPEATS):
        pair = [
            (ours, lambda r=r: fit(copy.deepcopy(initial), x, y, epochs=1, batch_size=BATCH, seed=r)),
            (plain, lambda r=r: plain_loop(copy.deepcopy(initial), x, y, BATCH, seed=r)),
        ]
        for out, run in pair if r % 2 == 0 else pair[::-1]:
            out.append(_timed(run, clock))
    return ours, plain


def main() -> None:
    import torch

    from padstride.studies.digits import digits_on_canvas
    from padstride.studies.models import build_classifier
    from padstride.studies.train import fit, set_threads

    data = digits_on_canvas(N, 10, seed=0)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    rows = []
    for threads, clock, clock_name in ((0, time.perf_counter, "wall"), (1, time.process_time, "cpu")):
        threads = set_threads(threads)
        for label, arch, kwargs in CASES:
            torch.manual_seed(0)
            initial = build_classifier(arch, input_shape=(1, 28, 28), num_classes=10, **kwargs)
            fit(copy.deepcopy(initial), x[:256], y[:256], epochs=1, batch_size=BATCH)  # warm up kernels
            ours, plain = measure(initial, x, y, clock)
            row = {"case": label, "threads": threads, "clock": clock_name,
                   "study_samples_per_s": max(ours), "plain_samples_per_s": max(plain),
                   "median_ratio": statistics.median(ours) / statistics.median(plain),
                   "study_runs": ours, "plain_runs": plain}
            row["ratio"] = row["study_samples_per_s"] / row["plain_samples_per_s"]
            rows.append(row)
            print(f"{label:32} {threads} thr {clock_name:4} study {row['study_samples_per_s']:7.0f}/s  "
                  f"plain {row['plain_samples_per_s']:7.0f}/s  ratio {row['ratio']:.3f} "
                  f"(medians {row['median_ratio']:.3f})", flush=True)
    lines = [
        f"Training throughput on 28×28 digits, batch {BATCH}, {N} samples per run, Adam; best of {REPEATS} "
        "alternating runs (median ratio alongside). Peer: a plain hand-written PyTorch loop on the same model "
        "(padstride.torch layers), same initial weights, same data. `wall` = all cores, wall clock; `cpu` = one "
        "thread, process CPU time (robust when other jobs share the machine). Target: ratio ≥ 0.95.",
        "",
        "| model | threads | clock | study loop samples/s | plain loop samples/s | ratio | median ratio |",
        "|---|---:|---|---:|---:|---:|---:|",
        *[f"| {r['case']} | {r['threads']} | {r['clock']} | {r['study_samples_per_s']:,.0f} | "
          f"{r['plain_samples_per_s']:,.0f} | {r['ratio']:.3f} | {r['median_ratio']:.3f} |" for r in rows],
    ]
    write_results("study", {"batch": BATCH, "samples": N, "repeats": REPEATS, "cases": rows},
                  "\n".join(lines), "Study training loop vs a plain PyTorch loop")


if __name__ == "__main__":
    main()
