"""``make demo``: a short tour of padstride on the seeds' examples."""

from __future__ import annotations

import sys

from .cli import main as cli_main

TOUR: tuple[tuple[str, list[str]], ...] = (
    ("Seed 000: TF SAME, kernel 7, stride 2, on a 28x28 image",
     ["explain", "--input", "28,28", "--kernel", "7", "--stride", "2", "--padding", "same"]),
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
