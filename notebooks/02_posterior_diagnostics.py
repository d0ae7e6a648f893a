# %% [markdown]
# # 02 · Posterior diagnostics with ArviZ
#
# Three posteriors of increasing dimension, built from the analysis specs in `models/` through the
# package's public functions (`bayes_nsi.app.typed_spec.load`, `bayes_nsi.app.runners.posterior.setup`,
# `bayes_nsi.inference.sampling.sample`):
#
# | model | spec | free parameters |
# |---|---|---|
# | one coupling | `posterior_ee_u_xenonnt.toml` | $\varepsilon_{ee}^u$ (XENONnT alone) |
# | two couplings | `posterior_ee_pair.toml` | $\varepsilon_{ee}^u, \varepsilon_{ee}^d$ (paired + US2 + XENONnT) |
# | twelve couplings | `posterior_all12.toml` | all twelve couplings and the nuisances of the spec |
#
# For each: trace and rank plots, $\hat R$, bulk and tail ESS and MCSE (`az.summary`), the energy plot
# and E-BFMI, the divergent transitions located on a pair plot, a posterior predictive check of the
# event numbers, and the posterior against $\exp(-\Delta\chi^2/2)$ from the chi-square scanner
# (`bayes_nsi.inference.scans.Chi2Scanner`). With uniform priors and no nuisances the posterior *is*
# $\exp(-\Delta\chi^2/2)$ normalised on the prior box, so for the one- and two-coupling models the
# comparison is an exact test of the sampler; for twelve couplings and nuisances it is not (the
# posterior marginalises, the profile fixes the other couplings at zero) and is only shown.
#
# **Test mode.** `tests/test_notebooks.py` runs this notebook with `BAYES_NSI_TEST=1`; the notebook then
# uses **fewer draws** (table below): 500 instead of 1000 for one coupling, 400 draws after 600 tuning
# steps instead of 1000 / 1000 for twelve; the two-coupling run keeps its 1000 draws, since its NUTS
# takes about 1 s. It then runs in about 1.5 minutes on 2 cores with a warm PyTensor cache; most of
# the time is PyTensor/numba compilation (three compiled functions per model), which a cold cache
# roughly doubles.
#
# **Thresholds asserted** (a failing cell fails the test): $\hat R$, bulk and tail ESS, the number of
# divergences and E-BFMI, per model. They were chosen from measured runs of these exact settings over
# several seeds (next section): they are what the sampler honestly reaches at the test-mode draws, not
# the specs' stricter thresholds (`max_r_hat = 1.01`, ESS ≥ 400 or 700), which the reduced runs do not
# always reach.

# %%
import dataclasses
import os
import time
from pathlib import Path

import arviz as az
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import Markdown, display

from bayes_nsi.app.posterior_outputs import overlay_figure
from bayes_nsi.app.runners.posterior import setup
from bayes_nsi.app.typed_spec import load
from bayes_nsi.inference import credible, sampling
from bayes_nsi.inference import scans as frequentist
from bayes_nsi.names import COUPLINGS

# %matplotlib inline

TEST_MODE = os.environ.get("BAYES_NSI_TEST") == "1"
MODELS = Path("..") / "models"  # the notebook runs with notebooks/ as working directory
T_START = time.perf_counter()
print(f"test mode: {TEST_MODE}")

