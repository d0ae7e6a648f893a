"""Extended binned Poisson likelihood with template nuisances; the same code runs on numpy and PyTensor.

Per run r and bin b (the blueice/alea template model of XENONnT, templates in events per tonne-year):

    mu_rb = exposure_r * sum_c m_cr * T_crb(t_ly, t_qy)
    -2 ln L = 2 sum_rb (mu_rb - n_rb ln mu_rb + ln n_rb!) + sum_k ((x_k - nominal_k) / sigma_k)^2

m_cr is the product of the rate nuisances declared for component c and run r (one parameter shared by the
runs that declare it), the last sum runs over the constrained nuisances. Yield-dependent templates (the
signal, neutrons) are given on a grid of anchors in (t_ly, t_qy) and interpolated by a tensor-product
Catmull-Rom spline: a cubic Hermite spline whose slope at an anchor is the central difference of its
neighbours (one-sided at the end anchors). It passes through every anchor, reproduces linear dependence
exactly and is C1: value and gradient are continuous across anchors (bilinear interpolation, blueice's
default, has gradient jumps there that NUTS's leapfrog integrator dislikes). Beyond the end anchors it
continues linearly with the end slope (still C1) and a template may turn negative far out: keep t_ly, t_qy
within the declared fit limits (the grid, [-3, 3]), e.g. with bounds or a bounded prior.

The signal on the anchors can come from a recoil spectrum: with monoenergetic efficiencies eff(E, bin),
T_b = integral over E_r of dR/dE_r(E_r) eff(E_r, b) = sum_n dR/dE_r(E_n) K_nb, K from :func:`signal_kernel`
(= P eff with P from :func:`energy_projection`, the cheaper form when there are more nodes than energies).

Arrays carry a leading batch shape: parameters of shape (...) give mu of shape (..., runs, bins).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import numpy as np
import pytensor.tensor as pt
from scipy.special import gammaln


class NuisanceLike(Protocol):
    """What the likelihood reads of a declared nuisance (see experiments' ``Nuisance``)."""

    name: str
    nominal: float
    sigma: float | None
    runs: tuple[str, ...]
    component: str | None


def _xp(*values):
    """The array namespace of the inputs: PyTensor if any is a PyTensor variable, else numpy."""
    return pt if any(isinstance(v, pt.Variable) for v in values) else np


def _cardinal(s, xp):
    """Catmull-Rom cardinal function phi(s) (unit anchor spacing) and its derivative.

    phi = (3/2)|s|^3 - (5/2)s^2 + 1 on |s| <= 1, -(1/2)|s|^3 + (5/2)s^2 - 4|s| + 2 on 1 < |s| <= 2, else 0,
    written with v = max(2 - |s|, 0), u = max(1 - |s|, 0) as v^3/2 - v^2/2 + u^2 - 2 u^3.
    """
    a = xp.abs(s)
    v, u = xp.maximum(2.0 - a, 0.0), xp.maximum(1.0 - a, 0.0)
    phi = 0.5 * v**3 - 0.5 * v**2 + u**2 - 2.0 * u**3
    dphi = -xp.sign(s) * (1.5 * v**2 - v + 2.0 * u - 6.0 * u**2)
    return phi, dphi


@cache
def _ghost_fold(anchors: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray, float]:
    """Anchors with one ghost at each end, the matrix mapping ghost-extended values to anchor values, the spacing."""
    a = np.array(anchors)
    h = a[1] - a[0] if len(a) > 1 else 0.0
    if len(a) < 3 or h <= 0 or not np.allclose(np.diff(a), h):
        raise ValueError(f"anchors: need >= 3 equally spaced ascending values, got {a}")
    n = len(a)
    fold = np.zeros((n + 2, n))
    fold[1:-1] = np.eye(n)
    fold[0, :2], fold[-1, -2:] = [2.0, -1.0], [-1.0, 2.0]  # f(a_0 - h) = 2 f(a_0) - f(a_1), same at the top
    return np.concatenate([[a[0] - h], a, [a[-1] + h]]), fold, float(h)


def yield_weights(t, anchors: np.ndarray):
    """Weights w_j(t) of the C1 Catmull-Rom interpolant f(t) = sum_j w_j(t) f(anchor_j); shape (..., n_anchors).

    anchors: equally spaced, ascending (at least 3). The end slopes are one-sided differences (ghost anchors
    f(a_0 - h) = 2 f(a_0) - f(a_1), likewise at the top); outside [a_0, a_last] the interpolant continues
    linearly with the end slope.
    """
    ghost, fold, h = _ghost_fold(tuple(float(a) for a in anchors))
    xp = _xp(t)
    t_in = xp.clip(t, ghost[1], ghost[-2])
    phi, dphi = _cardinal((t_in[..., None] - ghost) / h, xp)
    return xp.dot(phi + (t - t_in)[..., None] * dphi / h, fold)


def interpolate_anchors(grid, w_ly, w_qy):
    """sum_ij w_ly_i w_qy_j grid[..., i, j, :]: grid (..., runs, A, A, bins), weights (..., A) -> (..., runs, bins)."""
    xp = _xp(grid, w_ly, w_qy)
    weights = w_ly[..., None, :, None, None] * w_qy[..., None, None, :, None]
    return xp.sum(weights * grid, axis=(-3, -2))


def energy_projection(energy_kev: np.ndarray, er_nodes_kev: np.ndarray, weights_kev: np.ndarray) -> np.ndarray:
    """P[node, g] = w_node hat_g(E_node): integral of f x (linear interpolant of values on energy_kev) = (f P) . values.

    energy_kev: ascending grid (keV) of the tabulated efficiencies; er_nodes_kev, weights_kev: a quadrature rule
    in recoil energy (keV). hat_g is the piecewise-linear basis function of grid point g, zero outside the grid.
    """
    energy_kev, nodes, weights = (np.asarray(a, dtype=float) for a in (energy_kev, er_nodes_kev, weights_kev))
    if nodes.shape != weights.shape or nodes.ndim != 1:
        raise ValueError(f"er_nodes_kev, weights_kev: need equal 1-d shapes, got {nodes.shape} and {weights.shape}")
    if energy_kev.ndim != 1 or np.any(np.diff(energy_kev) <= 0):
        raise ValueError("energy_kev: need a strictly ascending 1-d grid")
    hat = np.stack([np.interp(nodes, energy_kev, row, left=0.0, right=0.0) for row in np.eye(len(energy_kev))], -1)
    return weights[:, None] * hat


def signal_kernel(efficiency: np.ndarray, energy_kev: np.ndarray, er_nodes_kev: np.ndarray,
                  weights_kev: np.ndarray) -> np.ndarray:
    """K[..., node, bin] = w_node eff(E_node, bin): sum_node dR/dE_r(E_node) K = integral of dR/dE_r eff.

    efficiency: (..., n_energy, bins) on energy_kev, interpolated linearly in energy and zero outside the grid;
    er_nodes_kev, weights_kev: the quadrature rule in recoil energy (keV) of the rate graph. With dR/dE_r in
    events / (t yr keV) the result is in events / (t yr). K = P eff with P from :func:`energy_projection`: with
    more nodes than grid energies, ``fold_spectrum(dr_de @ P, efficiency)`` gives the same signal for fewer
    multiply-adds per point. Numpy (precomputed once).
    """
    if efficiency.shape[-2] != len(energy_kev):
        raise ValueError(f"energy_kev: need {efficiency.shape[-2]} energies, matching efficiency[..., energy, bin]")
    return np.einsum("ng,...gb->...nb", energy_projection(energy_kev, er_nodes_kev, weights_kev), efficiency)


def fold_spectrum(dr_de, kernel: np.ndarray):
    """Signal on the anchors: dR/dE_r (..., nodes) x kernel (runs, A, A, nodes, bins) -> (..., runs, A, A, bins)."""
    xp = _xp(dr_de)
    return xp.tensordot(dr_de, kernel, axes=[[dr_de.ndim - 1], [kernel.ndim - 2]])


@dataclass(frozen=True)
class BinnedModel:
    """Constants of the likelihood: runs, exposures (t*yr), observed counts, templates (events per t*yr).

    backgrounds: component -> (runs, bins) or, if yield-dependent, (runs, A, A, bins) on the anchors.
    The signal (component ``signal_component``) is an argument of each evaluation, on the anchors.
    """

    runs: tuple[str, ...]
    exposure_t_yr: np.ndarray  # (runs,)
    observed: np.ndarray  # (runs, bins)
    backgrounds: Mapping[str, np.ndarray]
    nuisances: tuple[NuisanceLike, ...]
    anchors: np.ndarray  # (A,) yield anchors shared by both shape parameters
    shape_names: tuple[str, str] = ("t_ly", "t_qy")
    signal_component: str = "b8"

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nuisances)

    @property
    def log_factorial(self) -> float:
        """sum ln n! over all bins (the constant of the Poisson term)."""
        return float(gammaln(self.observed + 1.0).sum())


