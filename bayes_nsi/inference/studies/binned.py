"""A binned template likelihood (XENONnT's data releases) in one coupling, as a study model.

Pseudo-data of a binned release are the counts in every run and bin and the auxiliary measurements of its
constrained nuisances (the global observables): counts ~ Poisson(mu_rb(theta_true, nu_true)), auxiliaries ~
N(nu_true_k, sigma_k), with the true nuisances at their nominal values, and every fit profiles all nuisances
against its toy's own auxiliaries (the frequentist toys of XENONnT's alea and of ATLAS/CMS). A row of pseudo-data is
(counts flattened over runs and bins, auxiliaries of the constrained nuisances in the model's order).

:class:`ToyProfiler` is the binned profiler with the counts and the constraint centres as inputs of the compiled
value and gradient. :class:`BinnedChi2` scans each toy on ``points`` values of [lo, hi] (nuisances warm-started
from the previous point), then refines every grid minimum and a dipping end by a bounded scalar minimization. The
8B templates along the coupling come from a cubic spline over ``template_points`` evaluations of the physics graph
(the templates are smooth in theta; the spline's error is checked in the tests), so a toy never calls the physics.
:class:`BinnedCoupling` is the recipe (one binned data set, one coupling, the others zero).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pytensor.tensor as pt
from scipy.interpolate import CubicSpline
from scipy.optimize import minimize_scalar

from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_fit import Profiler, SignalFolder, binned_model_of, one_thread
from bayes_nsi.inference.priors import b16_flux
from bayes_nsi.inference.studies.models import check_grid
from bayes_nsi.inference.studies.worker import cached
from bayes_nsi.physics.couplings import COUPLINGS

THETA_TOL = 1e-5  # absolute tolerance of a refined minimum in the coupling (intervals are quoted to 1e-2)


class ToyProfiler(Profiler):
    """-2 ln L of a binned model for pseudo-data, minimized over the nuisances.

    ``signal`` of every method is the triple (templates (runs, A, A, bins) per t*yr, counts (runs, bins), centres
    (n_constrained,)). -2 ln L drops the constant 2 sum ln n!, which cancels in every Delta chi^2 of one toy.
    """

    def _objective(self, params: Mapping) -> tuple[list, pt.TensorVariable]:
        templates = pt.tensor("signal", shape=(None,) * 4, dtype="float64")
        counts, centres = pt.dmatrix("counts"), pt.dvector("centres")
        value = bn.poisson_deviance(bn.expected_counts(self.model, templates, params), counts, 0.0)
        for j, n in enumerate(self.constrained):
            value = value + ((params[n.name] - centres[j]) / n.sigma) ** 2
        return [templates, counts, centres], value

    @property
    def constrained(self) -> tuple:
        """The nuisances with a Gaussian constraint, in the model's order (their centres are an input)."""
        return tuple(n for n in self.model.nuisances if n.sigma is not None)


