"""The data of an analysis: the chosen data sets (with any spec overrides) and one likelihood term each.

``chi2_per_dataset`` and ``log_likelihood`` apply the terms of :mod:`bayes_nsi.inference.likelihoods`
to expected events of shape (..., n_datasets), on numpy arrays or PyTensor tensors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.registry import resolve
from bayes_nsi.inference.likelihoods import LikelihoodTerm, term

SIGNAL = "signal"  # name of the observed vector of the Gaussian and split-normal measurements in a posterior


@dataclass(frozen=True)
class Observations:
    """Data sets (overrides applied) and their likelihood terms, in the same order."""

    sources: tuple[DataSet, ...]
    terms: tuple[LikelihoodTerm, ...]

    @property
    def datasets(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.sources)

    @property
    def likelihoods(self) -> dict[str, str]:
        return {t.dataset: t.name for t in self.terms}

    @property
    def exposure_tonne_year(self) -> np.ndarray:
        return np.array([d.exposure_tonne_year for d in self.sources])


def with_overrides(dataset: DataSet, override: Mapping[str, float]) -> DataSet:
    """A data set with a spec's ``measurements`` override: value, sigma (split errors scaled alike), exposure."""
    s = dataset.signal
    sigma = float(override.get("sigma", s.sigma))
    ratio = sigma / s.sigma
    signal = dataclasses.replace(s, value=float(override.get("value", s.value)), sigma=sigma,
                                 sigma_up=s.sigma_up * ratio, sigma_down=s.sigma_down * ratio)
    exposure = float(override.get("exposure_tonne_year", dataset.exposure_tonne_year))
    # the paper normalization scales with exposure (DataSet.detector); keep the Table II reference
    paper_sm = dataset.paper_sm_events * exposure / dataset.exposure_tonne_year
    return dataclasses.replace(dataset, signal=signal, exposure_tonne_year=exposure, paper_sm_events=paper_sm)


def observations(datasets: Iterable[str | DataSet], overrides: Mapping[str, Mapping[str, float]] | None = None,
                 error_scale: float = 1.0, likelihoods: Mapping[str, str] | None = None) -> Observations:
    """The data of an analysis: ``overrides[name]`` may set value, sigma, exposure_tonne_year;
    ``likelihoods[name]`` chooses a data set's likelihood (default ``gaussian``); error_scale multiplies
    the measurement errors (exposure projections scale them by 1/sqrt(f))."""
    overrides, likelihoods = dict(overrides or {}), dict(likelihoods or {})
    sources = resolve(datasets)
    names = [d.name for d in sources]
    for field, given in (("measurements", overrides), ("likelihood", likelihoods)):
        extra = [n for n in given if n not in names]
        if extra:
            raise ValueError(f"{field}.{extra[0]}: data set is not in datasets; allowed: {', '.join(names)}")
    sources = tuple(with_overrides(d, overrides[d.name]) if d.name in overrides else d for d in sources)
    terms = tuple(term(d, likelihoods.get(d.name, "gaussian"), error_scale) for d in sources)
    return Observations(sources, terms)


def chi2_per_dataset(events, obs: Observations):
    """-2 ln L per data set (eq. 20 for Gaussian terms), nuisances profiled; (..., n) -> (..., n)."""
    columns = [t.chi2(events[..., i]) for i, t in enumerate(obs.terms)]
    return pt.stack(columns, axis=-1) if isinstance(events, pt.Variable) else np.stack(columns, axis=-1)


def log_likelihood(events: np.ndarray, obs: Observations) -> np.ndarray:
    """Normalized ln L summed over data sets, nuisances integrated; (..., n) -> (...)."""
    return sum(t.log_likelihood(events[..., i]) for i, t in enumerate(obs.terms))


def exposures(obs: Observations) -> dict[str, float]:
    """Exposure per data set (tonne-year), as the physics model takes it."""
    return {d.name: d.exposure_tonne_year for d in obs.sources}


def combine(chi2: np.ndarray, obs: Observations) -> dict[str, np.ndarray]:
    """Per-data-set chi-square columns plus their sum 'combined' (sec. IV) when there are several."""
    out = {d: chi2[..., i] for i, d in enumerate(obs.datasets)}
    if len(obs.datasets) > 1:
        out["combined"] = chi2.sum(-1)
    return out


def select(obs: Observations, names: Iterable[str]) -> Observations:
    """The observations of some data sets only, in the given order."""
    index = {n: i for i, n in enumerate(obs.datasets)}
    cols = [index[n] for n in names]
    return Observations(tuple(obs.sources[i] for i in cols), tuple(obs.terms[i] for i in cols))
