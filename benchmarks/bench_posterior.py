"""Benchmark of the twelve-coupling posterior (models/posterior_all12.toml): wall time, ESS/s, r_hat.

Prints, for the spec's sampler settings (4 chains x 1000 draws) or the overrides given: the wall time of
import and model building, of compilation + NUTS + log-likelihood + posterior predictive
(``sampling.sample``, the runner's code path) and of the diagnostics; the NUTS time alone; the worst r_hat,
the smallest bulk and tail ESS, ESS per second, the rank-uniformity test, divergences and E-BFMI. The
project target is under 60 s on 2 cores with r_hat < 1.01 and ESS_bulk > 1000 for every parameter;
nothing is asserted.

    PYTENSOR_FLAGS=base_compiledir=/tmp/pt .venv/bin/python benchmarks/bench_posterior.py
    ... --low-rank --target-accept 0.9    # the settings tried (see the all12 spec description)
    ... --smc                             # Sequential Monte Carlo (pm.sample_smc) instead of NUTS
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "models" / "posterior_all12.toml"
STATS = ("r_hat", "ess_bulk", "ess_tail", "rank_p")


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--target-accept", type=float)
    parser.add_argument("--tune", type=int)
    parser.add_argument("--draws", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--engine", choices=("nutpie", "pymc"))
    mass = parser.add_mutually_exclusive_group()
    mass.add_argument("--low-rank", dest="low_rank", action="store_true", default=None,
                      help="nutpie's low-rank modified mass matrix")
    mass.add_argument("--diag", dest="low_rank", action="store_false", help="diagonal mass matrix")
    parser.add_argument("--smc", action="store_true", help="pm.sample_smc, chains x draws particles")
    return parser.parse_args()


def run_nuts(setup, sampler, names: list[str]):
    """NUTS through sampling.sample; returns (label, NUTS seconds, per-parameter stats, divergences, bfmi)."""
    from bayes_nsi.inference import sampling

    idata = sampling.sample(setup.model, sampler, setup.observed, progressbar=False)
    diag = sampling.compute_diagnostics(idata, names)
    label = (f"NUTS[{sampler.engine}, {sampler.adaptation}] {sampler.chains} chains x {sampler.draws} draws, "
             f"tune {sampler.tune}, target_accept {sampler.target_accept}")
    values = {k: [v[k] for v in diag["variables"].values()] for k in STATS}
    bfmi = [round(b, 2) for b in diag["bfmi"]]
    return label, float(idata["posterior"].attrs["sampling_time"]), values, diag["divergences"], bfmi


def run_smc(setup, sampler, names: list[str]):
    """pm.sample_smc; ArviZ's r_hat and ESS treat the particles as chains, which SMC's are not quite."""
    import arviz as az
    import pymc as pm

    from bayes_nsi.inference import sampling

    with setup.model:
        idata = pm.sample_smc(draws=sampler.draws, chains=sampler.chains, cores=os.cpu_count(),
                              random_seed=sampler.seed, progressbar=False)
    stats = {"r_hat": az.rhat(idata, var_names=names), "ess_bulk": az.ess(idata, var_names=names, method="bulk"),
             "ess_tail": az.ess(idata, var_names=names, method="tail")}
    values = {k: [float(v.to_dataset()[n]) for n in names] for k, v in stats.items()}
    values["rank_p"] = [float(sampling.rank_uniformity(idata["posterior"][n], b))
                        for n, b in zip(names, values["ess_bulk"], strict=True)]
    return f"SMC {sampler.chains} chains x {sampler.draws} particles", None, values, "n/a", "n/a"


def main() -> None:
    args = parse()
    start, cpu = time.perf_counter(), time.process_time()
    from bayes_nsi.app.runners.posterior import setup as posterior_setup
    from bayes_nsi.app.typed_spec import load

    spec = load(args.spec)
    overrides = {"target_accept": args.target_accept, "tune": args.tune, "draws": args.draws, "seed": args.seed,
                 "engine": args.engine, "low_rank_mass_matrix": args.low_rank}
    sampler = dataclasses.replace(spec.sampler, **{k: v for k, v in overrides.items() if v is not None})
    setup = posterior_setup(spec)
    names = [*setup.couplings, *setup.nuisances.names]
    built = time.perf_counter()
    label, nuts_s, values, divergences, bfmi = (run_smc if args.smc else run_nuts)(setup, sampler, names)
    done = time.perf_counter()

    wall, min_bulk = done - start, min(values["ess_bulk"])
    print(f"{label}; {len(names)} parameters; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  wall time total            {wall:7.1f} s   (process CPU {time.process_time() - cpu:.1f} s)")
    print(f"    import + model build     {built - start:7.1f} s")
    print(f"    sample (+ diagnostics)   {done - built:7.1f} s" + (f"   (NUTS alone {nuts_s:.1f} s)" if nuts_s else ""))
    print(f"  worst r_hat                {max(values['r_hat']):7.4f}   (target < 1.01)")
    print(f"  min ESS bulk / tail        {min_bulk:7.0f} / {min(values['ess_tail']):.0f}   (target bulk > 1000)")
    print(f"  ESS_bulk/s (min, by wall)  {min_bulk / wall:7.1f}" + (f"   (by NUTS time {min_bulk / nuts_s:.1f})"
                                                                     if nuts_s else ""))
    print(f"  rank test p < 0.01         {sum(p < 0.01 for p in values['rank_p'])} of {len(names)} parameters")
    print(f"  divergences                {divergences}")
    print(f"  E-BFMI per chain           {bfmi}")
    for n, *row in zip(names, *(values[k] for k in STATS), strict=True):
        print(f"    {n:10s} r_hat {row[0]:.4f}  ess_bulk {row[1]:6.0f}  ess_tail {row[2]:6.0f}  rank p {row[3]:.3f}")


if __name__ == "__main__":
    main()
