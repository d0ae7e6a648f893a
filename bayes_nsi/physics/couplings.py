"""The twelve NSI couplings: names, matrices, rotation to the propagation basis, eps_D and eps_N.

A coupling vector has shape (..., 12) in the order of :data:`COUPLINGS`; the leading axes are a batch.
The NSI matrices are real and symmetric (eq. 8); a named off-diagonal coupling fills both mirror entries.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.names import COUPLINGS, FLAVOUR_PAIRS, check_coupling_names
from bayes_nsi.physics.constants import Oscillation

__all__ = ["COUPLINGS", "FLAVOUR_PAIRS", "check_coupling_names", "coupling_vector", "nsi_matrices",
           "propagation_rotation", "rotate_to_propagation_basis", "eps_d_coefficients", "eps_n_coefficients",
           "eps_d_and_n"]


def coupling_vector(**couplings: float) -> np.ndarray:
    """Named couplings -> a length-12 vector in :data:`COUPLINGS` order (missing ones are zero)."""
    check_coupling_names(couplings)
    return np.array([float(couplings.get(n, 0.0)) for n in COUPLINGS])


def nsi_matrices(eps12):
    """Coupling vector (..., 12) -> (eps_u, eps_d), each a symmetric (..., 3, 3) tensor (eq. 8 without the SM 1)."""
    eps12 = pt.as_tensor_variable(eps12)
    mats = []
    for offset in (0, 6):
        entries = {}
        for k, (_, a, b) in enumerate(FLAVOUR_PAIRS):
            entries[(a, b)] = entries[(b, a)] = eps12[..., offset + k]
        rows = [pt.stack([entries[(a, b)] for b in range(3)], axis=-1) for a in range(3)]
        mats.append(pt.stack(rows, axis=-2))
    return mats[0], mats[1]


def propagation_rotation(osc: Oscillation) -> np.ndarray:
    """The paper's calligraphic U = U23 U13 (real, standard parametrization; sec. III A)."""
    s13, s23 = np.sqrt(osc.sin2_th13), np.sqrt(osc.sin2_th23)
    c13, c23 = np.sqrt(1 - osc.sin2_th13), np.sqrt(1 - osc.sin2_th23)
    u23 = np.array([[1, 0, 0], [0, c23, s23], [0, -s23, c23]])
    u13 = np.array([[c13, 0, s13], [0, 1, 0], [-s13, 0, c13]])
    return u23 @ u13


def rotate_to_propagation_basis(eps, osc: Oscillation):
    """Passive rotation eps_tilde = U^T eps U with U = U23 U13 (eq. 17); eps has shape (..., 3, 3)."""
    u = propagation_rotation(osc)
    return pt.matmul(pt.matmul(u.T, eps), u)


def eps_d_coefficients(osc: Oscillation) -> np.ndarray:
    """Coefficients of eps_D (eq. 14) on (ee, emu, etau, mumu, mutau, tautau)."""
    s13, s23 = np.sqrt(osc.sin2_th13), np.sqrt(osc.sin2_th23)
    c13, c23 = np.sqrt(1 - osc.sin2_th13), np.sqrt(1 - osc.sin2_th23)
    return np.array([
        -c13**2 / 2,
        s13 * c13 * s23,
        s13 * c13 * c23,
        (c13**2 - (s23**2 - s13**2 * c23**2)) / 2,
        -(1 + s13**2) * c23 * s23,
        (s23**2 - c23**2 * s13**2) / 2,
    ])


def eps_n_coefficients(osc: Oscillation) -> np.ndarray:
    """Coefficients of eps_N (eq. 15) on (ee, emu, etau, mumu, mutau, tautau)."""
    s13, s23 = np.sqrt(osc.sin2_th13), np.sqrt(osc.sin2_th23)
    c13, c23 = np.sqrt(1 - osc.sin2_th13), np.sqrt(1 - osc.sin2_th23)
    return np.array([0.0, c13 * c23, -c13 * s23, -s13 * c23 * s23, s13 * (s23**2 - c23**2), s13 * c23 * s23])


def eps_d_and_n(eps12, osc: Oscillation):
    """(eps_D^u, eps_D^d, eps_N^u, eps_N^d), each of shape (...), from eqs. (14)-(15)."""
    eps12 = pt.as_tensor_variable(eps12)
    cd, cn = eps_d_coefficients(osc), eps_n_coefficients(osc)
    up, down = eps12[..., :6], eps12[..., 6:]
    return pt.dot(up, cd), pt.dot(down, cd), pt.dot(up, cn), pt.dot(down, cn)
