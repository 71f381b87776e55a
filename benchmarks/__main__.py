"""Run every benchmark module in turn."""

import importlib
import pkgutil
import sys
from pathlib import Path

names = [m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if not m.name.startswith("_")]
selected = sys.argv[1:] or names
for name in selected:
    print(f"== benchmarks.{name}", flush=True)
    importlib.import_module(f"benchmarks.{name}").main()
