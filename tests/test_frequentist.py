"""Frequentist analysis: detection sum rule, symmetric points (eq. 18), Table III structure, reproducibility.

Independent numbers: Q_W = Z g_p + N g_n and k = N + 2Z (u), 2N + Z (d) from eq. (18) in closed form;
the rotation columns of U = U23 U13 are orthonormal, so the flavour weights of the rate sum to one.
"""

import json

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest
from scipy.optimize import brentq

from bayes_nsi.app.cli import main
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import observations as likelihood
from bayes_nsi.inference import scans as frequentist
from bayes_nsi.names import COUPLINGS
from bayes_nsi.physics import rates
from bayes_nsi.physics.constants import G_V_NEUTRON, G_V_PROTON, natural_xenon

XE = natural_xenon()
Q_W = XE.z * G_V_PROTON + XE.n * G_V_NEUTRON
K = {"u": XE.n + 2 * XE.z, "d": 2 * XE.n + XE.z}
DIAGONAL = [f"{a}_{q}" for q in "ud" for a in ("ee", "mumu", "tautau")]
# Table II of the reference paper (measured 8B events and the error of eq. 20; XENONnT's +3.7/-4.2
# symmetrized) and its SM predictions (sec. IV), written here from the paper, not read from the package.
TABLE_II = {"paired": (3.5, 1.3, 2.4), "us2": (75.0, 28.0, 46.8), "xenonnt": (10.7, 3.95, 11.3)}


@pytest.fixture(scope="module")
def events_and_grad():
    model = physics_model(("paired", "us2", "xenonnt"), "paper")
    eps = pt.dvector("eps")
    ev = rates.expected_events(model, eps)
    jac = pytensor.gradient.jacobian(ev, eps)
    return pytensor.function([eps], [ev, jac])


def test_flavour_weights_sum_to_one(events_and_grad):
    """dR/d eps_aa^q at 0 = R_SM w_a 2k/Q_W, and w_ee + w_mumu + w_tautau = 1 for each quark."""
    sm, jac = events_and_grad(np.zeros(12))
    for q in "ud":
        w = [jac[:, COUPLINGS.index(f"{a}_{q}")] / (sm * 2 * K[q] / Q_W) for a in ("ee", "mumu", "tautau")]
        np.testing.assert_allclose(np.sum(w, axis=0), 1.0, rtol=1e-9)
        assert all(np.all(x > 0) for x in w)


@pytest.mark.parametrize("name", DIAGONAL)
def test_symmetric_point_closed_form(events_and_grad, name):
    """At eps* = -2 Q_W / k every Q_i^2 equals Q_W^2 (eq. 18), so the rate is the SM rate exactly."""
    star = -2 * Q_W / K[name[-1]]
    idx = COUPLINGS.index(name)
    sm = events_and_grad(np.zeros(12))[0]

    def shift(x, d):
        eps = np.zeros(12)
        eps[idx] = x
        return events_and_grad(eps)[0][d] - sm[d]

    for d in range(3):
        root = brentq(shift, 0.5 * star, 1.5 * star, args=(d,), xtol=1e-12)
        assert root == pytest.approx(star, abs=1e-8)


