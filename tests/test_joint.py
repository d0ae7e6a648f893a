"""Counting experiments and a binned likelihood sharing one 8B flux (inference.joint_*), and Bayes factors from the
SM posterior (inference.evidence_ratio): each checked against a second method written here."""

import numpy as np
import pytensor
import pytest
from scipy import integrate, optimize, stats

from bayes_nsi.experiments.xenonnt_release import Nuisance
from bayes_nsi.inference import binned as bn
from bayes_nsi.inference.evidence_ratio import ln_bayes_factor, ln_ratio_and_ess
from bayes_nsi.inference.joint_fit import JointProfiler, flux_profiled_chi2
from bayes_nsi.inference.likelihoods import PoissonCounting

COUNTING = (PoissonCounting("a", 7, 2.5, 0.6, 0.4), PoissonCounting("b", 300, 280.0, 16.0, 16.0))
FLUX_SIGMA = 0.05


def _nuisance(name, sigma, component, bounds):
    nominal = 0.0 if component is None else 1.0
    return Nuisance(name, nominal, sigma, ("r0", "r1"), component, bounds, "test")


def toy_model() -> tuple[bn.BinnedModel, np.ndarray]:
    """Two runs, four bins, yields on anchors -1, 0, 1; the signal rate multiplier is the flux."""
    nuisances = (_nuisance("b8_rate_multiplier", FLUX_SIGMA, "b8", (0.0, 100.0)),
                 _nuisance("er_rate_multiplier", 0.3, "er", (0.0, 100.0)),
                 _nuisance("t_ly", 1.0, None, (-1.0, 1.0)), _nuisance("t_qy", 1.0, None, (-1.0, 1.0)))
    anchors = np.array([-1.0, 0.0, 1.0])
    observed = np.array([[6, 9, 3, 1], [4, 12, 2, 0]])
    er = np.array([[2.0, 3.0, 1.0, 0.5], [1.5, 4.0, 1.2, 0.3]])
    a = anchors[:, None, None]
    b = anchors[None, :, None]
    shape = np.array([1.5, 2.0, 0.6, 0.2])
    signal = np.stack([shape * (1.0 + 0.1 * a + 0.05 * b), 1.2 * shape * (1.0 + 0.08 * a - 0.04 * b)])
    model = bn.binned_model(("r0", "r1"), [1.0, 1.3], observed, {"er": er}, nuisances, anchors)
    return model, signal


def _objective(model, signal, counting_signal):
    """-2 ln L in numpy: the binned likelihood plus each counting chi^2 at the flux-scaled signal."""
    def f(x):
        params = dict(zip(model.parameter_names, x, strict=True))
        value = float(bn.neg2_log_likelihood(model, signal, params))
        m = params["b8_rate_multiplier"]
        return value + sum(float(t.chi2(np.array(m * s))) for t, s in zip(COUNTING, counting_signal, strict=True))
    return f


@pytest.fixture(scope="module")
def profiler() -> JointProfiler:
    return JointProfiler(toy_model()[0], COUNTING, "b8_rate_multiplier")


@pytest.mark.parametrize("counting_signal", [(3.0, 40.0), (9.0, 5.0)])
def test_joint_profile_matches_a_derivative_free_minimum(profiler, counting_signal):
    model, signal = toy_model()
    res = profiler.best_of_starts((signal, np.array(counting_signal)), starts=((0.0, 0.0), (0.5, -0.5)))
    f = _objective(model, signal, counting_signal)
    bounds = [n.bounds for n in model.nuisances]
    best = min((optimize.minimize(f, x0, method="Powell", bounds=bounds, options={"xtol": 1e-10, "ftol": 1e-13})
                for x0 in ([1.0, 1.0, 0.0, 0.0], [0.8, 1.5, 0.5, -0.5])), key=lambda r: r.fun)
    assert res.fun == pytest.approx(best.fun, abs=1e-6)
    np.testing.assert_allclose(res.x, best.x, atol=2e-3)