@dataclass
class BinnedChi2:
    """One binned data set in one parameter theta on [lo, hi]: toys, profiled -2 ln L and its minimum per toy.

    theta_nodes, templates: the spline's nodes (n,) and the 8B templates there (n, runs, A, A, bins), events per
    t*yr at the flux the rate nuisance is constrained about.
    """

    profiler: ToyProfiler
    theta_nodes: np.ndarray
    templates: np.ndarray
    lo: float
    hi: float
    points: int = 41

    def __post_init__(self) -> None:
        check_grid(self.lo, self.hi, self.points)
        if self.theta_nodes[0] > self.lo or self.theta_nodes[-1] < self.hi:
            raise ValueError(f"theta_nodes: [{self.theta_nodes[0]}, {self.theta_nodes[-1]}] must cover "
                             f"[lo, hi] = [{self.lo}, {self.hi}]")

    @cached_property
    def _spline(self) -> CubicSpline:
        return CubicSpline(self.theta_nodes, self.templates, axis=0)

    @cached_property
    def grid(self) -> np.ndarray:
        return np.linspace(self.lo, self.hi, self.points)

    @property
    def _shape(self) -> tuple[int, int]:
        return self.profiler.model.observed.shape

    @property
    def observed_row(self) -> np.ndarray:
        """The real data: observed counts (flattened), then the constraint centres as published."""
        return np.concatenate([self.profiler.model.observed.ravel(), [n.nominal for n in self.profiler.constrained]])

    def template(self, theta: float) -> np.ndarray:
        return self._spline(theta)

    def expected(self, theta: float) -> np.ndarray:
        """Expected counts (runs, bins) at theta with every nuisance nominal."""
        model = self.profiler.model
        return bn.expected_counts(model, self.template(theta), dict(zip(model.parameter_names, self.profiler.nominal,
                                                                         strict=True)))

    def simulate(self, theta: float, n: int, rng: np.random.Generator) -> np.ndarray:
        mu = self.expected(theta).ravel()
        counts = rng.poisson(mu, size=(n, mu.size))
        c = self.profiler.constrained
        centres = np.array([k.nominal for k in c]) + np.array([k.sigma for k in c]) * rng.standard_normal((n, len(c)))
        return np.concatenate([counts, centres], axis=1).astype(float)

    def _split(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self._shape[0] * self._shape[1]
        return row[:size].reshape(self._shape), row[size:]

    def _profile(self, row: np.ndarray, theta: float, x0: np.ndarray | None) -> tuple[float, np.ndarray, np.ndarray]:
        counts, centres = self._split(row)
        res = self.profiler.minimize((self.template(theta), counts, centres), x0)
        return float(res.fun), res.x

    def chi2(self, data: np.ndarray, theta: np.ndarray) -> np.ndarray:
        data = np.atleast_2d(data)
        theta = np.broadcast_to(np.asarray(theta, float), (len(data),))
        with one_thread():
            return np.array([self._profile(row, t, None)[0] for row, t in zip(data, theta, strict=True)])

    def fit(self, data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with one_thread():
            best = [self._fit_row(row) for row in np.atleast_2d(data)]
        return np.array([b[0] for b in best]), np.array([b[1] for b in best])

    def _fit_row(self, row: np.ndarray) -> tuple[float, float]:
        """Grid scan with warm starts, then every interior grid minimum and a dipping end refined (bounded Brent)."""
        grid, values, xs, x = self.grid, np.empty(self.points), [], None
        for i, t in enumerate(grid):
            values[i], x = self._profile(row, t, x)
            xs.append(x)
        candidates = [i for i in range(1, self.points - 1) if values[i] < values[i - 1] and values[i] <= values[i + 1]]
        candidates += [i for i in (0, self.points - 1) if values[i] == values.min()]
        best_i = int(np.argmin(values))
        best = (float(grid[best_i]), float(values[best_i]))
        for i in candidates:
            a, b = grid[max(i - 1, 0)], grid[min(i + 1, self.points - 1)]
            res = minimize_scalar(lambda t, i=i: self._profile(row, t, xs[i])[0], bounds=(a, b), method="bounded",
                                  options={"xatol": THETA_TOL})
            if res.fun < best[1]:
                best = (float(res.x), float(res.fun))
        return best


@dataclass(frozen=True)
class BinnedCoupling:
    """Recipe: -2 ln L of the binned data set ``dataset`` (registry.BINNED) in ``coupling`` (others zero)."""

    coupling: str
    dataset: str
    physics: str = "paper"
    lo: float = -1.0
    hi: float = 1.0
    points: int = 41
    template_points: int = 201

    def __post_init__(self) -> None:
        from bayes_nsi.experiments.registry import BINNED

        if self.coupling not in COUPLINGS:
            raise ValueError(f"coupling: unknown {self.coupling!r}; allowed: {', '.join(COUPLINGS)}")
        if self.dataset not in BINNED:
            raise ValueError(f"dataset: unknown {self.dataset!r}; allowed: {', '.join(BINNED)}")
        if self.template_points < 4:
            raise ValueError(f"template_points: {self.template_points} must be >= 4")

    @property
    def observed(self) -> np.ndarray:
        """The real data row (counts, then published constraint centres): a Feldman-Cousins interval's x0."""
        return self.build().observed_row

    def build(self) -> BinnedChi2:
        return cached(("BinnedCoupling", self), self._build)

    def _build(self) -> BinnedChi2:
        from bayes_nsi.experiments.registry import BINNED

        dataset = BINNED[self.dataset]
        inputs = dataset.binned.inputs(False)
        folder = SignalFolder.build(dataset, inputs, self.physics)
        nodes = np.linspace(self.lo, self.hi, self.template_points)
        eps = np.zeros((len(nodes), len(COUPLINGS)))
        eps[:, COUPLINGS.index(self.coupling)] = nodes
        with one_thread():
            templates = folder.templates(eps) * (dataset.binned.constraint_flux_8b / b16_flux())
        model = BinnedChi2(ToyProfiler(binned_model_of(inputs)), nodes, templates, self.lo, self.hi, self.points)
        model.chi2(model.observed_row, 0.0)  # numba compiles at the first call: do it in the build
        return model
