"""Exact adiabatic three-flavour survival probability: limits, and the size of the two-flavour error.

Run with ``-s`` to see the 2-flavour vs 3-flavour table.
"""

import numpy as np
import pytest
from numpy_tables import read_csv

import bayes_nsi
from bayes_nsi.app.flavour_check import two_vs_three_flavour
from bayes_nsi.physics import three_flavour
from bayes_nsi.physics.constants import DE_SALAS_2021 as OSC
from bayes_nsi.physics.couplings import COUPLINGS, coupling_vector

S2_12, S2_13, S2_23, DM21, DM31 = 0.318, 0.02200, 0.574, 7.50e-5, 2.55e-3
C13SQ = 1 - S2_13
# 2 sqrt(2) G_F n_e E per (N_A cm^-3) per MeV, from PDG G_F, CODATA N_A and hbar c (physics-notes)
V_EV2 = 2 * 2**0.5 * 1.1663787e-5 * 6.02214076e23 * (1.973269804e-14) ** 3 * 1e15


SUN = read_csv("solar_b16_gs98.csv")


def sm_mean_survival(enu):
    """c13^4 (1 + cos2th12 cos2th_m)/2 + s13^4 (A = V c13^2), averaged over 8B and hep production."""
    enu = np.atleast_1d(enu)
    n_e = 10.0 ** SUN["log10_ne"]
    c2, s2 = 1 - 2 * S2_12, 2 * np.sqrt(S2_12 * (1 - S2_12))
    a = V_EV2 * n_e[None, :] * enu[:, None] * C13SQ
    p = C13SQ**2 * 0.5 * (1 + c2 * (DM21 * c2 - a) / np.hypot(DM21 * c2 - a, DM21 * s2)) + S2_13**2
    num = den = 0.0
    for flux, norm in (("8B", 5.46e6), ("hep", 7.98e3)):
        spec = read_csv(f"spectrum_{flux}.csv")
        phi = norm * np.interp(enu, spec["enu_mev"], spec["pdf"], 0, 0) / np.trapezoid(spec["pdf"], spec["enu_mev"])
        rho = SUN[f"prod_{flux}"]
        num = num + phi * np.trapezoid(rho * p, SUN["r"], axis=1) / np.trapezoid(rho, SUN["r"])
        den = den + phi
    return num / den


def rotation(i, j, theta):
    """Rotation by theta in the (i, j) plane: R_ii = R_jj = cos, R_ij = sin, R_ji = -sin."""
    r = np.eye(3)
    r[i, i] = r[j, j] = np.cos(theta)
    r[i, j], r[j, i] = np.sin(theta), -np.sin(theta)
    return r


def pmns():
    """U23 U13 U12 from explicit rotation angles (delta = 0)."""
    t12, t13, t23 = (np.arcsin(np.sqrt(s)) for s in (S2_12, S2_13, S2_23))
    return rotation(1, 2, t23) @ rotation(0, 2, t13) @ rotation(0, 1, t12)


def exact_adiabatic(enu, n_e, y_n, eps12):
    """Own 3x3: 2E H = U diag(0, dm21, dm31) U^T + V [e e^T + Y_u eps^u + Y_d eps^d]; adiabatic P_ee."""
    u = pmns()
    mats = []
    for q in (0, 1):
        ee, em, et, mm, mt, tt = eps12[6 * q: 6 * q + 6]
        mats.append(np.array([[ee, em, et], [em, mm, mt], [et, mt, tt]]))
    h = u @ np.diag([0, DM21, DM31]) @ u.T + V_EV2 * n_e * enu * (
        np.diag([1.0, 0, 0]) + (2 + y_n) * mats[0] + (1 + 2 * y_n) * mats[1])
    _, vec = np.linalg.eigh(h)
    return float(np.sum(vec[0, :] ** 2 * u[0, :] ** 2))


def test_pmns_matches():
    np.testing.assert_allclose(three_flavour.pmns(OSC), pmns(), rtol=0, atol=1e-15)
    np.testing.assert_allclose(pmns() @ pmns().T, np.eye(3), atol=1e-15)


def exact_sm_mean_survival(enu):
    """This file's 3x3 adiabatic P_ee (SM, no NSI) averaged over 8B and hep production on the 1000-row solar
    table (trapezoid in r: subdividing every table interval 64 times changes it by < 2e-7)."""
    enu = np.atleast_1d(enu)
    n_e = 10.0 ** SUN["log10_ne"]
    u = pmns()
    h = u @ np.diag([0, DM21, DM31]) @ u.T + (V_EV2 * n_e[None, :] * enu[:, None])[..., None, None] * np.diag(
        [1.0, 0, 0])
    _, vec = np.linalg.eigh(h)
    p = np.sum(vec[..., 0, :] ** 2 * u[0, :] ** 2, axis=-1)  # (nE, nr)
    num = den = 0.0
    for flux, norm in (("8B", 5.46e6), ("hep", 7.98e3)):
        spec = read_csv(f"spectrum_{flux}.csv")
        phi = norm * np.interp(enu, spec["enu_mev"], spec["pdf"], 0, 0) / np.trapezoid(spec["pdf"], spec["enu_mev"])
        rho = SUN[f"prod_{flux}"]
        num = num + phi * np.trapezoid(rho * p, SUN["r"], axis=1) / np.trapezoid(rho, SUN["r"])
        den = den + phi
    return num / den