# %% [markdown]
# ## Settings and thresholds
#
# Sampler settings come from each spec (nutpie, low-rank mass matrix, 4 chains, seed 1). The test mode
# changes the numbers of draws (and tuning steps) only; the two-coupling run also raises
# `target_accept` from the spec's 0.9 to 0.95 in both modes: at 0.9 the measured runs had 0–6
# divergences per 4000 draws at the edges of the thin bands and bulk / tail ESS down to 264 / 185; at
# 0.95 there were none over 14 seeds.
#
# Measured at the test-mode settings on 2 cores, seeds 1–12 (one), 1–14 (two), 1–8 (twelve):
#
# | model | draws / tune | max $\hat R$ | min ESS bulk | min ESS tail | divergences | min E-BFMI |
# |---|---|---|---|---|---|---|
# | one | 500 / 1000 | 1.002–1.017 | 255–466 | 312–649 | 0 | 1.14–1.49 |
# | two | 1000 / 1000 | 1.006–1.021 | 375–665 | 270–763 | 0 | 0.38–0.78 |
# | twelve | 400 / 600 | 1.008–1.022 | 325–689 | 252–604 | 0 | 0.72–0.82 |
#
# (The same spec and seed give the same draws in any new process, whatever the state of the compile
# cache: `tests/test_reproducibility.py` runs a posterior into an empty and a warm cache and compares
# the draws. The spread above is over seeds.)
#
# The asserted thresholds leave room below the worst measured run (so that another seed does not fail
# the test) but fail a posterior
# that is genuinely unconverged: $\hat R \le 1.03$ (1.04 for twelve couplings), bulk and tail ESS
# $\ge 200$ (150 for twelve), at most 0.1 % divergent draws (0.25 % for twelve; none were measured),
# and E-BFMI $\ge 0.3$ in every chain. Outside the test mode the same thresholds are asserted; the
# spec's own (stricter) thresholds are what `bayes-nsi run` checks.
#
# **What each assert still catches** at these looser thresholds:
#
# - $\hat R \le 1.03$ (1.04): chains in different modes (the one-coupling posterior has two modes either
#   side of $x_c \approx 0.2$; four chains split 3:1 between them give $\hat R$ far above 1.1), or a chain
#   that has not left its start.
# - bulk and tail ESS $\ge 200$ (150): a sampler that moves so little that the Monte Carlo error of a mean
#   exceeds 7 % (8 %) of the posterior width, e.g. a collapsed step size or a valley it cannot cross.
# - divergences $\le 0.1\,\%$ (0.25 %): the integrator failing in a region it then under-samples; a wrong
#   gradient diverges on most transitions, a badly scaled posterior on a few per cent.
# - E-BFMI $\ge 0.3$ in every chain: momentum resampling that cannot move through the energy levels (heavy
#   tails, funnels); Betancourt's (2016) threshold, not tuned to our runs.
# - the package's diagnostics equal ArviZ's: `diagnostics.json` computed on other variables, draws or chains.
# - $0.005 <$ PPC p $< 0.995$: the predictive of `signal` wired to the wrong data set, error or
#   normalization, i.e. a measured value outside the 99 % predictive range.
# - KS below $1.95/\sqrt{\mathrm{ESS}}$ and the mean within 4 MCSE: a posterior other than
#   $\exp(-\Delta\chi^2/2)$ (wrong likelihood, prior box or event graph); the notebook shows the KS check
#   rejecting a measurement one σ higher.

# %%
RUNS = {
    "one": {"spec": "posterior_ee_u_xenonnt.toml", "test": {"draws": 500}, "full": {}},
    "two": {"spec": "posterior_ee_pair.toml", "test": {"target_accept": 0.95}, "full": {"target_accept": 0.95}},
    "twelve": {"spec": "posterior_all12.toml", "test": {"draws": 400, "tune": 600}, "full": {}},
}
# max_divergence_fraction: of all post-warmup draws (chains x draws)
LIMITS = {
    "one": {"max_r_hat": 1.03, "min_ess_bulk": 200, "min_ess_tail": 200, "max_divergence_fraction": 0.001,
            "min_bfmi": 0.3},
    "two": {"max_r_hat": 1.03, "min_ess_bulk": 200, "min_ess_tail": 200, "max_divergence_fraction": 0.001,
            "min_bfmi": 0.3},
    "twelve": {"max_r_hat": 1.04, "min_ess_bulk": 150, "min_ess_tail": 150, "max_divergence_fraction": 0.0025,
               "min_bfmi": 0.3},
}
specs = {}
for key, run in RUNS.items():
    spec = load(MODELS / run["spec"])
    sampler = dataclasses.replace(spec.sampler, **(run["test"] if TEST_MODE else run["full"]))
    specs[key] = dataclasses.replace(spec, sampler=sampler)
rows = ["| model | spec | draws | tune | chains | target_accept | max r_hat | min ESS bulk / tail | "
        "max divergences | min E-BFMI |", "|---" * 10 + "|"]
for key, spec in specs.items():
    s, lim = spec.sampler, LIMITS[key]
    rows.append(f"| {key} | `{RUNS[key]['spec']}` | {s.draws} | {s.tune} | {s.chains} | "
                f"{s.target_accept} | "
                f"{lim['max_r_hat']} | {lim['min_ess_bulk']} / {lim['min_ess_tail']} | "
                f"{lim['max_divergence_fraction']:.2%} of draws | {lim['min_bfmi']} |")