def test_counting_terms_pull_the_shared_flux(profiler):
    """A counting excess raises the profiled flux above the binned data's own preference, a deficit lowers it."""
    model, signal = toy_model()
    i = profiler.index("b8_rate_multiplier")
    f_alone = _objective(model, signal, (0.0, 0.0))  # zero counting signal: the counting terms do not depend on m
    m_alone = optimize.minimize(f_alone, [1.0, 1.0, 0.0, 0.0], method="Powell",
                                bounds=[n.bounds for n in model.nuisances], options={"xtol": 1e-10}).x[0]
    high = profiler.best_of_starts((signal, np.array([1.0, 2.0])), starts=((0.0, 0.0),)).x[i]
    low = profiler.best_of_starts((signal, np.array([30.0, 200.0])), starts=((0.0, 0.0),)).x[i]
    assert low < m_alone < high


@pytest.mark.parametrize("term", COUNTING)
def test_flux_profiled_counting_chi2_matches_a_scalar_minimizer(term):
    signals = np.array([0.5, 3.0, 10.0, 25.0])
    got = flux_profiled_chi2(term, signals, FLUX_SIGMA)
    for s, value in zip(signals, got, strict=True):
        res = optimize.minimize_scalar(lambda m, s=s: float(term.chi2(np.array(m * s))) + ((m - 1) / FLUX_SIGMA) ** 2,
                                       bounds=(0.7, 1.3), method="bounded", options={"xatol": 1e-10})
        assert value == pytest.approx(res.fun, abs=1e-7)


def test_flux_profiled_chi2_tends_to_the_fixed_flux_chi2():
    term = COUNTING[0]
    signals = np.array([0.5, 3.0, 10.0])
    np.testing.assert_allclose(flux_profiled_chi2(term, signals, 1e-7), term.chi2(signals), atol=1e-9)


def test_flux_profiled_chi2_rejects_a_nonpositive_width():
    with pytest.raises(ValueError, match="sigma_rel"):
        flux_profiled_chi2(COUNTING[0], np.ones(2), 0.0)


def test_joint_profiler_rejects_an_unknown_multiplier():
    model, _ = toy_model()
    with pytest.raises(ValueError, match="allowed: b8_rate_multiplier, er_rate_multiplier, t_ly, t_qy"):
        JointProfiler(model, COUNTING, "flux")


# -- Bayes factors by the importance-sampling identity -----------------------------------------------------------


@pytest.mark.parametrize(("slope", "y"), [(1.0, 0.8), (4.0, 0.3)])
def test_ln_bayes_factor_matches_the_gaussian_closed_form(slope, y):
    """y ~ N(slope eps + nu, 1), nu ~ N(0, tau^2), eps ~ U(-1, 1): Z(eps) = N(y; slope eps, 1 + tau^2)."""
    tau, draws, chains = 0.5, 20_000, 8
    rng = np.random.default_rng(7)
    post_var = tau**2 / (1 + tau**2)
    nu = rng.normal(y * post_var, np.sqrt(post_var), draws)  # the SM posterior of nu, sampled exactly
    grid = np.linspace(-1.0, 1.0, 101)
    ln_l = stats.norm.logpdf(y, slope * grid[:, None] + nu[None, :], 1.0)
    ln_l0 = stats.norm.logpdf(y, nu, 1.0)
    bf = ln_bayes_factor(grid, np.full(grid.size, np.log(0.5)), ln_l, ln_l0, np.arange(draws) % chains)
    s = np.sqrt(1 + tau**2)
    exact = np.log(integrate.quad(lambda e: 0.5 * stats.norm.pdf(y, slope * e, s) / stats.norm.pdf(y, 0, s),
                                  -1, 1, epsabs=1e-13)[0])
    assert abs(bf.ln_b - exact) < 4 * bf.ln_b_err + 1e-4
    assert bf.ln_b_err < 0.02


