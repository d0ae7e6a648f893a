"""Detection (eqs. 1, 2, 18): Helm form factor, integrated cross section, flavoured weak charges."""

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import integrate, optimize, special

from bayes_nsi.physics import couplings, detection
from bayes_nsi.physics.constants import DE_SALAS_2021 as OSC
from bayes_nsi.physics.constants import natural_xenon

# Small unit graphs run on PyTensor's Python VM ("FAST_COMPILE": no numba JIT, which costs tens of seconds
# on a cold cache); the numba path is exercised end to end by tests/test_rates.py.
UNIT_MODE = "FAST_COMPILE"

# Independent constants (physics-notes): PDG / CODATA, xenon isotopes (A, abundance, rms charge radius).
G_F, HBARC2, HBARC, AMU = 1.1663787e-5, 0.3893794e-27, 0.1973269804, 0.93149410
SIN2_W = 0.23857
ISOTOPES = np.array([(124, 0.000952, 4.7661), (126, 0.000890, 4.7722), (128, 0.019102, 4.7774),
                     (129, 0.264006, 4.7775), (130, 0.040710, 4.7818), (131, 0.212324, 4.7808),
                     (132, 0.269086, 4.7859), (134, 0.104357, 4.7899), (136, 0.088573, 4.7964)])
_AB = ISOTOPES[:, 1] / ISOTOPES[:, 1].sum()
A_MEAN, R_C = _AB @ ISOTOPES[:, 0], _AB @ ISOTOPES[:, 2]
Z, N = 54, _AB @ ISOTOPES[:, 0] - 54
M_N = A_MEAN * AMU  # GeV
R_N, S_HELM = R_C + 0.2, 0.9  # fm
G_P, G_N = 0.5 - 2 * SIN2_W, -0.5
Q_W = Z * G_P + N * G_N
K_QUARK = {"u": N + 2 * Z, "d": 2 * N + Z}  # eq. (18): N (et^u + 2 et^d) + Z (2 et^u + et^d)

NUCLEUS = natural_xenon()


def u23_u13():
    t13, t23 = np.arcsin(np.sqrt(0.02200)), np.arcsin(np.sqrt(0.574))
    c13, s13, c23, s23 = np.cos(t13), np.sin(t13), np.cos(t23), np.sin(t23)
    return np.array([[1, 0, 0], [0, c23, s23], [0, -s23, c23]]) @ np.array([[c13, 0, s13], [0, 1, 0], [-s13, 0, c13]])


PAIRS = {"ee": (0, 0), "emu": (0, 1), "etau": (0, 2), "mumu": (1, 1), "mutau": (1, 2), "tautau": (2, 2)}


def unit_matrix(pair):
    a, b = PAIRS[pair]
    m = np.zeros((3, 3))
    m[a, b] = m[b, a] = 1.0
    return m


def eq18(eps12):
    """Eq. (18) as printed: Q_i^2 = [N(g_n + et_ii^u + 2 et_ii^d) + Z(g_p + 2 et_ii^u + et_ii^d)]^2
    + sum_{j != i} [N(et_ij^u + 2 et_ij^d) + Z(2 et_ij^u + et_ij^d)]^2, et = U^T eps U (passive)."""
    u = u23_u13()
    mats = []
    for q in (0, 1):
        m = sum(eps12[6 * q + k] * unit_matrix(p) for k, p in enumerate(PAIRS))
        mats.append(np.einsum("ki,kl,lj->ij", u, m, u))
    etu, etd = mats
    out = []
    for i in (0, 1):
        q2 = (N * (G_N + etu[i, i] + 2 * etd[i, i]) + Z * (G_P + 2 * etu[i, i] + etd[i, i])) ** 2
        for j in range(3):
            if j != i:
                q2 += (N * (etu[i, j] + 2 * etd[i, j]) + Z * (2 * etu[i, j] + etd[i, j])) ** 2
        out.append(q2)
    return out


