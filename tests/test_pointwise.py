"""The log-likelihood and predictive groups from the draws' events (bayes_nsi.inference.pointwise) against PyMC's
own ``compute_log_likelihood`` on the same draws, and the predictive draws against their closed-form means."""

import numpy as np
import pymc as pm
import pytest
import xarray as xr

from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.pointwise import pointwise_groups
from bayes_nsi.inference.priors import Nuisances, Prior
from bayes_nsi.inference.pymc_model import build_pymc_model


@pytest.fixture(scope="module")
def draws():
    """A counting term (paired), a Gaussian (US2) and a split normal (XENONnT), with the flux free: 500 prior draws
    stand in for a posterior (the groups are functions of the draws, whatever distribution they come from)."""
    obs = observations(["paired", "us2", "xenonnt"], likelihoods={"paired": "poisson_counting",
                                                                  "xenonnt": "split_normal"})
    built = build_pymc_model(physics_model(obs.sources, "paper"), obs, {"ee_u": Prior.uniform(-1, 1)},
                             Nuisances(flux_8b="b16"))
    prior = pm.sample_prior_predictive(draws=500, model=built.model, random_seed=5)
    tree = xr.DataTree.from_dict({"posterior": prior["prior"].to_dataset()})
    with built.model:
        pm.compute_log_likelihood(tree, progressbar=False)
    return built, tree


def test_log_likelihood_equals_pymc(draws):
    built, tree = draws
    post = tree["posterior"]
    groups = pointwise_groups(post["events"].values, built.obs, np.random.default_rng(0),
                              {"count_paired_background": post["count_paired_background"].values})
    assert sorted(groups["log_likelihood"]) == sorted(built.observed) == ["count_paired", "signal"]
    for name in built.observed:
        np.testing.assert_allclose(groups["log_likelihood"][name][1], tree["log_likelihood"][name].values,
                                   rtol=1e-10, atol=1e-12)


def test_predictive_means(draws):
    """Mean of (prediction - expectation) over 200 replicas of every draw: 0 for the Gaussian, sqrt(2/pi)
    (sigma_down - sigma_up) for the split normal, 0 for the Poisson counts around events + background; each within
    4 standard errors."""
    built, tree = draws
    post = tree["posterior"]
    events = np.repeat(post["events"].values, 200, axis=1)
    background = np.repeat(post["count_paired_background"].values, 200, axis=1)
    groups = pointwise_groups(events, built.obs, np.random.default_rng(1), {"count_paired_background": background})
    predicted = groups["posterior_predictive"]
    us2, xenonnt = built.obs.terms[1], built.obs.terms[2]
    checks = [(predicted["signal"][1][..., 0] - events[..., 1], 0.0),
              (predicted["signal"][1][..., 1] - events[..., 2],
               np.sqrt(2 / np.pi) * (xenonnt.sigma_down - xenonnt.sigma_up)),
              (predicted["count_paired"][1] - events[..., 0] - background, 0.0)]
    for residual, expected in checks:
        assert abs(residual.mean() - expected) < 4 * residual.std() / np.sqrt(residual.size)
    assert us2.name == "gaussian" and xenonnt.name == "split_normal"
    assert groups["observed_data"]["count_paired"][1] == built.obs.terms[0].observed
