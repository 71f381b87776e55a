"""Run every benchmark module in turn."""

import importlib
import pkgutil
import sys
from pathlib import Path

names = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_")]
flags = next((i for i, a in enumerate(sys.argv[1:]) if a.startswith("-")), len(sys.argv) - 1)
selected = sys.argv[1:1 + flags] or names  # the benchmarks named before the first flag; flags are theirs
for name in selected:
    print(f"== benchmarks.{name}", flush=True)
    importlib.import_module(f"benchmarks.{name}").main()
