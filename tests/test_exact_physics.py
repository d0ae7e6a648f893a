"""Exact neutrino physics: mass-state populations (exact adiabatic, two-flavour) and the density-matrix weight.

Each check is against an independent number: a numpy diagonalization written here (own PMNS matrix, own
NSI matrices, own matter potential from G_F, N_A and hbar c), the numpy module ``three_flavour``, the
closed-form two-flavour MSW mixing at s13 = 0, the analytic difference between the density-matrix weight
and eq. (19) for diagonal couplings, the analytic first-order interference term, and central finite
differences. Run with ``-s`` to see the measured sizes.
"""

import dataclasses

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from bayes_nsi.physics import rates, three_flavour
from bayes_nsi.physics.adiabatic_kernels import Populations
from bayes_nsi.physics.constants import DE_SALAS_2021 as OSC
from bayes_nsi.physics.detection import helm_form_factor
from bayes_nsi.physics.detector import Detector
from bayes_nsi.physics.mass_states import mass_state_populations, survival_from_populations
from bayes_nsi.physics.physics_modes import detection_weights
from bayes_nsi.physics.propagation import survival_at_nodes

# Independent constants: CODATA 2018 / PDG 2024.
G_F_GEV2, N_A, HBARC_GEV_CM, SIN2_W = 1.1663787e-5, 6.02214076e23, 1.973269804e-14, 0.23857
V_EV2 = 2.0 * np.sqrt(2.0) * G_F_GEV2 * N_A * HBARC_GEV_CM**3 * 1e-3 * 1e18  # eV^2 per (N_A cm^-3) per MeV
DELTA = 1.2  # a Dirac phase for the CP checks (rad)
GRIDS = rates.Grids(n_enu=6, n_radial=6)
TOY = Detector("toy", np.array([0.5, 3.0]), np.array([1.0, 1.0]), 1.0)  # flat response: the physics only
MODES = ("paper", "hybrid", "exact")
OSC_S13_0 = dataclasses.replace(OSC, sin2_th13=0.0)


# ---- the independent numpy implementation ------------------------------------------------------------

def rotation(i, j, theta, delta=0.0):
    """Complex rotation in the (i, j) plane, phase e^{-i delta} on the upper off-diagonal entry."""
    r = np.eye(3, dtype=complex)
    r[i, i] = r[j, j] = np.cos(theta)
    r[i, j], r[j, i] = np.sin(theta) * np.exp(-1j * delta), -np.sin(theta) * np.exp(1j * delta)
    return r


def pmns(osc, delta=0.0):
    t12, t13, t23 = (np.arcsin(np.sqrt(s)) for s in (osc.sin2_th12, osc.sin2_th13, osc.sin2_th23))
    return rotation(1, 2, t23) @ rotation(0, 2, t13, delta) @ rotation(0, 1, t12)


def nsi(eps6):
    ee, em, et, mm, mt, tt = eps6
    return np.array([[ee, em, et], [em, mm, mt], [et, mt, tt]])


def numpy_populations(enu, nodes, eps, osc, delta=0.0):
    """p_k(E) = sum_r w_r |V_ek|^2 with numpy.linalg.eigh at every node; (n_E, 3)."""
    u = pmns(osc, delta)
    h_vac = u @ np.diag([0.0, osc.dm21_ev2, osc.dm31_ev2]) @ u.conj().T
    eps_u, eps_d = nsi(eps[:6]), nsi(eps[6:])
    out = np.zeros((len(enu), 3))
    for i, e in enumerate(enu):
        for n_e, y_n, w in zip(nodes.n_e, nodes.y_n, nodes.weight, strict=True):
            matter = np.diag([1.0, 0.0, 0.0]) + (2 + y_n) * eps_u + (1 + 2 * y_n) * eps_d
            _, vec = np.linalg.eigh(h_vac + V_EV2 * n_e * e * matter)
            out[i] += w * np.abs(vec[0]) ** 2
    return out