display(Markdown("\n".join(rows)))

# %% [markdown]
# ## Helpers (public API only)

# %%
def run_posterior(spec):
    """Build the PyMC model of a posterior spec and sample it; returns (model, idata, variable names)."""
    t0 = time.perf_counter()
    model = setup(spec)
    idata = sampling.sample(model.model, spec.sampler, model.observed, progressbar=False)
    var_names = [*model.couplings, *model.nuisances.names]
    print(f"{spec.name}: built and sampled in {time.perf_counter() - t0:.1f} s "
          f"(NUTS itself: {idata['posterior'].attrs.get('sampling_time', float('nan')):.1f} s)")
    return model, idata, var_names


def diagnostics(idata, var_names):
    """Worst r_hat / ESS over all variables, divergences and per-chain E-BFMI, straight from ArviZ."""
    # round_to="auto" (the default) keeps the raw values and only formats the display; note that
    # round_to=None would round the values themselves (to rcParams["stats.round_to"]).
    summary = az.summary(idata, var_names=var_names)
    diverging = idata["sample_stats"]["diverging"].values
    bfmi = az.bfmi(idata)["energy"].values
    return {"summary": summary, "max_r_hat": float(summary["r_hat"].max()),
            "min_ess_bulk": float(summary["ess_bulk"].min()), "min_ess_tail": float(summary["ess_tail"].min()),
            "divergences": int(diverging.sum()), "draws": diverging.size, "bfmi": bfmi}


def failures(d, lim):
    """Every threshold the run misses, as text (empty when all pass)."""
    out = []
    if not d["max_r_hat"] <= lim["max_r_hat"]:
        out.append(f"max r_hat {d['max_r_hat']:.4f} > {lim['max_r_hat']}")
    if not d["min_ess_bulk"] >= lim["min_ess_bulk"]:
        out.append(f"min ESS bulk {d['min_ess_bulk']:.0f} < {lim['min_ess_bulk']}")
    if not d["min_ess_tail"] >= lim["min_ess_tail"]:
        out.append(f"min ESS tail {d['min_ess_tail']:.0f} < {lim['min_ess_tail']}")
    if d["divergences"] > lim["max_divergence_fraction"] * d["draws"]:
        out.append(f"{d['divergences']} divergences > {lim['max_divergence_fraction']:.1%} of {d['draws']} draws")
    if not np.all(d["bfmi"] >= lim["min_bfmi"]):
        out.append(f"E-BFMI {np.round(d['bfmi'], 3).tolist()} below {lim['min_bfmi']}")
    return out


def report(d):
    display(d["summary"])
    print(f"max r_hat {d['max_r_hat']:.4f}; min ESS bulk {d['min_ess_bulk']:.0f}, tail {d['min_ess_tail']:.0f}; "
          f"{d['divergences']} divergences in {d['draws']} draws; E-BFMI per chain {np.round(d['bfmi'], 3).tolist()}")


def check_package_diagnostics(idata, var_names, d):
    """The package's own diagnostics (used by `bayes-nsi run`) agree with ArviZ."""
    pkg = sampling.compute_diagnostics(idata, var_names)
    assert pkg["divergences"] == d["divergences"]
    # E-BFMI: the package divides the summed squared energy jumps by n - 1, ArviZ by n
    np.testing.assert_allclose(pkg["bfmi"], d["bfmi"], rtol=2.0 / idata["posterior"].sizes["draw"])
    np.testing.assert_allclose(max(v["r_hat"] for v in pkg["variables"].values()), d["max_r_hat"], rtol=1e-10)
    np.testing.assert_allclose(min(v["ess_bulk"] for v in pkg["variables"].values()), d["min_ess_bulk"], rtol=1e-10)


