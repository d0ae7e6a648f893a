"""Runner of ``kind = "posterior"``: sample, check diagnostics, then write intervals, tables and figures.

Files written into ``out``: ``diagnostics.json``, ``posterior.nc`` (ArviZ-readable DataTree),
``credible_intervals.json``, ``intervals_side_by_side.{md,csv,json}`` and, unless ``figures.enabled`` is
false, ``trace``, ``rank`` and ``posterior_vs_chi2`` figures (PNG and PDF). Every file but
``credible_intervals.json`` (whose shape is fixed) states the acceptance mode. A diagnostics failure raises
``DiagnosticsFailed`` after ``diagnostics.json`` is written; the CLI then discards the folder.
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import credible, sampling
from bayes_nsi.inference.pymc_model import PosteriorModel, build_pymc_model, chi2_function
from bayes_nsi.names import COUPLINGS

OVERLAY_BINS = 60
RANK_P_WARN = 0.01  # rank-uniformity p below this: reported as a mixing warning (the spec has no threshold)


def setup(spec: Spec) -> PosteriorModel:
    """The physics constants, data and PyMC model of a posterior spec."""
    obs = spec.observations()
    physics = physics_model(obs.sources, spec.acceptance, physics=spec.physics)
    return build_pymc_model(physics, obs, spec.priors, spec.nuisances)


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run a posterior spec into ``out``; return the manifest extras (timings, sampler, diagnostics).

    The sampler's progress bar is shown when stderr is a terminal. A spec with ``[binned]`` samples the binned
    likelihoods instead (``runners.binned_posterior``).
    """
    if spec.binned:
        from bayes_nsi.app.runners.binned_posterior import run as run_binned

        return run_binned(spec, out, log)
    out = Path(out)
    timings: dict[str, float | None] = {}
    clock = time.perf_counter()
    model = setup(spec)
    nuisances = list(model.nuisances.names)
    background = [f"{name}_background" for name in model.observed if name.startswith("count_")]
    var_names = [*model.couplings, *nuisances, *background]
    sampler = spec.sampler
    timings["build_s"] = _lap(clock)

    clock = time.perf_counter()
    log(f"sampling {', '.join(var_names)} with {sampler.engine}: {sampler.chains} chains x "
        f"{sampler.draws} draws after {sampler.tune} tuning steps (acceptance {spec.acceptance})")
    idata = sampling.sample(model.model, sampler, model.observed, progressbar=sys.stderr.isatty())
    timings["sample_total_s"] = _lap(clock)
    sampling_time = idata["posterior"].attrs.get("sampling_time")
    timings["sampling_s"] = None if sampling_time is None else round(float(sampling_time), 3)

    summary = _check(idata, var_names, spec, timings["sampling_s"], out, log)

    clock = time.perf_counter()
    for group in (idata, idata["posterior"]):
        group.attrs["acceptance"] = spec.acceptance
        group.attrs["physics"] = spec.physics
    idata.to_netcdf(out / "posterior.nc")
    timings["write_netcdf_s"] = _lap(clock)

    clock = time.perf_counter()
    profiles = _write_intervals(idata, model, spec, nuisances, summary["mixing_warning"], out)
    timings["intervals_s"] = _lap(clock)

    if spec.figures.enabled:
        clock = time.perf_counter()
        _figures(idata, var_names, profiles, model.couplings, spec, out)
        timings["figures_s"] = _lap(clock)
    return {
        "timings": timings,
        "sampler": _sampler_info(sampler),
        "sampled_couplings": list(model.couplings),
        "nuisances": {n: spec.raw["nuisances"][n] for n in nuisances},
        "likelihoods": model.obs.likelihoods,
        "diagnostics": summary,
    }


def _check(idata, var_names: list[str], spec: Spec, sampling_s: float | None, out: Path,
           log: Callable[[str], None]) -> dict:
    """Write ``diagnostics.json``, log the summary, raise ``DiagnosticsFailed`` on a missed threshold."""
    diag = sampling.compute_diagnostics(idata, var_names)
    failures = sampling.diagnostics_failures(diag, spec.diagnostics)
    summary = {**_worst(diag), "divergences": diag["divergences"], "bfmi": diag["bfmi"],
               "mixing_warning": _mixing_warning(diag), "passed": not failures}
    write_json(out / "diagnostics.json", {
        "acceptance": spec.acceptance, "physics": spec.physics, "spec": spec.name, "description": spec.description,
        "sampler": _sampler_info(spec.sampler), "thresholds": spec.raw["diagnostics"], **summary,
        "failures": failures,
        "min_ess_bulk_per_s": _per_second(summary["min_ess_bulk"], sampling_s),
        "variables": diag["variables"],
    })
    log("diagnostics: " + ", ".join(f"{k} {_fmt(summary[k])}" for k in ("max_r_hat", "min_ess_bulk", "min_ess_tail"))
        + f", {diag['divergences']} divergences, bfmi {', '.join(_fmt(b) for b in diag['bfmi'])}")
    if summary["mixing_warning"]:
        log(f"warning: {summary['mixing_warning']}")
    sampling.check_diagnostics(diag, spec.diagnostics)
    return summary