def weak_charge(nucleus):
    return nucleus.z * (0.5 - 2 * SIN2_W) - 0.5 * nucleus.n


def coupling_matrix(eps, nucleus):
    eps_u, eps_d = nsi(eps[:6]), nsi(eps[6:])
    return weak_charge(nucleus) * np.eye(3) + nucleus.n * (eps_u + 2 * eps_d) + nucleus.z * (2 * eps_u + eps_d)


def numpy_weight(populations, eps, nucleus, osc, delta=0.0):
    """Tr[rho A^T A], rho = U diag(p) U^dagger, at each row of populations (n, 3)."""
    u, a = pmns(osc, delta), coupling_matrix(eps, nucleus)
    return np.array([np.trace(u @ np.diag(p) @ u.conj().T @ a.T @ a).real for p in populations])


def all_nodes_populations(model, eps, osc=OSC, delta=0.0):
    return np.concatenate([numpy_populations(model.enu_nodes, n, eps, osc, delta) for n in model.production])


# ---- the graphs under test ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models():
    return {m: rates.build_model((TOY,), GRIDS, physics=m) for m in MODES}


PROBE = np.random.default_rng(0).uniform(0.5, 1.5, (GRIDS.n_enu + 1) * 2)  # a fixed linear functional of W


def exact_weights_and_gradients(model, eps, deltas=(0.0, DELTA)):
    """Exact weights at the given Dirac phases (keys w_exact, w_cp) and the gradients of their PROBE sums."""
    out = {}
    for key, delta in zip(("w_exact", "w_cp"), deltas, strict=False):
        out[key] = detection_weights(model, eps, "exact", delta_cp_rad=delta)
        out[f"grad_{key}"] = pytensor.grad(pt.sum(out[key] * PROBE), eps)
    return out


@pytest.fixture(scope="module")
def graph(models):
    """Function of eps (n, 12) -> dict: weights per mode, populations, rates, gradients.

    Compiled in FAST_COMPILE (quick to build: the Op runs its numba kernels through ``perform``); the numba
    backend is exercised by the :func:`numba_graph` fixture.
    """
    model = models["exact"]
    eps = pt.dmatrix("eps")
    out = exact_weights_and_gradients(model, eps)
    out.update({f"w_{m}": detection_weights(model, eps, m) for m in ("paper", "hybrid")})
    out["pop_exact"] = pt.concatenate([mass_state_populations(model.enu_nodes, n, eps, OSC)
                                       for n in model.production], -2)
    out["pop_s13_0"] = pt.concatenate([mass_state_populations(model.enu_nodes, n, eps, OSC_S13_0)
                                       for n in model.production], -2)
    out["pbar_paper"] = survival_at_nodes(model.enu_nodes, model.production, eps, OSC)
    out["survival_exact"] = survival_from_populations(out["pop_exact"], OSC)
    for m in MODES:
        out[f"rate_{m}"] = rates.expected_events(models[m], eps)[..., 0]
    names = list(out)
    fn = pytensor.function([eps], [out[k] for k in names], mode="FAST_COMPILE")
    return lambda x: dict(zip(names, fn(np.atleast_2d(x)), strict=True))


@pytest.fixture(scope="module")
def numba_graph(models):
    """The exact weights (delta_CP = 0) and their gradients on the default (numba) backend: batched, and for
    one point; the Dirac phase only changes a constant input of the same kernels."""
    model = models["exact"]
    eps, one = pt.dmatrix("eps"), pt.dvector("one")
    batch, single = exact_weights_and_gradients(model, eps, (0.0,)), exact_weights_and_gradients(model, one, (0.0,))
    batch["pop_exact"] = pt.concatenate([mass_state_populations(model.enu_nodes, n, eps, OSC)
                                         for n in model.production], -2)
    names = list(batch)
    fn = pytensor.function([eps], [batch[k] for k in names])
    fn_one = pytensor.function([one], [single[k] for k in ("w_exact", "grad_w_exact")])
    return lambda x: dict(zip(names, fn(np.atleast_2d(x)), strict=True)), fn_one