def test_kish_ess_of_equal_and_of_one_dominant_weight():
    ln_mean, ess = ln_ratio_and_ess(np.log(np.array([[2.0, 2.0, 2.0, 2.0], [1e-300, 1e-300, 1e-300, 1.0]])))
    np.testing.assert_allclose(ess, [4.0, 1.0])
    np.testing.assert_allclose(ln_mean, [np.log(2.0), np.log(0.25)])


def test_numpy_joint_likelihood_equals_the_pymc_model_up_to_a_constant():
    """ln L of inference.joint_likelihood (numpy, per draw) against the PyMC model's observed log density at three
    points that move the couplings, the flux, a background and the yields: the difference is the ln n! constant."""

    from bayes_nsi.experiments.registry import get_binned
    from bayes_nsi.inference.joint_likelihood import JointLikelihood
    from bayes_nsi.inference.joint_pymc import build_joint_pymc_model
    from bayes_nsi.inference.joint_scan import FluxConstraint, constrained_inputs
    from bayes_nsi.inference.observations import observations
    from bayes_nsi.inference.priors import Prior
    from bayes_nsi.inference.scans import Chi2Scanner

    with pytensor.config.change_flags(mode="FAST_COMPILE"):  # three points: compiling for speed would dominate
        differences = _differences(get_binned, JointLikelihood, build_joint_pymc_model, FluxConstraint,
                                   constrained_inputs, observations, Prior, Chi2Scanner)
    assert np.ptp(differences) < 1e-8
    assert abs(differences[0]) > 1.0  # the dropped ln n! is a real constant, not zero


def _differences(get_binned, JointLikelihood, build_joint_pymc_model, FluxConstraint, constrained_inputs,
                 observations, Prior, Chi2Scanner) -> list[float]:
    counting = observations(["paired", "us2"], likelihoods={"paired": "poisson_counting", "us2": "poisson_counting"})
    dataset, flux = get_binned("xenonnt_sr01"), FluxConstraint.of("sno")
    post = build_joint_pymc_model(counting, "paper", dataset, {"mumu_d": Prior.uniform(-1, 1)}, flux, "paper")
    model = post.model
    logp = model.compile_fn(model.logp(vars=[model[n] for n in post.observed]), inputs=model.value_vars,
                            on_unused_input="ignore")
    events = Chi2Scanner.for_data(counting, "paper", "paper").events
    numpy_ln_l = JointLikelihood.build(counting.terms, events, dataset, constrained_inputs(dataset, flux), "paper")
    points = [{"mumu_d": 0.0}, {"mumu_d": 0.3, "flux_8b": 5.6, "count_us2_background": 260.0, "t_ly": 0.7},
              {"mumu_d": -0.2, "flux_8b": 4.9, "t_qy": -1.3, "signal_efficiency": 0.8, "er_rate_multiplier": 1.6}]
    differences = []
    for point in points:
        values = {n: point.get(n, nominal) for n, nominal in _nominal(post).items()}
        transformed = {}
        for rv in model.free_RVs:
            value = np.array(values[rv.name])
            transform = model.rvs_to_transforms.get(rv)
            transformed[model.rvs_to_values[rv].name] = (value if transform is None
                                                         else transform.forward(value, *rv.owner.inputs).eval())
        eps = np.zeros((1, 12))
        eps[0, 9] = values["mumu_d"]
        draws = numpy_ln_l.draws({n: np.array([v]) for n, v in values.items()})
        differences.append(float(logp(transformed)) - float(numpy_ln_l.log_likelihood(eps, draws)[0, 0]))
    return differences


def _nominal(post) -> dict[str, float]:
    values = {"mumu_d": 0.0, "flux_8b": 5.25, "count_paired_background": 2.5, "count_us2_background": 280.0}
    inputs = post.binned.binned.inputs(False)
    values.update({n.name: n.nominal for n in inputs.nuisances if n.name != inputs.signal_scale})
    return values
