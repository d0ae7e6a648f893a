"""Adiabatic MSW survival probability with NSI matter potentials (eqs. 9-16), two-flavour mass dominance.

Grids (energies, production radii) are numpy constants; couplings carry a leading batch shape (...).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics.constants import MATTER_POTENTIAL_EV2, Oscillation
from bayes_nsi.physics.couplings import eps_d_and_n_map
from bayes_nsi.physics.inputs import SolarModel
from bayes_nsi.physics.two_flavour_kernels import TwoFlavourSurvival, oscillation_constants, survival_and_jacobian


@dataclass(frozen=True)
class ProductionNodes:
    """Quadrature nodes over the production region of one flux: n_e [N_A cm^-3], Y_n, weights (sum 1)."""

    flux: str
    r: np.ndarray
    n_e: np.ndarray
    y_n: np.ndarray
    weight: np.ndarray


def production_nodes(sun: SolarModel, flux: str, n_nodes: int) -> ProductionNodes:
    """Gauss-Legendre nodes in the production probability u = CDF_flux(r) (eq. 16's r integral).

    int_0^1 rho(r) P(r) dr = int_0^1 P(r(u)) du, evaluated with n Gauss-Legendre points in u; r(u) is
    the inverse of the tabulated CDF. n_e is interpolated in log, Y_n linearly.
    """
    rho = sun.production[flux]
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(sun.r))])
    keep = np.concatenate([[True], np.diff(cdf) > 0])  # strictly increasing CDF for the inversion
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    r = np.interp(0.5 * (x + 1.0) * cdf[-1], cdf[keep], sun.r[keep])
    n_e = np.exp(np.interp(r, sun.r, np.log(sun.n_e)))
    return ProductionNodes(flux, r, n_e, np.interp(r, sun.r, sun.y_n), 0.5 * w)


def matter_cos2theta(enu_mev, n_e, y_n, eps_dn, osc: Oscillation):
    """cos 2theta_M of eqs. (12)-(15) on a grid (two-flavour mass dominance, matter mixing at production).

    enu_mev, n_e, y_n broadcast against each other (the grid); eps_dn = (eps_D^u, eps_D^d, eps_N^u,
    eps_N^d) with batch shape (...), broadcast as (..., 1, 1) against a 2-D grid. Returns (..., grid).
    """
    eps_du, eps_dd, eps_nu, eps_nd = (e[..., None, None] for e in eps_dn)
    y_u, y_d = 2.0 + y_n, 1.0 + 2.0 * y_n  # sec. III A
    c13sq = 1.0 - osc.sin2_th13
    potential = MATTER_POTENTIAL_EV2 * n_e * enu_mev  # 2 sqrt2 G_F n_e E [eV^2]
    a = potential * (c13sq - 2.0 * (y_u * eps_du + y_d * eps_dd))  # eq. (12)
    b = 2.0 * potential * (y_u * eps_nu + y_d * eps_nd)  # eq. (13)
    cos2, sin2 = 1.0 - 2.0 * osc.sin2_th12, 2.0 * np.sqrt(osc.sin2_th12 * (1.0 - osc.sin2_th12))
    num = osc.dm21_ev2 * cos2 - a
    return num / pt.sqrt(num**2 + (osc.dm21_ev2 * sin2 + b) ** 2)  # second eq. (15), dm21 (docs/physics.md)


def survival_grid(enu_mev: np.ndarray, production: tuple[ProductionNodes, ...]) -> tuple[np.ndarray, ...]:
    """The survival kernel's node arrays, each (n_r, n_flux * n_E) with flux-major columns: matter potential
    V = 2 sqrt2 G_F n_e E [eV^2], Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n (sec. III A) and production weights.

    enu_mev: energies (n_E,) in MeV; production: the fluxes' nodes, all with the same number of radii.
    """
    n_radii = {len(nodes.weight) for nodes in production}
    if len(n_radii) != 1:
        raise ValueError(f"production: the fluxes need the same number of radial nodes; got {sorted(n_radii)}")
    enu = np.atleast_1d(np.asarray(enu_mev, dtype=float))

    def per_node(field: str) -> np.ndarray:  # (n_r, n_flux) -> (n_r, n_flux * n_E)
        return np.repeat(np.stack([getattr(nodes, field) for nodes in production], axis=1), len(enu), axis=1)

    y_n = per_node("y_n")
    v = MATTER_POTENTIAL_EV2 * per_node("n_e") * np.tile(enu, len(production))[None, :]
    return v, 2.0 + y_n, 1.0 + 2.0 * y_n, per_node("weight")


def survival_at_nodes(enu_mev: np.ndarray, production: tuple[ProductionNodes, ...], eps12, osc: Oscillation):
    """P_bar_flux(E) = sum_k w_k P_ee(E, r_k), the r integral of eq. (16), for several fluxes at once (graph).

    enu_mev: energies (n_E,) in MeV; production: the fluxes' nodes (:func:`survival_grid`); eps12: couplings
    (..., 12). Returns (..., n_flux * n_E), flux-major. Evaluated by the kernel of
    :mod:`bayes_nsi.physics.two_flavour_kernels` (eqs. 9-15; value and Jacobian in one pass).
    """
    eps12 = pt.as_tensor_variable(eps12)
    eps_dn = pt.dot(eps12, eps_d_and_n_map(osc)).reshape((-1, 4))
    pbar, _ = TwoFlavourSurvival()(eps_dn, *survival_grid(enu_mev, production), oscillation_constants(osc))
    return pbar.reshape((*[eps12.shape[k] for k in range(eps12.ndim - 1)], -1))


def survival_values(grid: tuple[np.ndarray, ...], eps12: np.ndarray, osc: Oscillation) -> np.ndarray:
    """:func:`survival_at_nodes` in numpy, calling the kernel directly (no graph to compile).

    grid: :func:`survival_grid` of the energies and fluxes; eps12: (n, 12) or (12,). Returns (n, n_flux * n_E).
    """
    eps_dn = np.atleast_2d(np.asarray(eps12, dtype=float)) @ eps_d_and_n_map(osc)
    return survival_and_jacobian(eps_dn, *grid, oscillation_constants(osc))[0]


def flux_weights(enu_mev: np.ndarray, spectra) -> np.ndarray:
    """Phi_alpha(E) / sum_beta Phi_beta(E) of eq. (16) for continuous spectra; shape (nE, n_flux).

    Raises ValueError at energies where no flux is produced (no survival probability is defined).
    """
    enu_mev = np.asarray(enu_mev, dtype=float)
    phi = np.stack([s.flux_cm2_s * np.interp(enu_mev, s.enu_mev, s.pdf, left=0.0, right=0.0) for s in spectra], -1)
    total = phi.sum(-1, keepdims=True)
    if np.any(total <= 0):
        bad = enu_mev[(total <= 0)[..., 0]]
        lo = min(s.enu_mev[0] for s in spectra)
        hi = max(s.enu_mev[s.pdf > 0][-1] for s in spectra)
        raise ValueError(f"enu_mev: no solar neutrino flux at {bad[:5]} MeV; allowed range ({lo:g}, {hi:g}) MeV")
    return phi / total