RNG_POINTS = np.random.default_rng(12).uniform(-1, 1, (5, 12))


# ---- tests -------------------------------------------------------------------------------------------

def test_exact_weight_matches_numpy_eigh_in_the_box(models, graph):
    evaluate = graph
    model = models["exact"]
    got = evaluate(RNG_POINTS)
    worst = worst_cp = 0.0
    for i, eps in enumerate(RNG_POINTS):
        ref_pops = all_nodes_populations(model, eps)
        np.testing.assert_allclose(got["pop_exact"][i], ref_pops, rtol=0, atol=1e-8)
        ref = numpy_weight(ref_pops, eps, model.nucleus, OSC)
        worst = max(worst, np.max(np.abs(got["w_exact"][i] / ref - 1)))
        ref_cp = numpy_weight(all_nodes_populations(model, eps, OSC, DELTA), eps, model.nucleus, OSC, DELTA)
        worst_cp = max(worst_cp, np.max(np.abs(got["w_cp"][i] / ref_cp - 1)))
    print(f"\nexact weight vs numpy eigh: max relative difference {worst:.1e} (delta_CP = {DELTA}: {worst_cp:.1e})")
    assert worst < 1e-6 and worst_cp < 1e-6


def test_no_nsi_weight_is_qw2_and_survival_is_the_numpy_three_flavour(models, graph):
    evaluate = graph
    model = models["exact"]
    got = evaluate(np.zeros(12))
    qw2 = weak_charge(model.nucleus) ** 2
    for m in MODES:
        np.testing.assert_allclose(got[f"w_{m}"][0], qw2, rtol=1e-12)
    assert np.all((got["pop_exact"] >= 0) & (got["pop_exact"] <= 1))
    for eps in (np.zeros(12), RNG_POINTS[0]):
        ref = np.concatenate([[nodes.weight @ three_flavour.adiabatic_survival(np.full(nodes.n_e.size, e), nodes.n_e,
                                                                              nodes.y_n, eps, OSC)
                               for e in model.enu_nodes] for nodes in model.production])
        np.testing.assert_allclose(evaluate(eps)["survival_exact"][0], ref, rtol=0, atol=1e-10)


def test_s13_zero_is_two_flavour_msw_in_closed_form(models, graph):
    """theta13 = 0: nu_3 decouples exactly; |V_e1|^2 = (1 + cos 2theta_M)/2 with A = V (SM)."""
    evaluate = graph
    model = models["exact"]
    got = evaluate(np.zeros(12))["pop_s13_0"][0]
    c2, s2 = 1 - 2 * OSC.sin2_th12, 2 * np.sqrt(OSC.sin2_th12 * (1 - OSC.sin2_th12))
    ref = []
    for nodes in model.production:
        a = V_EV2 * np.outer(model.enu_nodes, nodes.n_e)
        cos2m = (OSC.dm21_ev2 * c2 - a) / np.hypot(OSC.dm21_ev2 * c2 - a, OSC.dm21_ev2 * s2)
        ref.append(0.5 * (1 + cos2m) @ nodes.weight)
    np.testing.assert_allclose(got[:, 0], np.concatenate(ref), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got[:, 2], 0.0, atol=1e-12)


def propagation_basis_charges(eps, nucleus):
    """G = U_p^T A^2 U_p (U_p = U23 U13) for diagonal couplings, written out: a_f = Q_W + c_f."""
    s13, s23 = np.sqrt(OSC.sin2_th13), np.sqrt(OSC.sin2_th23)
    c13, c23 = np.sqrt(1 - OSC.sin2_th13), np.sqrt(1 - OSC.sin2_th23)
    a2 = np.diag(coupling_matrix(eps, nucleus)) ** 2  # (a_e^2, a_mu^2, a_tau^2)
    g11 = c13**2 * a2[0] + s13**2 * (s23**2 * a2[1] + c23**2 * a2[2])
    g22 = c23**2 * a2[1] + s23**2 * a2[2]
    g33 = s13**2 * a2[0] + c13**2 * (s23**2 * a2[1] + c23**2 * a2[2])
    g12 = s13 * s23 * c23 * (a2[2] - a2[1])
    return g11, g22, g33, g12


