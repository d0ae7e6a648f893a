"""Runner of ``kind = "posterior"`` with ``sampler.engine = "quadrature"``: the posterior of one or two couplings
(and the 8B flux) on a grid, independent draws from it, intervals from its marginal densities.

Writes the files of the NUTS runner (``runners.posterior``) with the same names and layout: ``posterior.nc``
(groups posterior, log_likelihood, posterior_predictive, observed_data), ``credible_intervals.json``,
``intervals_side_by_side.{md,csv,json}`` and the ``posterior_vs_chi2`` figure; ``diagnostics.json`` holds the
grid's convergence (posterior mean and sd on the grid and on every other node) instead of chain diagnostics,
and there are no trace or rank plots (there are no chains). Imports neither PyMC nor ArviZ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app.posterior_outputs import lap, overlay_figure, write_interval_tables, write_posterior
from bayes_nsi.app.results import save_figure, write_json
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.inference import credible
from bayes_nsi.inference import grid_posterior as grid
from bayes_nsi.inference.observations import chi2_per_dataset
from bayes_nsi.inference.scans import Chi2Scanner
from bayes_nsi.names import COUPLINGS


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run a quadrature posterior spec into ``out``; return the manifest extras (timings, sampler, grid)."""
    out = Path(out)
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    obs = spec.observations()
    scanner = Chi2Scanner.for_data(obs, spec.acceptance, spec.physics, interpreted=True)
    timings["build_s"] = lap(clock)

    s = spec.sampler
    priors = {c: spec.priors[c] for c in COUPLINGS if c in spec.priors}
    log(f"quadrature posterior of {', '.join(priors)}{' and flux_8b' if spec.nuisances.flux_8b else ''}: "
        f"{s.chains} x {s.draws} independent draws from the grid")
    clock = time.perf_counter()
    idata, posterior = grid.sample(scanner, priors, spec.nuisances.flux_8b, s.draws, s.chains, s.seed)
    timings["sample_total_s"] = lap(clock)
    sampler = {"engine": s.engine, "draws": s.draws, "chains": s.chains, "seed": s.seed}
    convergence = grid.grid_error(posterior)
    nodes = {n: len(x) for n, x in zip(posterior.names, posterior.nodes, strict=True)}
    worst = max(v["mean_change"] / v["sd"] for v in convergence.values())
    log(f"grid {nodes}: largest change of a posterior mean when every other node is dropped: {worst:.2g} sd")
    write_json(out / "diagnostics.json", {
        "acceptance": spec.acceptance, "physics": spec.physics, "spec": spec.name, "description": spec.description,
        "sampler": sampler, "grid_nodes": nodes, "grid_convergence": convergence,
        "notes": "independent draws from the multilinear interpolant of the posterior on the grid "
                 "(bayes_nsi.inference.grid_posterior); *_change: |full grid - every other node|, an upper bound "
                 "of the full grid's error (which falls as h^2)"})

    clock = time.perf_counter()
    write_posterior(idata, out, acceptance=spec.acceptance, physics=spec.physics)
    timings["write_netcdf_s"] = lap(clock)

    clock = time.perf_counter()
    profiles = _write_intervals(spec, scanner, posterior, out)
    timings["intervals_s"] = lap(clock)
    if spec.figures.enabled:
        clock = time.perf_counter()
        save_figure(overlay_figure(idata, profiles, list(priors), spec), out, "posterior_vs_chi2")
        timings["figures_s"] = lap(clock)
    return {"timings": timings, "sampler": sampler, "sampled_couplings": list(priors),
            "nuisances": {n: spec.raw["nuisances"][n] for n in spec.raw.get("nuisances", {})},
            "likelihoods": obs.likelihoods, "grid_nodes": nodes}


def _write_intervals(spec: Spec, scanner: Chi2Scanner, posterior: grid.GridPosterior, out: Path) -> dict:
    """Credible intervals of the grid marginals beside the chi-square intervals; returns the chi-square profiles."""
    def chi2(eps12: np.ndarray) -> np.ndarray:
        return chi2_per_dataset(scanner.events(eps12), scanner.obs).sum(-1)

    rows, profiles = [], {}
    couplings = [n for n in posterior.names if n != grid.FLUX]
    for name in couplings:
        profiles[name] = credible.one_parameter_profile(chi2, COUPLINGS.index(name),
                                                        *credible.scan_range(spec.priors[name]))
        x, density = grid.marginal(posterior, name)
        rows.append(credible.CouplingIntervals(
            name=name, median=grid.quantile(x, density, 0.5),
            hdi={k: grid.highest_density(x, density, p) for k, p in credible.PROBABILITIES.items()},
            eti={k: grid.equal_tailed(x, density, p) for k, p in credible.PROBABILITIES.items()},
            chi2={k: profiles[name].intervals[level] for k, level in credible.LEVELS.items()},
            chi2_best=profiles[name].best_x))
    nuisances = [grid.FLUX] if grid.FLUX in posterior.names else []
    notes = credible.table_notes(spec.acceptance, scanner.obs.datasets, len(couplings), nuisances, from_grid=True)
    notes.insert(0, f"Physics: {spec.physics}. Engine: quadrature.")
    write_interval_tables(rows, notes, spec, out)
    return profiles
