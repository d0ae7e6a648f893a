"""Bayesian layer: posteriors against quadrature, simulation-based calibration, the split normal, seeds,
diagnostics, and the HDI/ETI code against closed forms.

Reference posteriors come from the events graph ``rates.expected_events`` compiled here and eq. (20)
written out in this file, integrated on a midpoint grid; nothing in pymc_model.py or sampling.py is used
to compute them.
"""

import numpy as np
import nutpie
import pymc as pm
import pytensor
import pytensor.tensor as pt
import pytest
from scipy import optimize, signal, stats

from bayes_nsi.app.runners.posterior import run
from bayes_nsi.app.spec import validate_spec
from bayes_nsi.app.typed_spec import typed
from bayes_nsi.errors import DiagnosticsFailed
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import credible, sampling
from bayes_nsi.inference.likelihoods import SplitNormal, _split_normal_logp, split_normal_random
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.priors import Prior
from bayes_nsi.inference.pymc_model import build_pymc_model
from bayes_nsi.names import COUPLINGS
from bayes_nsi.physics import rates

UNIFORM = Prior.uniform(-1.0, 1.0)
KS_MAX = 0.02
EE_U, EE_D = COUPLINGS.index("ee_u"), COUPLINGS.index("ee_d")


def sampler(**changes) -> sampling.SamplerSettings:
    return sampling.SamplerSettings(**({"engine": "nutpie", "draws": 1000, "tune": 1000, "chains": 4, "seed": 1,
                                        "low_rank_mass_matrix": True, "target_accept": 0.9} | changes))


def sample(posterior, settings: sampling.SamplerSettings):
    """NUTS on a PosteriorModel, the runner's code path."""
    return sampling.sample(posterior.model, settings, posterior.observed, progressbar=False)


@pytest.fixture(scope="module")
def xenonnt():
    obs = observations(["xenonnt"])
    return physics_model(obs.sources, "paper", physics="paper"), obs