@pytest.fixture(scope="module")
def helm():
    er, rn = pt.dvector("er"), pt.dscalar("rn")
    fn = pytensor.function([er, rn], detection.helm_form_factor(er, NUCLEUS.mass_gev, rn), mode=UNIT_MODE)
    return lambda e, r=NUCLEUS.r_neutron_fm: fn(np.atleast_1d(np.asarray(e, float)), r)


@pytest.fixture(scope="module")
def charges():
    eps = pt.dmatrix("eps")
    fn = pytensor.function([eps], list(detection.weak_charges_squared(eps, NUCLEUS, OSC)), mode=UNIT_MODE)
    return lambda e: [np.asarray(v) for v in fn(np.atleast_2d(e))]


def helm_reference(er_kev):
    q = np.sqrt(2 * M_N * er_kev * 1e-6) / HBARC
    r0 = np.sqrt(5 / 3 * (R_N**2 - 3 * S_HELM**2))
    return 3 * special.spherical_jn(1, q * r0) / (q * r0) * np.exp(-((q * S_HELM) ** 2) / 2)


def test_nucleus_constants():
    assert NUCLEUS.z == Z
    assert NUCLEUS.n == pytest.approx(N, rel=1e-12)
    assert NUCLEUS.mass_gev == pytest.approx(M_N, rel=1e-12)
    assert NUCLEUS.r_neutron_fm == pytest.approx(R_N, rel=1e-12)
    assert detection.sm_weak_charge(NUCLEUS) == pytest.approx(Q_W, rel=1e-12)


def test_helm_at_zero_momentum(helm):
    assert helm([1e-12, 1e-9])[0] == pytest.approx(1.0, abs=1e-12)
    assert helm(1e-9)[0] == pytest.approx(1.0, abs=1e-10)
    # just above the series switch (q R0 = 1e-3) the exact branch must join smoothly
    er = np.array([0.5e-6, 1e-6, 5e-6, 1e-4])
    np.testing.assert_allclose(helm(er), helm_reference(er), rtol=1e-9)


@pytest.mark.parametrize("rn", [R_N, 4.5, 5.5])
def test_helm_small_q_expansion_gives_the_rms_radius(helm, rn):
    """Any form factor of a density with rms radius R_n starts as F = 1 - q^2 R_n^2 / 6 + O(q^4): the package's
    R0^2 = 5/3 (R_n^2 - 3 s^2) makes the input radius the rms radius (for natural xenon R_n = R_C + 0.2 fm,
    R_C = 4.784 fm from the published radii of Angeli & Marinova 2013). The O(q^4) term is (q R_n)^2 / 20
    relative at most; at q R_n <= 0.03 the slope is checked to 1e-4 (a radius off by 0.1 fm is 4e-2)."""
    er = np.array([2e-5, 1e-4, 4e-4])  # keV: q R_n = 0.008 - 0.03 for xenon
    q = np.sqrt(2 * M_N * er * 1e-6) / HBARC
    assert np.all(q * rn <= 0.031)
    slope = (1.0 - helm(er, rn)) / q**2
    np.testing.assert_allclose(slope, rn**2 / 6.0, rtol=1e-4)


def test_helm_against_spherical_bessel(helm):
    er = np.array([0.1, 0.5, 1.0, 3.0, 10.0, 50.0, 100.0, 200.0])
    np.testing.assert_allclose(helm(er), helm_reference(er), rtol=1e-11, atol=1e-14)
    for rn in (4.5, 5.5):  # the radius is an input
        q = np.sqrt(2 * M_N * 5.0 * 1e-6) / HBARC
        r0 = np.sqrt(5 / 3 * (rn**2 - 3 * S_HELM**2))
        ref = 3 * special.spherical_jn(1, q * r0) / (q * r0) * np.exp(-((q * S_HELM) ** 2) / 2)
        assert helm(5.0, rn)[0] == pytest.approx(ref, rel=1e-11)


