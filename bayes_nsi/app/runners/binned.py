"""Runner of ``kind = "binned"``: data sets measured through a binned template likelihood (``registry.BINNED``).

1. The 8B measurement of each (signal rate free): ``<group>.json`` per reporting group (the summary data set's
   name, e.g. ``xenonnt.json``), shaped ``{tag: {...}}`` (e.g. ``{"sr01": {...}, "sr012": {...}}``) with
   ``signal_events``, ``signal_events_68``, ``significance_sigma`` (background only, asymptotic sqrt(q0)),
   ``background_events`` and ``expected_8b_events`` (nominal), ``nuisances`` (best fit), the 8B rate and flux;
   and the figure ``<group>_bins`` of observed and best-fit expected counts per bin.
2. With ``[profile]`` and/or ``[[contours]]``: NSI with the binned likelihoods (signal rate constrained as the
   release constrains it, nuisances profiled at every point) next to the spec's Gaussian data sets (the
   paper's eq. 20): ``intervals_binned.json``, ``table3_binned.{md,csv}`` (Table III layout, Delta(-2 ln L) =
   1 and 4), ``profiles_binned.csv`` and figures; ``contours_binned.json`` and ``fig4_binned``.

The signal comes from the package's physics graph in the spec's physics mode (``rates.recoil_node_events``
through the release's monoenergetic efficiencies); the Gaussian data sets use the spec's acceptance mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app import plots, progress
from bayes_nsi.app.binned_plots import BinPanel, fig_bin_counts
from bayes_nsi.app.reports import MODE_NOTE, PROFILE_HEADER, TABLE3_LEVELS_HEADER, profile_rows, table3_by_level
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.experiments.base import DataSet
from bayes_nsi.experiments.registry import get_binned
from bayes_nsi.inference.binned_fit import Profiler, SignalFolder, binned_model_of, measure_signal
from bayes_nsi.inference.binned_scan import BinnedScanner
from bayes_nsi.inference.priors import b16_flux
from bayes_nsi.inference.scans import Chi2Scanner, contours, intervals_json, planes_json, profiles

SIGNIFICANCE = ("sqrt(q0), q0 = -2 ln L(8B rate = 0) + 2 ln L(best fit, rate >= 0), every nuisance profiled: the "
                "asymptotic one-sided discovery significance (Cowan et al., EPJC 71 (2011) 1554, eqs. 12, 53), not "
                "from pseudo-experiments")
INTERVAL = ("Delta(-2 ln L) = 1 interval of the 8B rate (nuisances profiled) times the best fit's 8B events per "
            "unit rate")
LIKELIHOOD = ("extended binned Poisson over the release's analysis bins, product over runs, Gaussian constraints "
              "on the rate nuisances and the yields (t_ly, t_qy; C1 Catmull-Rom interpolation between the anchors)")


def measurement_entry(dataset: DataSet, physics: str) -> tuple[dict, BinPanel]:
    """The 8B measurement of one binned data set (signal rate free) as a JSON entry, and its figure panel."""
    inputs = dataset.binned.inputs(True)
    model = binned_model_of(inputs)
    signal = SignalFolder.build(dataset, inputs, physics).templates(np.zeros((1, 12)))[0]
    fit = measure_signal(Profiler(model), signal, inputs.signal_scale)
    flux = b16_flux()
    lo, hi = fit.scale_68
    entry = {
        "data_set": dataset.name, "runs": list(inputs.runs),
        "exposure_t_yr": dict(zip(inputs.runs, inputs.exposure_t_yr.tolist(), strict=True)),
        "observed_events": int(inputs.observed.sum()),
        "signal_events": fit.signal_events, "signal_events_68": list(fit.signal_events_68),
        "signal_events_68_is": INTERVAL,
        "significance_sigma": fit.significance_sigma, "significance_is": SIGNIFICANCE,
        "background_events": fit.background_events, "expected_8b_events": fit.expected_8b_events,
        "nominal_is": "every nuisance at its nominal value; 8B: the package's SM rate at the B16 flux",
        "nuisances": fit.best_fit(), "nuisances_background_only": fit.background_only_fit(),
        "b8_rate": fit.scale, "b8_rate_68": [lo, hi],
        "flux_8b": fit.scale * flux, "flux_8b_68": [lo * flux, hi * flux], "flux_unit": "1e6 cm^-2 s^-1",
        "reference_flux_8b": flux, "reference_flux_is": "B16-GS98 (the physics graph's normalization)",
        "minus2_ln_l": {"best_fit": fit.chi2_min, "background_only": fit.chi2_null},
        "physics": physics, "likelihood": LIKELIHOOD, "citation": dataset.citation,
        "published": _published(dataset),
    }
    panel = BinPanel(f"{dataset.label}: {int(inputs.observed.sum())} events, best fit "
                     f"{fit.signal_events:.2f} 8B events, {fit.significance_sigma:.2f} sigma (asymptotic)",
                     inputs.runs, inputs.observed, fit.expected_best, fit.signal_best)
    return entry, panel


def _published(dataset: DataSet) -> dict | None:
    f = dataset.published_fit
    if f is None:
        return None
    return {"significance_sigma": f.significance_sigma, "flux_8b": f.flux_8b, "flux_8b_up": f.flux_8b_up,
            "flux_8b_down": f.flux_8b_down, "source": f.source}


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Measure the 8B signal of each binned data set; NSI profiles and contours if the spec asks."""
    timings: dict[str, float] = {}
    sets = [get_binned(name) for name in spec.binned.datasets]
    t0 = time.perf_counter()
    groups: dict[str, dict] = {}
    panels: dict[str, list[BinPanel]] = {}
    for dataset in sets:
        entry, panel = measurement_entry(dataset, spec.physics)
        groups.setdefault(dataset.binned.group, {})[dataset.binned.tag] = entry
        panels.setdefault(dataset.binned.group, []).append(panel)
        log(f"{dataset.name}: 8B signal {entry['signal_events']:.2f} [{entry['signal_events_68'][0]:.2f}, "
            f"{entry['signal_events_68'][1]:.2f}] events, {entry['significance_sigma']:.3f} sigma (asymptotic), "
            f"background {entry['background_events']:.2f}, SM 8B {entry['expected_8b_events']:.2f}")
    for group, entries in groups.items():
        write_json(out / f"{group}.json", entries)
        if spec.figures.enabled:
            save_figure(fig_bin_counts(panels[group], f"physics: {spec.physics}; observed and best-fit expected "
                                       "counts per analysis bin"), out, f"{group}_bins")
    timings["measurements_s"] = round(time.perf_counter() - t0, 3)
    extra = {"binned_datasets": [d.name for d in sets]}
    if spec.profile or spec.contours:
        nsi_timings, evaluations = _nsi(spec, sets, out, log)
        timings.update(nsi_timings)
        extra["binned_likelihood_evaluations"] = evaluations
    return {"timings": timings, **extra}


