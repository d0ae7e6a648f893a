"""CEvNS detection: Helm form factor, cross-section shape (eq. 1) and flavoured weak charges (eq. 18)."""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics.constants import (
    G_FERMI_GEV2,
    G_V_NEUTRON,
    G_V_PROTON,
    HBARC2_CM2_GEV2,
    HELM_SKIN_FM,
    Nucleus,
    Oscillation,
)
from bayes_nsi.physics.couplings import coupling_basis, propagation_rotation

HBARC_GEV_FM = 0.1973269804


def momentum_transfer_fm(er_kev, mass_gev: float):
    """q = sqrt(2 m_N E_r) in fm^-1 (physics-notes)."""
    return pt.sqrt(2.0 * mass_gev * er_kev * 1e-6) / HBARC_GEV_FM


def helm_form_factor(er_kev, mass_gev: float, r_n_fm, skin_fm: float = HELM_SKIN_FM):
    """Helm F(q) = 3 j1(q R0)/(q R0) exp(-(q s)^2/2), R0^2 = 5/3 (R_n^2 - 3 s^2) (Helm 1956, physics-notes).

    r_n_fm is the rms radius; er_kev and r_n_fm broadcast. Below q R0 = 1e-3 the series 1 - x^2/10 is used.
    """
    q = momentum_transfer_fm(er_kev, mass_gev)
    r0 = pt.sqrt(5.0 / 3.0 * (r_n_fm**2 - 3.0 * skin_fm**2))
    x = q * r0
    x_safe = pt.switch(x < 1e-3, 1.0, x)
    exact = 3.0 * (pt.sin(x_safe) - x_safe * pt.cos(x_safe)) / x_safe**3
    return pt.switch(x < 1e-3, 1.0 - x**2 / 10.0, exact) * pt.exp(-0.5 * (q * skin_fm) ** 2)


def cross_section_shape(enu_mev, er_kev, mass_gev: float):
    """G_F^2/(2 pi) m_N (2 - m_N E_r/E^2) in cm^2/keV, i.e. eq. (1) divided by Q_W^2 F^2 (zero past kinematics)."""
    shape = 2.0 - mass_gev * er_kev / enu_mev**2
    norm = G_FERMI_GEV2**2 / (2 * np.pi) * mass_gev * HBARC2_CM2_GEV2 * 1e-6
    return norm * pt.maximum(shape, 0.0) if isinstance(shape, pt.Variable) else norm * np.clip(shape, 0.0, None)


def sm_weak_charge(nucleus: Nucleus) -> float:
    """Q_W = Z g_V^p + N g_V^n (eq. 2)."""
    return nucleus.z * G_V_PROTON + nucleus.n * G_V_NEUTRON


def charge_basis(nucleus: Nucleus) -> np.ndarray:
    """C = sum_k eps12_k basis[k] with C_ab = N (eps_ab^u + 2 eps_ab^d) + Z (2 eps_ab^u + eps_ab^d) (eq. 18 before
    the rotation); shape (12, 3, 3)."""
    basis = coupling_basis()
    up, down = basis[:, 0], basis[:, 1]
    return nucleus.n * (up + 2.0 * down) + nucleus.z * (2.0 * up + down)


def weak_charges_squared(eps12, nucleus: Nucleus, osc: Oscillation):
    """(Q_e^2, Q_mu^2) of eq. (18) for the nu_e-like and nu_mu-like propagation states; shapes (...).

    With C = N (et^u + 2 et^d) + Z (2 et^u + et^d) and et = U^T eps U, eq. (18) reads
    Q_i^2 = sum_j (Q_W delta_ij + C_ij)^2, the squared norm of row i of Q_W 1 + C. Rows e and mu are linear
    in the couplings, so they are one matrix product with a precomputed (12, 6) map (a few graph nodes
    where building and rotating the matrices took a hundred, most of them in the gradient).
    """
    u = propagation_rotation(osc)
    rows = (u.T @ charge_basis(nucleus) @ u)[:, :2, :].reshape(12, 6)
    sm_rows = (sm_weak_charge(nucleus) * np.eye(3))[:2].ravel()
    charge = sm_rows + pt.dot(pt.as_tensor_variable(eps12), rows)  # (..., 6): row e, then row mu
    return pt.sum(charge[..., :3] ** 2, axis=-1), pt.sum(charge[..., 3:] ** 2, axis=-1)
