"""bayes_nsi: Bayesian and frequentist constraints on neutrino NSI from solar-8B CEvNS in xenon.

Public API: :func:`survival_probability` (and :func:`survival_probabilities` for many coupling vectors at once),
:func:`expected_events`, :func:`sm_events`, and the names
of the couplings (:data:`COUPLINGS`) and data sets (:data:`DATASETS`). They are imported lazily, so
that ``bayes-nsi validate`` and spec errors never load PyTensor.
"""

__all__ = ["COUPLINGS", "DATASETS", "expected_events", "sm_events", "survival_probabilities", "survival_probability"]
_LAZY = {"expected_events": "app.api", "sm_events": "app.api", "survival_probability": "app.api",
         "survival_probabilities": "app.api",
         "DATASETS": "experiments.registry", "COUPLINGS": "names"}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'bayes_nsi' has no attribute {name!r}")
