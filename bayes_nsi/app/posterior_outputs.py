"""What every posterior run writes and checks: diagnostics (``diagnostics.json``, thresholds), sampler settings,
timings, ``posterior.nc``, the interval tables, trace and rank plots and the posterior-vs-profile overlay; shared by
the posterior, quadrature, binned-posterior and constraints runners."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.inference import credible
from bayes_nsi.inference.sampler_settings import SamplerSettings

OVERLAY_BINS = 60
RANK_P_WARN = 0.01  # rank-uniformity p below this: reported as a mixing warning (the spec has no threshold)


def check_diagnostics(idata, var_names: list[str], spec: Spec, sampling_s: float | None, out: Path,
           log: Callable[[str], None]) -> dict:
    """Write ``diagnostics.json``, log the summary, raise ``DiagnosticsFailed`` on a missed threshold."""
    from bayes_nsi.inference import sampling  # PyMC and ArviZ (~3 s): only for NUTS runs

    diag = sampling.compute_diagnostics(idata, var_names)
    failures = sampling.diagnostics_failures(diag, spec.diagnostics)
    summary = {**_worst(diag), "divergences": diag["divergences"], "bfmi": diag["bfmi"],
               "mixing_warning": _mixing_warning(diag), "passed": not failures}
    write_json(out / "diagnostics.json", {
        "acceptance": spec.acceptance, "physics": spec.physics, "spec": spec.name, "description": spec.description,
        "sampler": sampler_info(spec.sampler), "thresholds": spec.raw["diagnostics"], **summary,
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


def sample_checked(model, observed: Sequence[str], var_names: list[str], spec: Spec, out: Path,
                   log: Callable[[str], None], what: str, obs: Any = None) -> tuple[Any, dict, dict[str, float | None]]:
    """Log what is sampled, sample with the spec's sampler (progress bar when stderr is a terminal), write and check
    the diagnostics (:func:`check_diagnostics`). Returns the DataTree, the diagnostics summary and the timings
    ``sample_total_s`` (sampling with the log-likelihood and predictive groups) and ``sampling_s`` (the sampler's).
    obs: the model's :class:`~bayes_nsi.inference.observations.Observations`, if its data are their likelihood
    terms (then those groups come from the draws' events, see ``sampling.sample``)."""
    from bayes_nsi.inference import sampling  # PyMC and ArviZ (~3 s): only for NUTS runs

    s = spec.sampler
    log(f"sampling {', '.join(var_names)} with {s.engine}: {s.chains} chains x {s.draws} draws after {s.tune} "
        f"tuning steps ({what})")
    clock = time.perf_counter()
    idata = sampling.sample(model, s, observed, progressbar=sys.stderr.isatty(), obs=obs)
    timings: dict[str, float | None] = {"sample_total_s": lap(clock)}
    sampling_time = idata["posterior"].attrs.get("sampling_time")
    timings["sampling_s"] = None if sampling_time is None else round(float(sampling_time), 3)
    return idata, check_diagnostics(idata, var_names, spec, timings["sampling_s"], out, log), timings


def write_posterior(idata, out: Path, **attrs: str) -> None:
    """``posterior.nc``, with ``attrs`` (acceptance, physics, ...) on the DataTree and its posterior group."""
    for group in (idata, idata["posterior"]):
        group.attrs.update(attrs)
    idata.to_netcdf(Path(out) / "posterior.nc")


def write_interval_tables(rows: Sequence, notes: Sequence[str], spec: Spec, out: Path,
                          mixing: str | None = None) -> None:
    """``credible_intervals.json`` and ``intervals_side_by_side.{json,csv,md}`` of the rows
    (``credible.CouplingIntervals``). The notes get the spec's description after their first line and, if given,
    the sampler's mixing warning at the end."""
    out = Path(out)
    notes = list(notes)
    if spec.description:
        notes.insert(1, spec.description.strip())
    if mixing:
        notes.append(f"Mixing: {mixing}")
    write_json(out / "credible_intervals.json", credible.credible_json(rows))
    write_json(out / "intervals_side_by_side.json", credible.side_by_side_json(rows, notes, spec.acceptance))
    write_csv(out / "intervals_side_by_side.csv", ["acceptance", *credible.TABLE_HEADER],
              [[spec.acceptance, *row] for row in credible.table_rows(rows)])
    write_text(out / "intervals_side_by_side.md",
               credible.markdown(f"Credible and chi-square intervals: {spec.name}", rows, notes))


def lap(start: float) -> float:
    return round(time.perf_counter() - start, 3)


def _fmt(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.4g}"


def sampler_info(sampler: SamplerSettings) -> dict:
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


def figures(idata, var_names, profiles, couplings, spec, out: Path) -> None:
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