@pytest.fixture(scope="module")
def events_fn(xenonnt):
    """Expected XENONnT events for a (n, 12) batch, compiled here (chunks keep memory small)."""
    eps = pt.dmatrix("eps")
    fn = pytensor.function([eps], rates.expected_events(xenonnt[0], eps)[:, 0])
    return lambda batch: np.concatenate([fn(c) for c in np.array_split(batch, -(-len(batch) // 20000))])


def midpoints(n: int) -> np.ndarray:
    """Midpoint grid of n cells on [-1, 1]."""
    return -1.0 + (np.arange(n) + 0.5) * 2.0 / n


def chi2_eq20(events: np.ndarray, value: float = 10.7, sigma: float = 3.95) -> np.ndarray:
    return ((value - events) / sigma) ** 2


def weights(chi2: np.ndarray) -> np.ndarray:
    """Posterior mass per midpoint cell under a uniform prior: exp(-chi^2 / 2), normalized."""
    w = np.exp(-0.5 * (chi2 - chi2.min()))
    return w / w.sum()


def ks_distance(draws: np.ndarray, x: np.ndarray, mass: np.ndarray) -> float:
    """sup |F_draws - F_ref|, F_ref the cumulative midpoint mass (cell edges at x +- dx/2)."""
    dx = x[1] - x[0]
    edges = np.concatenate([[x[0] - dx / 2], x + dx / 2])
    ref = np.interp(np.sort(draws), edges, np.concatenate([[0.0], np.cumsum(mass)]))
    n = len(draws)
    return float(max(np.max(np.arange(1, n + 1) / n - ref), np.max(ref - np.arange(n) / n)))


# -- (a) one coupling against quadrature --------------------------------------------------------------

@pytest.mark.slow
def test_one_coupling_posterior_matches_quadrature(xenonnt, events_fn):
    """ee_u on XENONnT, uniform prior: bimodal; 4 chains hop between the modes in the right proportion."""
    physics, obs = xenonnt
    idata = sample(build_pymc_model(physics, obs, {"ee_u": UNIFORM}), sampler(draws=16000))
    draws = idata["posterior"]["ee_u"].values
    x = midpoints(20000)
    eps = np.zeros((x.size, 12))
    eps[:, EE_U] = x
    events = events_fn(eps)
    chi2 = chi2_eq20(events)
    mass = weights(chi2)

    assert ks_distance(draws.ravel(), x, mass) < KS_MAX
    # the test resolves a quarter-sigma error: a measured value one event higher is rejected
    assert ks_distance(draws.ravel(), x, weights(chi2_eq20(events, value=11.7))) > 1.5 * KS_MAX

    minima = np.flatnonzero((chi2[1:-1] < chi2[:-2]) & (chi2[1:-1] <= chi2[2:])) + 1
    assert len(minima) == 2  # bimodal posterior
    barrier = minima[0] + np.argmax(chi2[minima[0]:minima[1]])
    upper_mode = mass[barrier:].sum()
    assert 0.3 < upper_mode < 0.7
    np.testing.assert_allclose(np.mean(draws > x[barrier], axis=1), upper_mode, atol=0.06)


# -- (b) two couplings against 2-D quadrature ----------------------------------------------------------

@pytest.mark.slow
def test_two_coupling_posterior_matches_quadrature(xenonnt, events_fn):
    """ee_u, ee_d on XENONnT: both marginals (KS) and a binned 2-D goodness of fit on thinned draws."""
    physics, obs = xenonnt
    model = build_pymc_model(physics, obs, {"ee_u": UNIFORM, "ee_d": UNIFORM})
    idata = sample(model, sampler(draws=12000))
    post = idata["posterior"]
    n = 600
    x = midpoints(n)
    u, d = np.meshgrid(x, x, indexing="ij")
    eps = np.zeros((n * n, 12))
    eps[:, EE_U], eps[:, EE_D] = u.ravel(), d.ravel()
    mass = weights(chi2_eq20(events_fn(eps))).reshape(n, n)

    assert ks_distance(post["ee_u"].values.ravel(), x, mass.sum(1)) < KS_MAX
    assert ks_distance(post["ee_d"].values.ravel(), x, mass.sum(0)) < KS_MAX

    ess = sampling.compute_diagnostics(idata, ["ee_u", "ee_d"])["variables"]
    thin = int(np.ceil(post["ee_u"].size / min(v["ess_bulk"] for v in ess.values())))
    pu, pd = post["ee_u"].values[:, ::thin].ravel(), post["ee_d"].values[:, ::thin].ravel()
    cells = 20
    expected = mass.reshape(cells, n // cells, cells, n // cells).sum((1, 3)).ravel() * pu.size
    observed = np.histogram2d(pu, pd, bins=cells, range=[[-1, 1], [-1, 1]])[0].ravel()
    big = expected >= 5
    assert big.sum() >= 10
    obs_cells = np.append(observed[big], observed[~big].sum())
    exp_cells = np.append(expected[big], expected[~big].sum())
    assert stats.chisquare(obs_cells, exp_cells).pvalue > 0.01


# -- (c) simulation-based calibration ------------------------------------------------------------------

@pytest.mark.slow
def test_simulation_based_calibration(xenonnt):
    """SBC (Talts et al. 2018): normal prior on ee_u, XENONnT with the split-normal likelihood.

    200 (theta, y) pairs from the model's own prior predictive (the CustomDist ``random``); for each, a
    1-chain NUTS run on the once-compiled model with the data swapped in; 99 draws thinned by 10. The rank
    of theta among them is uniform on 0..99 iff sampler, logp and random agree.
    """
    physics, _ = xenonnt
    obs = observations(["xenonnt"], likelihoods={"xenonnt": "split_normal"})
    model = build_pymc_model(physics, obs, {"ee_u": Prior("normal", mu=0.0, sigma=0.15)}).model
    n_sim, n_post, thin = 200, 99, 10
    prior = pm.sample_prior_predictive(draws=n_sim, model=model, random_seed=2024)
    theta = prior["prior"]["ee_u"].values.ravel()
    measured = prior["prior_predictive"]["signal"].values.reshape(n_sim, 1)
    compiled = nutpie.compile_pymc_model(model)
    ranks = np.empty(n_sim, dtype=int)
    for i in range(n_sim):
        trace = nutpie.sample(compiled.with_data(measured=measured[i]), draws=n_post * thin, tune=300, chains=1,
                              seed=i, progress_bar=False, target_accept=0.9)
        ranks[i] = np.sum(trace["posterior"]["ee_u"].values.ravel()[::thin] < theta[i])
    counts = np.bincount(ranks // 10, minlength=10)
    assert stats.chisquare(counts).pvalue > 0.01, counts


# -- (d) reproducibility -------------------------------------------------------------------------------

@pytest.mark.slow  # sampler runs
@pytest.mark.parametrize("engine", ["nutpie", "pymc"])
def test_same_seed_same_draws(xenonnt, engine):
    physics, obs = xenonnt
    model = build_pymc_model(physics, obs, {"ee_u": UNIFORM})
    config = sampler(engine=engine, draws=50, tune=50, chains=2, seed=7)
    first, second = (sample(model, config) for _ in range(2))
    np.testing.assert_array_equal(first["posterior"]["ee_u"].values, second["posterior"]["ee_u"].values)
    np.testing.assert_array_equal(first["posterior_predictive"]["signal"].values,
                                  second["posterior_predictive"]["signal"].values)
    other = sample(model, sampler(engine=engine, draws=50, tune=50, chains=2, seed=8))
    assert not np.array_equal(first["posterior"]["ee_u"].values, other["posterior"]["ee_u"].values)


# -- (e) split normal ----------------------------------------------------------------------------------

def split_normal_closed_form(y, mu, up, down):
    """log of 2 / (sqrt(2 pi) (up + down)) exp(-(y - mu)^2 / (2 s^2)), s = up below mu, down above."""
    s = np.where(y < mu, up, down)
    return np.log(2.0 / (np.sqrt(2.0 * np.pi) * (up + down))) - 0.5 * ((y - mu) / s) ** 2


def test_split_normal_logp_and_random():
    mu, up, down = 11.3, 3.7, 4.2
    y = np.array([-3.0, 0.0, 5.0, 10.7, 11.3, 15.0, 30.0])
    dist = pm.CustomDist.dist(mu, up, down, logp=_split_normal_logp, random=split_normal_random)
    np.testing.assert_allclose(pm.logp(dist, y).eval(), split_normal_closed_form(y, mu, up, down), rtol=1e-13)

    grid = np.linspace(mu - 12 * down, mu + 12 * down, 200001)
    assert np.trapezoid(np.exp(pm.logp(dist, grid).eval()), grid) == pytest.approx(1.0, abs=1e-9)

    def cdf(v):
        below = 2 * up / (up + down) * stats.norm.cdf((v - mu) / up)
        above = up / (up + down) + 2 * down / (up + down) * (stats.norm.cdf((v - mu) / down) - 0.5)
        return np.where(v < mu, below, above)

    draws = SplitNormal("xenonnt", 10.7, up, down).simulate(np.full(100_000, mu), np.random.default_rng(3))
    assert stats.kstest(draws, cdf).pvalue > 0.01


def test_asymmetric_likelihood_wiring():
    """In a paired + XENONnT model only XENONnT gets +3.7/-4.2; the paired term stays eq. (20)."""
    obs = observations(["paired", "xenonnt"], likelihoods={"xenonnt": "split_normal"})
    physics = physics_model(obs.sources, "paper", physics="paper")
    model = build_pymc_model(physics, obs, {"ee_u": UNIFORM}).model
    logp = model.compile_logp(vars=[model["signal"]], sum=False)
    eps = pt.dmatrix("eps")
    events = pytensor.function([eps], rates.expected_events(physics, eps))
    for value in (-0.15, 0.1, 0.3, 0.5):  # events above and below the XENONnT measurement
        ev = events(np.eye(12)[[EE_U]] * value)[0]
        got = logp({"ee_u_interval__": np.log((1 + value) / (1 - value))})[0]
        paired = stats.norm.logpdf(3.5, ev[0], 1.3)
        xenon = split_normal_closed_form(np.array(10.7), ev[1], 3.7, 4.2)
        np.testing.assert_allclose(got, [paired, xenon], rtol=1e-12)


# -- (f) diagnostics -----------------------------------------------------------------------------------

@pytest.mark.slow  # sampler run
def test_diagnostics_failure_names_variable(tmp_path):
    spec = typed(validate_spec({
        "schema_version": 1, "kind": "posterior", "name": "tiny", "physics": "paper", "datasets": ["xenonnt"],
        "priors": {"ee_u": {"dist": "uniform", "lower": -1.0, "upper": 1.0}},
        "sampler": {"chains": 1, "draws": 20, "tune": 20},
        "diagnostics": {"min_ess_bulk": 1e6}, "figures": {"enabled": False},
    }))
    with pytest.raises(DiagnosticsFailed, match=r"ee_u: ess_bulk = [0-9.]+ is below diagnostics.min_ess_bulk = 1e\+06"
                                                r".*sampler\.tune"):
        run(spec, tmp_path, lambda message: None)
    assert (tmp_path / "diagnostics.json").exists() and not (tmp_path / "posterior.nc").exists()


def test_diagnostics_failures_lists_every_check():
    diag = {"variables": {"ee_u": {"r_hat": 1.2, "ess_bulk": 50.0, "ess_tail": None},
                          "acceptance_scale[xenonnt]": {"r_hat": 1.0, "ess_bulk": 900.0, "ess_tail": 900.0}},
            "divergences": 3, "bfmi": [0.9, 0.1]}
    thresholds = sampling.Thresholds(max_r_hat=1.01, min_ess_bulk=400, min_ess_tail=400, max_divergences=0,
                                     min_bfmi=0.3)
    failures = sampling.diagnostics_failures(diag, thresholds)
    assert [f.split(" = ")[0] for f in failures] == ["ee_u: r_hat", "ee_u: ess_bulk", "ee_u: ess_tail",
                                                     "sampler: divergences", "chain 1: bfmi"]
    assert "undefined (NaN) is not within diagnostics.min_ess_tail = 400" in failures[2]


def ar1(rng, phi: float, shape: tuple[int, ...]) -> np.ndarray:
    """Stationary AR(1) chains x_n = phi x_(n-1) + sqrt(1 - phi^2) z_n, unit variance, draws on axis 1."""
    z = rng.normal(size=shape)
    z[:, 0] /= np.sqrt(1 - phi**2)  # x_0 ~ N(0, 1): the chain starts in its stationary law
    return signal.lfilter([np.sqrt(1 - phi**2)], [1.0, -phi], z, axis=1)


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the constant chain: 0 / 0
def test_diagnostics_of_ar1_chains_match_closed_forms():
    """AR(1) chains: ESS = N (1 - phi) / (1 + phi) (bulk; Geyer 1992), E-BFMI = E[dE^2] / var E = 2 (1 - phi)
    for an AR(1) energy (Betancourt 2016, eq. 15 of arXiv:1604.00695), r_hat -> 1; a constant chain has
    no r_hat (None). Tolerances are about 4 standard deviations of the estimates, measured over 30 seeds of
    4 x 5000 draws: ESS 4 %, E-BFMI of one chain 3.4 %, r_hat - 1 5.5e-4 (enough to catch an ESS that ignores
    the autocorrelation, 2.5 x this one, or an E-BFMI normalized by the wrong variance)."""
    import xarray as xr

    rng = np.random.default_rng(11)
    chains, draws, phi, phi_energy = 4, 5000, 0.6, 0.5
    post = xr.Dataset({"ee_u": (("chain", "draw"), ar1(rng, phi, (chains, draws))),
                       "scale": (("chain", "draw", "set"), ar1(rng, phi, (chains, draws, 2))),
                       "flat": (("chain", "draw"), np.ones((chains, draws)))}, coords={"set": ["a", "b"]})
    stats_group = xr.Dataset({"energy": (("chain", "draw"), ar1(rng, phi_energy, (chains, draws))),
                              "diverging": (("chain", "draw"), np.zeros((chains, draws), bool))})
    tree = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats_group})
    diag = sampling.compute_diagnostics(tree, ["ee_u", "scale", "flat"])
    assert list(diag["variables"]) == ["ee_u", "scale[a]", "scale[b]", "flat"]
    for label in ("ee_u", "scale[a]", "scale[b]"):
        v = diag["variables"][label]
        assert v["ess_bulk"] == pytest.approx(chains * draws * (1 - phi) / (1 + phi), rel=0.16)
        assert v["r_hat"] == pytest.approx(1.0, abs=2.5e-3)
    assert diag["variables"]["flat"]["r_hat"] is None
    np.testing.assert_allclose(diag["bfmi"], 2 * (1 - phi_energy), rtol=0.14)
    assert diag["divergences"] == 0


# -- credible intervals --------------------------------------------------------------------------------

def exact_hdi(pdf, mass_between, prob, lo, hi):
    """Level t with mass(f >= t) = prob, pieces found by root finding on pdf - t (independent of the KDE)."""
    grid = np.linspace(lo, hi, 20001)

    def pieces(t):
        inside = pdf(grid) >= t
        edges = np.flatnonzero(np.diff(inside.astype(int)))
        roots = [optimize.brentq(lambda v: pdf(v) - t, grid[i], grid[i + 1]) for i in edges]
        return np.array(roots).reshape(-1, 2)

    t = optimize.brentq(lambda t: sum(mass_between(a, b) for a, b in pieces(t)) - prob, 1e-6, pdf(grid).max() - 1e-9)
    return pieces(t)


def mixture(width: float):
    """Equal mixture of N(-1, width) and N(+1, width): pdf and mass between two points."""
    def pdf(v):
        return 0.5 * (stats.norm.pdf(v, -1, width) + stats.norm.pdf(v, 1, width))

    def mass(a, b):
        return 0.5 * sum(stats.norm.cdf(b, m, width) - stats.norm.cdf(a, m, width) for m in (-1, 1))
    return pdf, mass


def silverman(draws: np.ndarray) -> float:
    """Silverman's rule of thumb, 0.9 min(sd, IQR / 1.34) n^(-1/5) (Silverman 1986, eq. 3.31)."""
    iqr = np.subtract(*np.percentile(draws, [75, 25]))
    return 0.9 * min(np.std(draws), iqr / 1.34) * len(draws) ** -0.2


def test_hdi_splits_a_bimodal_posterior():
    """The pieces equal the exact HDI of the kernel-smoothed mixture (each mode's width^2 + h^2, h Silverman's
    bandwidth), and lie within 0.02 of the true HDI (the smoothing widens each mode by 2.7 % here)."""
    rng = np.random.default_rng(5)
    draws = np.concatenate([rng.normal(-1.0, 0.3, 200_000), rng.normal(1.0, 0.3, 200_000)])
    smoothed = np.hypot(0.3, silverman(draws))
    for prob in credible.PROBABILITIES.values():
        got = credible.hdi(draws, prob)
        assert len(got) == 2
        np.testing.assert_allclose(got, exact_hdi(*mixture(smoothed), prob, -3, 3), atol=4e-3)
        np.testing.assert_allclose(got, exact_hdi(*mixture(0.3), prob, -3, 3), atol=0.02)


def test_hdi_of_a_normal_is_the_central_interval():
    """N(0.2, 0.5): one piece, 0.2 +- 0.5 z with z = Phi^-1((1 + p) / 2) (1 and 2 at the two levels)."""
    draws = np.random.default_rng(8).normal(0.2, 0.5, 400_000)
    for prob in credible.PROBABILITIES.values():
        (lo, hi), = credible.hdi(draws, prob)
        z = stats.norm.ppf((1 + prob) / 2)
        assert [lo, hi] == pytest.approx([0.2 - 0.5 * z, 0.2 + 0.5 * z], abs=0.01)


def test_hdi_of_a_uniform_posterior_has_its_length():
    """Flat on the prior [-1, 1]: every highest-density region of probability p has total length 2 p, inside
    the prior (the pieces themselves follow the sampling noise of a flat density)."""
    draws = np.random.default_rng(9).uniform(-1.0, 1.0, 400_000)
    for prob in credible.PROBABILITIES.values():
        pieces = np.array(credible.hdi(draws, prob, -1.0, 1.0))
        assert pieces.min() >= -1.0 and pieces.max() <= 1.0
        assert np.diff(pieces, axis=1).sum() == pytest.approx(2 * prob, abs=0.01)


def test_hdi_reaches_a_prior_bound():
    """Exponential truncated to [0, 3]: the HDI is [0, q_p], its left end exactly the bound."""
    rng = np.random.default_rng(6)
    draws = stats.truncexpon(b=3.0).rvs(400_000, random_state=rng)
    for prob in (0.6827, 0.9545):
        (lo, hi), = credible.hdi(draws, prob, 0.0, 3.0)
        assert lo == 0.0
        assert hi == pytest.approx(-np.log(1 - prob * (1 - np.exp(-3.0))), abs=0.01)


def test_eti_is_the_central_quantile_range():
    """The ETI of N(0.2, 0.5) draws against scipy's quantiles of the same normal."""
    draws = np.random.default_rng(7).normal(0.2, 0.5, 400_000)
    for prob in credible.PROBABILITIES.values():
        exact = stats.norm(0.2, 0.5).ppf([(1 - prob) / 2, (1 + prob) / 2])
        np.testing.assert_allclose(credible.eti(draws, prob), exact, atol=0.01)  # 4.5 sd of the 2-sigma quantile