def test_sm_limit_against_own_diagonalization():
    """The exact mode's production average against this file's. Measured: 1.95e-5 apart with the default 16
    production nodes, 3.3e-6 with 64 (the package's quadrature converging on the reference)."""
    enu = np.linspace(5.0, 15.0, 11)
    reference = exact_sm_mean_survival(enu)
    got = bayes_nsi.survival_probability(enu, physics="exact")
    np.testing.assert_allclose(got, reference, rtol=0, atol=5e-5)
    finer = bayes_nsi.survival_probability(enu, physics="exact", n_radial=64)
    np.testing.assert_allclose(finer, reference, rtol=0, atol=1e-5)
    # the comparison resolves physics: the two-flavour closed form (1-3 sector without matter, A = V c13^2)
    # is 1.0e-3 away from the exact result
    assert np.max(np.abs(sm_mean_survival(enu) - reference)) > 5e-4


def test_vacuum_limit_exact():
    expected = C13SQ**2 * (1 - 4 * S2_12 * (1 - S2_12) / 2) + S2_13**2
    enu = np.array([0.5, 5.0, 15.0])[:, None]
    for eps in (np.zeros(12), np.random.default_rng(3).uniform(-1, 1, 12)):
        p = three_flavour.adiabatic_survival(enu, np.full((1, 3), 1e-12), np.array([[0.0, 0.4, 1.0]]), eps, OSC)
        np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12)