def _write_intervals(idata, model: PosteriorModel, spec: Spec, nuisances: list[str],
                     mixing: str | None, out: Path) -> dict:
    """Credible and chi-square intervals per coupling: JSON, side-by-side Markdown/CSV/JSON; returns the profiles."""
    chi2 = chi2_function(model.physics, model.obs)
    rows, profiles = [], {}
    for name in model.couplings:
        prior = spec.priors[name]
        profiles[name] = credible.one_parameter_profile(chi2, COUPLINGS.index(name), *credible.scan_range(prior))
        draws = idata["posterior"][name].values.ravel()
        rows.append(credible.coupling_intervals(name, draws, prior.support(), profiles[name]))
    notes = credible.table_notes(spec.acceptance, model.obs.datasets, len(model.couplings), nuisances)
    notes.insert(0, f"Physics: {spec.physics}.")
    if spec.description:
        notes.insert(1, spec.description.strip())
    if mixing:
        notes.append(f"Mixing: {mixing}")
    title = f"Credible and chi-square intervals: {spec.name}"
    write_json(out / "credible_intervals.json", credible.credible_json(rows))
    write_json(out / "intervals_side_by_side.json", credible.side_by_side_json(rows, notes, spec.acceptance))
    write_csv(out / "intervals_side_by_side.csv", ["acceptance", *credible.TABLE_HEADER],
              [[spec.acceptance, *row] for row in credible.table_rows(rows)])
    write_text(out / "intervals_side_by_side.md", credible.markdown(title, rows, notes))
    return profiles


def _lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4g}"


def _sampler_info(sampler: sampling.SamplerSettings) -> dict:
    """Sampler settings as used (the low-rank mass matrix exists only in nutpie)."""
    return {**dataclasses.asdict(sampler), "adaptation": sampler.adaptation}


def _per_second(ess: float | None, seconds: float | None) -> float | None:
    return ess / seconds if ess is not None and seconds else None


def _mixing_warning(diag: dict) -> str | None:
    """Sentence naming the variables whose chains fail the rank-uniformity test, or None."""
    flagged = [f"{k} (p = {v['rank_p']:.2g})" for k, v in diag["variables"].items()
               if v["rank_p"] is not None and v["rank_p"] < RANK_P_WARN]
    if not flagged:
        return None
    return (f"the multi-chain rank test (Saeilynoja et al. 2022) finds the chains' rank distributions differ for "
            f"{', '.join(flagged)} at p < {RANK_P_WARN}, although r_hat and ESS pass the thresholds; the tails "
            "of those marginals are less certain than the ESS suggests (run more draws).")


def _worst(diag: dict) -> dict:
    """Largest r_hat and smallest ESS over all variables; None if any is undefined."""
    def extreme(stat, pick):
        values = [v[stat] for v in diag["variables"].values()]
        return None if None in values else pick(values)
    return {"max_r_hat": extreme("r_hat", max), "min_ess_bulk": extreme("ess_bulk", min),
            "min_ess_tail": extreme("ess_tail", min)}


def _figures(idata, var_names, profiles, couplings, spec, out: Path) -> None:
    """Trace and rank plots (ArviZ, matplotlib backend) and the posterior vs exp(-Delta chi^2 / 2) overlay."""
    import arviz as az

    for stem, plot in (("trace", az.plot_trace_dist), ("rank", az.plot_rank)):
        pc = plot(idata, var_names=list(var_names), backend="matplotlib")
        fig = pc.viz["figure"].item()
        fig.suptitle(f"{spec.name} ({stem}; acceptance {spec.acceptance})")
        save_figure(fig, out, stem)
    save_figure(overlay_figure(idata, profiles, couplings, spec), out, "posterior_vs_chi2")


def overlay_figure(idata, profiles, couplings, spec):
    """One panel per coupling: posterior histogram and exp(-Delta chi^2 / 2) normalized on the scan range."""
    from matplotlib.figure import Figure

    ncols = min(len(couplings), 4)
    nrows = -(-len(couplings) // ncols)
    fig = Figure(figsize=(3.6 * ncols, 2.9 * nrows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    label = "exp(-Δχ²/2), 1-parameter" if len(couplings) > 1 else "exp(-Δχ²/2)"
    for ax, name in zip(axes, couplings, strict=False):
        prof = profiles[name]
        like = np.exp(-0.5 * prof.delta_chi2)
        like /= np.trapezoid(like, prof.x)
        draws = idata["posterior"][name].values.ravel()
        ax.hist(draws, bins=OVERLAY_BINS, range=(prof.x[0], prof.x[-1]), density=True, color="tab:blue",
                alpha=0.5, label="posterior")
        ax.plot(prof.x, like, color="black", lw=1.2, label=label)
        ax.set_xlabel(name)
        ax.set_xlim(prof.x[0], prof.x[-1])
    for ax in axes[len(couplings):]:
        ax.set_visible(False)
    axes[0].set_ylabel("density")
    axes[0].legend(fontsize="small")
    fig.suptitle(f"{spec.name}\n{', '.join(spec.datasets)}, acceptance {spec.acceptance}",
                 fontsize="medium")
    return fig