def test_helm_first_zero(helm):
    er = np.linspace(1.0, 400.0, 400)
    f = helm(er)
    k = int(np.argmax(f[1:] * f[:-1] < 0))
    assert f[k] > 0 > f[k + 1]
    er0 = optimize.brentq(lambda e: helm(e)[0], er[k], er[k + 1], xtol=1e-12, rtol=1e-14)
    q_r0 = np.sqrt(2 * M_N * er0 * 1e-6) / HBARC * np.sqrt(5 / 3 * (R_N**2 - 3 * S_HELM**2))
    x1 = optimize.brentq(lambda x: np.tan(x) - x, 4.0, 4.6)  # first non-trivial zero of j1
    assert x1 == pytest.approx(4.493409457909064, abs=1e-12)
    assert q_r0 == pytest.approx(x1, abs=1e-8)


@pytest.mark.parametrize("enu_mev", [5.0, 10.0, 15.0])
def test_total_cross_section_closed_form(enu_mev):
    """sigma = int_0^{2E^2/m} G_F^2/(2 pi) Q_W^2 m (2 - m T/E^2) dT = G_F^2/(2 pi) Q_W^2 m (2T - m T^2/(2E^2))
    at T = 2E^2/m, i.e. G_F^2 Q_W^2 E^2 / pi (F = 1)."""
    e_gev = enu_mev * 1e-3
    t_max_gev = 2 * e_gev**2 / M_N
    closed = G_F**2 / (2 * np.pi) * Q_W**2 * M_N * (2 * t_max_gev - M_N * t_max_gev**2 / (2 * e_gev**2)) * HBARC2
    assert closed == pytest.approx(G_F**2 * Q_W**2 * e_gev**2 / np.pi * HBARC2, rel=1e-13)
    t_max_kev = t_max_gev * 1e6
    shape = lambda t: detection.cross_section_shape(enu_mev, np.array([t]), NUCLEUS.mass_gev)[0]
    sigma, _err = integrate.quad(shape, 0.0, t_max_kev, epsabs=0, epsrel=1e-12)
    assert Q_W**2 * sigma == pytest.approx(closed, rel=1e-10)
    # kinematic cut: nothing beyond T_max
    beyond = detection.cross_section_shape(enu_mev, np.array([1.0001, 2.0]) * t_max_kev, NUCLEUS.mass_gev)
    np.testing.assert_array_equal(beyond, 0.0)
    # the differential shape at T = 0 is G_F^2/(2 pi) m * 2, in cm^2 per keV
    at0 = detection.cross_section_shape(enu_mev, np.array([0.0]), NUCLEUS.mass_gev)[0]
    assert at0 == pytest.approx(G_F**2 / np.pi * M_N * HBARC2 * 1e-6, rel=1e-13)


def test_sm_weak_charges(charges):
    q_e, q_mu = charges(np.zeros(12))
    assert q_e[0] == pytest.approx((Z * G_P + N * G_N) ** 2, rel=1e-13)
    assert q_mu[0] == pytest.approx((Z * G_P + N * G_N) ** 2, rel=1e-13)


def test_weak_charges_against_eq18(charges):
    eps = np.random.default_rng(7).uniform(-1, 1, size=(25, 12))
    eps[0] = 0.0
    eps[1:13] = np.eye(12) * 0.6  # each coupling alone
    q_e, q_mu = charges(eps)
    ref = np.array([eq18(row) for row in eps])
    np.testing.assert_allclose(q_e, ref[:, 0], rtol=1e-12)
    np.testing.assert_allclose(q_mu, ref[:, 1], rtol=1e-12)


