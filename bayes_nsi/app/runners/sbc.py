"""Runner of ``kind = "sbc"``: simulation-based calibration of a posterior spec (Talts et al. 2018).

Each simulation draws the couplings of ``[priors]`` and the nuisances of ``[nuisances]`` from their priors,
simulates the measurements from the spec's likelihood terms, and samples the posterior with nutpie (the PyMC
model of ``inference.pymc_model``, compiled once per worker; ``inference.studies.posterior_sbc``). The rank
of each true parameter among the posterior draws is uniform when the posterior is calibrated; the PIT-ECDF
with its simultaneous envelope (Saeilynoja et al. 2022) and the ``pot_c`` uniformity test of arviz-stats
check it per parameter.

Writes ``sbc.json`` (settings, per-parameter p-values and envelope verdicts, ranks and prior draws),
``sbc.md``, ``sbc.nc`` (PIT values in simuk's layout, group ``prior_sbc``, for ``arviz_plots.plot_ecdf_pit``)
and the ``sbc_pit_ecdf`` figure. Every file names the acceptance and physics modes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bayes_nsi.app.reports import MODE_NOTE
from bayes_nsi.app.results import save_figure, write_json, write_text
from bayes_nsi.app.study_runs import manifest_fields, run_tasks
from bayes_nsi.app.typed_spec import Spec
from bayes_nsi.markdown import table

ENVELOPE_PROB = 0.99


def run(spec: Spec, out: Path, log: Callable[[str], None]) -> dict:
    """Run the SBC simulations of ``spec`` on the study engine and write the calibration checks into ``out``."""
    from bayes_nsi.inference.studies.pit_ecdf import sbc_datatree, sbc_summary
    from bayes_nsi.inference.studies.posterior_sbc import posterior_sbc
    from bayes_nsi.inference.studies.sbc import sbc_ranks, sbc_study

    s = spec.sbc
    recipe = posterior_sbc(spec.datasets, spec.measurements, spec.likelihoods, spec.priors, spec.nuisances,
                           acceptance=spec.acceptance, physics=spec.physics, draws=s.draws, tune=s.tune,
                           chains=s.chains, thin=s.thin, target_accept=s.target_accept,
                           adaptation="low_rank" if s.low_rank_mass_matrix else "diag")
    study = sbc_study(recipe, s.simulations, sims_per_task=s.sims_per_task, seed=spec.study.seed)
    log(f"SBC of {len(recipe.names)} parameters: {s.simulations} simulations, nutpie {s.chains} chains x "
        f"{s.draws} draws after {s.tune} tuning steps, every {s.thin}-th draw ranked "
        f"(acceptance {spec.acceptance}, physics {spec.physics})")
    study_run = run_tasks(study, spec.study, log)
    results = study_run.results()
    ranks, n_draws = sbc_ranks(results)
    thetas = np.concatenate([r["theta"] for r in results])
    names = recipe.names
    summary = sbc_summary(ranks, n_draws, names, envelope_prob=ENVELOPE_PROB)
    note = f"{MODE_NOTE[spec.acceptance]}; physics: {spec.physics}"
    settings = {"simulations": s.simulations, "posterior_draws_ranked": n_draws, "chains": s.chains,
                "draws": s.draws, "tune": s.tune, "thin": s.thin, "target_accept": s.target_accept,
                "adaptation": recipe.adaptation, "seed": spec.study.seed}

    write_json(out / "sbc.json", {
        "acceptance": spec.acceptance, "physics": spec.physics, "likelihoods": spec.observations().likelihoods,
        "settings": settings, "study_hash": study.hash,
        "check": f"PIT-ECDF inside its {100 * ENVELOPE_PROB:g} % simultaneous envelope (Saeilynoja et al. 2022) "
                 "and the pot_c uniformity p-value (arviz-stats)",
        "parameters": {n: {"p_value": p.p_value, "inside_envelope": p.inside, "mean_rank_fraction":
                           float(np.mean(ranks[:, j]) / n_draws)} for j, (n, p) in enumerate(summary.items())},
        "ranks": {n: ranks[:, j] for j, n in enumerate(names)}, "prior_draws": {n: thetas[:, j]
                                                                                 for j, n in enumerate(names)}})
    write_text(out / "sbc.md", markdown(summary, ranks, n_draws, settings, note))
    tree = sbc_datatree(ranks, n_draws, names)
    tree.attrs.update(acceptance=spec.acceptance, physics=spec.physics, n_draws=n_draws)
    tree.to_netcdf(out / "sbc.nc")
    if spec.figures.enabled:
        from bayes_nsi.app.study_plots import fig_pit_ecdf

        save_figure(fig_pit_ecdf(summary, len(ranks), note, ENVELOPE_PROB), out, "sbc_pit_ecdf")
    return {**manifest_fields(study_run, spec.study), "sbc": settings}


def markdown(summary: dict, ranks: np.ndarray, n_draws: int, settings: dict, note: str) -> str:
    """One row per parameter: uniformity p-value, envelope verdict, mean rank as a fraction of n_draws."""
    lines = ["# Simulation-based calibration", "", f"{note}.", "",
             f"{settings['simulations']} simulations; nutpie {settings['chains']} chains x {settings['draws']} draws "
             f"after {settings['tune']} tuning steps ({settings['adaptation']} mass matrix, target_accept "
             f"{settings['target_accept']}), every {settings['thin']}-th draw ranked: ranks in 0..{n_draws}. "
             "Calibrated: ranks uniform, mean rank fraction 0.5, PIT-ECDF inside the envelope.", "",
             table(["parameter", "p-value (pot_c)", f"inside {100 * ENVELOPE_PROB:g} % envelope",
                    "mean rank / n_draws"],
                   [[name, f"{s.p_value:.3g}", "yes" if s.inside else "NO", f"{np.mean(ranks[:, j]) / n_draws:.3f}"]
                    for j, (name, s) in enumerate(summary.items())])]
    return "\n".join(lines) + "\n"
