"""Propagation (eqs. 9-16): SM and vacuum limits, eps_D / eps_N against a numerical rotation, invariants."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from numpy_tables import read_csv

import bayes_nsi
from bayes_nsi.physics import couplings, inputs, propagation
from bayes_nsi.physics.constants import DE_SALAS_2021 as OSC
from bayes_nsi.physics.two_flavour_kernels import oscillation_constants, survival_and_jacobian

# Small unit graphs run on PyTensor's Python VM ("FAST_COMPILE": no numba JIT, which costs tens of seconds
# on a cold cache); the numba path is exercised end to end by tests/test_rates.py.
UNIT_MODE = "FAST_COMPILE"

# Oscillation parameters (physics-notes, de Salas et al. 2021, NO), written out independently.
S2_12, S2_13, S2_23, DM21 = 0.318, 0.02200, 0.574, 7.50e-5
C2_12, SIN2_2TH12 = 1 - 2 * S2_12, 4 * S2_12 * (1 - S2_12)
C13SQ = 1 - S2_13
# 2 sqrt(2) G_F n_e E per (N_A cm^-3) per MeV, from PDG G_F, CODATA N_A and hbar c (physics-notes)
V_EV2 = 2 * 2**0.5 * 1.1663787e-5 * 6.02214076e23 * (1.973269804e-14) ** 3 * 1e15


SUN = read_csv("solar_b16_gs98.csv")


def rotation_u23_u13():
    """U = U23 U13 from explicit rotations about axes 1 and 2 (standard parametrization, delta = 0)."""
    t13, t23 = np.arcsin(np.sqrt(S2_13)), np.arcsin(np.sqrt(S2_23))
    u23 = np.array([[1, 0, 0], [0, np.cos(t23), np.sin(t23)], [0, -np.sin(t23), np.cos(t23)]])
    u13 = np.array([[np.cos(t13), 0, np.sin(t13)], [0, 1, 0], [-np.sin(t13), 0, np.cos(t13)]])
    return u23 @ u13


def eps_matrix(six):
    """(ee, emu, etau, mumu, mutau, tautau) -> symmetric 3x3."""
    ee, em, et, mm, mt, tt = six
    return np.array([[ee, em, et], [em, mm, mt], [et, mt, tt]])


def sm_local_pee(enu_mev, n_e):
    """Adiabatic MSW with theta13: P = c13^4 (1 + cos2th12 cos2th_m)/2 + s13^4, A = V c13^2."""
    a = V_EV2 * n_e * enu_mev * C13SQ
    num = DM21 * C2_12 - a
    cos2m = num / np.hypot(num, DM21 * np.sqrt(SIN2_2TH12))
    return C13SQ**2 * 0.5 * (1 + C2_12 * cos2m) + S2_13**2


def spectrum_pdf(flux, enu):
    t = read_csv(f"spectrum_{flux}.csv")
    return np.interp(enu, t["enu_mev"], t["pdf"], left=0, right=0) / np.trapezoid(t["pdf"], t["enu_mev"])


def sm_averaged_pee(enu_mev):
    """Eq. (16) for E > 2 MeV: 8B and hep production averages (fine trapezoid in r), weighted by flux."""
    n_e = 10.0 ** SUN["log10_ne"]
    out = 0.0
    phi = {"8B": 5.46e6 * spectrum_pdf("8B", enu_mev), "hep": 7.98e3 * spectrum_pdf("hep", enu_mev)}
    for flux, weight in phi.items():
        rho = SUN[f"prod_{flux}"]
        pbar = np.trapezoid(rho * sm_local_pee(enu_mev[:, None], n_e[None, :]), SUN["r"], axis=1)
        out = out + weight * pbar / np.trapezoid(rho, SUN["r"])
    return out / (phi["8B"] + phi["hep"])


@pytest.fixture(scope="module")
def coupling_graph():
    """One compiled function: eps (n, 12) -> eps_D^u, eps_D^d, eps_N^u, eps_N^d."""
    eps = pt.dmatrix("eps")
    outs = list(couplings.eps_d_and_n(eps, OSC))
    return pytensor.function([eps], outs, mode=UNIT_MODE)


@pytest.fixture(scope="module")
def local_graph():
    """P_ee(E, r) from the package's survival kernel with one radius of weight 1 per node:
    (enu (nE,1), n_e (1,nr), y_n (1,nr), 4 x (n,)) -> (n, nE, nr)."""
    constants = oscillation_constants(OSC)

    def local(enu, n_e, y_n, *dn):
        enu, n_e, y_n = np.broadcast_arrays(enu, n_e, y_n)
        v = (V_EV2 * n_e * enu).reshape(1, -1)
        y = y_n.reshape(1, -1)
        out, _ = survival_and_jacobian(np.stack(dn, axis=-1), v, 2 + y, 1 + 2 * y, np.ones_like(v), constants)
        return out.reshape(len(dn[0]), *enu.shape)

    return local


def random_couplings(n, seed, scale=1.0):
    return np.random.default_rng(seed).uniform(-scale, scale, size=(n, 12))


def test_sm_limit_against_closed_form():
    """Eqs. (9)-(16) of the paper against the closed form averaged on the 1000-row production table
    (trapezoid; subdividing each table interval 64 times changes it by < 2e-7). Measured: 1.96e-5 apart with
    the default 16 production nodes, 1.3e-6 with 128 (the package's Gauss-Legendre quadrature in the
    production CDF converging on the reference)."""
    enu = np.linspace(5.0, 15.0, 21)
    expected = sm_averaged_pee(enu)
    got = bayes_nsi.survival_probability(enu, physics="paper")
    np.testing.assert_allclose(got, expected, rtol=0, atol=5e-5)
    finer = bayes_nsi.survival_probability(enu, physics="paper", n_radial=128)
    np.testing.assert_allclose(finer, expected, rtol=0, atol=5e-6)
    # not vacuum-like: the MSW suppression toward sin^2 th12 is visible (guards the comparison's power)
    assert expected[0] - expected[-1] > 0.05


def test_vacuum_limit(local_graph):
    enu = np.array([[0.3], [5.0], [15.0]])
    n_e = np.full((1, 4), 1e-12)
    y_n = np.array([[0.0, 0.3, 0.5, 1.0]])
    rng = np.random.default_rng(1)
    dn = [rng.uniform(-2, 2, 5) for _ in range(4)]  # NSI do not matter without matter
    expected = C13SQ**2 * (1 - SIN2_2TH12 / 2) + S2_13**2
    np.testing.assert_allclose(local_graph(enu, n_e, y_n, *dn), expected, rtol=0, atol=1e-12)


def test_eps_d_and_n_against_numerical_rotation(coupling_graph):
    eps12 = random_couplings(20, seed=2)
    eps12[0] = 0.0
    eps12[1] = np.eye(12)[4]  # a single mutau_u
    d_u, d_d, n_u, n_d = coupling_graph(eps12)[:4]
    u = rotation_u23_u13()
    for k, row in enumerate(eps12):
        for q, (dk, nk) in enumerate(((d_u, n_u), (d_d, n_d))):
            et = u.T @ eps_matrix(row[6 * q: 6 * q + 6]) @ u
            assert dk[k] == pytest.approx((et[1, 1] - et[0, 0]) / 2, abs=1e-12)
            assert nk[k] == pytest.approx(et[0, 1], abs=1e-12)


def test_coupling_basis_fills_mirror_entries():
    eps12 = random_couplings(10, seed=3)
    matrices = np.tensordot(eps12, couplings.coupling_basis(), axes=1)  # (n, 2, 3, 3): up, down
    eps_u, eps_d = matrices[:, 0], matrices[:, 1]
    for k, row in enumerate(eps12):
        np.testing.assert_array_equal(eps_u[k], eps_matrix(row[:6]))
        np.testing.assert_array_equal(eps_d[k], eps_matrix(row[6:]))


def test_identity_coupling_is_invisible(coupling_graph):
    x_u, x_d = 0.7, -0.4
    eps12 = couplings.coupling_vector(ee_u=x_u, mumu_u=x_u, tautau_u=x_u, ee_d=x_d, mumu_d=x_d, tautau_d=x_d)
    for value in coupling_graph(eps12[None, :]):
        assert value[0] == pytest.approx(0.0, abs=1e-15)
    enu = np.linspace(1.0, 15.0, 8)
    p_sm = bayes_nsi.survival_probability(enu, physics="paper")
    p_id = bayes_nsi.survival_probability(enu, physics="paper", ee_u=x_u, mumu_u=x_u, tautau_u=x_u,
                                          ee_d=x_d, mumu_d=x_d, tautau_d=x_d)
    np.testing.assert_allclose(p_id, p_sm, rtol=0, atol=1e-13)
    # the same trace in a single entry is visible (the test above can fail)
    assert np.max(np.abs(bayes_nsi.survival_probability(enu, physics="paper", ee_u=x_u) - p_sm)) > 1e-2


def test_probability_bounds(local_graph):
    """P_ee in [0, 1]; in fact c13^4 P_eff + s13^4 with P_eff between sin^2 th12 and cos^2 th12."""
    enu = np.linspace(0.2, 18.0, 40)[:, None]
    n_e = 10.0 ** SUN["log10_ne"][None, ::25]
    y_n = SUN["Y_n"][None, ::25]
    rng = np.random.default_rng(5)
    dn = [rng.uniform(-3, 3, 300) for _ in range(4)]
    p = local_graph(enu, n_e, y_n, *dn)
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and np.all(p <= 1)
    lo, hi = C13SQ**2 * S2_12 + S2_13**2, C13SQ**2 * (1 - S2_12) + S2_13**2
    assert p.min() >= lo - 1e-12 and p.max() <= hi + 1e-12
    # the range is explored: NSI can push P_eff close to both ends
    assert p.min() < lo + 0.02 and p.max() > hi - 0.02


def test_local_survival_against_closed_form_with_nsi(local_graph):
    """Eqs. (12)-(15) with eps_D / eps_N from the numerical rotation, written out here."""
    u = rotation_u23_u13()
    enu = np.array([[6.0], [10.0], [14.0]])
    n_e = 10.0 ** SUN["log10_ne"][None, ::50]
    y_n = SUN["Y_n"][None, ::50]
    eps12 = random_couplings(6, seed=6)
    ets = [[u.T @ eps_matrix(row[6 * q: 6 * q + 6]) @ u for q in (0, 1)] for row in eps12]
    d = np.array([[(e[1, 1] - e[0, 0]) / 2 for e in pair] for pair in ets])
    n = np.array([[e[0, 1] for e in pair] for pair in ets])
    got = local_graph(enu, n_e, y_n, d[:, 0], d[:, 1], n[:, 0], n[:, 1])
    y_u, y_d = 2 + y_n, 1 + 2 * y_n
    for k in range(len(eps12)):
        pot = V_EV2 * n_e * enu
        a = pot * (C13SQ - 2 * (y_u * d[k, 0] + y_d * d[k, 1]))
        b = 2 * pot * (y_u * n[k, 0] + y_d * n[k, 1])
        # diagonalize the 2x2 of eq. (11) numerically instead of using the cos 2 theta_M formula
        h = np.empty(a.shape + (2, 2))
        h[..., 0, 0] = -DM21 * C2_12 + a
        h[..., 1, 1] = DM21 * C2_12 - a
        h[..., 0, 1] = h[..., 1, 0] = DM21 * np.sqrt(SIN2_2TH12) + b
        _, vec = np.linalg.eigh(h)
        cos2_th_m = vec[..., 0, 0] ** 2 - vec[..., 1, 0] ** 2  # lower state = cos th_M e - sin th_M mu
        expect = C13SQ**2 * 0.5 * (1 + C2_12 * cos2_th_m) + S2_13**2
        np.testing.assert_allclose(got[k], expect, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Production nodes (eq. 16's r integral) and flux weights (eq. 16's Phi_a / sum Phi) against closed forms.

def synthetic_sun(points: int = 20001) -> inputs.SolarModel:
    """rho = 2r on [0, 1] (CDF r^2), n_e = 100 exp(-10 r), Y_n = 0.3 + 0.2 r: every integral in closed form,
    and log-linear n_e and linear Y_n interpolation are exact for them."""
    r = np.linspace(0.0, 1.0, points)
    return inputs.SolarModel(r=r, n_e=100.0 * np.exp(-10.0 * r), y_n=0.3 + 0.2 * r, production={"8B": 2.0 * r})


@pytest.mark.parametrize("n_nodes", [4, 16])
def test_production_nodes_closed_form(n_nodes):
    """Nodes at r_k = sqrt(u_k), u_k the Gauss-Legendre nodes on [0, 1] (the inverse of the CDF r^2), weights
    half the Gauss-Legendre weights; the rule integrates rho f exactly for f a polynomial in u = r^2 of
    degree up to 2n - 1."""
    nodes = propagation.production_nodes(synthetic_sun(), "8B", n_nodes)
    x, w = np.polynomial.legendre.leggauss(n_nodes)
    u = 0.5 * (x + 1.0)
    np.testing.assert_allclose(nodes.r, np.sqrt(u), rtol=0, atol=1e-8)  # measured 1.8e-9: the grid's CDF inversion
    np.testing.assert_allclose(nodes.weight, 0.5 * w, rtol=1e-15)
    np.testing.assert_allclose(nodes.n_e, 100.0 * np.exp(-10.0 * nodes.r), rtol=1e-12)
    np.testing.assert_allclose(nodes.y_n, 0.3 + 0.2 * nodes.r, rtol=1e-12)
    # int_0^1 2r r^(2m) dr = 1 / (m + 1), exact for m <= 2n - 1 (degree in u); measured error <= 5e-10
    for m in range(1, 2 * n_nodes):
        assert nodes.weight @ nodes.r ** (2 * m) == pytest.approx(1.0 / (m + 1), abs=5e-9), m


def test_production_nodes_of_the_solar_table():
    """The 8B production average of n_e on the B16-GS98 table against a trapezoid over its 1000 rows."""
    sun = inputs.solar_model()
    rho = SUN["prod_8B"]
    n_e = 10.0 ** SUN["log10_ne"]
    reference = np.trapezoid(rho * n_e, SUN["r"]) / np.trapezoid(rho, SUN["r"])
    nodes = propagation.production_nodes(sun, "8B", 64)
    assert nodes.weight.sum() == pytest.approx(1.0, rel=1e-14)
    assert nodes.weight @ nodes.n_e == pytest.approx(reference, rel=1e-4)
    assert 0.0 < nodes.r.min() and nodes.r.max() < 0.3  # 8B is made in the core


# B16-GS98 normalizations of Table I (cm^-2 s^-1), written here from the paper
TABLE_I = {"pp": 5.98e10, "hep": 7.98e3, "7Be": 4.93e9, "8B": 5.46e6, "13N": 2.78e8, "15O": 2.05e8, "17F": 5.29e6}


@pytest.mark.parametrize("enu", [1.0, 1.5, 5.0, 16.0])
def test_flux_weights_against_table_one(enu):
    """Phi_a(E) / sum_b Phi_b(E) from the Table I normalizations and the shipped shapes read here."""
    names = [f for f in inputs.FLUX_NAMES if f not in inputs.LINE_FLUXES]
    phi = np.array([TABLE_I[f] * spectrum_pdf(f, np.array([enu]))[0] for f in names])
    got = propagation.flux_weights(np.array([enu]), [inputs.spectrum(f) for f in names])[0]
    np.testing.assert_allclose(got, phi / phi.sum(), rtol=1e-12, atol=1e-15)
    assert got.sum() == pytest.approx(1.0, rel=1e-14)
    if 2.0 < enu < 15.0:  # only 8B and hep reach above 1.74 MeV (Table I end points)
        assert set(np.array(names)[got > 0]) == {"8B", "hep"}
    if enu == 16.0:  # past the 8B end (15.3 MeV in the shipped table) only hep is left
        assert got[names.index("hep")] == 1.0


def test_flux_weights_refuse_energies_without_flux():
    spectra = [inputs.spectrum(f) for f in inputs.FLUX_NAMES if f not in inputs.LINE_FLUXES]
    with pytest.raises(ValueError, match=r"enu_mev: no solar neutrino flux at \[20\.\] MeV; allowed range"):
        propagation.flux_weights(np.array([10.0, 20.0]), spectra)


@pytest.mark.parametrize("physics", ["paper", "exact"])
def test_survival_probability_refuses_a_2d_energy_array(physics):
    with pytest.raises(ValueError, match=r"enu_mev: a number or a 1-D array of energies in MeV; got shape \(2, 2\)"):
        bayes_nsi.survival_probability(np.array([[5.0, 10.0], [6.0, 7.0]]), physics=physics)
