"""A data set defined here, outside the package, runs through a chi-square scan, a posterior and an evidence
without any change to the library: the plug-in seam of the experiments layer."""

import numpy as np
import pytest
from scipy import integrate, stats

from bayes_nsi.experiments.base import CountingMeasurement, DataSet, SignalMeasurement
from bayes_nsi.inference.evidence import quadrature_ln_z
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.priors import Prior
from bayes_nsi.inference.pymc_model import build_pymc_model
from bayes_nsi.inference.sampling import SamplerSettings, sample
from bayes_nsi.inference.scans import Chi2Scanner, profiles
from bayes_nsi.experiments.physics_model import physics_model

TOY = DataSet(
    name="toy", label="Toy detector", short_label="Toy", colour="tab:purple", citation="this test",
    exposure_tonne_year=2.0, er_window_kev=(1.0, 3.0), paper_sm_events=5.0,
    signal=SignalMeasurement(6.0, 1.5, 1.5, 1.5, "this test"),
    responses={"paper": lambda: (np.array([1.0, 3.0]), np.array([0.5, 0.5]))},
    likelihoods=("gaussian", "poisson_counting"), counting=CountingMeasurement(9, 4.0, 0.5, 0.5, "this test"),
)


@pytest.fixture(scope="module")
def scanner():
    return Chi2Scanner.for_data(observations([TOY]), "paper")


def test_scan_on_a_toy_data_set(scanner):
    """Paper normalization puts the SM at 5 events; chi^2(0) = ((6 - 5)/1.5)^2; the 1-sigma pieces of ee_u
    end where the toy predicts 6 -+ 1.5 events (eq. 20)."""
    assert scanner.events(np.zeros((1, 12)))[0, 0] == pytest.approx(5.0, rel=1e-12)
    assert scanner.chi2(np.zeros((1, 12)))["toy"][0] == pytest.approx((1.0 / 1.5) ** 2, rel=1e-12)
    result = profiles(scanner, ["ee_u"], -1.0, 1.0, 801, [1.0])["toy"]["ee_u"]
    ends = [x for piece in result.intervals[1.0] for x in piece if -1.0 < x < 1.0]
    eps = np.zeros((len(ends), 12))
    eps[:, 0] = ends
    events = scanner.events(eps)[:, 0]
    np.testing.assert_allclose(np.minimum(np.abs(events - 4.5), np.abs(events - 7.5)), 0.0, atol=1e-5)


def test_evidence_on_a_toy_data_set(scanner):
    """No free coupling: ln Z is the normalized likelihood at the SM (Gaussian closed form; counting by
    scipy quadrature over the background)."""
    assert quadrature_ln_z(scanner, ["toy"], {}, None) == pytest.approx(
        stats.norm.logpdf(6.0, 5.0, 1.5), abs=1e-12)
    counting = Chi2Scanner(scanner.model, observations([TOY], likelihoods={"toy": "poisson_counting"}))
    prior = lambda b: stats.norm.pdf(b, 4.0, 0.5) / stats.norm.sf(0.0, 4.0, 0.5)  # noqa: E731
    exact = integrate.quad(lambda b: stats.poisson.pmf(9, 5.0 + b) * prior(b), 0.0, 14.0, epsrel=1e-12)[0]
    assert quadrature_ln_z(counting, ["toy"], {}, None) == pytest.approx(np.log(exact), abs=1e-8)


@pytest.mark.slow  # sampler run
def test_posterior_on_a_toy_data_set(scanner):
    """NUTS on the toy with a counting likelihood: the posterior mean of ee_u agrees with direct
    quadrature of the same posterior (likelihood marginalized over the background, uniform prior)."""
    obs = observations([TOY], likelihoods={"toy": "poisson_counting"})
    prior = Prior.uniform(-1.0, 1.0)
    model = build_pymc_model(physics_model([TOY], "paper"), obs, {"ee_u": prior})
    idata = sample(model.model, SamplerSettings(draws=1500, tune=500, chains=4, seed=3, target_accept=0.9),
                   model.observed, progressbar=False)
    draws = idata["posterior"]["ee_u"].values.ravel()
    x = np.linspace(-1.0, 1.0, 4001)
    eps = np.zeros((x.size, 12))
    eps[:, 0] = x
    ln_l = obs.terms[0].log_likelihood(scanner.events(eps)[:, 0])
    w = np.exp(ln_l - ln_l.max())
    mean = np.trapezoid(w * x, x) / np.trapezoid(w, x)
    sd = np.sqrt(np.trapezoid(w * (x - mean) ** 2, x) / np.trapezoid(w, x))
    assert draws.mean() == pytest.approx(mean, abs=4 * sd / np.sqrt(1000))  # ESS >= ~1000 of 6000 draws