def binned_model(runs: Sequence[str], exposure_t_yr: Sequence[float], observed: np.ndarray,
                 backgrounds: Mapping[str, np.ndarray], nuisances: Sequence[NuisanceLike], anchors: np.ndarray,
                 shape_names: tuple[str, str] = ("t_ly", "t_qy"), signal_component: str = "b8") -> BinnedModel:
    """A validated :class:`BinnedModel` (ValueError names the offending field)."""
    runs, exposure, observed = tuple(runs), np.asarray(exposure_t_yr, dtype=float), np.asarray(observed, dtype=float)
    n_runs, n_anchors = len(runs), len(anchors)
    if exposure.shape != (n_runs,) or np.any(exposure <= 0):
        raise ValueError(f"exposure_t_yr: need {n_runs} positive values, got {exposure}")
    if observed.ndim != 2 or observed.shape[0] != n_runs or np.any(observed < 0):
        raise ValueError(f"observed: need non-negative counts of shape ({n_runs}, bins), got {observed.shape}")
    n_bins = observed.shape[1]
    allowed = {(n_runs, n_bins), (n_runs, n_anchors, n_anchors, n_bins)}
    for c, t in backgrounds.items():
        if np.shape(t) not in allowed or c == signal_component:
            raise ValueError(f"backgrounds[{c!r}]: shape {np.shape(t)} not in {sorted(allowed)} (or is the signal)")
    components = set(backgrounds) | {signal_component}
    for n in nuisances:
        if n.component is None and n.name not in shape_names:
            raise ValueError(f"nuisances: {n.name!r} has no component; allowed shape parameters: {shape_names}")
        if n.component is not None and n.component not in components:
            raise ValueError(f"nuisances: {n.name!r} multiplies unknown component {n.component!r}; "
                             f"allowed: {', '.join(sorted(components))}")
        if not set(n.runs) & set(runs):
            raise ValueError(f"nuisances: {n.name!r} applies to none of the runs {runs}")
    names = [n.name for n in nuisances]
    if len(set(names)) != len(names) or not set(shape_names) <= set(names):
        raise ValueError(f"nuisances: names must be distinct and include {shape_names}; got {names}")
    return BinnedModel(runs, exposure, observed, {c: np.asarray(t, float) for c, t in backgrounds.items()},
                       tuple(nuisances), np.asarray(anchors, dtype=float), shape_names, signal_component)


