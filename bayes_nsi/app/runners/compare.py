"""Runner of ``kind = "compare"``: evidences and Bayes factors of NSI hypotheses against the SM.

For every block of data (the combination and, with ``per_dataset``, each data set alone) and every
hypothesis, ln Z is computed against the SM (all couplings zero, the same nuisances) as the reference.
One- and two-coupling hypotheses with at most the 8B flux nuisance have an exact quadrature
(:func:`~bayes_nsi.inference.evidence.quadrature_evidence`): with ``compare.evidence = "auto"`` it is their ln Z
and SMC (on the :func:`~bayes_nsi.inference.pymc_model.build_pymc_model` model) runs only for the others; with
``"smc"`` every ln Z is SMC's and the quadrature stands beside it as a check. One-coupling hypotheses of the
headline block (the combination, or the only data set) get the Savage-Dickey ratio from a NUTS posterior.
The SMC and NUTS runs are spread over one worker process per available core.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np

from bayes_nsi import markdown
from bayes_nsi.app import plots, progress
from bayes_nsi.app.reports import MODE_NOTE
from bayes_nsi.app.results import save_figure, write_csv, write_json, write_text
from bayes_nsi.app.spec import hypothesis_couplings
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.inference.evidence import (
    JEFFREYS_REFERENCE,
    JEFFREYS_SCALE,
    SD_CHAINS,
    SD_DRAWS,
    SD_TUNE,
    Evidence,
    SavageDickey,
    StudyModel,
    bayes_factor,
    evidence_job,
    favoured,
    quadrature_evidence,
    savage_dickey_job,
)
from bayes_nsi.inference.priors import Prior
from bayes_nsi.inference.scans import Chi2Scanner

REFERENCE = "sm"
R_HAT_WARN = 1.01  # a Savage-Dickey posterior above this r_hat has unmixed modes: flagged in the table
QUADRATURE_NUISANCES = {"flux_8b"}  # the quadrature integrates the flux only


def blocks(spec: Spec) -> dict[str, tuple[str, ...]]:
    """Data of each result block: "combined" when there are several data sets, each alone with per_dataset."""
    datasets = spec.datasets
    out = {"combined": datasets} if len(datasets) > 1 else {}
    if spec.compare.per_dataset or len(datasets) == 1:
        out.update({d: (d,) for d in datasets})
    return out


def hypothesis_priors(spec: Spec, hypothesis: str) -> dict[str, Prior]:
    """Prior of each coupling a hypothesis frees (its own, else ``priors.default``)."""
    return {c: spec.priors.get(c, spec.default_prior) for c in hypothesis_couplings(hypothesis)}


def method_note(spec: Spec, workers: int) -> dict:
    """The "method" field of bayes_factors.json."""
    smc = spec.smc
    smc_text = (f"pm.sample_smc (IMH kernel), {smc.chains} independent chains of {smc.draws} particles, "
                f"seed {smc.seed}; ln Z = mean of the chains' final-stage log marginal likelihoods")
    return {
        "evidence": smc_text if spec.compare.evidence == "smc" else
                    f"quadrature (see 'quadrature') for one- and two-coupling hypotheses whose only nuisance is the "
                    f"8B flux, else {smc_text}; each row's 'method' says which",
        "ln_Z_err": "SMC: standard deviation between chains / sqrt(n_chains) (error of the mean); quadrature: "
                    "|ln Z(grid) - ln Z(every other node)|, an upper bound",
        "ln_B": "ln B = ln Z(hypothesis) - ln Z(sm); sm frees no coupling and keeps the same nuisances; "
                "ln_B_err = errors of the two ln Z added in quadrature",
        "likelihood": f"each data set's likelihood term, normalized, nuisances of the terms integrated "
                      f"({', '.join(f'{d}: {lk}' for d, lk in spec.observations().likelihoods.items())}); the same "
                      "normalization for every hypothesis",
        "jeffreys": f"|ln B| < 1 inconclusive, 1-2.5 weak, 2.5-5 moderate, >= 5 strong ({JEFFREYS_REFERENCE})",
        "quadrature": "composite Simpson quadrature over the free couplings (2001 nodes for one, 201 x 201 for "
                      "two) and the 8B flux (201 nodes), the likelihood terms normalized; with evidence = smc it is "
                      "ln_Z_quadrature, a check independent of SMC",
        "savage_dickey": f"one-coupling hypotheses of the headline block: NUTS (nutpie, {SD_CHAINS} x {SD_DRAWS} "
                         f"draws after {SD_TUNE} tuning; one compiled model per prior, the free coupling switched "
                         "by data), ln B = ln p(eps=0) - ln p(eps=0 | data), posterior "
                         "density from a reflected Gaussian KDE with an MSE-optimal bandwidth, corrected for its "
                         "leading bias; the error adds the KDE standard deviation (from the bulk ESS) and the "
                         "correction in quadrature",
        "workers": workers,
    }


def _quiet_worker() -> None:
    """Worker initializer: keep PyMC's per-run info lines and warnings out of the run log."""
    logging.getLogger("pymc").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore")


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Compute every evidence and Bayes factor of a compare spec and write them into ``out``."""
    t_start = time.perf_counter()
    smc, mode = spec.smc, spec.acceptance
    obs = spec.observations()
    data_blocks = blocks(spec)
    headline = next(iter(data_blocks))
    hypotheses = list(dict.fromkeys([REFERENCE, *spec.compare.hypotheses]))

    def model_of(datasets, priors):
        return StudyModel.of(obs, mode, priors, spec.nuisances, datasets, spec.physics)

    models = {(b, h): model_of(ds, hypothesis_priors(spec, h)) for b, ds in data_blocks.items() for h in hypotheses}
    sensitivity = spec.prior_sensitivity
    if sensitivity:
        for w in sensitivity.half_widths:
            models[("sensitivity", w)] = model_of(data_blocks[headline], {sensitivity.coupling: Prior.uniform(-w, w)})
    sd_models = {h: models[(headline, h)] for h in hypotheses if spec.compare.savage_dickey
                 and len(hypothesis_couplings(h)) == 1 and _contains_zero(models[(headline, h)])}

    distinct = list(dict.fromkeys(models.values()))  # equal models (e.g. a sensitivity width) run once
    exact = _quadrature_models(spec, distinct)
    by_smc = [m for m in distinct if spec.compare.evidence == "smc" or m not in exact]
    cores = len(os.sched_getaffinity(0))
    sd_chunks = _switch_groups(sd_models, cores)
    jobs_total = len(by_smc) + len(sd_chunks)
    workers = min(cores, jobs_total)
    log(f"{len(distinct) - len(by_smc)} quadrature and {len(by_smc)} SMC evidences, {len(sd_models)} Savage-Dickey "
        f"posteriors on {workers} worker process(es)")
    evidence: dict[StudyModel, Evidence] = {}
    sd: dict[str, SavageDickey] = {}
    pool = (ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker)
            if jobs_total else None)
    jobs: dict[Future, tuple[str, object]] = {}
    if pool:
        for chunk in sd_chunks:  # the longest jobs first
            jobs[pool.submit(savage_dickey_job, [sd_models[h] for h in chunk], smc.seed)] = ("savage_dickey", chunk)
        for m in sorted(by_smc, key=lambda m: -len(m.couplings)):
            jobs[pool.submit(evidence_job, m, smc.draws, smc.chains, smc.seed)] = ("smc", m)
    t0 = time.perf_counter()
    quadrature = _quadrature(spec, obs, exact)
    t_quadrature = time.perf_counter() - t0
    evidence.update({m: q for m, q in quadrature.items() if m not in by_smc})
    with progress.bar("evidences", len(jobs)) as step:
        for done, future in enumerate(as_completed(jobs), 1):
            step()
            what, key = jobs[future]
            if what == "smc":
                evidence[key] = future.result()
                log(f"[{done}/{len(jobs)}] ln Z = {evidence[key].ln_z:.3f} +- {evidence[key].ln_z_err:.3f}: "
                    f"{key.label}")
            else:
                sd.update(zip(key, future.result(), strict=True))
                log(f"[{done}/{len(jobs)}] Savage-Dickey ln B: " + ", ".join(f"{h} {sd[h].ln_b:.3f}" for h in key)
                    + f" on {headline}")
    if pool:
        pool.shutdown()

    table = _bayes_factors(data_blocks, hypotheses, models, evidence, quadrature, sd, headline)
    write_json(out / "bayes_factors.json",
               {"acceptance": mode, "physics": spec.physics, "method": method_note(spec, workers), **table})
    md, rows = _tables(table, mode, smc, bool(by_smc))
    write_text(out / "bayes_factors.md", md)
    write_csv(out / "bayes_factors.csv", CSV_HEADER, rows)
    if spec.figures.enabled:
        save_figure(fig_bayes_factors(table, MODE_NOTE[mode]), out, "bayes_factors")
    if sensitivity:
        study = _sensitivity(sensitivity, headline, models, evidence, quadrature)
        write_json(out / "prior_sensitivity.json", {"acceptance": mode, "physics": spec.physics, **study})
        if spec.figures.enabled:
            save_figure(fig_prior_sensitivity(study, MODE_NOTE[mode]), out, "prior_sensitivity")
    timings = {"quadrature_s": round(t_quadrature, 3), "study_s": round(time.perf_counter() - t_start, 3)}
    return {"timings": timings, "workers": workers}


def _switch_groups(sd_models: Mapping[str, StudyModel], cores: int) -> list[tuple[str, ...]]:
    """Hypotheses whose Savage-Dickey posteriors share one compiled switch model (same data, prior and nuisances),
    each group split into at most ``cores`` chunks (one compile per chunk, the chunks in parallel)."""
    groups: dict[tuple, list[str]] = {}
    for h, m in sd_models.items():
        groups.setdefault(m.switch_key, []).append(h)
    return [tuple(hs[i::n]) for hs in groups.values() for n in [min(cores, len(hs))] for i in range(n)]


def _contains_zero(model: StudyModel) -> bool:
    """Whether eps = 0 lies inside the one free coupling's prior support (Savage-Dickey needs p(0) > 0)."""
    (prior,) = model.couplings.values()
    lower, upper = prior.support()
    return lower < 0.0 < upper