def test_intervals_bracket_symmetric_structure():
    """PandaX-4T data prefer more events than the SM: the rate reaches the measured value, so min chi^2 = 0 and
    the 1-sigma set of eq. (20) is {eps : |R(eps) - R_exp| <= sigma}: two pieces whose ends are the roots of
    R(eps) = R_exp -+ sigma (found here with brentq on the rate), which contain eps = 0 (and the symmetric
    point) exactly when ((R_exp - R_SM) / sigma)^2 <= 1."""
    obs = likelihood.observations(("paired", "us2", "xenonnt"))
    scanner = frequentist.Chi2Scanner.for_data(obs)
    res = frequentist.profiles(scanner, ["ee_u"], -1.0, 1.0, 401, (1.0, 4.0))
    star = -2 * Q_W / K["u"]
    for j, key in enumerate(("paired", "us2")):
        value, sigma, sm = TABLE_II[key]
        assert res[key]["ee_u"].chi2_min < 1e-12
        pieces = res[key]["ee_u"].intervals[1.0]
        assert len(pieces) == 2

        def rate(x, j=j):
            eps = np.zeros((1, 12))
            eps[0, COUPLINGS.index("ee_u")] = x
            return scanner.events(eps)[0, j]

        grid = np.linspace(-1.0, 1.0, 201)
        roots = []
        for target in (value - sigma, value + sigma):
            shifted = np.array([rate(x) for x in grid]) - target
            for i in np.flatnonzero(np.sign(shifted[1:]) != np.sign(shifted[:-1])):
                roots.append(brentq(lambda x, t=target: rate(x) - t, grid[i], grid[i + 1], xtol=1e-12))
        # the runner refines its ends to xtol = 1e-6
        np.testing.assert_allclose(np.ravel(pieces), np.sort(roots), rtol=0, atol=2e-6)
        sm_inside = ((value - sm) / sigma) ** 2 <= 1.0
        assert any(a <= 0.0 <= b for a, b in pieces) == sm_inside
        assert any(a <= star <= b for a, b in pieces) == sm_inside
        # Q_e^2 is a parabola in eps_ee^u with its minimum at eps*/2 = -Q_W / (N + 2Z) (eq. 18), so the inner ends
        # mirror each other about eps*/2 up to the eps dependence of <P_ee> (eqs. 9-15), measured <= 7e-4 here
        # (<= 1.5e-3 over the six diagonal couplings); 2e-3 is 1 % of eps*/2, e.g. a 1 % error in Q_W
        (a1, b1), (a2, b2) = pieces
        assert (b1 + a2) / 2 == pytest.approx(star / 2, abs=2e-3)
    # chi^2 values: measured value and error of eq. (20), at the SM point
    sm_chi2 = scanner.chi2(np.zeros((1, 12)))
    for d, (value, sigma, sm) in TABLE_II.items():
        assert sm_chi2[d][0] == pytest.approx(((value - sm) / sigma) ** 2, rel=1e-9)


def test_same_spec_same_numbers(tmp_path):
    """Two runs of the same frequentist spec give identical intervals and contours."""
    spec = tmp_path / "small.toml"
    spec.write_text("""schema_version = 1
kind = "frequentist"
datasets = ["paired", "xenonnt"]
[profile]
couplings = ["ee_u", "mutau_d"]
range = [-1.0, 1.0]
points = 201
[[contours]]
x = "ee_u"
y = "ee_d"
x_range = [-1.0, 1.0]
y_range = [-1.0, 1.0]
points = 41
[figures]
enabled = false
""")
    outs = [tmp_path / "a", tmp_path / "b"]
    for out in outs:
        assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    for name in ("intervals.json", "contours.json", "sm_events.json", "profiles.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes()
    data = json.loads((outs[0] / "intervals.json").read_text())
    assert data["acceptance"] == "paper"
    assert set(data["1sigma"]) == {"paired", "xenonnt", "combined"}


@pytest.mark.parametrize("physics", ["paper", "exact"])
def test_interpreted_scanner_matches_the_compiled_one(physics):
    """The Python-linker scanner (no numba compilation) and the default numba one evaluate the same graph:
    equal events to 1e-12 relative at random couplings, batch 1 and 300."""
    obs = likelihood.observations(("paired", "us2", "xenonnt"))
    compiled = frequentist.Chi2Scanner.for_data(obs, physics=physics)
    interpreted = frequentist.Chi2Scanner.for_data(obs, physics=physics, interpreted=True)
    eps = np.random.default_rng(21).uniform(-1, 1, size=(300, 12))
    for batch in (eps[:1], eps):
        np.testing.assert_allclose(interpreted.events(batch), compiled.events(batch), rtol=1e-12, atol=0)
    assert np.ptp(compiled.events(eps)) > 1.0  # the couplings move the events (the comparison can fail)