def ppc_check(idata):
    """Posterior predictive p-values P(signal_rep >= observed) of the measured event numbers."""
    rep = idata["posterior_predictive"]["signal"]
    observed = idata["observed_data"]["signal"]
    p = (rep >= observed).mean(("chain", "draw"))
    lo, hi = rep.quantile([0.005, 0.995], dim=("chain", "draw"))
    rows = ["| data set | observed | predictive median | 99 % predictive interval | P(rep >= obs) |",
            "|---|---|---|---|---|"]
    for d in observed["measured_dataset"].values:
        rows.append(f"| {d} | {float(observed.sel(measured_dataset=d)):.1f} | "
                    f"{float(rep.sel(measured_dataset=d).median()):.1f} | "
                    f"[{float(lo.sel(measured_dataset=d)):.1f}, {float(hi.sel(measured_dataset=d)):.1f}] | "
                    f"{float(p.sel(measured_dataset=d)):.3f} |")
    display(Markdown("\n".join(rows)))
    return p.values


def show(pc):
    """Render the figure of an ArviZ PlotCollection / PlotMatrix in the notebook."""
    plt.show()


def posterior_cdf_distance(draws, x, density):
    """Kolmogorov distance between the draws' ECDF and the CDF of a density on the grid x."""
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(x))])
    cdf /= cdf[-1]
    s = np.sort(np.ravel(draws))
    model = np.interp(s, x, cdf)
    n = s.size
    return float(max(np.max(np.arange(1, n + 1) / n - model), np.max(model - np.arange(n) / n)))


# %% [markdown]
# ## 1. One coupling: $\varepsilon_{ee}^u$ from XENONnT alone

# %%
setup1, idata1, vars1 = run_posterior(specs["one"])
d1 = diagnostics(idata1, vars1)
report(d1)

# %%
show(az.plot_trace_dist(idata1, var_names=vars1, backend="matplotlib"))
show(az.plot_rank(idata1, var_names=vars1, backend="matplotlib"))
show(az.plot_energy(idata1, backend="matplotlib"))

# %% [markdown]
# Divergences (if any) on a pair plot of the coupling against the expected XENONnT events: they sit
# on the steep walls of $\chi^2$ (the rate grows quadratically in the coupling, so $\chi^2$ quartically).

# %%
show(az.plot_pair(idata1, var_names=[*vars1, "events"], visuals={"divergence": True}, backend="matplotlib"))

# %%
fail1 = failures(d1, LIMITS["one"])
assert not fail1, fail1
check_package_diagnostics(idata1, vars1, d1)

# %% [markdown]
# ### Posterior predictive check of the event numbers

# %%
show(az.plot_ppc_interval(idata1, backend="matplotlib"))
p1 = ppc_check(idata1)
assert np.all((p1 > 0.005) & (p1 < 0.995)), p1

# %% [markdown]
# ### Posterior against $\exp(-\Delta\chi^2/2)$
# Uniform prior on $[-1, 1]$ and no nuisances: the posterior density is $\exp(-\Delta\chi^2/2)$ on the
# prior box. Checks: (i) the model's `events` deterministic equals the scanner's events at the same
# couplings (same graph); (ii) the Kolmogorov distance between the draws and the $\exp(-\Delta\chi^2/2)$
# CDF is below $1.95/\sqrt{\mathrm{ESS}_\text{bulk}}$ (the 0.1 % critical value of the KS test for
# independent draws, with the ESS in place of the number of draws); (iii) the posterior mean agrees
# with the quadrature mean within 4 MCSE.

# %%
scanner1 = frequentist.Chi2Scanner.for_data(setup1.obs, specs["one"].acceptance)
key1 = scanner1.keys[-1]
name1 = setup1.couplings[0]
draws1 = idata1["posterior"][name1].values.ravel()

eps = np.zeros((200, 12))
eps[:, COUPLINGS.index(name1)] = draws1[:200]
np.testing.assert_allclose(idata1["posterior"]["events"].values.reshape(-1, 1)[:200], scanner1.events(eps), rtol=1e-10)

x1 = np.linspace(-1.0, 1.0, 4001)
chi2_1 = scanner1.along([name1], key1)(x1)
dens1 = np.exp(-0.5 * (chi2_1 - chi2_1.min()))
dens1 /= np.trapezoid(dens1, x1)
ks1 = posterior_cdf_distance(draws1, x1, dens1)
ess1 = d1["summary"].loc[name1, "ess_bulk"]
mean_quad = np.trapezoid(x1 * dens1, x1)
mcse1 = d1["summary"].loc[name1, "mcse_mean"]
print(f"KS distance {ks1:.4f} (limit {1.95 / np.sqrt(ess1):.4f}); posterior mean {draws1.mean():.4f} vs quadrature "
      f"{mean_quad:.4f} (MCSE {mcse1:.4f})")