def _quadrature_models(spec: Spec, models: list[StudyModel]) -> list[StudyModel]:
    """The models with <= 2 free couplings, when the 8B flux is the only nuisance: those the quadrature integrates."""
    if not set(spec.nuisances.names) <= QUADRATURE_NUISANCES:
        return []
    return [m for m in models if len(m.couplings) <= 2]


def _quadrature(spec: Spec, obs, models: list[StudyModel]) -> dict[StudyModel, Evidence]:
    """Quadrature ln Z (with its grid-halving error) of each model, on one compiled scanner."""
    if not models:
        return {}
    scanner = Chi2Scanner.for_data(obs, spec.acceptance, spec.physics, interpreted=True)
    return {m: quadrature_evidence(scanner, [d.name for d in m.datasets], m.couplings, spec.nuisances.flux_8b)
            for m in models}


def _bayes_factors(data_blocks: Mapping, hypotheses: list[str], models: Mapping, evidence: Mapping,
                   quadrature: Mapping, sd: Mapping, headline: str) -> dict:
    """{block: {hypothesis: {ln_Z, ln_Z_err, ln_B_vs_sm, ln_B_err, jeffreys, ...}}}."""
    out = {}
    for block in data_blocks:
        ref = models[(block, REFERENCE)]
        per = {}
        for h in hypotheses:
            m = models[(block, h)]
            ln_b, ln_b_err = bayes_factor(evidence[m], evidence[ref]) if m != ref else (0.0, 0.0)
            row = {"ln_Z": evidence[m].ln_z, "ln_Z_err": evidence[m].ln_z_err, "ln_B_vs_sm": ln_b,
                   "ln_B_err": ln_b_err, "jeffreys": "reference" if h == REFERENCE else favoured(ln_b, h),
                   "method": evidence[m].method}
            if evidence[m].chains:
                row["ln_Z_chains"] = list(evidence[m].chains)
            if m in quadrature and ref in quadrature:
                row["ln_Z_quadrature"] = quadrature[m].ln_z
                row["ln_B_quadrature"] = quadrature[m].ln_z - quadrature[ref].ln_z
            if block == headline and h in sd:
                s = sd[h]
                if np.isfinite([s.ln_b, s.ln_b_err]).all():
                    row.update({"savage_dickey_ln_B": s.ln_b, "savage_dickey_ln_B_err": s.ln_b_err,
                                "savage_dickey_r_hat": s.r_hat, "savage_dickey_ess": s.ess})
                else:  # no posterior draws near eps = 0: the ratio is beyond what the samples resolve
                    row["savage_dickey_note"] = "posterior density at eps = 0 not resolved by the NUTS draws"
            per[h] = row
        out[block] = per
    return out


