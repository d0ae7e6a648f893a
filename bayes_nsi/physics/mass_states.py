"""Mass-state populations p_k(E) of solar neutrinos at Earth: exact adiabatic three-flavour, or eqs. (9)-(15).

A nu_e produced at r leaves the Sun adiabatically; the relative phases average out over 1 AU, so it
arrives as an incoherent mixture of vacuum mass states nu_k with probabilities |V_ek(r)|^2, V the
matter mixing matrix at production (physics-notes, "Exact physics"). Averaged over the production
region of one flux: p_k(E) = sum_r w_r |V_ek(E, r)|^2, with sum_k p_k = 1.

``method="exact"``: V from the full Hamiltonian of eq. (7),
2 E H = U diag(0, dm21^2, dm31^2) U^dagger + V_CC [diag(1, 0, 0) + Y_u eps^u + Y_d eps^d],
V_CC = 2 sqrt2 G_F n_e E, Y_u = 2 + Y_n, Y_d = 1 + 2 Y_n. Adiabatic levels do not cross, so the k-th
eigenvalue in ascending order connects to mass state k (normal ordering).

``method="two_flavour"``: the paper's mass-dominance picture, p_1,2 = c13^2 (1 +- cos 2theta_M) / 2 and
p_3 = s13^2 with cos 2theta_M of eqs. (12)-(15); sum_k p_k |U_ek|^2 is then exactly eq. (9).

How the exact eigenproblem is solved (chosen by measurement, numba backend, 2 cores): a batched
``pt.linalg.eigh`` costs 4.2 us per 3x3 matrix for the value and 7.5 us with its gradient, i.e. about 4 ms
per coupling point for the 544 (E, r) nodes of the rate graph, a hundred times the paper-mode graph. This
module instead uses closed forms that PyTensor fuses into elementwise loops:
- eigenvalues of the traceless part B = H - tr(H)/3 from the trigonometric solution of the cubic,
  lambda = p x with x in {2 cos phi, -cos phi +- sqrt3 sin phi}, p^2 = tr(B^2)/6 (a sum of squares, no
  cancellation), cos 3phi = det(B) / (2 p^3), and phi in [0, pi/3] orders the levels without sorting;
- the e-row of the eigenvectors from the eigenvector-eigenvalue identity (Denton, Parke, Tao, Zhang,
  Bull. AMS 59 (2022) 31): |V_ek|^2 prod_{j!=k} (lambda_k - lambda_j) = det(lambda_k - B_[mu tau]), the
  characteristic polynomial of the mu-tau block at lambda_k; the level gaps are 2 sqrt3 p sin(phi),
  2 sqrt3 p sin(pi/3 - phi), 2 sqrt3 p sin(pi/3 + phi), accurate even when the gap is small.
At an exact two-level degeneracy |V_ek|^2 of the degenerate pair is not defined (a conical intersection);
cos 3phi is clipped to [-1 + CLIP, 1 - CLIP], which keeps the gaps above 1.6e-6 p, so values and
gradients stay finite there (the pair's sum and the third level are unaffected). Values agree with
numpy.linalg.eigh to ~1e-16 (p / gap)^2 per node.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt

from bayes_nsi.physics.constants import MATTER_POTENTIAL_EV2, Oscillation
from bayes_nsi.physics.couplings import FLAVOUR_PAIRS, eps_d_and_n
from bayes_nsi.physics.propagation import ProductionNodes, matter_cos2theta
from bayes_nsi.physics.three_flavour import pmns_cp

METHODS = ("exact", "two_flavour")
CLIP = 1e-12  # |cos 3phi| <= 1 - CLIP: smallest level gap 2 sqrt3 p sin(sqrt(2 CLIP) / 3) = 1.6e-6 p
P2_FLOOR = 1e-24  # p^2 floor in units of dm31^4 (a triple degeneracy), keeps det / p^3 finite
SQRT3 = np.sqrt(3.0)


def _check_method(method: str, delta_cp_rad: float) -> None:
    if method not in METHODS:
        raise ValueError(f"method: unknown {method!r}; allowed: {', '.join(METHODS)}")
    if method == "two_flavour" and delta_cp_rad != 0.0:
        raise ValueError("delta_cp_rad: the two-flavour method (eqs. 12-15, real rotations) needs delta_cp_rad = 0")


def _matter_entries(eps12, y_n: np.ndarray) -> dict[tuple[int, int], object]:
    """Entries ab (a <= b) of diag(1,0,0) + Y_u eps^u + Y_d eps^d at each node; each (..., n_r)."""
    y_u, y_d = 2.0 + y_n, 1.0 + 2.0 * y_n  # sec. III A
    out = {}
    for k, (_, a, b) in enumerate(FLAVOUR_PAIRS):
        out[(a, b)] = eps12[..., k, None] * y_u + eps12[..., 6 + k, None] * y_d + (1.0 if a == b == 0 else 0.0)
    return out


def local_populations_exact(enu_mev: np.ndarray, n_e: np.ndarray, y_n: np.ndarray, eps12, osc: Oscillation,
                            delta_cp_rad: float = 0.0):
    """|V_ek(E, r)|^2 of the exact adiabatic Hamiltonian; shape (..., n_E, n_r, 3), k = mass state 1, 2, 3.

    enu_mev (n_E,) in MeV; n_e (n_r,) in N_A cm^-3; y_n (n_r,); eps12 (..., 12) in COUPLINGS order.
    Everything is in units of dm31^2 (see the module docstring for the closed forms).
    """
    eps12 = pt.as_tensor_variable(eps12)
    scale = osc.dm31_ev2
    u = pmns_cp(osc, delta_cp_rad)
    h0 = u @ np.diag([0.0, osc.dm21_ev2, osc.dm31_ev2]) @ u.conj().T / scale
    b0 = h0 - np.trace(h0).real / 3.0 * np.eye(3)  # traceless vacuum part (Hermitian)
    v = MATTER_POTENTIAL_EV2 * np.outer(enu_mev, n_e) / scale  # (n_E, n_r): 2 sqrt2 G_F n_e E / dm31^2
    m = _matter_entries(eps12, np.asarray(y_n, float))
    tr_m = (m[(0, 0)] + m[(1, 1)] + m[(2, 2)]) / 3.0
    # B = B0 + v B1 at every node, B1 the traceless matter part; real parts (..., n_E, n_r), imaginary parts
    # constant (vacuum only, zero at delta_CP = 0).
    re, im = {}, {}
    for (a, b), entry in m.items():
        b1 = entry - tr_m if a == b else entry
        re[(a, b)] = b0[a, b].real + v * b1[..., None, :]
        im[(a, b)] = float(b0[a, b].imag) if a != b else 0.0

    def abs2(ab):
        return re[ab] ** 2 + im[ab] ** 2 if im[ab] else re[ab] ** 2

    d_e, d_m, d_t = re[(0, 0)], re[(1, 1)], re[(2, 2)]
    em, et, mt = (0, 1), (0, 2), (1, 2)
    p2 = pt.maximum((d_e**2 + d_m**2 + d_t**2) / 6.0 + (abs2(em) + abs2(et) + abs2(mt)) / 3.0, P2_FLOOR)
    p = pt.sqrt(p2)
    # 2 Re(B_emu B_mutau B_taue), B_taue = conj(B_etau)
    triple = re[em] * re[mt] * re[et]
    if im[em] or im[mt] or im[et]:
        triple = triple - im[em] * im[mt] * re[et] + (re[em] * im[mt] + im[em] * re[mt]) * im[et]
    det = d_e * d_m * d_t + 2.0 * triple - d_e * abs2(mt) - d_m * abs2(et) - d_t * abs2(em)
    cos3phi = pt.clip(det / (2.0 * p2 * p), -1.0 + CLIP, 1.0 - CLIP)
    phi = pt.arccos(cos3phi) / 3.0  # in (0, pi/3)
    c, s = pt.cos(phi), pt.sin(phi)
    minor = (d_m * d_t - abs2(mt)) / p2  # det of the mu-tau block of B, in units of p^2
    t = d_e / p

    def char_minor(x):  # det(x - B_[mu tau]) / p^2 with tr(B_[mu tau]) = -B_ee
        return x * (x + t) + minor

    x1, x2, x3 = -c - SQRT3 * s, -c + SQRT3 * s, 2.0 * c  # ascending: mass states 1, 2, 3
    g21, g32, g31 = 2.0 * SQRT3 * s, 3.0 * c - SQRT3 * s, 3.0 * c + SQRT3 * s  # x2-x1, x3-x2, x3-x1 (> 0)
    pops = (char_minor(x1) / (g21 * g31), -char_minor(x2) / (g21 * g32), char_minor(x3) / (g31 * g32))
    return pt.stack(pops, axis=-1)


def local_populations_two_flavour(enu_mev: np.ndarray, n_e: np.ndarray, y_n: np.ndarray, eps12,
                                  osc: Oscillation):
    """p_1,2 = c13^2 (1 +- cos 2theta_M) / 2, p_3 = s13^2 (eqs. 9-15); shape (..., n_E, n_r, 3)."""
    cos2m = matter_cos2theta(np.asarray(enu_mev)[:, None], np.asarray(n_e)[None, :], np.asarray(y_n)[None, :],
                             eps_d_and_n(eps12, osc), osc)
    c13sq = 1.0 - osc.sin2_th13
    p3 = pt.fill(cos2m, osc.sin2_th13)
    return pt.stack((0.5 * c13sq * (1.0 + cos2m), 0.5 * c13sq * (1.0 - cos2m), p3), axis=-1)


def mass_state_populations(enu_mev, nodes: ProductionNodes, eps12, osc: Oscillation, method: str = "exact",
                           delta_cp_rad: float = 0.0):
    """Production-averaged populations p_k(E) = sum_r w_r |V_ek(E, r)|^2 of one flux; shape (..., n_E, 3).

    enu_mev: neutrino energies (n_E,) in MeV; nodes: the flux's production nodes (eq. 16's r integral);
    eps12: couplings (..., 12) in COUPLINGS order; method: "exact" or "two_flavour"; delta_cp_rad: Dirac
    phase (exact method only).
    """
    _check_method(method, delta_cp_rad)
    enu = np.atleast_1d(np.asarray(enu_mev, dtype=float))
    if method == "exact":
        local = local_populations_exact(enu, nodes.n_e, nodes.y_n, eps12, osc, delta_cp_rad)
    else:
        local = local_populations_two_flavour(enu, nodes.n_e, nodes.y_n, eps12, osc)
    return pt.sum(local * nodes.weight[:, None], axis=-2)


def survival_from_populations(populations, osc: Oscillation, delta_cp_rad: float = 0.0):
    """<P_ee> = sum_k p_k |U_ek|^2 (incoherent mass states at Earth); populations (..., 3) -> (...)."""
    return pt.dot(populations, np.abs(pmns_cp(osc, delta_cp_rad)[0]) ** 2)
