"""The analysis runners, one per spec kind, imported only when a run needs them.

Each runner is ``run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict``: it writes its files into
``out`` (the temporary result folder) and returns extra manifest fields, e.g. ``{"timings": {...}}``.
"""

import importlib
from collections.abc import Callable
from pathlib import Path

Runner = Callable[[object, Path, Callable[[str], None]], dict]  # (typed Spec, folder, log)

RUNNERS = {
    "frequentist": "bayes_nsi.app.runners.frequentist:run",
    "posterior": "bayes_nsi.app.runners.posterior_engines:run",
    "compare": "bayes_nsi.app.runners.compare:run",
    "projection": "bayes_nsi.app.runners.projection:run",
    "measurements": "bayes_nsi.app.runners.measurements:run",
    "coverage": "bayes_nsi.app.runners.coverage:run",
    "feldman_cousins": "bayes_nsi.app.runners.feldman_cousins:run",
    "sbc": "bayes_nsi.app.runners.sbc:run",
    "binned": "bayes_nsi.app.runners.binned:run",
    "constraints": "bayes_nsi.app.runners.constraints:run",
}


def get_runner(kind: str) -> Runner:
    """Import and return the runner of an analysis kind."""
    if kind not in RUNNERS:
        raise ValueError(f"unknown analysis kind {kind!r}; allowed: {', '.join(RUNNERS)}")
    module, _, name = RUNNERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)