CSV_HEADER = ["block", "hypothesis", "method", "ln_Z", "ln_Z_err", "ln_B_vs_sm", "ln_B_err", "jeffreys",
              "ln_Z_quadrature", "ln_B_quadrature", "savage_dickey_ln_B", "savage_dickey_ln_B_err"]
MARKDOWN_HEADER = ["hypothesis", "method", "ln Z", "ln B vs SM", "reading", "ln Z quadrature", "ln B Savage-Dickey"]


def _tables(table: Mapping, mode: str, smc, any_smc: bool) -> tuple[str, list[list[str]]]:
    """Markdown (one table per block) and CSV rows of ln Z and ln B with uncertainties and Jeffreys readings."""
    limits = [limit for limit, _ in JEFFREYS_SCALE[:-1]]
    scale = ", ".join(f"{label} below {limit:g}" for limit, label in JEFFREYS_SCALE[:-1])
    smc_line = (f" SMC: {smc.chains} chains x {smc.draws} particles, error = spread between chains / sqrt(chains)."
                if any_smc else "")
    lines = ["# Bayes factors of NSI hypotheses against the SM", "",
             f"{MODE_NOTE[mode]}.",
             ("ln Z by quadrature over one or two couplings and the 8B flux (error: change when every other grid "
              f"node is dropped) or by SMC, as each row's method says.{smc_line} ln B = ln Z - ln Z(sm), errors in "
              "quadrature."),
             (f"Jeffreys scale on |ln B| ({scale}, {JEFFREYS_SCALE[-1][1]} from {limits[-1]:g}) as in "
              f"{JEFFREYS_REFERENCE}."),
             ("ln Z quadrature: the quadrature beside an SMC ln Z (a check independent of SMC). Savage-Dickey: "
              "ln p(eps=0) - ln p(eps=0 | data) from NUTS draws, one-coupling hypotheses of the first block only; "
              f"r_hat above {R_HAT_WARN} marks posteriors whose two modes mixed poorly."), ""]
    rows = []
    for block, per in table.items():
        cells = []
        for h, r in per.items():
            quad = f"{r['ln_Z_quadrature']:.3f}" if "ln_Z_quadrature" in r and r["method"] == "smc" else "-"
            sd = "-"
            if "savage_dickey_ln_B" in r:
                sd = f"{r['savage_dickey_ln_B']:.2f} +- {r['savage_dickey_ln_B_err']:.2f}"
                if r["savage_dickey_r_hat"] > R_HAT_WARN:
                    sd += f" (r_hat {r['savage_dickey_r_hat']:.3f}: modes poorly mixed)"
            cells.append([h, r["method"], f"{r['ln_Z']:.3f} +- {r['ln_Z_err']:.3f}",
                          f"{r['ln_B_vs_sm']:.2f} +- {r['ln_B_err']:.2f}", r["jeffreys"], quad, sd])
            rows.append([block, h] + [_cell(r.get(k)) for k in CSV_HEADER[2:]])
        lines += [f"## {block}", "", markdown.table(MARKDOWN_HEADER, cells), ""]
    return "\n".join(lines), rows