@pytest.mark.parametrize("diagonal", [{0: 0.4}, {0: -0.3, 9: 0.5}, {0: 0.2, 3: -0.6, 5: 0.3, 6: 0.1, 11: -0.4}])
def test_diagonal_couplings_density_matrix_minus_eq19(models, graph, diagonal):
    """W_DM - W_19 = s13^2 [G33 - G22 + (G11 - G22)(X - s13^2)] + 2 c12 s12 (p2 - p1) G12.

    With two-flavour populations p1 + p2 = c13^2, p3 = s13^2 the propagation-basis density matrix is
    diag-block [[X, c12 s12 (p2 - p1)], [., c13^2 - X]] (+) s13^2 with X = c12^2 p1 + s12^2 p2, while eq. (19)
    weighs G11 = Q_e^2 with <P_ee> = c13^2 X + s13^4 and G22 = Q_mu^2 with 1 - <P_ee>: the difference is the
    nu_tau~ population s13^2 that eq. (19) books as nu_mu~ (first term), and the e~-mu~ coherence, which
    for diagonal couplings is G12 = s13 s23 c23 (a_tau^2 - a_mu^2) (zero when a_mu = a_tau).
    """
    evaluate = graph
    model = models["exact"]
    eps = np.zeros(12)
    for k, v in diagonal.items():
        eps[k] = v
    got = evaluate(eps)
    g11, g22, g33, g12 = propagation_basis_charges(eps, model.nucleus)
    s13sq, c13sq = OSC.sin2_th13, 1 - OSC.sin2_th13
    c12s12 = np.sqrt(OSC.sin2_th12 * (1 - OSC.sin2_th12))
    x = (got["pbar_paper"][0] - s13sq**2) / c13sq  # from eq. (9): <P_ee> = c13^2 X + s13^4
    cos2m = (2 * x / c13sq - 1) / (1 - 2 * OSC.sin2_th12)  # X = c13^2 (1 + cos2theta_M cos2theta12) / 2
    expected = s13sq * (g33 - g22 + (g11 - g22) * (x - s13sq)) - 2 * c12s12 * c13sq * cos2m * g12
    np.testing.assert_allclose(got["w_paper"][0], g22 + (g11 - g22) * got["pbar_paper"][0], rtol=1e-12)
    np.testing.assert_allclose(got["w_hybrid"][0] - got["w_paper"][0], expected, rtol=1e-9, atol=1e-9 * g11)
    if set(diagonal) == {0}:
        assert g12 == 0.0  # e-only: the difference is the tau~ population term alone


@pytest.mark.parametrize("index,kappa", [(1, "n + 2z"), (7, "2n + z"), (2, "n + 2z")])
def test_interference_is_odd_and_first_order(models, graph, index, kappa):
    """W(+eps) - W(-eps) = 8 Q_W kappa eps rho_ab^SM + O(eps^3) for an off-diagonal coupling ab (e-mu, e-tau),
    kappa = N + 2Z (u) or 2N + Z (d): the density-matrix term that eq. (19) does not have."""
    evaluate = graph
    model = models["exact"]
    k = {"n + 2z": model.nucleus.n + 2 * model.nucleus.z, "2n + z": 2 * model.nucleus.n + model.nucleus.z}[kappa]
    flavour = {1: 1, 7: 1, 2: 2}[index]
    step = 1e-4
    eps = np.zeros(12)
    eps[index] = step
    got = evaluate(np.stack([eps, -eps]))
    u = pmns(OSC)
    pops = all_nodes_populations(model, np.zeros(12))
    rho_ab = pops @ (u[0] * u[flavour]).real
    first_order = 8 * weak_charge(model.nucleus) * k * step * rho_ab
    np.testing.assert_allclose(got["w_exact"][0] - got["w_exact"][1], first_order, rtol=2e-6)
    # through the rate graph: R = sum_i F_i^2 sum_j KP_ij W_j is linear in W
    kern = model.kernels["toy"]
    f2 = helm_form_factor(kern.er_kev, model.nucleus.mass_gev, model.nucleus.r_neutron_fm).eval() ** 2
    np.testing.assert_allclose(got["rate_exact"][0] - got["rate_exact"][1], f2 @ kern.kp @ first_order, rtol=2e-6)