def test_local_survival_against_own_diagonalization():
    rng = np.random.default_rng(4)
    for _ in range(20):
        eps = rng.uniform(-1, 1, 12)
        enu, k = rng.uniform(2, 16), rng.integers(0, len(SUN["r"]) // 4)
        n_e, y_n = 10 ** SUN["log10_ne"][k], SUN["Y_n"][k]
        got = three_flavour.adiabatic_survival(np.array([enu]), np.array([n_e]), np.array([y_n]), eps, OSC)[0]
        assert got == pytest.approx(exact_adiabatic(enu, n_e, y_n, eps), abs=1e-12)


# ---------------------------------------------------------------------------------------------------
# Two-flavour (paper, eqs. 9-15) against the exact three-flavour result.

# The paper's claim (sec. III): the two-flavour approximation holds "up to corrections of ~10%". It fails for
# eps_mumu^u near +0.9, where 2 Y_u eps_D^u ~ c13^2 cancels the SM potential and the mu~-tau~ mixing
# (left out by mass dominance) moves the resonance: a physics limit of the approximation, not a code bug
# (test_two_flavour_breakdown_is_the_mu_tau_mixing reproduces the exact result from it).
BREAKDOWN = {"mumu_u": (0.7, 1.0)}


@pytest.fixture(scope="module")
def comparison():
    table = two_vs_three_flavour()
    print("\n2-flavour vs exact 3-flavour <P_ee>, couplings in [-1, 1] (21 values), E in [5, 15] MeV (11 values)")
    print(f"{'coupling':>10} {'max|P2-P3|':>11} {'max rel':>8} {'at eps':>7} {'at E/MeV':>8}")
    for name, row in table["couplings"].items():
        where = f"{row['at_value']:7.2f} {row['at_enu_mev']:8.1f}"
        print(f"{name:>10} {row['max_abs']:11.4f} {row['max_rel']:8.2%} {where}")
    return table


def test_sm_two_vs_three_flavour():
    energies = np.linspace(5.0, 15.0, 11)
    p2 = bayes_nsi.survival_probability(energies, physics="paper")
    p3 = bayes_nsi.survival_probability(energies, physics="exact")
    # measured: 3.4e-3 relative, the 1-3 matter effect the two-flavour reduction leaves out (test above)
    np.testing.assert_allclose(p2, p3, rtol=5e-3)


@pytest.mark.parametrize("name", COUPLINGS)
def test_two_flavour_within_ten_percent(comparison, name):
    """Within 10% everywhere, except inside the documented breakdown window, where it exceeds 10% (and the
    size of the error is explained by the tau~ admixture, next test). No separate bound on |P2 - P3|: with
    P3 <= 0.56 at these energies, 10% relative is already 0.056 absolute."""
    values = np.array(comparison["values"])
    rel = np.array(comparison["couplings"][name]["max_rel_by_value"])
    lo, hi = BREAKDOWN.get(name, (np.inf, -np.inf))
    inside = (values >= lo) & (values <= hi)
    assert np.all(rel[~inside] < 0.10), f"{name}: {rel[~inside].max():.1%} outside the breakdown window"
    if inside.any():
        assert rel[inside].max() > 0.10  # the paper's ~10% claim really fails there


def test_two_flavour_breakdown_is_the_mu_tau_mixing():
    """Across the breakdown window (eps_mumu^u in 0.7-1.0, E = 6-14 MeV, r = 0.02-0.1 R_sun), adding the tau~
    state to second order (Schur complement of the 3x3 propagation-basis Hamiltonian onto e~, mu~) reproduces
    the exact result; the mass-dominance truncation is up to 0.33 off (eps = 0.9, E = 14 MeV, r = 0.02).
    Measured residual of the second-order correction: at most 0.0047 (third order in the tau~ mixing)."""
    u_prop = pmns() @ rotation(0, 1, np.arcsin(np.sqrt(S2_12))).T  # U23 U13
    u = pmns()
    c12, s12 = np.sqrt(1 - S2_12), np.sqrt(S2_12)

    def p_from_2x2(h2):
        _, vec = np.linalg.eigh(h2)
        return C13SQ**2 * (vec[0, 0] ** 2 * c12**2 + vec[0, 1] ** 2 * s12**2) + S2_13**2

    worst_truncation = 0.0
    for r in (0.02, 0.05, 0.1):
        k = int(np.argmin(np.abs(SUN["r"] - r)))
        n_e, y_n = 10 ** SUN["log10_ne"][k], SUN["Y_n"][k]
        for x in (0.7, 0.8, 0.9, 1.0):
            mats = np.zeros((3, 3))
            mats[1, 1] = x
            for enu in (6.0, 10.0, 14.0):
                h = u @ np.diag([0, DM21, DM31]) @ u.T + V_EV2 * n_e * enu * (np.diag([1.0, 0, 0]) + (2 + y_n) * mats)
                hp = u_prop.T @ h @ u_prop
                p_trunc = p_from_2x2(hp[:2, :2])
                schur = hp[:2, :2] - np.outer(hp[:2, 2], hp[2, :2]) / (hp[2, 2] - np.trace(hp[:2, :2]) / 2)
                p_schur = p_from_2x2(schur)
                p_exact = exact_adiabatic(enu, n_e, y_n, coupling_vector(mumu_u=x))
                assert p_schur == pytest.approx(p_exact, abs=0.01), (r, x, enu)
                worst_truncation = max(worst_truncation, abs(p_trunc - p_exact))
    assert worst_truncation > 0.3  # the mass-dominance truncation is far off here, and the tau~ admixture explains it


@pytest.mark.parametrize("physics", ["paper", "exact"])
def test_survival_probabilities_rows_match_single_calls_and_every_flux(physics):
    """Batched <P_ee> (eq. 16) = one call per coupling vector; and, at energies where only some fluxes are
    produced (1 MeV: no pp; 8 MeV: only 8B and hep), = the sum over all seven continuous fluxes written out here
    with each flux's own weight (the zero-weight fluxes the batch skips add nothing)."""
    from bayes_nsi.app.api import _continuous_production, continuous_spectra, survival_probabilities
    from bayes_nsi.physics.propagation import flux_weights, survival_grid, survival_values
    from bayes_nsi.physics.rates import Grids

    rng = np.random.default_rng(3)
    eps = rng.uniform(-0.5, 0.5, (4, 12))
    enu = np.array([1.0, 1.5, 8.0])
    batch = survival_probabilities(enu, eps, physics=physics)
    for row, e in zip(batch, eps, strict=True):
        single = bayes_nsi.survival_probability(enu, physics=physics, **dict(zip(COUPLINGS, e, strict=True)))
        np.testing.assert_allclose(row, single, rtol=1e-13, atol=0)

    weights = flux_weights(enu, continuous_spectra())  # (3 energies, 7 fluxes)
    assert np.sum(weights[-1] > 0) == 2 and np.sum(weights[0] > 0) < 7  # the premise: some weights are zero
    production = _continuous_production(Grids().n_radial)
    for row, e in zip(batch, eps, strict=True):
        if physics == "exact":
            per_flux = [three_flavour.adiabatic_survival(enu[:, None], p.n_e[None, :], p.y_n[None, :], e, OSC)
                        @ p.weight for p in production]
        else:
            values = survival_values(survival_grid(enu, production), e, OSC)[0]
            per_flux = np.split(values, len(production))
        expected = np.sum(weights * np.stack(per_flux, axis=-1), axis=-1)
        np.testing.assert_allclose(row, expected, rtol=1e-13, atol=0)

    with pytest.raises(ValueError, match=r"eps12: .*\(n, 12\).*\(12,\)"):
        survival_probabilities(enu, eps[0], physics=physics)
