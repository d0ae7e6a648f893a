"""Runner of ``kind = "constraints"``: the NSI constraints from everything released so far (issue 14, part 2).

Counting data sets (PandaX-4T paired and US2, observed events over a constrained background) and one binned
release (XENONnT SR0+SR1+SR2) share one 8B flux with a Gaussian constraint (SNO by default; B16 reported beside):

1. the posterior of the spec's couplings with every nuisance (``inference.joint_pymc``): ``posterior.nc``,
   ``diagnostics.json``, ``credible_intervals.json``, ``nuisances.json``, ``intervals_side_by_side.md``;
2. Bayes factors of each one-coupling hypothesis against the SM from one SM posterior of the nuisances
   (``inference.evidence_ratio``), with a Savage-Dickey check: ``bayes_factors.{json,md}``;
3. profiles (nuisances profiled) per data set and combined: ``intervals.json``, ``table3.{md,csv}``,
   ``profiles.csv``, ``fig2_up``, ``fig3_down``; the combination with the alternative flux; contours: ``fig4``;
4. the path from the paper to here, one column per step: ``path.{json,md}``;
5. ``README.md``: what went in, what came out, what it assumes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app import plots, progress
from bayes_nsi.app.paper_table3 import TABLE3
from bayes_nsi.app.posterior_outputs import lap, sample_checked, sampler_info, write_posterior
from bayes_nsi.app.reports import PROFILE_HEADER, TABLE3_LEVELS_HEADER, profile_rows, row_label, table3_by_level
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.experiments.registry import get, get_binned
from bayes_nsi.inference import credible, sampling
from bayes_nsi.inference.evidence import favoured, nuts_savage_dickey
from bayes_nsi.inference.evidence_ratio import ln_bayes_factor
from bayes_nsi.inference.intervals import intervals_to_text
from bayes_nsi.inference.joint_likelihood import JointLikelihood
from bayes_nsi.inference.joint_pymc import build_joint_pymc_model
from bayes_nsi.inference.joint_scan import COMBINED, FluxConstraint, JointScanner, constrained_inputs
from bayes_nsi.inference.observations import observations
from bayes_nsi.inference.scans import Chi2Scanner, contours, intervals_json, planes_json, profiles
from bayes_nsi.markdown import table
from bayes_nsi.names import COUPLINGS

FLUX_SOURCES = {"sno": "SNO, Aharmim et al., PRC 88 (2013) 025501: 5.25 +- 0.20",
                "b16": "B16-GS98, Vinyoles et al., ApJ 835 (2017) 202: 5.46 +- 12 %"}
PATH_STEPS = ("paper", "package_paper", "exact_physics", "counting_binned", "sr2")


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """The NSI constraints from all released data into ``out``; return the manifest extras."""
    c = spec.constraints
    binned = get_binned(c.binned)
    group = binned.binned.group
    counting_names = tuple(d for d in spec.datasets if d != group)
    counting = observations(counting_names, likelihoods={d: spec.likelihoods[d] for d in counting_names})
    flux, alternative = FluxConstraint.of(c.flux), FluxConstraint.of(c.flux_alternative)
    timings: dict[str, float | None] = {}
    context = {"spec": spec, "counting": counting, "binned": binned, "flux": flux, "log": log, "out": out,
               "timings": timings}

    posterior = _posterior(**context)
    # the counting data sets' event graph, compiled once for the Bayes factors and every scan
    events = Chi2Scanner.for_data(counting, spec.acceptance, spec.physics)
    factors = _bayes_factors(events=events, **context)
    frequentist = _frequentist(alternative=alternative, events=events, **context)
    path = _path(frequentist["combined_1sigma"], path_binned=get_binned(c.path_binned), events=events, **context)
    write_text(out / "README.md", _readme(spec, counting, binned, flux, alternative, posterior, factors,
                                          frequentist, path))
    return {"timings": timings, "sampler": sampler_info(spec.sampler), "counting_datasets": list(counting_names),
            "binned_dataset": binned.name, "flux": c.flux, "diagnostics": posterior["summary"]}


# -- 1. posterior ---------------------------------------------------------------------------------------------


def _posterior(spec, counting, binned, flux, log, out, timings) -> dict:
    post = build_joint_pymc_model(counting, spec.acceptance, binned, spec.priors, flux, spec.physics)
    var_names = [*post.couplings, *post.nuisances]
    idata, summary, sample_timings = sample_checked(
        post.model, post.observed, var_names, spec, out, log,
        f"posterior: {len(post.couplings)} couplings and {len(post.nuisances)} nuisances, physics {spec.physics}")
    timings.update({f"posterior_{k}": v for k, v in sample_timings.items()})
    write_posterior(idata, out, physics=spec.physics, acceptance=spec.acceptance, flux_8b_constraint=flux.name,
                    binned_dataset=binned.name, counting_datasets=", ".join(counting.datasets))
    draws = {n: idata["posterior"][n].values.ravel() for n in var_names}
    nuisances = {n: {"median": float(np.median(draws[n])),
                     **{f"eti{k}": credible.eti(draws[n], p) for k, p in credible.PROBABILITIES.items()}}
                 for n in post.nuisances}
    write_json(out / "nuisances.json", {"note": "posterior medians and equal-tailed intervals of every nuisance; "
                                        "flux_8b in 1e6 cm^-2 s^-1", "nuisances": nuisances})
    return {"post": post, "draws": draws, "summary": summary, "nuisances": nuisances}


# -- 2. Bayes factors -----------------------------------------------------------------------------------------


def _bayes_factors(spec, counting, binned, flux, events, log, out, timings) -> dict:
    clock = time.perf_counter()
    sm = build_joint_pymc_model(counting, spec.acceptance, binned, {}, flux, spec.physics)
    log(f"Bayes factors: SM posterior of {', '.join(sm.nuisances)}")
    idata = sampling.sample(sm.model, spec.sampler, sm.observed, progressbar=sys.stderr.isatty())
    post = idata["posterior"]
    values = {n: post[n].values.ravel() for n in sm.nuisances}
    chains = np.repeat(np.arange(post.sizes["chain"]), post.sizes["draw"])
    likelihood = JointLikelihood.build(counting.terms, events.events, binned, constrained_inputs(binned, flux),
                                       spec.physics)
    draws = likelihood.draws(values)
    ln_l0 = likelihood.log_likelihood(np.zeros((1, 12)), draws)[0]
    points = spec.constraints.bayes_factor_points
    rows = {}
    for name, prior in spec.priors.items():
        grid = np.linspace(*prior.support(), points)
        eps = np.zeros((points, 12))
        eps[:, COUPLINGS.index(name)] = grid
        bf = ln_bayes_factor(grid, prior.logpdf(grid), likelihood.log_likelihood(eps, draws), ln_l0, chains)
        rows[name] = {"ln_b": bf.ln_b, "ln_b_err": bf.ln_b_err, "reading": favoured(bf.ln_b, name),
                      "min_kish_ess_where_it_matters": bf.min_relevant_ess, "draws": bf.draws}
        log(f"ln B({name} vs SM) = {bf.ln_b:.3f} +- {bf.ln_b_err:.3f} (Kish ESS >= {bf.min_relevant_ess:.0f})")
    timings["bayes_factors_s"] = lap(clock)
    clock = time.perf_counter()
    for name in spec.constraints.savage_dickey_check:
        prior = spec.priors[name]
        one = build_joint_pymc_model(counting, spec.acceptance, binned, {name: prior}, flux, spec.physics)
        sd = nuts_savage_dickey(one.model, name, prior, seed=spec.sampler.seed)
        rows[name]["savage_dickey"] = {"ln_b": sd.ln_b, "ln_b_err": sd.ln_b_err, "ess": sd.ess, "r_hat": sd.r_hat}
        log(f"check: Savage-Dickey ln B({name} vs SM) = {sd.ln_b:.3f} +- {sd.ln_b_err:.3f}")
    timings["savage_dickey_s"] = lap(clock)
    method = ("B = int pi(eps) E_SM-posterior[L(eps, nu) / L(0, nu)] deps (Meng & Wong 1996, importance sampling "
              f"with the SM posterior of the nuisances, {len(chains)} draws), Simpson's rule on {points} points; "
              "error: spread of the per-chain estimates / sqrt(chains); Jeffreys scale of Trotta 2008")
    write_json(out / "bayes_factors.json", {"method": method, "priors": {n: vars(p) for n, p in spec.priors.items()},
                                            "flux_8b_constraint": flux.name, "ln_b_vs_sm": rows})
    lines = [table(["hypothesis", "prior", "ln B vs SM", "reading", "Savage-Dickey check"],
                   [[n, f"{spec.priors[n].dist} {spec.priors[n].support()}", f"{r['ln_b']:.2f} +- {r['ln_b_err']:.2f}",
                     r["reading"], (f"{r['savage_dickey']['ln_b']:.2f} +- {r['savage_dickey']['ln_b_err']:.2f}"
                                    if "savage_dickey" in r else "")] for n, r in rows.items()])]
    write_text(out / "bayes_factors.md", "# Bayes factors of one-coupling hypotheses against the SM\n\n"
               + "\n".join(lines) + f"\n\nMethod: {method}.\n")
    return {"rows": rows, "method": method}


# -- 3. frequentist -------------------------------------------------------------------------------------------


def _frequentist(spec, counting, binned, flux, alternative, events, log, out, timings) -> dict:
    prof = spec.profile
    clock = time.perf_counter()
    main = JointScanner.for_data(counting, binned, spec.acceptance, spec.physics, flux, counting=events)
    with progress.bar("profiles (nuisances profiled)", len(prof.couplings)) as step:
        scans = profiles(main, prof.couplings, *prof.range, prof.points, prof.levels, step)
    timings["profiles_s"] = lap(clock)
    log(f"profiles of {len(prof.couplings)} couplings in {timings['profiles_s']:.1f} s")
    clock = time.perf_counter()
    alt = main.with_flux(alternative, parts=False)
    with progress.bar(f"combined profiles, {alternative.name} flux", len(prof.couplings)) as step:
        alt_scans = profiles(alt, prof.couplings, *prof.range, prof.points, prof.levels, step)
    timings["alternative_flux_s"] = lap(clock)
    ints = intervals_json(scans, prof.levels)
    alt_key = f"combined, {alternative.name} flux"
    ints_alt = intervals_json({alt_key: alt_scans[COMBINED]}, prof.levels)
    note = (f"physics: {spec.physics}; {counting_text(counting)} ({spec.acceptance} acceptance) and "
            f"{binned.label} (nuisances profiled); one 8B flux constrained by {FLUX_SOURCES[flux.name]}; "
            f"row '{row_label(alt_key)}': the combination with {FLUX_SOURCES[alternative.name]}")
    merged = {level: {**ints[level], **ints_alt.get(level, {})} for level in ints}
    write_json(out / "intervals.json", {"physics": spec.physics, "acceptance": spec.acceptance, "note": note,
                                        "levels": "Delta(-2 ln L) against the minimum over the range", **merged})
    texts, rows = table3_by_level(merged)
    write_text(out / "table3.md",
               "\n".join([f"# Table III layout: NSI constraints from all released data\n\n{note}\n", *texts]))
    write_csv(out / "table3.csv", TABLE3_LEVELS_HEADER, rows)
    write_csv(out / "profiles.csv", PROFILE_HEADER, profile_rows(scans))
    short = f"physics {spec.physics}; counting + binned likelihoods, nuisances profiled; 8B flux: {flux.name}"
    if spec.figures.enabled:
        for quark, stem in (("u", "fig2_up"), ("d", "fig3_down")):
            save_figure(plots.fig_profiles(scans, quark, short), out, stem)
    if spec.contours:
        clock = time.perf_counter()
        planes = {(p.x, p.y): contours(main, p.x, p.y, p.x_range, p.y_range, p.points, p.level) for p in spec.contours}
        timings["contours_s"] = lap(clock)
        write_json(out / "contours.json", {"physics": spec.physics, "note": note, "planes": planes_json(planes)})
        if spec.figures.enabled:
            save_figure(plots.fig4_contours(planes, short, keys=main.keys), out, "fig4")  # combined drawn too
    return {"intervals": merged, "scans": scans, "note": note, "alt_key": alt_key,
            "combined_1sigma": merged["1sigma"][COMBINED]}


def counting_text(counting) -> str:
    return ", ".join(f"{get(d).short_label} (counting)" for d in counting.datasets)


# -- 4. the path from the paper -------------------------------------------------------------------------------


def _path(final: dict, spec, counting, binned, path_binned, flux, events, log, out, timings) -> dict:
    """Combined 1-sigma intervals per step: paper; package (paper physics, Gaussian); + exact physics;
    + counting and binned likelihoods (SR0+SR1); + SR2 (the main result)."""
    clock = time.perf_counter()
    prof = spec.profile
    gaussian = observations((*counting.datasets, binned.binned.group))
    columns = {"paper": {cp: TABLE3[COMBINED][cp] for cp in prof.couplings}}
    for step, physics in (("package_paper", "paper"), ("exact_physics", spec.physics)):
        scanner = Chi2Scanner.for_data(gaussian, spec.acceptance, physics)
        result = profiles(scanner, prof.couplings, *prof.range, prof.points, [1.0])
        columns[step] = intervals_json(result, [1.0])["1sigma"][COMBINED]
    scanner = JointScanner.for_data(counting, path_binned, spec.acceptance, spec.physics, flux, parts=False,
                                    counting=events)
    with progress.bar(f"path: combined with {path_binned.name}", len(prof.couplings)) as step:
        result = profiles(scanner, prof.couplings, *prof.range, prof.points, [1.0], step)
    columns["counting_binned"] = intervals_json(result, [1.0])["1sigma"][COMBINED]
    columns["sr2"] = final
    timings["path_s"] = lap(clock)
    titles = {"paper": "paper's Table III", "package_paper": "package, paper mode",
              "exact_physics": f"+ {spec.physics} physics",
              "counting_binned": f"+ counting / binned ({path_binned.binned.runs_label})",
              "sr2": f"+ {binned.binned.runs_label}"}
    width = {s: {cp: float(sum(b - a for a, b in columns[s][cp])) for cp in prof.couplings} for s in PATH_STEPS}
    rows = [[cp, *(f"{intervals_to_text(columns[s][cp], 3)} ({width[s][cp]:.3f})" for s in PATH_STEPS)]
            for cp in prof.couplings]
    text = table(["coupling", *(titles[s] for s in PATH_STEPS)], rows)
    steps = {"paper": "Table III as printed (combined row)",
             "package_paper": "Gaussian eq. 20 of paired, US2, XENONnT; paper physics and acceptance (reproduction)",
             "exact_physics": f"the same with {spec.physics} physics (density matrix, three-flavour propagation)",
             "counting_binned": f"{counting_text(counting)} and {path_binned.label}, shared 8B flux ({flux.name})",
             "sr2": f"{counting_text(counting)} and {binned.label}, shared 8B flux ({flux.name})"}
    write_json(out / "path.json", {"level": "combined, Delta(-2 ln L) = 1", "steps": steps, "titles": titles,
                                   "intervals": columns, "total_width": width})
    write_text(out / "path.md", "# From the paper to here: combined 1-sigma intervals\n\nEach cell: pieces "
               "(total length). Steps:\n\n" + "\n".join(f"- **{titles[s]}**: {steps[s]}" for s in PATH_STEPS)
               + "\n\n" + text + "\n")
    return {"columns": columns, "width": width, "titles": titles, "steps": steps, "table": text}


# -- 5. README ------------------------------------------------------------------------------------------------


def _readme(spec, counting, binned, flux, alternative, posterior, factors, frequentist, path) -> str:
    summary = posterior["summary"]
    post_rows = []
    draws = posterior["draws"]
    for name in posterior["post"].couplings:
        x = draws[name]
        post_rows.append([name, f"{np.median(x):.3f}",
                          intervals_to_text([credible.eti(x, credible.PROBABILITIES["68"])], 3),
                          intervals_to_text([credible.eti(x, credible.PROBABILITIES["95"])], 3)])
    nuisance_rows = [[n, f"{v['median']:.4g}", f"[{v['eti68'][0]:.4g}, {v['eti68'][1]:.4g}]"]
                     for n, v in posterior["nuisances"].items()]
    bf_rows = [[n, f"{r['ln_b']:.2f} +- {r['ln_b_err']:.2f}", r["reading"]] for n, r in factors["rows"].items()]
    checks = [f"{n}: Savage-Dickey {r['savage_dickey']['ln_b']:.2f} +- {r['savage_dickey']['ln_b_err']:.2f} against "
              f"{r['ln_b']:.2f} +- {r['ln_b_err']:.2f}" for n, r in factors["rows"].items() if "savage_dickey" in r]
    one_sigma = frequentist["intervals"]["1sigma"]
    return "\n".join([
        f"# NSI constraints from all released data ({spec.name})", "",
        "Produced by `bayes-nsi run " + Path(spec.source).name + "`; every number below is in the JSON files beside.",
        "", "## What went in", "",
        f"- Physics: `{spec.physics}` (density-matrix detection rate, exact adiabatic three-flavour propagation).",
        f"- {counting_text(counting)}: observed events over a background constrained by the experiment's estimate "
        f"(Poisson, background profiled / marginalized); acceptance `{spec.acceptance}` (the paper's SM events).",
        f"- {binned.label}: the extended binned likelihood of the CC-BY-4.0 data release, every nuisance of the "
        "release (rates, signal efficiency, light and charge yields) constrained as XENONnT constrains it.",
        f"- One 8B flux for all data sets, constrained by {FLUX_SOURCES[flux.name]} (1e6 cm^-2 s^-1); the "
        f"combination is also given with {FLUX_SOURCES[alternative.name]}.",
        "- Frequentist: nuisances profiled; Bayesian: nuisances marginalized with their constraints as priors; "
        "couplings: " + ", ".join(f"{n} {p.dist} {p.support()}" for n, p in spec.priors.items()) + ".",
        "", "## The path from the paper to here (combined, 1 sigma; pieces and total length)", "",
        path["table"], "",
        "## Table III layout (1 sigma, one coupling at a time, others zero)", "",
        frequentist["note"], "",
        table(["coupling", *(row_label(k) for k in one_sigma)],
              [[cp, *(intervals_to_text(one_sigma[k][cp], 3) for k in one_sigma)] for cp in spec.profile.couplings]),
        "", "2-sigma intervals: `table3.md`, `intervals.json`; profiles: `profiles.csv`, `fig2_up`, `fig3_down`; "
        "contours: `fig4`, `contours.json`.", "",
        f"## Posterior of {len(posterior['post'].couplings)} couplings with every nuisance", "",
        f"Diagnostics: worst r_hat {summary['max_r_hat']:.4f}, bulk ESS >= {summary['min_ess_bulk']:.0f}, tail ESS >= "
        f"{summary['min_ess_tail']:.0f}, {summary['divergences']} divergences (`diagnostics.json`).", "",
        table(["coupling", "median", "ETI 68 %", "ETI 95 %"], post_rows), "",
        table(["nuisance", "median", "ETI 68 %"], nuisance_rows), "",
        "## Bayes factors of one-coupling hypotheses against the SM", "",
        table(["hypothesis", "ln B vs SM", "reading (Jeffreys scale, Trotta 2008)"], bf_rows), "",
        f"Method: {factors['method']}.", *(f"Check: {c}." for c in checks), "",
        "## What it assumes", "",
        "- The PandaX-4T acceptances are scaled to the paper's SM events (no public US2 curve exists); their "
        "counting inputs are the published observed events and background estimates (see the data sets' citations).",
        "- XENONnT's 8B signal is the package's recoil spectrum folded with the release's monoenergetic "
        "efficiencies; the release's light- and charge-yield grid ends at +-3 sigma.",
        "- Intervals are Delta(-2 ln L) = 1 and 4 (asymptotic, Wilks); the coverage study (models/coverage.toml) "
        "measures how far that holds for the Gaussian likelihood.",
        "- The comparison with global NSI fits from coherent scattering (COHERENT CsI + LAr, reactor data) is not "
        "in this file: no numbers of those analyses could be read from a source available to this build.", ""])