def _nsi(spec: Spec, sets: list[DataSet], out: Path, log: Callable[[str], None]) -> tuple[dict, int]:
    """Profiles and contours of the binned data sets beside the spec's Gaussian data sets; returns the timings
    and the number of binned likelihood evaluations (value and gradient)."""
    timings: dict[str, float] = {}
    mode = spec.acceptance
    t0 = time.perf_counter()
    binned = BinnedScanner.for_datasets(sets, spec.physics)
    binned.chi2(np.zeros((1, 12)))
    gaussian = Chi2Scanner.for_data(spec.observations(), mode, spec.physics)
    gaussian.events(np.zeros((1, 12)))
    timings["nsi_compile_s"] = round(time.perf_counter() - t0, 3)
    constraint = "; ".join(sorted({f"8B rate constrained about {d.binned.constraint_flux_8b}e6 cm^-2 s^-1 "
                                   f"({d.binned.constraint_source})" for d in sets}))
    note = (f"binned likelihoods ({', '.join(d.name for d in sets)}; nuisances profiled at every point; "
            f"{constraint}) beside the Gaussian eq. 20 of {', '.join(spec.datasets)} ({MODE_NOTE[mode]}); "
            f"physics: {spec.physics}")
    fluxes = sorted({f"{d.binned.constraint_flux_8b:g}e6" for d in sets})
    short = (f"binned: nuisances profiled, 8B rate constrained about {', '.join(fluxes)} cm^-2 s^-1; Gaussian eq. 20: "
             f"{mode} acceptance; physics: {spec.physics}")
    if spec.profile:
        prof = spec.profile
        t0 = time.perf_counter()
        with progress.bar("binned profiles", len(prof.couplings)) as step:
            binned_scans = profiles(binned, prof.couplings, *prof.range, prof.points, prof.levels, step)
        timings["binned_profiles_s"] = round(time.perf_counter() - t0, 3)
        evaluations = sum(t.profiler.calls for t in binned.terms)
        log(f"binned profiles of {len(prof.couplings)} couplings x {len(sets)} data sets in "
            f"{timings['binned_profiles_s']:.1f} s ({evaluations} likelihood evaluations so far)")
        scans = {**profiles(gaussian, prof.couplings, *prof.range, prof.points, prof.levels), **binned_scans}
        ints = intervals_json(scans, prof.levels)
        write_json(out / "intervals_binned.json", {"acceptance": mode, "physics": spec.physics, "note": note,
                                                   "levels": "Delta(-2 ln L) against the minimum over the range",
                                                   **ints})
        texts, rows = table3_by_level(ints)
        lines = ["# Table III layout: binned likelihoods beside the Gaussian eq. 20", "", note, ""]
        write_text(out / "table3_binned.md", "\n".join(lines + [x for text in texts for x in (text, "")]))
        write_csv(out / "table3_binned.csv", TABLE3_LEVELS_HEADER, rows)
        write_csv(out / "profiles_binned.csv", PROFILE_HEADER, profile_rows(scans))
        if spec.figures.enabled:
            for quark, stem in (("u", "profiles_binned_up"), ("d", "profiles_binned_down")):
                save_figure(plots.fig_profiles(scans, quark, short), out, stem)
    if spec.contours:
        t0 = time.perf_counter()
        planes = {}
        for c in spec.contours:
            planes[(c.x, c.y)] = {**contours(gaussian, c.x, c.y, c.x_range, c.y_range, c.points, c.level),
                                  **contours(binned, c.x, c.y, c.x_range, c.y_range, c.points, c.level)}
            log(f"contours {c.x}-{c.y} done ({time.perf_counter() - t0:.1f} s so far)")
        timings["contours_s"] = round(time.perf_counter() - t0, 3)
        write_json(out / "contours_binned.json", {"acceptance": mode, "physics": spec.physics, "note": note,
                                                  "planes": planes_json(planes)})
        if spec.figures.enabled:
            save_figure(plots.fig4_contours(planes, short), out, "fig4_binned")
    return timings, sum(t.profiler.calls for t in binned.terms)
