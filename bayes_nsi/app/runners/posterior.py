"""NUTS runner of ``kind = "posterior"``: sample, check diagnostics, then write intervals, tables and figures.

Files written into ``out``: ``diagnostics.json``, ``posterior.nc`` (ArviZ-readable DataTree),
``credible_intervals.json``, ``intervals_side_by_side.{md,csv,json}`` and, unless ``figures.enabled`` is
false, ``trace``, ``rank`` and ``posterior_vs_chi2`` figures (PNG and PDF). Every file but
``credible_intervals.json`` (whose shape is fixed) states the acceptance mode. A diagnostics failure raises
``DiagnosticsFailed`` after ``diagnostics.json`` is written; the CLI then discards the folder.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from bayes_nsi.app.posterior_outputs import (
    figures,
    lap,
    sample_checked,
    sampler_info,
    write_interval_tables,
    write_posterior,
)
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.experiments.physics_model import physics_model
from bayes_nsi.inference import credible
from bayes_nsi.inference.pymc_model import PosteriorModel, build_pymc_model, chi2_function
from bayes_nsi.names import COUPLINGS


def setup(spec: Spec) -> PosteriorModel:
    """The physics constants, data and PyMC model of a posterior spec."""
    obs = spec.observations()
    physics = physics_model(obs.sources, spec.acceptance, physics=spec.physics)
    return build_pymc_model(physics, obs, spec.priors, spec.nuisances)


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run a posterior spec into ``out``; return the manifest extras (timings, sampler, diagnostics).

    The sampler's progress bar is shown when stderr is a terminal. NUTS engines only: ``runners.posterior_engines``
    sends binned and quadrature specs elsewhere.
    """
    out = Path(out)
    timings: dict[str, float | None] = {}
    clock = time.perf_counter()
    model = setup(spec)
    nuisances = list(model.nuisances.names)
    background = [f"{name}_background" for name in model.observed if name.startswith("count_")]
    var_names = [*model.couplings, *nuisances, *background]
    sampler = spec.sampler
    timings["build_s"] = lap(clock)

    idata, summary, sample_timings = sample_checked(model.model, model.observed, var_names, spec, out, log,
                                                    f"acceptance {spec.acceptance}", obs=model.obs)
    timings.update(sample_timings)

    clock = time.perf_counter()
    write_posterior(idata, out, acceptance=spec.acceptance, physics=spec.physics)
    timings["write_netcdf_s"] = lap(clock)

    clock = time.perf_counter()
    profiles = _write_intervals(idata, model, spec, nuisances, summary["mixing_warning"], out)
    timings["intervals_s"] = lap(clock)

    if spec.figures.enabled:
        clock = time.perf_counter()
        figures(idata, var_names, profiles, model.couplings, spec, out)
        timings["figures_s"] = lap(clock)
    return {
        "timings": timings,
        "sampler": sampler_info(sampler),
        "sampled_couplings": list(model.couplings),
        "nuisances": {n: spec.raw["nuisances"][n] for n in nuisances},
        "likelihoods": model.obs.likelihoods,
        "diagnostics": summary,
    }


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
    write_interval_tables(rows, notes, spec, out, mixing)
    return profiles