def test_ee_u_symmetric_point(charges):
    """Pure eps_ee^u: et = x u u^T with u = first row of U, so
    Q_e^2 = (Q_W + k x U_e1^2)^2 + k^2 x^2 U_e1^2 (U_e2^2 + U_e3^2) = Q_W^2 + 2 Q_W k x U_e1^2 + k^2 x^2 U_e1^2
    (unitarity of the row), k = N + 2Z: the U_ee^2 cancels and Q_e^2 = Q_W^2 again at x = -2 Q_W / (N + 2Z)."""
    x_star = -2 * Q_W / (N + 2 * Z)
    root = optimize.brentq(lambda x: charges(couplings.coupling_vector(ee_u=x))[0][0] - Q_W**2,
                           0.5 * x_star, 1.5 * x_star, xtol=1e-14)
    assert root == pytest.approx(x_star, rel=1e-9)
    assert x_star == pytest.approx(0.4037, abs=1e-3)
    # nu_mu-like state: U_{e, mu} = 0, so eps_ee never reaches it
    assert charges(couplings.coupling_vector(ee_u=0.8))[1][0] == pytest.approx(Q_W**2, rel=1e-13)


@pytest.mark.parametrize("name", couplings.COUPLINGS)
@pytest.mark.parametrize("row", [0, 1], ids=["Q_e", "Q_mu"])
def test_single_coupling_interference(charges, name, row):
    """One coupling x M (M the unit pattern): Q_i^2 = Q_W^2 + 2 Q_W k x Mt_ii + k^2 x^2 (Mt^2)_ii, Mt = U^T M U.
    If Mt_ii = 0 the coupling only adds squares; otherwise Q_i^2 returns to Q_W^2 at
    x* = -2 Q_W Mt_ii / (k (Mt^2)_ii) and dips to Q_W^2 (1 - Mt_ii^2 / (Mt^2)_ii) at x*/2."""
    pair, quark = name.split("_")
    u = u23_u13()
    mt = u.T @ unit_matrix(pair) @ u
    k, a, b = K_QUARK[quark], mt[row, row], (mt @ mt)[row, row]
    q2 = lambda x: charges(couplings.coupling_vector(**{name: x}))[row][0]
    if abs(a) < 1e-12:
        xs = np.linspace(-1, 1, 9)
        got = np.array([q2(x) for x in xs])
        np.testing.assert_allclose(got, Q_W**2 + k**2 * xs**2 * b, rtol=1e-12)
        assert np.all(got >= Q_W**2 * (1 - 1e-14))
        return
    x_star = -2 * Q_W * a / (k * b)
    root = optimize.brentq(lambda x: q2(x) - Q_W**2, 0.5 * x_star, 1.5 * x_star, xtol=1e-15, rtol=1e-13)
    assert root == pytest.approx(x_star, rel=1e-9)
    res = optimize.minimize_scalar(q2, bracket=(0.0, 0.5 * x_star, x_star), tol=1e-12)
    assert res.fun == pytest.approx(Q_W**2 * (1 - a**2 / b), rel=1e-10)
    assert res.fun < Q_W**2


def test_rotated_off_diagonal_only_adds_squares(charges):
    """Couplings whose rotated matrices et^u, et^d are purely off-diagonal: Q_i^2 = Q_W^2 + sum_{j != i} C_ij^2."""
    rng = np.random.default_rng(8)
    u = u23_u13()
    for _ in range(10):
        ets = []
        eps12 = np.empty(12)
        for q in (0, 1):
            off = rng.uniform(-1, 1, 3)
            et = np.array([[0, off[0], off[1]], [off[0], 0, off[2]], [off[1], off[2], 0]])
            eps = u @ et @ u.T  # back to the flavour basis
            eps12[6 * q: 6 * q + 6] = [eps[PAIRS[p]] for p in PAIRS]
            ets.append(et)
        c = N * (ets[0] + 2 * ets[1]) + Z * (2 * ets[0] + ets[1])
        q_e, q_mu = charges(eps12)
        assert q_e[0] == pytest.approx(Q_W**2 + c[0, 1] ** 2 + c[0, 2] ** 2, rel=1e-11)
        assert q_mu[0] == pytest.approx(Q_W**2 + c[1, 0] ** 2 + c[1, 2] ** 2, rel=1e-11)
        assert q_e[0] >= Q_W**2 and q_mu[0] >= Q_W**2
