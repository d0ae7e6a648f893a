"""Mass-state populations p_k(E) of solar neutrinos at Earth: exact adiabatic three-flavour, or eqs. (9)-(15).

A nu_e produced at r leaves the Sun adiabatically; the relative phases average out over 1 AU, so it
arrives as an incoherent mixture of vacuum mass states nu_k with probabilities |V_ek(r)|^2, V the
matter mixing matrix at production (docs/physics.md, "Exact physics"). Averaged over the production
region of one flux: p_k(E) = sum_r w_r |V_ek(E, r)|^2, with sum_k p_k = 1.

``method="exact"``: V from the full Hamiltonian of eq. (7),
2 E H = U diag(0, dm21^2, dm31^2) U^dagger + V_CC [diag(1, 0, 0) + Y_u eps^u + Y_d eps^d],
V_CC = 2 sqrt2 G_F n_e E, Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n (the SM "1" appears once). Adiabatic levels do
not cross, so the k-th eigenvalue in ascending order connects to mass state k (normal ordering). The
3x3 problem is solved in closed form by the kernels of :mod:`bayes_nsi.physics.adiabatic_kernels`
(why, and how fast: its docstring).

``method="two_flavour"``: the paper's mass-dominance picture, p_1,2 = c13^2 (1 +- cos 2theta_M) / 2 and
p_3 = s13^2 with cos 2theta_M of eqs. (12)-(15) (:func:`~bayes_nsi.physics.propagation.matter_cos2theta`);
sum_k p_k |U_ek|^2 is then exactly eq. (9).
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics.adiabatic_kernels import Populations
from bayes_nsi.physics.constants import MATTER_POTENTIAL_EV2, Oscillation
from bayes_nsi.physics.couplings import coupling_basis, eps_d_and_n
from bayes_nsi.physics.propagation import ProductionNodes, matter_cos2theta
from bayes_nsi.physics.three_flavour import pmns_cp

METHODS = ("exact", "two_flavour")
B1_ENTRIES = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2))  # kernel order: ee, mumu, tautau, emu, etau, mutau


def _check_method(method: str, delta_cp_rad: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")
    if method == "two_flavour" and delta_cp_rad != 0.0:
        raise ValueError("delta_cp_rad: the two-flavour method (eqs. 12-15, real rotations) needs delta_cp_rad = 0")


def matter_part(eps12, y_n: np.ndarray):
    """Traceless part of diag(1,0,0) + Y_u eps^u + Y_d eps^d at each radius; (..., 12) -> (..., 6, n_r).

    Entries in :data:`B1_ENTRIES` order; Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n (sec. III A). The entries are affine
    in the couplings, so they are one matrix product with a precomputed (12, 6 n_r) map.
    """
    y_u, y_d = 2.0 + y_n, 1.0 + 2.0 * y_n
    rows, cols = np.array(B1_ENTRIES).T
    basis = coupling_basis()[:, :, rows, cols]  # (12, 2, 6): each coupling's entries, up and down
    slope = basis[:, 0, :, None] * y_u + basis[:, 1, :, None] * y_d  # (12, 6, n_r)
    offset = np.zeros((6, len(y_n)))
    offset[0] = 1.0  # the SM diag(1, 0, 0)
    diagonal = rows == cols
    traceless = np.eye(6)
    traceless[np.ix_(diagonal, diagonal)] -= 1.0 / 3.0  # subtracts the mean of the diagonal entries
    slope, offset = np.einsum("ij,kjr->kir", traceless, slope), traceless @ offset
    eps12 = pt.as_tensor_variable(eps12)
    flat = offset.ravel() + pt.dot(eps12, slope.reshape(12, -1))
    return flat.reshape((*[eps12.shape[k] for k in range(eps12.ndim - 1)], 6, len(y_n)))


def vacuum_part(osc: Oscillation, delta_cp_rad: float = 0.0) -> np.ndarray:
    """Traceless U diag(0, dm21^2, dm31^2) U^dagger / dm31^2 as the kernels' 9-vector (6 real, 3 imaginary parts)."""
    u = pmns_cp(osc, delta_cp_rad)
    h0 = u @ np.diag([0.0, osc.dm21_ev2, osc.dm31_ev2]) @ u.conj().T / osc.dm31_ev2
    b0 = h0 - np.trace(h0).real / 3.0 * np.eye(3)
    return np.array([b0[ab].real for ab in B1_ENTRIES] + [b0[ab].imag for ab in B1_ENTRIES[3:]])


def mass_state_populations(enu_mev, nodes: ProductionNodes, eps12, osc: Oscillation, method: str = "exact",
                           delta_cp_rad: float = 0.0):
    """Production-averaged populations p_k(E) = sum_r w_r |V_ek(E, r)|^2 of one flux; shape (..., n_E, 3).

    enu_mev: neutrino energies (n_E,) in MeV; nodes: the flux's production nodes (eq. 16's r integral);
    eps12: couplings (..., 12) in COUPLINGS order; method: "exact" or "two_flavour"; delta_cp_rad: Dirac
    phase (exact method only).
    """
    _check_method(method, delta_cp_rad)
    enu = np.atleast_1d(np.asarray(enu_mev, dtype=float))
    total = float(np.sum(nodes.weight))
    if method == "exact":
        eps12 = pt.as_tensor_variable(eps12)
        b1 = matter_part(eps12, nodes.y_n)
        v = MATTER_POTENTIAL_EV2 * np.outer(enu, nodes.n_e) / osc.dm31_ev2  # (n_E, n_r), units of dm31^2
        flat = Populations()(b1.reshape((-1, 6, len(nodes.n_e))), v, vacuum_part(osc, delta_cp_rad), nodes.weight)
        p12 = flat.reshape([eps12.shape[k] for k in range(eps12.ndim - 1)] + [len(enu), 2])
        return pt.concatenate([p12, total - pt.sum(p12, axis=-1, keepdims=True)], axis=-1)
    cos2m = matter_cos2theta(enu[:, None], nodes.n_e[None, :], nodes.y_n[None, :], eps_d_and_n(eps12, osc), osc)
    mean = pt.dot(cos2m, nodes.weight)
    c13sq = 1.0 - osc.sin2_th13
    p3 = pt.fill(mean, osc.sin2_th13 * total)
    return pt.stack((0.5 * c13sq * (total + mean), 0.5 * c13sq * (total - mean), p3), axis=-1)


def survival_from_populations(populations, osc: Oscillation, delta_cp_rad: float = 0.0):
    """<P_ee> = sum_k p_k |U_ek|^2 (incoherent mass states at Earth); populations (..., 3) -> (...)."""
    return pt.dot(populations, np.abs(pmns_cp(osc, delta_cp_rad)[0]) ** 2)