def _cell(value) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else f"{value:.6g}"


def _sensitivity(sensitivity, headline: str, models: Mapping, evidence: Mapping,
                 quadrature: Mapping) -> dict:
    """ln B(coupling vs sm) against the half-width of a uniform prior on the coupling (the run's evidences, and the
    quadrature beside them when they are SMC's)."""
    ref = models[(headline, REFERENCE)]
    widths = list(sensitivity.half_widths)
    rows = [bayes_factor(evidence[models[("sensitivity", w)]], evidence[ref]) for w in widths]
    methods = {evidence[models[("sensitivity", w)]].method for w in widths} | {evidence[ref].method}
    study = {"coupling": sensitivity.coupling, "block": headline,
             "prior": "uniform on [-w, w]; all other couplings zero; nuisances as in the spec",
             "method": " and ".join(sorted(methods)), "half_widths": widths, "ln_B": [r[0] for r in rows],
             "ln_B_err": [r[1] for r in rows]}
    if ref in quadrature and "smc" in methods:
        study["ln_B_quadrature"] = [quadrature[models[("sensitivity", w)]].ln_z - quadrature[ref].ln_z for w in widths]
    return study


def fig_bayes_factors(table: Mapping, note: str):
    """ln B vs SM per hypothesis with error bars, one marker series per block, Jeffreys thresholds shaded."""
    from matplotlib.figure import Figure

    hypotheses = [h for h in next(iter(table.values())) if h != REFERENCE]
    fig = Figure(figsize=(max(6.0, 0.55 * len(hypotheses) + 2.0), 4.2))
    ax = fig.subplots()
    x = np.arange(len(hypotheses))
    for k, (block, per) in enumerate(table.items()):
        label, colour = plots.style(block)
        offset = (k - (len(table) - 1) / 2) * 0.15
        ax.errorbar(x + offset, [per[h]["ln_B_vs_sm"] for h in hypotheses], [per[h]["ln_B_err"] for h in hypotheses],
                    fmt="o", ms=4, capsize=2, color=colour, label=label)
    for limit, _ in JEFFREYS_SCALE[:-1]:
        ax.axhspan(-limit, limit, color="grey", alpha=0.08, lw=0)
    ax.axhline(0.0, color="black", lw=0.8)
    ax.set_xticks(x, [_label(h) for h in hypotheses], rotation=45, ha="right")
    ax.set(ylabel=r"$\ln B$ (hypothesis vs SM)", title=f"{note}\nbands: |ln B| < 1, 2.5, 5 (Trotta 2008)")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3, axis="y")
    fig.tight_layout()
    return fig


