"""Posterior specs with ``[binned]``: couplings sampled with the binned likelihoods of ``registry.BINNED`` data sets
and their nuisances (``inference.binned_pymc``), instead of the Gaussian summaries of the top-level data sets.

Each binned data set replaces the top-level data set whose measurement it refines (``BinnedRelease.group``; the
spec rules check that every top-level data set is replaced). Writes what ``runners.posterior`` writes
(``diagnostics.json``, ``posterior.nc``, ``credible_intervals.json``, ``intervals_side_by_side.*``, trace, rank and
overlay figures); the chi-square columns are the binned -2 ln L of each coupling alone, nuisances profiled
(``inference.binned_scan``), on a coarser grid (PROFILE_POINTS) refined at the levels.
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
from bayes_nsi.experiments.registry import get_binned
from bayes_nsi.inference import credible
from bayes_nsi.inference.binned_pymc import build_binned_pymc_model
from bayes_nsi.inference.binned_scan import BinnedScanner
from bayes_nsi.names import COUPLINGS

PROFILE_POINTS = 201


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Sample the posterior of a binned posterior spec into ``out``; return the manifest extras."""
    out = Path(out)
    timings: dict[str, float | None] = {}
    clock = time.perf_counter()
    sets = [get_binned(name) for name in spec.binned.datasets]
    post = build_binned_pymc_model(sets, spec.priors, spec.physics)
    var_names = [*post.couplings, *post.nuisances]
    timings["build_s"] = lap(clock)

    idata, summary, sample_timings = sample_checked(post.model, post.observed, var_names, spec, out, log,
                                                    f"binned likelihoods: {', '.join(post.datasets)}; "
                                                    f"physics {spec.physics}")
    timings.update(sample_timings)

    clock = time.perf_counter()
    write_posterior(idata, out, physics=spec.physics, binned_datasets=", ".join(post.datasets))
    timings["write_netcdf_s"] = lap(clock)

    clock = time.perf_counter()
    scanner = BinnedScanner.for_datasets(sets, spec.physics)

    def chi2(eps12):
        return sum(scanner.chi2(eps12).values())

    rows, profiles = [], {}
    for name in post.couplings:
        prior = spec.priors[name]
        profiles[name] = credible.one_parameter_profile(chi2, COUPLINGS.index(name), *credible.scan_range(prior),
                                                        points=PROFILE_POINTS)
        rows.append(credible.coupling_intervals(name, idata["posterior"][name].values.ravel(), prior.support(),
                                                profiles[name]))
    timings["profiles_s"] = lap(clock)
    notes = [f"Physics: {spec.physics}. Likelihoods: binned ({', '.join(post.datasets)}), nuisances "
             f"({', '.join(post.nuisances)}) sampled with their constraints as truncated normal priors.",
             "chi2 columns: -2 ln L of the binned likelihoods with each coupling alone (others zero), every nuisance "
             f"profiled; Delta <= 1 and <= 4 on a {PROFILE_POINTS}-point grid refined at the levels."]
    if len(post.couplings) > 1:
        notes.append(f"The posterior marginalizes over all {len(post.couplings)} sampled couplings and the "
                     "nuisances; the chi2 columns fix the other couplings at zero: they answer different questions.")
    write_interval_tables(rows, notes, spec, out, summary["mixing_warning"])
    if spec.figures.enabled:
        clock = time.perf_counter()
        figures(idata, var_names, profiles, post.couplings, spec, out)
        timings["figures_s"] = lap(clock)
    return {"timings": timings, "sampler": sampler_info(spec.sampler), "sampled_couplings": list(post.couplings),
            "binned_datasets": list(post.datasets), "nuisances": list(post.nuisances), "diagnostics": summary}
