"""One-parameter models for toy studies, and the fit that every Delta chi^2 statistic needs.

A model (:class:`OneParameterModel`) gives, for a parameter theta restricted to ``[lo, hi]``:
``expected(theta)`` (..., n_obs), ``simulate(theta, n, rng)`` (n, n_obs) pseudo-measurements,
``chi2(data, theta)`` broadcasting (..., n_obs) with (...) to (...), and ``fit(data)`` -> (theta_hat,
chi2_min) over ``[lo, hi]`` for (n, n_obs) data. Profiling nuisance parameters inside ``chi2`` is the
model's job. Models double as their own recipes (``build()`` returns the model) when they are cheap;
a recipe that compiles a graph builds the model once per worker (:func:`.worker.built`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

import numpy as np
from scipy.optimize import elementwise

from bayes_nsi.inference.likelihoods import poisson_counting_chi2, split_normal_random

_X_TOL = 1e-10  # absolute theta tolerance of the refined minima
_FIT_ROWS = 1000  # data rows fitted together: bounds the (rows, grid, n_obs) temporaries


class OneParameterModel(Protocol):
    lo: float
    hi: float

    def expected(self, theta: np.ndarray) -> np.ndarray: ...

    def simulate(self, theta: float, n: int, rng: np.random.Generator) -> np.ndarray: ...

    def chi2(self, data: np.ndarray, theta: np.ndarray) -> np.ndarray: ...

    def fit(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


def _check_range(lo: float, hi: float) -> None:
    if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
        raise ValueError(f"lo, hi: need finite lo < hi, got {lo}, {hi}")


def check_grid(lo: float, hi: float, points: int) -> None:
    """A fit grid of ``points`` values on [lo, hi]: finite lo < hi, at least 3 points."""
    _check_range(lo, hi)
    if points < 3:
        raise ValueError(f"points: {points} must be >= 3")


class _ColumnScan:
    """What the models of measured data sets share: the expected events of their ``columns`` from ``events``
    (theta (n,) -> (n, n_datasets)), chi^2 from the subclass's ``_chi2_of_signal(data, signal)``, and the fit on
    ``points`` values of [lo, hi] (:func:`grid_fit`, in chunks of _FIT_ROWS rows)."""

    def _check_scan(self, n_datasets: int) -> None:
        check_grid(self.lo, self.hi, self.points)
        if not self.columns or any(not 0 <= c < n_datasets for c in self.columns):
            raise ValueError(f"columns: {self.columns} must index the {n_datasets} data sets")

    @cached_property
    def grid(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.points)

    @cached_property
    def _grid_expected(self) -> np.ndarray:
        return self.expected(self.grid)

    def expected(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, float)
        events = np.asarray(self.events(theta.reshape(-1)))[:, list(self.columns)]
        return events.reshape(theta.shape + (len(self.columns),))

    def chi2(self, data: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return self._chi2_of_signal(np.asarray(data, float), self.expected(theta))

    def fit(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        data = np.asarray(data, float)
        fits = [self._fit(data[i:i + _FIT_ROWS]) for i in range(0, len(data), _FIT_ROWS)]
        return np.concatenate([f[0] for f in fits]), np.concatenate([f[1] for f in fits])

    def _fit(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        on_grid = self._chi2_of_signal(data[:, None, :], self._grid_expected)
        return grid_fit(self.chi2, data, self.grid, on_grid)


@dataclass(frozen=True)
class GaussianMean:
    """x ~ N(theta, sigma) with theta in [lo, hi]: chi^2 = ((x - theta)/sigma)^2, fit = clip(x, lo, hi).

    With lo = 0 this is Feldman & Cousins' Gaussian mean bounded at zero (PRD 57, 3873 (1998), sec. IV.B).
    """

    sigma: float = 1.0
    lo: float = 0.0
    hi: float = 10.0

    def __post_init__(self) -> None:
        _check_range(self.lo, self.hi)
        if not self.sigma > 0:
            raise ValueError(f"sigma: {self.sigma} must be > 0")

    def build(self) -> GaussianMean:
        return self

    def expected(self, theta: np.ndarray) -> np.ndarray:
        return np.asarray(theta, float)[..., None]

    def simulate(self, theta: float, n: int, rng: np.random.Generator) -> np.ndarray:
        return theta + self.sigma * rng.standard_normal((n, 1))

    def chi2(self, data: np.ndarray, theta: np.ndarray) -> np.ndarray:
        return ((np.asarray(data)[..., 0] - theta) / self.sigma) ** 2

    def fit(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        best = np.clip(np.asarray(data)[:, 0], self.lo, self.hi)
        return best, self.chi2(data, best)


@dataclass(frozen=True)
class GaussianChi2(_ColumnScan):
    """The paper's chi^2 (eq. 20) in one coupling: sum_d ((R_d - N_d(theta)) / sigma_d)^2 over ``columns``.

    events: theta (n,) -> expected events (n, n_datasets) (e.g. one coupling of ``Chi2Scanner.events``);
    sigma: error per data set (events), same order; columns: the data sets of this chi^2 (one data set,
    or all for the combination). Pseudo-measurements are Gaussian around the expected events. The fit
    scans ``points`` values on [lo, hi] and refines the grid minima (:func:`grid_fit`).
    """

    events: Callable[[np.ndarray], np.ndarray]
    sigma: tuple[float, ...]
    columns: tuple[int, ...]
    lo: float
    hi: float
    points: int = 401

    def __post_init__(self) -> None:
        self._check_scan(len(self.sigma))
        if any(not s > 0 for s in self.sigma):
            raise ValueError(f"sigma: {self.sigma} must all be > 0")

    def build(self) -> GaussianChi2:
        return self

    @cached_property
    def _sigma(self) -> np.ndarray:
        return np.asarray(self.sigma, float)[list(self.columns)]

    def simulate(self, theta: float, n: int, rng: np.random.Generator) -> np.ndarray:
        mean = self.expected(np.array([theta]))
        return mean + self._sigma * rng.standard_normal((n, len(self.columns)))

    def _chi2_of_signal(self, data: np.ndarray, signal: np.ndarray) -> np.ndarray:
        return np.sum(((data - signal) / self._sigma) ** 2, axis=-1)


@dataclass(frozen=True)
class CountingChi2(_ColumnScan):
    """Poisson counting measurements in one parameter, backgrounds profiled in closed form, over ``columns``.

    Data set d counts n_d ~ Poisson(s_d(theta) + b_d) over a background b_d known from an auxiliary measurement
    a_d with a split-normal error (sigma_up above, sigma_down below). A pseudo-data row is (n_1..n_k, a_1..a_k)
    for the k columns: the counts and the auxiliary measurements (the global observables), both drawn with the
    true backgrounds at their published values (``background``), so that every fit profiles b_d against its
    toy's own a_d, as an experiment would (the frequentist toys of ATLAS/CMS and XENONnT's alea). chi^2 is
    sum_d :func:`~bayes_nsi.inference.likelihoods.poisson_counting_chi2`. ``observed`` and ``background`` give
    the real data row (:attr:`observed_row`). The fit is :func:`grid_fit` on ``points`` values of [lo, hi].
    """

    events: Callable[[np.ndarray], np.ndarray]
    observed: tuple[int, ...]
    background: tuple[float, ...]
    sigma_up: tuple[float, ...]
    sigma_down: tuple[float, ...]
    columns: tuple[int, ...]
    lo: float
    hi: float
    points: int = 401

    def __post_init__(self) -> None:
        n = len(self.observed)
        self._check_scan(n)
        if not len(self.background) == len(self.sigma_up) == len(self.sigma_down) == n:
            raise ValueError("background, sigma_up, sigma_down: need one value per data set of observed")
        if any(not s > 0 for s in self.sigma_up + self.sigma_down):
            raise ValueError("sigma_up, sigma_down: must all be > 0")

    def build(self) -> CountingChi2:
        return self

    def _of(self, values: tuple) -> np.ndarray:
        return np.asarray(values, float)[list(self.columns)]

    @property
    def observed_row(self) -> np.ndarray:
        """The real data (2k,): observed counts, then the published background expectations."""
        return np.concatenate([self._of(self.observed), self._of(self.background)])

    def simulate(self, theta: float, n: int, rng: np.random.Generator) -> np.ndarray:
        k, b = len(self.columns), self._of(self.background)
        counts = rng.poisson(self.expected(np.array([theta])) + b, size=(n, k))
        aux = split_normal_random(b, self._of(self.sigma_up), self._of(self.sigma_down), rng=rng, size=(n, k))
        return np.concatenate([counts, aux], axis=1).astype(float)

    def _chi2_of_signal(self, data: np.ndarray, signal: np.ndarray) -> np.ndarray:
        k = len(self.columns)
        chi2 = poisson_counting_chi2(signal, data[..., :k], data[..., k:], self._of(self.sigma_up),
                                     self._of(self.sigma_down))
        return np.sum(chi2, axis=-1)


def grid_fit(chi2: Callable[[np.ndarray, np.ndarray], np.ndarray], data: np.ndarray, grid: np.ndarray,
             on_grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Minimum over [grid[0], grid[-1]] of chi2(data_i, theta) for each row i of ``data``.

    chi2: (m, n_obs), (m,) -> (m,); on_grid: (n, n_grid) values on ``grid``. Candidates are every
    interior grid local minimum (three-point test, so a second valley of a bimodal chi^2 is refined
    too) and both ends; an end whose half-step point lies below the end and the next grid point is
    bracketed by (end, half-step, next grid point). All candidates of all rows are refined in one
    vectorized bounded minimization (``scipy.optimize.elementwise.find_minimum``); the smallest value per
    row wins.
    """
    n = on_grid.shape[0]
    fl, fm, fr = on_grid[:, :-2], on_grid[:, 1:-1], on_grid[:, 2:]
    rows, mids = np.nonzero((fm < fl) & (fm <= fr))
    mids = mids + 1
    lo_b, mid_b, hi_b = grid[mids - 1], grid[mids], grid[mids + 1]
    # ends: try the half step towards the neighbour
    end_rows = np.concatenate([np.arange(n), np.arange(n)])
    half = np.concatenate([np.full(n, 0.5 * (grid[0] + grid[1])), np.full(n, 0.5 * (grid[-2] + grid[-1]))])
    f_end = np.concatenate([on_grid[:, 0], on_grid[:, -1]])
    f_next = np.concatenate([on_grid[:, 1], on_grid[:, -2]])
    f_half = chi2(data[end_rows], half)
    dip = (f_half < f_end) & (f_half <= f_next)
    left = np.arange(2 * n) < n
    rows = np.concatenate([rows, end_rows[dip]])
    lo_b = np.concatenate([lo_b, np.where(left, grid[0], grid[-2])[dip]])
    mid_b = np.concatenate([mid_b, half[dip]])
    hi_b = np.concatenate([hi_b, np.where(left, grid[1], grid[-1])[dip]])

    best_i = np.argmin(on_grid, axis=1)
    theta_hat, chi2_min = grid[best_i], on_grid[np.arange(n), best_i]
    if rows.size:
        res = elementwise.find_minimum(lambda t, r: chi2(data[r.astype(int)], t), (lo_b, mid_b, hi_b),
                                       args=(rows.astype(float),), tolerances={"xatol": _X_TOL, "xrtol": 0.0})
        order = np.lexsort((res.f_x, rows))  # per row, smallest refined value first
        first = np.unique(rows[order], return_index=True)[1]
        r, x, f = rows[order][first], res.x[order][first], res.f_x[order][first]
        better = f < chi2_min[r]
        theta_hat[r[better]], chi2_min[r[better]] = x[better], f[better]
    return theta_hat, chi2_min


def delta_chi2_at(model: OneParameterModel, data: np.ndarray, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """Delta chi^2(theta) = chi^2(theta) - min over [lo, hi], for each row of ``data`` (n, n_obs).

    Returns (delta, theta_hat). theta itself bounds the minimum from above, so delta >= 0 even where
    the fit's tolerance leaves the minimum a hair above chi^2(theta).
    """
    at = model.chi2(data, np.full(len(data), theta))
    theta_hat, chi2_min = model.fit(data)
    lower = at < chi2_min
    return at - np.minimum(chi2_min, at), np.where(lower, theta, theta_hat)
