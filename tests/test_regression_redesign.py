"""The redesign (data sets as plug-ins, one likelihood layer, typed specs) changed no number.

``regression/pre_redesign.json`` was written by the package as it stood before the redesign (commit
f1da2bd): expected events at 40 coupling points in both acceptance modes, with and without nuisances,
and the log-density of three posterior specs' PyMC models at perturbed points. The refactored code must
give the same numbers to 1e-10 relative.

One input changed on purpose after the redesign: the matter potential per (N_A cm^-3) per MeV was the
typed literal 1.526e-7 eV^2 and is now derived from G_F, N_A and hbar c (1.52649e-7). These tests build
the graphs with the old literal to keep the 1e-10 comparison, and ``test_derived_matter_potential_moves_
events_by_its_own_size`` bounds what the derivation changed.
"""

import json
from pathlib import Path

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from bayes_nsi.app.runners.posterior import setup
from bayes_nsi.app.typed_spec import load
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.physics import propagation, rates

OLD_MATTER_POTENTIAL_EV2 = 1.526e-7


@pytest.fixture
def old_potential(monkeypatch):
    monkeypatch.setattr(propagation, "MATTER_POTENTIAL_EV2", OLD_MATTER_POTENTIAL_EV2)

REPO = Path(__file__).resolve().parents[1]
BEFORE = json.loads((REPO / "tests" / "regression" / "pre_redesign.json").read_text())


@pytest.mark.parametrize("mode", ["paper", "published"])
def test_events_unchanged(mode, old_potential):
    before = BEFORE[f"events_{mode}"]
    model = physics_model(before["datasets"], mode)
    eps, flux, r_n = pt.dmatrix(), pt.dvector(), pt.dvector()
    fn = pytensor.function([eps], rates.expected_events(model, eps))
    points = np.array(BEFORE["points"])
    np.testing.assert_allclose(fn(points), before["values"], rtol=1e-10, atol=0)
    nuis = pytensor.function([eps, flux, r_n], rates.expected_events(model, eps, flux, r_n))
    got = nuis(points[:10], np.linspace(0.8, 1.2, 10), np.linspace(4.6, 5.4, 10))
    np.testing.assert_allclose(got, BEFORE[f"events_{mode}_nuis"], rtol=1e-10, atol=0)


@pytest.mark.parametrize("name", ["posterior_all12", "posterior_ee_u_xenonnt", "posterior_ee_pair"])
def test_posterior_log_density_unchanged(name, old_potential):
    model = setup(load(REPO / "models" / f"{name}.toml")).model
    logp = model.compile_logp()
    for row in BEFORE["logp"][name]:
        point = {k: np.asarray(v) for k, v in row["point"].items()}
        assert logp(point) == pytest.approx(row["logp"], rel=1e-10, abs=0)


def test_derived_matter_potential_moves_events_by_its_own_size():
    """The potential changed by 3.2e-4 relative; the events, which depend on it only through <P_ee> (and not at
    all at the SM point, where the paper normalization fixes them), move by less than that."""
    before = BEFORE["events_paper"]
    model = physics_model(before["datasets"], "paper")
    eps = pt.dmatrix()
    now = pytensor.function([eps], rates.expected_events(model, eps))(np.array(BEFORE["points"]))
    relative = np.abs(now / np.array(before["values"]) - 1.0)
    assert propagation.MATTER_POTENTIAL_EV2 / OLD_MATTER_POTENTIAL_EV2 - 1 == pytest.approx(3.23e-4, abs=2e-6)
    assert 0 < relative.max() < 3.3e-4
