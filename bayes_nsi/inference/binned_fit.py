"""Fits of a binned template likelihood (:mod:`bayes_nsi.inference.binned`) with the package's 8B signal.

- :class:`SignalFolder`: the 8B signal per analysis bin on the yield anchors (events per t*yr) from the
  package's physics graph: ``rates.recoil_node_events`` of the data set's unit response (any physics mode,
  any couplings) projected on the efficiency grid's energies (``binned.energy_projection``, hat basis) and
  folded with the monoenergetic efficiencies: T_b = integral dR/dE_r eff(E_r, b) dE_r (issue 13, item 3).
- :class:`Profiler`: -2 ln L and its gradient in the nuisances, compiled once by PyTensor with the signal as
  an input, minimized by bounded L-BFGS-B (the nuisances' fit limits).
- :func:`measure_signal`: the 8B measurement with the signal rate free: best fit, Delta(-2 ln L) = 1 interval,
  background-only significance Z = sqrt(q0), q0 = -2 ln L(s = 0) + 2 ln L(s_hat), nuisances profiled: the
  asymptotic one-sided test statistic (Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554, eqs. 12, 53).

Fits run with one BLAS thread (:func:`one_thread`): the calls are tiny and the shared cores contended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy.optimize import OptimizeResult, brentq, minimize
from threadpoolctl import threadpool_limits

from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.binned_data import BinnedInputs
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.binned_kernel import ENERGY_RANK, compress_energy
from bayes_nsi.physics.rates import DEFAULT_GRIDS, Grids, recoil_node_events

YIELD_STARTS = ((0.0, 0.0), (1.0, -1.0), (-1.0, 1.0))  # (t_ly, t_qy) starts of a fit from scratch
LBFGSB = {"ftol": 1e-14, "gtol": 1e-9, "maxiter": 3000}


def one_thread():
    """Context manager: one BLAS/OpenMP thread (tiny calls run faster so on shared cores)."""
    return threadpool_limits(limits=1)


def binned_model_of(inputs: BinnedInputs) -> bn.BinnedModel:
    """The likelihood's constants from a data set's binned inputs."""
    return bn.binned_model(inputs.runs, inputs.exposure_t_yr, inputs.observed, inputs.backgrounds, inputs.nuisances,
                           inputs.anchors, inputs.shape_names, inputs.signal_component)


@dataclass
class SignalFolder:
    """8B signal templates (events per t*yr per bin on the yield anchors) of one binned data set.

    ``physics`` is the graph of the data set's unit response at 1 t*yr, so the recoil-node events are
    dR/dE_r x node weight per t*yr (B16 flux at flux_scale 1); ``projection`` (nodes, n_energy) carries them onto
    the efficiency grid's energies (linear interpolation of the efficiency in energy, zero outside the grid).
    """

    dataset: DataSet
    physics: object  # rates.PhysicsModel
    projection: np.ndarray  # (nodes, n_energy)
    efficiency: np.ndarray  # (runs, A, A, n_energy, bins); n_energy may count energy components (compressed)
    _fn: Callable[[np.ndarray], np.ndarray] | None = None

    @classmethod
    def build(cls, dataset: DataSet, inputs: BinnedInputs, physics: str, grids: Grids = DEFAULT_GRIDS) -> SignalFolder:
        """Physics graph of the data set's unit response in a physics mode ("paper", "hybrid", "exact")."""
        model = physics_model([dataset], "published", exposures={dataset.name: 1.0}, grids=grids, physics=physics)
        nodes = model.kernels[dataset.name].er_kev
        projection = bn.energy_projection(inputs.energy_kev, nodes, np.ones_like(nodes))
        return cls(dataset, model, projection, inputs.efficiency)

    def compressed(self, rank: int = ENERGY_RANK) -> SignalFolder:
        """The same folder on the energy-compressed grid (``binned_kernel``): the projection absorbs the basis."""
        with one_thread():
            reduced = compress_energy(self.efficiency, rank)
        return SignalFolder(self.dataset, self.physics, self.projection @ reduced.basis, reduced.efficiency)

    def node_events(self, eps12, flux_scale=1.0, r_n_fm=None):
        """PyTensor: events per t*yr at each recoil node, (..., nodes)."""
        return recoil_node_events(self.physics, self.dataset.name, eps12, flux_scale, r_n_fm)

    def graph(self, eps12, flux_scale=1.0, r_n_fm=None):
        """PyTensor: signal templates (..., runs, A, A, bins) in events per t*yr."""
        spectrum = pt.dot(self.node_events(eps12, flux_scale, r_n_fm), self.projection)
        return bn.fold_spectrum(spectrum, self.efficiency)

    def spectrum(self, eps12: np.ndarray) -> np.ndarray:
        """Events per t*yr carried by each efficiency-grid energy, (n, n_energy), for couplings (n, 12) (numpy)."""
        if self._fn is None:
            eps = pt.dmatrix("eps12")
            self._fn = pytensor.function([eps], pt.dot(self.node_events(eps), self.projection))
        return self._fn(np.atleast_2d(np.asarray(eps12, float)))

    def templates(self, eps12: np.ndarray) -> np.ndarray:
        """Signal templates (n, runs, A, A, bins), events per t*yr, for couplings (n, 12) at the B16 flux."""
        return bn.fold_spectrum(self.spectrum(eps12), self.efficiency)