def test_rates_from_the_weights(models, graph):
    """Kernel sum with the weights: paper = rates.expected_events (eq. 19 path) to 1e-12; exact = numpy weights."""
    evaluate = graph
    model = models["exact"]
    kern = model.kernels["toy"]
    f2 = helm_form_factor(kern.er_kev, model.nucleus.mass_gev, model.nucleus.r_neutron_fm).eval() ** 2
    got = evaluate(RNG_POINTS)
    np.testing.assert_allclose(got["w_paper"] @ (f2 @ kern.kp), got["rate_paper"], rtol=1e-12)
    np.testing.assert_allclose(got["w_hybrid"] @ (f2 @ kern.kp), got["rate_hybrid"], rtol=1e-12)
    for i, eps in enumerate(RNG_POINTS[:2]):
        ref = numpy_weight(all_nodes_populations(model, eps), eps, model.nucleus, OSC)
        np.testing.assert_allclose(got["rate_exact"][i], f2 @ kern.kp @ ref, rtol=1e-6)


def test_gradients_against_central_differences(graph, numba_graph):
    evaluate = graph
    h = 1e-6
    for eps in RNG_POINTS[:2]:
        got = evaluate(eps)
        for key in ("w_exact", "w_cp"):
            shifted = np.stack([eps + h * e for e in np.eye(12)] + [eps - h * e for e in np.eye(12)])
            values = evaluate(shifted)[key] @ PROBE
            numeric = (values[:12] - values[12:]) / (2 * h)
            np.testing.assert_allclose(got[f"grad_{key}"][0], numeric, rtol=2e-5, atol=1e-6 * np.abs(numeric).max())
        np.testing.assert_allclose(numba_graph[0](eps)["grad_w_exact"][0], got["grad_w_exact"][0], rtol=1e-10)


def test_batch_and_scalar_agree(numba_graph):
    evaluate, scalar = numba_graph
    batch = evaluate(RNG_POINTS)
    for i, eps in enumerate(RNG_POINTS):
        w, g = scalar(eps)
        np.testing.assert_allclose(w, batch["w_exact"][i], rtol=1e-14)
        np.testing.assert_allclose(g, batch["grad_w_exact"][i], rtol=1e-12, atol=1e-12 * np.abs(g).max())


def test_bad_modes_raise(models):
    eps = np.zeros(12)
    with pytest.raises(ValueError, match="physics: unknown 'exakt'"):
        detection_weights(models["exact"], eps, "exakt")
    with pytest.raises(ValueError, match="method: unknown 'eigh'"):
        mass_state_populations(models["exact"].enu_nodes, models["exact"].production[0], eps, OSC, "eigh")
    with pytest.raises(ValueError, match="delta_cp_rad"):
        detection_weights(models["exact"], eps, "hybrid", delta_cp_rad=0.5)


# ---- property tests: finite values and gradients, also at level crossings ----------------------------

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


@SETTINGS
@given(eps=arrays(np.float64, 12, elements=st.floats(-1.0, 1.0)))
def test_finite_in_the_box(numba_graph, eps):
    got = numba_graph[0](eps)
    for key in ("w_exact", "grad_w_exact", "pop_exact"):
        assert np.all(np.isfinite(got[key])), key
    assert np.all(got["pop_exact"] > -1e-9) and np.all(got["pop_exact"] < 1 + 1e-9)


