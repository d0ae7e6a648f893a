"""Measurements of Table II and the paper's Gaussian chi-square (eq. 20), on the physics graph."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from bayes_nsi.physics.constants import MEASUREMENTS


@dataclass(frozen=True)
class Observations:
    """Measured 8B signals of the chosen data sets (Table II), with any spec overrides applied."""

    datasets: tuple[str, ...]
    value: np.ndarray
    sigma: np.ndarray  # symmetric error used by eq. (20)
    sigma_up: np.ndarray
    sigma_down: np.ndarray
    exposure_tonne_year: np.ndarray


def observations(datasets: Sequence[str], overrides: Mapping[str, Mapping[str, float]] | None = None,
                 error_scale: float = 1.0) -> Observations:
    """Table II values for ``datasets``; ``overrides[d]`` may set value, sigma, exposure_tonne_year.

    error_scale multiplies every error (exposure projections scale errors by 1/sqrt(f)).
    """
    overrides = overrides or {}
    rows = []
    for d in datasets:
        m, o = MEASUREMENTS[d], overrides.get(d, {})
        sigma = float(o.get("sigma", m.sigma))
        ratio = sigma / m.sigma
        rows.append((float(o.get("value", m.value)), sigma, m.sigma_up * ratio, m.sigma_down * ratio,
                     float(o.get("exposure_tonne_year", m.exposure_tonne_year))))
    value, sigma, up, down, exposure = (np.array(c) for c in zip(*rows, strict=True))
    return Observations(tuple(datasets), value, sigma * error_scale, up * error_scale, down * error_scale, exposure)


def chi2_per_dataset(events, obs: Observations):
    """chi^2_d = ((R_exp,d - R_th,d) / sigma_d)^2 (eq. 20); events (..., n_datasets) -> (..., n_datasets)."""
    return ((obs.value - events) / obs.sigma) ** 2


def exposures(obs: Observations) -> dict[str, float]:
    """Exposure per data set (tonne-year), as the physics model takes it."""
    return dict(zip(obs.datasets, obs.exposure_tonne_year.tolist(), strict=True))


def combine(chi2: np.ndarray, obs: Observations) -> dict[str, np.ndarray]:
    """Per-data-set chi-square columns plus their sum 'combined' (sec. IV) when there are several."""
    out = {d: chi2[..., i] for i, d in enumerate(obs.datasets)}
    if len(obs.datasets) > 1:
        out["combined"] = chi2.sum(-1)
    return out