profile1 = credible.one_parameter_profile(lambda e: scanner1.chi2(e)[key1], COUPLINGS.index(name1), -1.0, 1.0)
overlay_figure(idata1, {name1: profile1}, [name1], specs["one"])

# %%
assert ks1 < 1.95 / np.sqrt(ess1), ks1
assert abs(draws1.mean() - mean_quad) < 4 * mcse1, (draws1.mean(), mean_quad, mcse1)

# %% [markdown]
# The check has power: the same draws against the posterior of a measurement one σ higher (eq. 20 written
# out here, with the scanner's events on the grid) are rejected.

# %%
measured1, sigma1 = 10.7, 3.95  # XENONnT, Table II of the paper
grid_eps = np.zeros((x1.size, 12))
grid_eps[:, COUPLINGS.index(name1)] = x1
events_x1 = scanner1.events(grid_eps)[:, 0]
for value in (measured1, measured1 + sigma1):
    chi2_v = ((value - events_x1) / sigma1) ** 2
    dens_v = np.exp(-0.5 * (chi2_v - chi2_v.min()))
    ks_v = posterior_cdf_distance(draws1, x1, dens_v / np.trapezoid(dens_v, x1))
    print(f"measured value {value:.2f}: KS distance {ks_v:.4f} (limit {1.95 / np.sqrt(ess1):.4f})")
assert np.isclose(posterior_cdf_distance(draws1, x1, np.exp(-0.5 * ((measured1 - events_x1) / sigma1) ** 2)), ks1)
assert ks_v > 1.95 / np.sqrt(ess1), ks_v

# %% [markdown]
# ## 2. Two couplings: $(\varepsilon_{ee}^u, \varepsilon_{ee}^d)$ from all three data sets
#
# The posterior is a pair of thin parallel bands: the weak charge depends almost only on
# $(N+2Z)\,\varepsilon^u + (2N+Z)\,\varepsilon^d$. This notebook samples it with
# `target_accept = 0.95` instead of the spec's 0.9 (see the settings above).

# %%
setup2, idata2, vars2 = run_posterior(specs["two"])
d2 = diagnostics(idata2, vars2)
report(d2)

# %%
show(az.plot_trace_dist(idata2, var_names=vars2, backend="matplotlib"))
show(az.plot_rank(idata2, var_names=vars2, backend="matplotlib"))
show(az.plot_energy(idata2, backend="matplotlib"))
show(az.plot_pair(idata2, var_names=vars2, visuals={"divergence": True}, backend="matplotlib"))

# %%
fail2 = failures(d2, LIMITS["two"])
assert not fail2, fail2
check_package_diagnostics(idata2, vars2, d2)

# %%
show(az.plot_ppc_interval(idata2, backend="matplotlib"))
p2 = ppc_check(idata2)
assert np.all((p2 > 0.005) & (p2 < 0.995)), p2

# %% [markdown]
# ### Posterior against $\exp(-\Delta\chi^2/2)$ in the plane
# $\Delta\chi^2$ of the combination on a 401 × 401 grid over the prior box; its marginals are compared
# with the draws (KS, as above), and the posterior mass inside $\Delta\chi^2 \le 2.30$ (the 68 % region
# of two Gaussian parameters) from the grid is compared with the fraction of draws inside it, within
# 4 binomial standard errors computed with the bulk ESS.

# %%
scanner2 = frequentist.Chi2Scanner.for_data(setup2.obs, specs["two"].acceptance)
key2 = scanner2.keys[-1]  # "combined"
nx, ny = setup2.couplings
g = np.linspace(-1.0, 1.0, 401)
gx, gy = np.meshgrid(g, g, indexing="ij")
chi2_grid = scanner2.along([nx, ny], key2)(gx, gy)
chi2_min = chi2_grid.min()
dens2 = np.exp(-0.5 * (chi2_grid - chi2_min))
post2 = idata2["posterior"]
dx_draws, dy_draws = post2[nx].values.ravel(), post2[ny].values.ravel()

ks2 = {}
for axis, (name, draws) in enumerate(((nx, dx_draws), (ny, dy_draws))):
    marginal = np.trapezoid(dens2, g, axis=1 - axis)
    ks2[name] = (posterior_cdf_distance(draws, g, marginal), 1.95 / np.sqrt(d2["summary"].loc[name, "ess_bulk"]))