def crossing_point(model, base, node, pair, nudge):
    """Couplings that make two levels of H degenerate (to rounding, plus nudge) at one production node.

    From H(base) = Q diag(l) Q^T at the node, eps^u changes by (l_i - l_j) q_j q_j^T / (V Y_u) so that
    level j moves onto level i; None if that leaves [-1, 1]^12.
    """
    flux, e_idx, r_idx = node
    nodes = model.production[flux]
    e, n_e, y_n = model.enu_nodes[e_idx], nodes.n_e[r_idx], nodes.y_n[r_idx]
    u = pmns(OSC).real
    matter = np.diag([1.0, 0, 0]) + (2 + y_n) * nsi(base[:6]) + (1 + 2 * y_n) * nsi(base[6:])
    lam, q = np.linalg.eigh(u @ np.diag([0, OSC.dm21_ev2, OSC.dm31_ev2]) @ u.T + V_EV2 * n_e * e * matter)
    i, j = pair
    shift = (lam[i] - lam[j] + nudge * OSC.dm31_ev2) * np.outer(q[:, j], q[:, j]) / (V_EV2 * n_e * e * (2 + y_n))
    eps = base.copy()
    eps[:6] += [shift[0, 0], shift[0, 1], shift[0, 2], shift[1, 1], shift[1, 2], shift[2, 2]]
    return eps if np.all(np.abs(eps) <= 1) else None


@SETTINGS
@given(base=arrays(np.float64, 12, elements=st.floats(-0.3, 0.3)), flux=st.integers(0, 1),
       e_idx=st.integers(0, GRIDS.n_enu), r_idx=st.integers(0, GRIDS.n_radial - 1),
       nudge=st.sampled_from([0.0, 1e-13, -1e-9, 1e-6]))
def test_finite_at_level_crossings(models, numba_graph, base, flux, e_idx, r_idx, nudge):
    """Levels 1 and 2 made degenerate at one production node (levels 2 and 3 cannot meet inside the box at
    these nodes: that takes |V (Y_u eps^u + Y_d eps^d)| ~ dm31^2; see the kernel test below)."""
    eps = crossing_point(models["exact"], base, (flux, e_idx, r_idx), (0, 1), nudge)
    assume(eps is not None)
    got = numba_graph[0](eps)
    for key in ("w_exact", "grad_w_exact", "pop_exact"):
        assert np.all(np.isfinite(got[key])), key
    assert np.all(got["pop_exact"] > -1e-6) and np.all(got["pop_exact"] < 1 + 1e-6)


def test_kernel_finite_at_exact_degeneracies():
    """The Op on B = B0 + v B1 with B0 = R diag(levels) R^T exactly degenerate (lower pair, upper pair, all
    three), v = 0, 1e-12, 1e-6: values and gradients finite, the populations of a level sum to at most 1."""
    rng = np.random.default_rng(5)
    b1, b0 = pt.tensor3("b1"), pt.dvector("b0")
    pops = Populations()(b1, np.array([[0.0], [1e-12], [1e-6]]), b0, np.array([1.0]))
    fn = pytensor.function([b1, b0], [pops, pytensor.grad(pt.sum(pops * [0.3, 0.7]), b1)])
    for levels in ((-1.0, -1.0, 2.0), (-2.0, 1.0, 1.0), (0.0, 0.0, 0.0)):
        rot, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m0 = rot @ np.diag(levels) @ rot.T
        m1 = rng.normal(size=(3, 3))
        m1 = m1 + m1.T - 2 * np.trace(m1) / 3 * np.eye(3)
        value, grad = fn(np.array([m1[0, 0], m1[1, 1], m1[2, 2], m1[0, 1], m1[0, 2], m1[1, 2]])[None, :, None],
                         np.array([m0[0, 0], m0[1, 1], m0[2, 2], m0[0, 1], m0[0, 2], m0[1, 2], 0.0, 0.0, 0.0]))
        assert np.all(np.isfinite(value)) and np.all(np.isfinite(grad)), levels
        assert np.all(value > -1e-9) and np.all(value.sum(-1) < 1 + 1e-9), levels
