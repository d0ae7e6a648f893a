"""Runner of ``kind = "posterior"``: the engine the spec asks for.

``[binned]``: the binned likelihoods (``runners.binned_posterior``); ``sampler.engine = "quadrature"``: draws on a
grid (``runners.grid_posterior``, which imports neither PyMC nor ArviZ); otherwise NUTS (``runners.posterior``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bayes_nsi.app.typed_spec import Spec


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run a posterior spec into ``out`` with its engine; return the manifest extras."""
    if spec.binned:
        from bayes_nsi.app.runners.binned_posterior import run as engine
    elif spec.sampler.engine == "quadrature":
        from bayes_nsi.app.runners.grid_posterior import run as engine
    else:
        from bayes_nsi.app.runners.posterior import run as engine
    return engine(spec, out, log)