print("KS distance (value, limit):", ks2)

inside_grid = chi2_grid - chi2_min <= 2.30
def integral_2d(f):
    return np.trapezoid(np.trapezoid(f, g, axis=1), g)


mass_grid = integral_2d(dens2 * inside_grid) / integral_2d(dens2)
chi2_draws = scanner2.along([nx, ny], key2)(dx_draws, dy_draws)
frac_draws = float(np.mean(chi2_draws - chi2_min <= 2.30))
ess2 = d2["min_ess_bulk"]
tol2 = 4 * np.sqrt(mass_grid * (1 - mass_grid) / ess2)
print(f"posterior mass in dchi2 <= 2.30: grid {mass_grid:.3f}, draws {frac_draws:.3f} (tolerance {tol2:.3f})")

fig, ax = plt.subplots(figsize=(5, 4.5))
ax.plot(dx_draws[::4], dy_draws[::4], ".", ms=1.5, alpha=0.3, color="tab:blue", label="posterior draws")
cs = ax.contour(g, g, (chi2_grid - chi2_min).T, levels=[2.30, 6.18], colors=["black", "grey"])
ax.clabel(cs, fmt={2.30: "Δχ²=2.30", 6.18: "6.18"}, fontsize=7)
ax.set(xlabel=nx, ylabel=ny, title="posterior vs Δχ² contours (combined)")
ax.legend(fontsize=7, loc="upper right")
plt.show()

# %%
for name, (ks, limit) in ks2.items():
    assert ks < limit, (name, ks, limit)
assert abs(frac_draws - mass_grid) < tol2, (frac_draws, mass_grid, tol2)

# %% [markdown]
# ## 3. Twelve couplings with nuisances (`posterior_all12.toml`)

# %%
setup12, idata12, vars12 = run_posterior(specs["twelve"])
d12 = diagnostics(idata12, vars12)
report(d12)

# %%
show(az.plot_trace_dist(idata12, var_names=vars12, backend="matplotlib"))
show(az.plot_rank(idata12, var_names=vars12, backend="matplotlib"))
show(az.plot_energy(idata12, backend="matplotlib"))

# %% [markdown]
# Divergences on a pair plot of the diagonal couplings and the 8B flux (if the spec frees it): a
# 12 + nuisances pair plot would be unreadable, so the panel shows the couplings that enter the rate
# at leading order.

# %%
pair_vars = ["ee_u", "mumu_u", "tautau_u", "ee_d"] + [v for v in ("flux_8b",) if v in vars12]
pair_vars = [v for v in pair_vars if v in vars12]
show(az.plot_pair(idata12, var_names=pair_vars, visuals={"divergence": True}, backend="matplotlib"))
if d12["divergences"]:
    div = idata12["sample_stats"]["diverging"].values
    print("mean of divergent draws vs all draws:")
    for v in pair_vars:
        values = idata12["posterior"][v].values
        print(f"  {v}: {values[div].mean():+.3f} vs {values.mean():+.3f}")

# %%
fail12 = failures(d12, LIMITS["twelve"])
assert not fail12, fail12
check_package_diagnostics(idata12, vars12, d12)

# %%
show(az.plot_ppc_interval(idata12, backend="matplotlib"))
p12 = ppc_check(idata12)
assert np.all((p12 > 0.005) & (p12 < 0.995)), p12

# %% [markdown]
# ### Marginals against the one-parameter $\exp(-\Delta\chi^2/2)$ (shown, not asserted)
# The black curves fix the other eleven couplings at zero and the nuisances at their nominal values;
# the histograms marginalise over all of them, so the two answer different questions.

# %%
# same data sets, exposures and acceptance as the two-coupling model: reuse its compiled scanner
scanner12 = scanner2.with_observations(setup12.obs)
assert specs["twelve"].acceptance == specs["two"].acceptance
key12 = scanner12.keys[-1]
profiles12 = {c: credible.one_parameter_profile(lambda e: scanner12.chi2(e)[key12], COUPLINGS.index(c),
                                                *credible.scan_range(specs["twelve"].priors[c]), points=801)
              for c in setup12.couplings}
overlay_figure(idata12, profiles12, list(setup12.couplings), specs["twelve"])

# %%
print(f"notebook ran in {time.perf_counter() - T_START:.1f} s")
