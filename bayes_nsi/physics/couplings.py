"""The twelve NSI couplings: names, matrices, rotation to the propagation basis, eps_D and eps_N.

A coupling vector has shape (..., 12) in the order of :data:`COUPLINGS`; the leading axes are a batch.
The NSI matrices are real and symmetric (eq. 8); a named off-diagonal coupling fills both mirror entries.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.names import COUPLINGS, FLAVOUR_PAIRS, check_coupling_names
from bayes_nsi.physics.constants import Oscillation

__all__ = ["COUPLINGS", "FLAVOUR_PAIRS", "check_coupling_names", "coupling_vector", "coupling_basis",
           "propagation_rotation", "eps_d_coefficients", "eps_n_coefficients",
           "eps_d_and_n_map", "eps_d_and_n"]


def coupling_vector(**couplings: float) -> np.ndarray:
    """Named couplings -> a length-12 vector in :data:`COUPLINGS` order (missing ones are zero)."""
    check_coupling_names(couplings)
    return np.array([float(couplings.get(n, 0.0)) for n in COUPLINGS])


def coupling_basis() -> np.ndarray:
    """The symmetric matrices multiplying each coupling: eps^q = sum_k eps12_k basis[k, q]; shape (12, 2, 3, 3).

    q = 0 for up, 1 for down quarks (eq. 8 without the SM 1); a named off-diagonal coupling fills both
    mirror entries.
    """
    basis = np.zeros((12, 2, 3, 3))
    for q in range(2):
        for k, (_, a, b) in enumerate(FLAVOUR_PAIRS):
            basis[6 * q + k, q, a, b] = basis[6 * q + k, q, b, a] = 1.0
    return basis


def propagation_rotation(osc: Oscillation) -> np.ndarray:
    """The paper's calligraphic U = U23 U13 (real, standard parametrization; sec. III A)."""
    s13, s23 = np.sqrt(osc.sin2_th13), np.sqrt(osc.sin2_th23)
    c13, c23 = np.sqrt(1 - osc.sin2_th13), np.sqrt(1 - osc.sin2_th23)
    u23 = np.array([[1, 0, 0], [0, c23, s23], [0, -s23, c23]])
    u13 = np.array([[c13, 0, s13], [0, 1, 0], [-s13, 0, c13]])
    return u23 @ u13


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


def eps_d_and_n_map(osc: Oscillation) -> np.ndarray:
    """(eps_D^u, eps_D^d, eps_N^u, eps_N^d) = eps12 @ map (eqs. 14-15); shape (12, 4)."""
    cd, cn = eps_d_coefficients(osc), eps_n_coefficients(osc)
    zero = np.zeros(6)
    return np.stack([np.concatenate(c) for c in ((cd, zero), (zero, cd), (cn, zero), (zero, cn))], axis=1)


def eps_d_and_n(eps12, osc: Oscillation):
    """(eps_D^u, eps_D^d, eps_N^u, eps_N^d), each of shape (...), from eqs. (14)-(15)."""
    dn = pt.dot(pt.as_tensor_variable(eps12), eps_d_and_n_map(osc))
    return dn[..., 0], dn[..., 1], dn[..., 2], dn[..., 3]
