"""The redesign (data sets as plug-ins, one likelihood layer, typed specs) changed no number.

``regression/pre_redesign.json`` was written by the package as it stood before the redesign (commit
f1da2bd): expected events at 40 coupling points in both acceptance modes, with and without nuisances,
and the log-density of three posterior specs' PyMC models at perturbed points. The refactored code must
give the same numbers to 1e-10 relative.
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
from bayes_nsi.physics import rates

REPO = Path(__file__).resolve().parents[1]
BEFORE = json.loads((REPO / "tests" / "regression" / "pre_redesign.json").read_text())


@pytest.mark.parametrize("mode", ["paper", "published"])
def test_events_unchanged(mode):
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
def test_posterior_log_density_unchanged(name):
    model = setup(load(REPO / "models" / f"{name}.toml")).model
    logp = model.compile_logp()
    for row in BEFORE["logp"][name]:
        point = {k: np.asarray(v) for k, v in row["point"].items()}
        assert logp(point) == pytest.approx(row["logp"], rel=1e-10, abs=0)
