"""The SBC problem of a posterior spec: prior draws, pseudo-measurements, and nutpie posteriors of the PyMC model.

:class:`PosteriorSBC` is the recipe (a frozen dataclass of plain values, so it names the study in its
spec hash and pickles to the workers); ``build()`` returns a :class:`PosteriorProblem`, compiled once
per worker process through :func:`.worker.cached`:

- prior draws: every sampled coupling from its spec prior, and every switched-on nuisance from the
  distribution :mod:`bayes_nsi.inference.pymc_model` gives it (8B flux truncated at 0, R_n truncated
  where the Helm R0 is real, each acceptance multiplier truncated at 0), drawn with numpy/scipy;
- pseudo-measurements: expected events at the drawn parameters (the PyMC model's own ``events`` graph,
  compiled as a function of its random variables), then each data set's likelihood term's ``simulate``;
- posterior draws: nutpie on the PyMC model compiled once; each simulation swaps the observed values
  (the model's ``measured`` data) with ``CompiledModel.with_data``, so nothing is recompiled.

Only likelihood terms observed through ``measured`` (Gaussian, split normal) can be swapped: counting
terms observe a constant and are refused. Parameter names: the couplings, ``flux_8b``, ``r_n`` and
``acceptance_scale[<data set>]``, in that order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

import numpy as np
from scipy import stats

from bayes_nsi.inference.studies.worker import cached

SWAPPABLE = ("gaussian", "split_normal")  # likelihoods whose observed value is the model's ``measured`` data
MEASURED = "measured"  # name of the pm.Data holding the Gaussian and split-normal measurements (pymc_model)


@dataclass(frozen=True)
class PosteriorSBC:
    """Recipe: the posterior of a spec (data sets, overrides, likelihoods, priors, nuisances, modes) and
    the NUTS settings of each SBC posterior (nutpie: chains x draws after tune, every ``thin``-th draw kept)."""

    datasets: tuple[str, ...]
    overrides: tuple[tuple[str, tuple[tuple[str, float], ...]], ...]  # (data set, ((key, value), ...))
    likelihoods: tuple[tuple[str, str], ...]  # (data set, likelihood)
    priors: tuple[tuple[str, object], ...]  # (coupling, inference.priors.Prior) in COUPLINGS order
    nuisances: object  # inference.priors.Nuisances
    acceptance: str = "paper"
    physics: str = "paper"
    draws: int = 500
    tune: int = 500
    chains: int = 2
    thin: int = 5
    target_accept: float = 0.95
    adaptation: str = "diag"

    def __post_init__(self) -> None:
        bad = [(d, lk) for d, lk in self.likelihoods if lk not in SWAPPABLE]
        if bad:
            raise ValueError(f"likelihood.{bad[0][0]}: {bad[0][1]!r} observes a constant the SBC posterior cannot "
                             f"swap; allowed: {', '.join(SWAPPABLE)}")
        if not self.priors:
            raise ValueError("priors: need at least one coupling prior")
        for name in ("draws", "chains", "thin"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}: {getattr(self, name)} must be >= 1")
        if self.draws % self.thin:
            raise ValueError(f"thin: {self.thin} must divide draws = {self.draws}")

    @property
    def names(self) -> tuple[str, ...]:
        """Parameter names, in the order of every draw: couplings, flux_8b, r_n, acceptance_scale[<data set>]."""
        nuisances = self.nuisances.names
        scales = tuple(f"acceptance_scale[{d}]" for d in self.datasets) if "acceptance_scale" in nuisances else ()
        return (*(c for c, _ in self.priors), *(n for n in nuisances if n != "acceptance_scale"), *scales)

    @property
    def n_draws(self) -> int:
        """Posterior draws per simulation after thinning (the ranks run from 0 to this)."""
        return self.chains * self.draws // self.thin

    def build(self) -> PosteriorProblem:
        return cached(("PosteriorSBC", self), partial(_build, self))


def _build(recipe: PosteriorSBC) -> PosteriorProblem:
    problem = PosteriorProblem(recipe)
    problem.warm_up()
    return problem


class PosteriorProblem:
    """Prior, simulator and nutpie posterior of one posterior spec (the :class:`.sbc.SBCProblem` interface)."""

    def __init__(self, recipe: PosteriorSBC):
        import nutpie
        import pytensor

        import bayes_nsi.pytensor_config  # noqa: F401  (the package's PyTensor settings, before compiling)
        from bayes_nsi.experiments.physics_model import physics_model
        from bayes_nsi.inference.observations import observations
        from bayes_nsi.inference.pymc_model import build_pymc_model

        self.recipe = recipe
        overrides = {d: dict(kv) for d, kv in recipe.overrides}
        self.obs = observations(recipe.datasets, overrides, likelihoods=dict(recipe.likelihoods))
        exposures = {d: kv["exposure_tonne_year"] for d, kv in overrides.items() if "exposure_tonne_year" in kv}
        physics = physics_model(self.obs.sources, recipe.acceptance, exposures=exposures, physics=recipe.physics)
        self.posterior = build_pymc_model(physics, self.obs, dict(recipe.priors), recipe.nuisances)
        model = self.posterior.model
        self.couplings = self.posterior.couplings
        self.nuisance_names = self.posterior.nuisances.names
        rvs = [model[name] for name in (*self.couplings, *self.nuisance_names)]
        self._events = pytensor.function(rvs, model["events"], on_unused_input="raise")
        self._priors = dict(recipe.priors)
        self._r_n_mean = physics.nucleus.r_neutron_fm
        self.compiled = nutpie.compile_pymc_model(model)
        self.names = recipe.names

    def warm_up(self) -> None:
        """Call every compiled function once (numba compiles at the first call): in the build, not in a task."""
        rng = np.random.default_rng(0)
        theta = self.prior_draw(rng)
        self.posterior_draws(self.simulate(theta, rng), 0, draws=self.recipe.thin, tune=10)

    def _split(self, theta: np.ndarray) -> list:
        """Arguments of the events function (couplings, then nuisances; the acceptance scales as one vector)."""
        n = len(self.couplings)
        args = [np.asarray(v) for v in theta[:n]]
        rest = list(theta[n:])
        for name in self.nuisance_names:
            if name == "acceptance_scale":
                args.append(np.asarray(rest[:len(self.obs.datasets)]))
                rest = rest[len(self.obs.datasets):]
            else:
                args.append(np.asarray(rest.pop(0)))
        return args

    def prior_draw(self, rng: np.random.Generator) -> np.ndarray:
        """(n_params,): couplings from their priors, then the switched-on nuisances (pymc_model's priors)."""
        from bayes_nsi.inference.priors import R_N_MIN_FM, flux_8b_prior

        values = [_draw(self._priors[c], rng) for c in self.couplings]
        nuisances = self.recipe.nuisances
        for name in self.nuisance_names:
            if name == "flux_8b":
                mu, sigma = flux_8b_prior(nuisances.flux_8b)
                values.append(_truncated_normal(mu, sigma, 0.0, np.inf, rng))
            elif name == "r_n":
                values.append(_truncated_normal(self._r_n_mean, nuisances.r_n_sigma_fm, R_N_MIN_FM, np.inf, rng))
            else:
                values += [_truncated_normal(1.0, nuisances.acceptance_scale_sigma, 0.0, np.inf, rng)
                           for _ in self.obs.datasets]
        return np.array(values, float)

    def events(self, theta: np.ndarray) -> np.ndarray:
        """Expected events per data set at the parameters ``theta`` (the model's ``events``)."""
        return np.asarray(self._events(*self._split(theta)), float)

    def simulate(self, theta: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Pseudo-measurements per data set: each likelihood term's ``simulate`` at the expected events."""
        events = self.events(theta)
        return np.array([float(t.simulate(np.asarray(events[i]), rng)) for i, t in enumerate(self.obs.terms)])

    def posterior_draws(self, data: np.ndarray, seed: int, *, draws: int | None = None,
                        tune: int | None = None) -> np.ndarray:
        """(chains * draws / thin, n_params) nutpie draws given pseudo-measurements ``data``, one core."""
        import nutpie

        r = self.recipe
        model = self.compiled.with_data(**{MEASURED: np.asarray(data, float)})
        trace = nutpie.sample(model, draws=draws or r.draws, tune=r.tune if tune is None else tune,
                              chains=r.chains, cores=1, seed=seed, progress_bar=False, adaptation=r.adaptation,
                              target_accept=r.target_accept)
        posterior = trace["posterior"]
        columns = [posterior[c].values for c in self.couplings]
        for name in self.nuisance_names:
            values = posterior[name].values
            columns += [values[..., i] for i in range(values.shape[-1])] if values.ndim == 3 else [values]
        return np.stack([c[:, ::r.thin].reshape(-1) for c in columns], axis=1)


def _truncated_normal(mu: float, sigma: float, lower: float, upper: float, rng: np.random.Generator) -> float:
    a, b = (lower - mu) / sigma, (upper - mu) / sigma
    return float(stats.truncnorm.rvs(a, b, loc=mu, scale=sigma, random_state=rng))


def _draw(prior, rng: np.random.Generator) -> float:
    """One draw of an ``inference.priors.Prior`` (uniform, normal or truncated normal)."""
    if prior.dist == "uniform":
        return float(rng.uniform(prior.lower, prior.upper))
    if prior.dist == "normal":
        return float(prior.mu + prior.sigma * rng.standard_normal())
    return _truncated_normal(prior.mu, prior.sigma, prior.lower, prior.upper, rng)


def posterior_sbc(datasets: tuple[str, ...], overrides: Mapping[str, Mapping[str, float]],
                  likelihoods: Mapping[str, str], priors: Mapping, nuisances, **settings) -> PosteriorSBC:
    """The recipe from a spec's pieces (mappings turned into sorted tuples; priors in COUPLINGS order)."""
    from bayes_nsi.names import COUPLINGS

    return PosteriorSBC(
        tuple(datasets), tuple((d, tuple(sorted(overrides[d].items()))) for d in sorted(overrides)),
        tuple((d, likelihoods[d]) for d in datasets if d in likelihoods),
        tuple((c, priors[c]) for c in COUPLINGS if c in priors), nuisances, **settings)
