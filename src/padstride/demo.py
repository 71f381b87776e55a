"""``make demo``: a short tour of padstride on the seeds' examples."""

from __future__ import annotations

import sys

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


def main() -> int:
    for title, argv in TOUR:
        print(f"\n=== {title}\n$ padstride {' '.join(argv)}\n", flush=True)
        code = cli_main(argv)
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