def _check_params(model: BinnedModel, params: Mapping) -> None:
    missing, extra = set(model.parameter_names) - set(params), set(params) - set(model.parameter_names)
    if missing or extra:
        raise ValueError(f"params: missing {sorted(missing)}, unknown {sorted(extra)}; "
                         f"allowed: {', '.join(model.parameter_names)}")


def _as_array(value, xp):
    return pt.as_tensor_variable(value) if xp is pt else np.asarray(value, dtype=float)


def component_multiplier(model: BinnedModel, component: str, params: Mapping, xp=np):
    """Product of the rate nuisances of ``component`` per run; shape (..., runs)."""
    factor = np.ones(len(model.runs))
    for n in model.nuisances:
        if n.component == component:
            mask = np.array([r in n.runs for r in model.runs], dtype=float)
            factor = (_as_array(params[n.name], xp)[..., None] * mask + (1.0 - mask)) * factor
    return factor


def expected_counts(model: BinnedModel, signal, params: Mapping):
    """mu (..., runs, bins): exposure x sum of multiplied templates; signal (..., runs, A, A, bins) per t*yr."""
    _check_params(model, params)
    xp = _xp(signal, *params.values())
    w_ly, w_qy = (yield_weights(_as_array(params[s], xp), model.anchors) for s in model.shape_names)
    signal_multiplier = component_multiplier(model, model.signal_component, params, xp)
    total = signal_multiplier[..., None] * interpolate_anchors(signal, w_ly, w_qy)
    for c, t in model.backgrounds.items():
        shaped = interpolate_anchors(t, w_ly, w_qy) if t.ndim == 4 else t
        total = total + component_multiplier(model, c, params, xp)[..., None] * shaped
    return model.exposure_t_yr[:, None] * total


def poisson_deviance(mu, observed: np.ndarray, log_factorial: float):
    """2 sum (mu - n ln mu + ln n!) over the last two axes (runs, bins): -2 ln of the extended Poisson term."""
    xp = _xp(mu)
    return 2.0 * (xp.sum(mu - observed * xp.log(mu), axis=(-2, -1)) + log_factorial)


def constraint_terms(model: BinnedModel, params: Mapping):
    """sum ((x - nominal) / sigma)^2 over the constrained nuisances: -2 ln of their Gaussian terms (no constant)."""
    _check_params(model, params)
    return sum(((params[n.name] - n.nominal) / n.sigma) ** 2 for n in model.nuisances if n.sigma is not None)


def neg2_log_likelihood(model: BinnedModel, signal, params: Mapping):
    """-2 ln L of the extended binned Poisson likelihood with Gaussian constraints; shape (...)."""
    mu = expected_counts(model, signal, params)
    return poisson_deviance(mu, model.observed, model.log_factorial) + constraint_terms(model, params)
