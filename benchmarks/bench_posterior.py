"""Benchmark of the twelve-coupling posterior (models/posterior_all12.toml): wall time, ESS/s, r_hat.

Prints, for 4 chains x 1000 draws (or the spec's sampler settings with the overrides given):
the wall time of model building, of compilation + NUTS + log-likelihood + posterior predictive
(``bayesian.sample``, the runner's code path) and of the diagnostics, the NUTS time alone, the worst r_hat,
the smallest bulk and tail ESS, ESS per second, divergences and E-BFMI. The project target is under 60 s
on 2 cores with r_hat < 1.01 and ESS_bulk > 1000 for every parameter; nothing is asserted.

    PYTENSOR_FLAGS=base_compiledir=/tmp/pt .venv/bin/python benchmarks/bench_posterior.py
    ... --target-accept 0.9 --diag        # the settings tried (see the all12 spec description)
    ... --smc                             # Sequential Monte Carlo (pm.sample_smc) instead of NUTS
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

SPEC = Path(__file__).resolve().parents[1] / "models" / "posterior_all12.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--target-accept", type=float)
    parser.add_argument("--tune", type=int)
    parser.add_argument("--draws", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--diag", action="store_true", help="diagonal mass matrix instead of the low-rank one")
    parser.add_argument("--engine", choices=("nutpie", "pymc"))
    parser.add_argument("--smc", action="store_true", help="pm.sample_smc with 4 chains x draws particles")
    args = parser.parse_args()

    start = time.perf_counter()
    cpu = time.process_time()
    from bayes_nsi import bayesian
    from bayes_nsi.spec import load_spec

    spec = load_spec(args.spec)
    sampler = spec["sampler"] | {k: v for k, v in {"target_accept": args.target_accept, "tune": args.tune,
                                                    "draws": args.draws, "seed": args.seed,
                                                    "engine": args.engine}.items() if v is not None}
    if args.diag:
        sampler["low_rank_mass_matrix"] = False
    setup = bayesian.from_spec(spec)
    names = [*setup.couplings, *(n for n in bayesian.NUISANCES if n in spec["nuisances"])]
    built = time.perf_counter()

    if args.smc:
        import pymc as pm

        with setup.model:
            idata = pm.sample_smc(draws=sampler["draws"], chains=sampler["chains"], cores=os.cpu_count(),
                                  random_seed=sampler["seed"], progressbar=False)
        label = f"SMC {sampler['chains']} chains x {sampler['draws']} particles"
        sampling = None
    else:
        idata = bayesian.sample(setup.model, sampler, progressbar=False)
        adaptation = ("low_rank" if sampler["low_rank_mass_matrix"] else "diag") if sampler["engine"] == "nutpie" else "pymc"
        label = (f"NUTS[{sampler['engine']}, {adaptation}] {sampler['chains']} chains x {sampler['draws']} draws, "
                 f"tune {sampler['tune']}, target_accept {sampler['target_accept']}")
        sampling = float(idata["posterior"].attrs["sampling_time"])
    sampled = time.perf_counter()

    diag = bayesian.compute_diagnostics(idata, names) if not args.smc else None
    if args.smc:
        import arviz as az

        stats = {k: getattr(az, f)(idata, var_names=names, **kw) for k, (f, kw) in {
            "r_hat": ("rhat", {}), "ess_bulk": ("ess", {"method": "bulk"}), "ess_tail": ("ess", {"method": "tail"})}.items()}
        values = {k: [float(v.to_dataset()[n]) for n in names] for k, v in stats.items()}
        values["rank_p"] = [float(bayesian.rank_uniformity(idata["posterior"][n], b))
                            for n, b in zip(names, values["ess_bulk"], strict=True)]
        divergences, bfmi = "n/a", "n/a"
    else:
        values = {k: [v[k] for v in diag["variables"].values()] for k in ("r_hat", "ess_bulk", "ess_tail", "rank_p")}
        divergences, bfmi = diag["divergences"], [round(b, 2) for b in diag["bfmi"]]
    done = time.perf_counter()

    wall = done - start
    print(f"{label}; {len(names)} parameters ({', '.join(names)}); load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")
    print(f"  wall time total            {wall:7.1f} s   (process CPU {time.process_time() - cpu:.1f} s)")
    print(f"    import + model build     {built - start:7.1f} s")
    print(f"    compile + sample + ppc   {sampled - built:7.1f} s" + (f"   (NUTS alone {sampling:.1f} s)" if sampling else ""))
    print(f"    diagnostics              {done - sampled:7.1f} s")
    print(f"  worst r_hat                {max(values['r_hat']):7.4f}   (target < 1.01)")
    print(f"  min ESS bulk / tail        {min(values['ess_bulk']):7.0f} / {min(values['ess_tail']):.0f}   (target bulk > 1000)")
    print(f"  ESS_bulk/s (min, by wall)  {min(values['ess_bulk']) / wall:7.1f}" +
          (f"   (by NUTS time {min(values['ess_bulk']) / sampling:.1f})" if sampling else ""))
    print(f"  rank test p < 0.01         {sum(p < 0.01 for p in values['rank_p'])} of {len(names)} parameters")
    print(f"  divergences                {divergences}")
    print(f"  E-BFMI per chain           {bfmi}")
    for n, r, b, t, p in zip(names, values["r_hat"], values["ess_bulk"], values["ess_tail"], values["rank_p"],
                             strict=True):
        print(f"    {n:10s} r_hat {r:.4f}  ess_bulk {b:6.0f}  ess_tail {t:6.0f}  rank p {p:.3f}")


if __name__ == "__main__":
    main()
