"""padstride.studies — the seeds' experiments as reproducible, resumable runs with a report.

>>> from padstride.studies import load_study, plan
>>> study = load_study("classification", quick=True)
>>> len(plan(study)[0])  # five variants × two seeds
10

Data are offline and deterministic (:mod:`.digits`, :mod:`.shapes`, :mod:`.idx` for local MNIST);
results go to a JSONL store (:mod:`.store`) one record per (study, variant, seed); reports are one
self-contained HTML file (:mod:`.report`). torch, matplotlib, rich and yaml load lazily.
"""

from .aggregate import aggregate
from .errors import StudyError
from .runner import RunSummary, execute, plan, run_study
from .spec import Study, builtin_studies, load_study, parse_study
from .store import ResultsStore

__all__ = [
    "ResultsStore",
    "RunSummary",
    "Study",
    "StudyError",
    "aggregate",
    "builtin_studies",
    "execute",
    "load_study",
    "parse_study",
    "plan",
    "run_study",
]
