"""CEvNS weak charge of an incoherent mixture of neutrino mass states: Tr[rho A^dagger A] (density matrix).

Derivation (Coloma, Gonzalez-Garcia, Maltoni, Pinheiro, Urrea, JHEP 08 (2023) 032, arXiv:2305.07698, the
reference paper's ref. [42]). With vector NSI the coherent amplitude for nu_a N -> nu_b N is
proportional to F(q) A_ba, where in the flavour basis (no rotation)

    A = Q_W 1 + C,   C_ab = N (eps_ab^u + 2 eps_ab^d) + Z (2 eps_ab^u + eps_ab^d),   Q_W = Z g_V^p + N g_V^n,

so eq. (1) for a pure nu_a holds with Q_W^2 -> sum_b |A_ba|^2 = (A^dagger A)_aa. A neutrino in the state
rho (a 3x3 flavour density matrix) scatters, summed over the unobserved final flavour b, with
sum_b <b| A rho A^dagger |b> = Tr[A rho A^dagger] = Tr[rho A^dagger A].

Solar neutrinos arrive as an incoherent mixture of mass states nu_k with populations p_k (the phases
between them average out over the Sun-Earth distance), rho = sum_k p_k |nu_k><nu_k| = U diag(p) U^dagger
with U the vacuum PMNS matrix (column k = flavour content of nu_k). Hence

    Q_eff^2 = Tr[rho A^dagger A] = sum_k p_k (U^dagger A^dagger A U)_kk = sum_k p_k |A u_k|^2.

A is real and symmetric (real NSI), so A^dagger A = A^2. Without NSI, A = Q_W 1 and
Tr[rho A^2] = Q_W^2 Tr[rho] = Q_W^2 sum_k p_k = Q_W^2: the SM cross section, whatever the populations.
With NSI, |A u_k|^2 = Q_W^2 + 2 Q_W u_k^dagger C u_k + |C u_k|^2 contains 2 Q_W sum_ab Re(U_ak^* U_bk) C_ab,
linear in the off-diagonal couplings because the mass states are superpositions of flavours (the
interference term that eq. (19) of the reference paper does not have).

delta_CP enters only through U: for complex U, |A u_k|^2 = |A Re u_k|^2 + |A Im u_k|^2 since A is real.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics.constants import Nucleus, Oscillation
from bayes_nsi.physics.detection import charge_basis, sm_weak_charge
from bayes_nsi.physics.three_flavour import pmns_cp


def mass_state_charges(eps12, nucleus: Nucleus, osc: Oscillation, delta_cp_rad: float = 0.0):
    """|A u_k|^2 = (U^dagger A^2 U)_kk, the squared weak charge of mass state k; eps12 (..., 12) -> (..., 3).

    A u_k is linear in the couplings: A [Re U, Im U] = Q_W [Re U, Im U] + sum_k eps12_k C_k [Re U, Im U], one
    matrix product with a precomputed (12, 3 n) map (n = 1 for real U, 2 for complex U).
    """
    u = pmns_cp(osc, delta_cp_rad)
    columns = np.concatenate([u.real, u.imag], axis=1) if np.any(u.imag) else u.real  # (3, 3 n)
    amplitude_map = (charge_basis(nucleus) @ columns).reshape(12, -1)
    eps12 = pt.as_tensor_variable(eps12)
    amplitudes = (sm_weak_charge(nucleus) * columns).ravel() + pt.dot(eps12, amplitude_map)  # (..., 3 * 3 n)
    squares = pt.sum((amplitudes ** 2).reshape((*[eps12.shape[k] for k in range(eps12.ndim - 1)], 3, -1)), axis=-2)
    return squares[..., :3] + squares[..., 3:] if columns.shape[1] == 6 else squares


def detection_weight(populations, eps12, nucleus: Nucleus, osc: Oscillation, delta_cp_rad: float = 0.0):
    """Tr[rho A^dagger A] = sum_k p_k |A u_k|^2, replacing Q_W^2 in eq. (1).

    populations: mass-state populations (..., n, 3) (e.g. at n neutrino energies); eps12: couplings (..., 12)
    with the same batch shape (...). Returns (..., n).
    """
    charges = mass_state_charges(eps12, nucleus, osc, delta_cp_rad)
    return pt.sum(pt.as_tensor_variable(populations) * charges[..., None, :], axis=-1)
