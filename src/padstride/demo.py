"""``make demo``: a short tour of padstride on the seeds' examples, then the quick built-in study.

The study trains the seed 001 slide 4 CNN in valid, same, strided, full and mixed padding on
scikit-learn's digits placed anywhere on a 28×28 canvas (2 seeds each, about a minute on two CPU
cores) and writes ``demo/report.html`` and ``demo/report.md``. Rerunning resumes: finished
records in ``demo/results.jsonl`` are skipped.
"""

from __future__ import annotations

import sys
import time

from .cli import main as cli_main

TOUR: tuple[tuple[str, list[str]], ...] = (
    ("Seed 000: TF SAME with kernel 7, stride 2 on 28x28 — the pads manual_same_padding adds",
     ["explain", "--input", "28,28", "--kernel", "7", "--stride", "2", "--padding", "same"]),
    ("Seed 001 slide 2: 'same' for an even kernel is asymmetric (the seed pads (k-1)//2 on both sides)",
     ["explain", "--input", "6,6", "--kernel", "4", "--padding", "same"]),
    ("Seeds 003/004: strided SAME conv on 28x28 — the odd pixel goes after (TF), PyTorch has no name for it",
     ["explain", "--input", "28,28", "--kernel", "3", "--stride", "2", "--padding", "same"]),
    ("Seed 001 slide 4: MaxPooling2D((2, 2)) after a valid conv drops the last row and column of 13x13",
     ["explain", "--op", "maxpool", "--input", "13,13", "--kernel", "2"]),
)

#: The study step: the quick classification study on embedded digits, with its report.
STUDY: tuple[str, list[str]] = (
    "Seed 001 slides 4 and 8-11 as a study: valid vs same vs strided vs full vs mixed on digits near the border",
    ["study", "classification", "--quick", "--out", "demo/results.jsonl", "--report", "demo/report.html"],
)


def main() -> int:
    for title, argv in (*TOUR, STUDY):
        print(f"\n=== {title}\n$ padstride {' '.join(argv)}\n", flush=True)
        start = time.perf_counter()
        code = cli_main(argv)
        if code:
            return code
    print(f"\nstudy step: {time.perf_counter() - start:.0f} s; open demo/report.html", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