def _label(hypothesis: str) -> str:
    if hypothesis == "all12":
        return "all 12"
    return " + ".join(plots.coupling_label(c) for c in hypothesis.split("+"))


def fig_prior_sensitivity(study: Mapping, note: str):
    """ln B against the prior half-width with error bars (the run's method), the quadrature beside SMC as a line."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4))
    ax = fig.subplots()
    w = np.asarray(study["half_widths"])
    ax.errorbar(w, study["ln_B"], study["ln_B_err"], fmt="o", capsize=3, color="black", label=study["method"])
    if "ln_B_quadrature" in study:
        ax.plot(w, study["ln_B_quadrature"], "--", color="tab:red", label="quadrature")
    widest = int(np.argmax(w))  # Occam factor once the prior is wider than the likelihood: ln B = c - ln w
    ax.plot(w, study["ln_B"][widest] - np.log(w / w[widest]), ":", color="grey", label=r"$c - \ln w$")
    ax.set_xscale("log")
    ax.set_xticks(w, [f"{v:g}" for v in w])
    ax.minorticks_off()
    ax.set(xlabel=f"prior half-width w of {plots.coupling_label(study['coupling'])} (uniform on [-w, w])",
           ylabel=r"$\ln B$ (vs SM)", title=f"{study['block']}; {note}")
    ax.title.set_fontsize(8)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
