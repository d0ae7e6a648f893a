"""Exact adiabatic three-flavour survival probability (numpy), independent of eqs. (9)-(15).

At each production point the full 3x3 Hamiltonian of eq. (7) is diagonalized. Adiabatic propagation
keeps the neutrino in the same (ordered) matter eigenstate out to vacuum, where the i-th eigenstate is
the i-th mass state, so P_ee = sum_i |V_ei(r)|^2 |U_ei|^2, with V the matter and U the vacuum mixing.
Used to check the two-flavour mass-dominance result, and offered by
``survival_probability(..., method="three_flavour")``.
"""

from __future__ import annotations

import numpy as np

from bayes_nsi.physics.constants import MATTER_POTENTIAL_EV2, Oscillation
from bayes_nsi.physics.couplings import FLAVOUR_PAIRS, propagation_rotation


def pmns(osc: Oscillation) -> np.ndarray:
    """U = U23 U13 U12 (real, delta_CP = 0; sec. III A)."""
    s12 = np.sqrt(osc.sin2_th12)
    c12 = np.sqrt(1 - osc.sin2_th12)
    u12 = np.array([[c12, s12, 0], [-s12, c12, 0], [0, 0, 1]])
    return propagation_rotation(osc) @ u12


def pmns_cp(osc: Oscillation, delta_cp_rad: float = 0.0) -> np.ndarray:
    """Complex U = U23 U13(delta) U12 (PDG standard parametrization, U_e3 = s13 e^{-i delta}); real at delta = 0."""
    s13, c13 = np.sqrt(osc.sin2_th13), np.sqrt(1 - osc.sin2_th13)
    s12, c12 = np.sqrt(osc.sin2_th12), np.sqrt(1 - osc.sin2_th12)
    s23, c23 = np.sqrt(osc.sin2_th23), np.sqrt(1 - osc.sin2_th23)
    phase = np.exp(1j * delta_cp_rad)
    u23 = np.array([[1, 0, 0], [0, c23, s23], [0, -s23, c23]], dtype=complex)
    u13 = np.array([[c13, 0, s13 / phase], [0, 1, 0], [-s13 * phase, 0, c13]])
    u12 = np.array([[c12, s12, 0], [-s12, c12, 0], [0, 0, 1]], dtype=complex)
    return u23 @ u13 @ u12


def nsi_matrix_numpy(eps6: np.ndarray) -> np.ndarray:
    """Six couplings (ee, emu, etau, mumu, mutau, tautau) of one quark -> symmetric (..., 3, 3)."""
    eps6 = np.asarray(eps6, dtype=float)
    out = np.zeros(eps6.shape[:-1] + (3, 3))
    for k, (_, a, b) in enumerate(FLAVOUR_PAIRS):
        out[..., a, b] = out[..., b, a] = eps6[..., k]
    return out


def hamiltonian_ev2(enu_mev, n_e, y_n, eps12, osc: Oscillation) -> np.ndarray:
    """2 E_nu H of eq. (7) in eV^2: U diag(0, dm21, dm31) U^T + V [diag(1,0,0) + Y_u eps^u + Y_d eps^d].

    V = 2 sqrt(2) G_F n_e E_nu. enu_mev, n_e, y_n broadcast to a grid shape G; eps12 is (12,) or (..., 12)
    with leading axes broadcasting against G (several coupling vectors at once); returns (G..., 3, 3).
    """
    u = pmns(osc)
    vac = u @ np.diag([0.0, osc.dm21_ev2, osc.dm31_ev2]) @ u.T
    enu, n_e, y_n = np.broadcast_arrays(np.asarray(enu_mev, float), np.asarray(n_e, float), np.asarray(y_n, float))
    eps_u, eps_d = nsi_matrix_numpy(eps12[..., :6]), nsi_matrix_numpy(eps12[..., 6:])
    y_u, y_d = (2.0 + y_n)[..., None, None], (1.0 + 2.0 * y_n)[..., None, None]
    matter = np.diag([1.0, 0.0, 0.0]) + y_u * eps_u + y_d * eps_d
    return vac + (MATTER_POTENTIAL_EV2 * n_e * enu)[..., None, None] * matter


def adiabatic_survival(enu_mev, n_e, y_n, eps12, osc: Oscillation) -> np.ndarray:
    """Exact adiabatic P(nu_e -> nu_e) on a grid (no level-crossing jumps); eps12 as in :func:`hamiltonian_ev2`."""
    _, vecs = np.linalg.eigh(hamiltonian_ev2(enu_mev, n_e, y_n, np.asarray(eps12, float), osc))
    return np.sum(vecs[..., 0, :] ** 2 * pmns(osc)[0, :] ** 2, axis=-1)