class Profiler:
    """-2 ln L of a binned model at a given signal, minimized over the nuisances (compiled once)."""

    def __init__(self, model: bn.BinnedModel) -> None:
        self.model = model
        theta = pt.dvector("theta")
        inputs, value = self._objective({n: theta[i] for i, n in enumerate(model.parameter_names)})
        self._fn = pytensor.function([theta, *inputs], [value, pt.grad(value, theta)])
        self.bounds = [tuple(n.bounds) for n in model.nuisances]
        self.nominal = np.array([n.nominal for n in model.nuisances], dtype=float)
        self.calls = 0

    def _objective(self, params: Mapping) -> tuple[list, pt.TensorVariable]:
        """The graph's inputs besides the nuisances, and -2 ln L of the nuisance tensors ``params``.

        Subclasses with more inputs override this; their ``signal`` argument is then the tuple of the input values,
        the templates (runs, A, A, bins) first."""
        signal = pt.tensor("signal", shape=(None,) * 4, dtype="float64")
        return [signal], bn.neg2_log_likelihood(self.model, signal, params)

    @staticmethod
    def _inputs(signal) -> tuple:
        """The values of the :meth:`_objective` inputs: the templates alone, or a subclass's tuple."""
        return signal if isinstance(signal, tuple) else (signal,)

    def index(self, name: str) -> int:
        """Position of a nuisance in the parameter vector."""
        return self.model.parameter_names.index(name)

    def value_and_grad(self, x: np.ndarray, signal: np.ndarray) -> tuple[float, np.ndarray]:
        """-2 ln L and its gradient at parameters x (model.parameter_names order) and signal (runs, A, A, bins)."""
        self.calls += 1
        value, grad = self._fn(x, *self._inputs(signal))
        return float(value), np.asarray(grad, dtype=float)

    def scales(self, signal: np.ndarray, x: np.ndarray) -> np.ndarray:
        """sqrt of the Gauss-Newton diagonal of -2 ln L at x: 2 sum_rb (d mu_rb / d x_k)^2 / mu_rb + 2 / sigma_k^2.

        The derivatives of mu are forward differences of the numpy expectation (one batched call); they depend on
        the templates only (terms besides the binned likelihood add no curvature here).
        """
        step = 1e-6 * np.maximum(1.0, np.abs(x))
        batch = x + np.vstack([np.zeros_like(x), np.diag(step)])
        mu = bn.expected_counts(self.model, self._inputs(signal)[0], _params(self.model, batch.T))
        slope = (mu[1:] - mu[0]) / step[:, None, None]
        prior = np.array([0.0 if n.sigma is None else 2.0 / n.sigma**2 for n in self.model.nuisances])
        fisher = 2.0 * np.sum(slope**2 / np.maximum(mu[0], 1e-12), axis=(1, 2)) + prior
        return np.sqrt(np.maximum(fisher, 1e-8))

    def minimize(self, signal: np.ndarray, x0: np.ndarray | None = None,
                 fixed: Mapping[str, float] | None = None, scale: np.ndarray | None = None) -> OptimizeResult:
        """Bounded L-BFGS-B from x0 (default nominal); ``fixed`` pins nuisances to values.

        The parameters are rescaled by :meth:`scales` at the start point (or by ``scale``, e.g. a neighbouring
        point's), so that L-BFGS-B's first steps (with an identity Hessian) have the size of the likelihood's
        own widths: a large signal makes the rate nuisances' curvature thousands of times larger than the
        yields', and an unscaled first step then runs every rate to its bound. The result carries ``scale``.
        """
        bounds = list(self.bounds)
        x = self.nominal.copy() if x0 is None else np.array(x0, dtype=float)
        for name, value in (fixed or {}).items():
            i = self.index(name)
            bounds[i], x[i] = (value, value), value
        lo, hi = np.array(bounds, dtype=float).T
        x = np.clip(x, lo, hi)
        scale = self.scales(signal, x) if scale is None else scale

        def scaled(y: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = self.value_and_grad(y / scale, signal)
            return value, grad / scale

        bounds = list(zip(lo * scale, hi * scale, strict=True))
        res = minimize(scaled, x * scale, jac=True, method="L-BFGS-B", bounds=bounds, options=LBFGSB)
        res.x = np.clip(res.x / scale, lo, hi)
        res.jac = res.jac * scale
        res.scale = scale
        return res

    def best_of_starts(self, signal: np.ndarray, fixed: Mapping[str, float] | None = None,
                       x0: np.ndarray | None = None,
                       starts: Sequence[tuple[float, float]] = YIELD_STARTS) -> OptimizeResult:
        """The lowest of fits from several (t_ly, t_qy) starts (other nuisances from x0, default nominal)."""
        shape = [self.index(s) for s in self.model.shape_names]
        best = None
        for start in starts:
            x = self.nominal.copy() if x0 is None else np.array(x0, dtype=float)
            x[shape] = start
            res = self.minimize(signal, x, fixed)
            best = res if best is None or res.fun < best.fun else best
        return best


@dataclass(frozen=True)
class BinnedSignalFit:
    """The 8B measurement of a binned likelihood with the signal rate free (scale = rate / reference rate).

    signal_events: scale x the events per unit scale at the best-fit yields (summed over runs and bins);
    signal_events_68: the Delta(-2 ln L) = 1 interval of the scale times the same events per unit scale;
    expected_8b_events, background_events: nominal (scale 1, every nuisance nominal); significance_sigma:
    sqrt(q0), asymptotic; expected_best, signal_best (runs, bins): best-fit total and 8B expectations.
    """

    parameter_names: tuple[str, ...]
    best: np.ndarray
    null: np.ndarray
    chi2_min: float
    chi2_null: float
    scale: float
    scale_68: tuple[float, float]
    significance_sigma: float
    signal_events: float
    signal_events_68: tuple[float, float]
    expected_8b_events: float
    background_events: float
    expected_best: np.ndarray
    signal_best: np.ndarray

    def best_fit(self) -> dict[str, float]:
        return dict(zip(self.parameter_names, self.best.tolist(), strict=True))

    def background_only_fit(self) -> dict[str, float]:
        return dict(zip(self.parameter_names, self.null.tolist(), strict=True))


def _params(model: bn.BinnedModel, x: np.ndarray) -> dict[str, float]:
    return dict(zip(model.parameter_names, x, strict=True))


def events_per_unit(model: bn.BinnedModel, signal: np.ndarray, t_ly: float, t_qy: float) -> np.ndarray:
    """Signal events per run and bin (runs, bins) at the given yields, for a signal template in events per t*yr."""
    w_ly, w_qy = (bn.yield_weights(np.array(t), model.anchors) for t in (t_ly, t_qy))
    return model.exposure_t_yr[:, None] * bn.interpolate_anchors(signal, w_ly, w_qy)


def measure_signal(profiler: Profiler, signal: np.ndarray, scale_name: str) -> BinnedSignalFit:
    """Best fit, 68 % interval and background-only significance of the signal rate ``scale_name`` (free).

    signal: template (runs, A, A, bins), events per t*yr at the reference rate. The interval ends solve
    -2 ln L_profile(scale) = min + 1 (Brent), the nuisances warm-started from the best fit.
    """
    model = profiler.model
    if model.nuisances[profiler.index(scale_name)].sigma is not None:
        raise ValueError(f"scale_name: {scale_name!r} is constrained; a measurement needs it free")
    with one_thread():
        best = profiler.best_of_starts(signal)
        null = profiler.best_of_starts(signal, fixed={scale_name: 0.0})
        s = float(best.x[profiler.index(scale_name)])

        def excess(value: float) -> float:
            return profiler.minimize(signal, best.x, fixed={scale_name: value}).fun - best.fun - 1.0

        lo = 0.0 if excess(0.0) <= 0.0 else brentq(excess, 0.0, s, xtol=1e-7)
        hi = 2.0 * s + 1.0
        while excess(hi) < 0.0:
            hi *= 2.0
        hi = brentq(excess, s, hi, xtol=1e-7)
    names = model.shape_names
    per_unit_bins = events_per_unit(model, signal, *(best.x[profiler.index(n)] for n in names))
    per_unit = float(per_unit_bins.sum())
    nominal = _params(model, profiler.nominal)
    background_nominal = bn.expected_counts(model, np.zeros_like(signal), {**nominal, scale_name: 0.0})
    expected_best = bn.expected_counts(model, signal, _params(model, best.x))
    background_best = bn.expected_counts(model, signal, {**_params(model, best.x), scale_name: 0.0})
    return BinnedSignalFit(
        parameter_names=model.parameter_names, best=best.x, null=null.x, chi2_min=float(best.fun),
        chi2_null=float(null.fun), scale=s, scale_68=(float(lo), float(hi)),
        significance_sigma=float(np.sqrt(max(null.fun - best.fun, 0.0))), signal_events=s * per_unit,
        signal_events_68=(lo * per_unit, hi * per_unit),
        expected_8b_events=float(events_per_unit(model, signal, 0.0, 0.0).sum()),
        background_events=float(background_nominal.sum()), expected_best=expected_best,
        signal_best=expected_best - background_best)
