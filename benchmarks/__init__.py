"""padstride benchmarks: each module measures padstride against a named peer in the same run.

``python -m benchmarks`` runs them all; ``python -m benchmarks.engine`` runs one.
Results go to ``benchmarks/results/<name>.json`` and a section of ``docs/performance.md``.
"""
