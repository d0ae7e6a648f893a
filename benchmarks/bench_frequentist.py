"""Timings of the paper's frequentist analysis (printed, never asserted).

    python benchmarks/bench_frequentist.py            # warm: Table III and Fig. 4 in this process
    python benchmarks/bench_frequentist.py --cold     # also: the whole `bayes-nsi run models/paper.toml`
                                                      # in a fresh process with an empty compile cache

Targets (issue 4): Table III (48 profiles, both levels, root-refined) under 1 s warm on 2 cores; the whole
paper run under 60 s cold.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bayes_nsi.inference import observations as likelihood
from bayes_nsi.inference import scans as frequentist
from bayes_nsi.names import COUPLINGS

REPO = Path(__file__).resolve().parents[1]
POINTS = 801  # the grid of models/paper.toml; every interval endpoint is root-refined to 1e-6


def best_of(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cold", action="store_true", help="also time a cold end-to-end run")
    args = parser.parse_args()

    t0 = time.perf_counter()
    scanner = frequentist.Chi2Scanner.for_data(likelihood.observations(("paired", "us2", "xenonnt")))
    scanner.events(np.zeros((1, 12)))
    build = time.perf_counter() - t0
    t0 = time.perf_counter()
    frequentist.profiles(scanner, COUPLINGS, -1.0, 1.0, POINTS, (1.0, 4.0))
    first = time.perf_counter() - t0
    table3 = best_of(lambda: frequentist.profiles(scanner, COUPLINGS, -1.0, 1.0, POINTS, (1.0, 4.0)))
    planes = [("ee_u", "ee_d"), ("mumu_u", "mumu_d"), ("tautau_u", "tautau_d")]
    fig4 = best_of(lambda: [frequentist.contours(scanner, x, y, (-1, 1), (-1, 1), 201, 4.61) for x, y in planes], 2)

    print(f"{'what':<52}{'seconds':>10}{'target':>10}{'ratio':>8}")
    print(f"{'model build + compile (this process)':<52}{build:>10.2f}")
    print(f"{'Table III, first call after compile':<52}{first:>10.3f}")
    label = "Table III warm (48 profiles, paper.toml grid, 2 levels)"
    print(f"{label:<52}{table3:>10.3f}{1.0:>10.1f}{table3 / 1.0:>8.2f}")
    print(f"{'Fig. 4 warm (3 planes x 4 keys, 201^2 grid)':<52}{fig4:>10.3f}")
    if args.cold:
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "PYTENSOR_FLAGS": f"base_compiledir={tmp}/pt", "MPLBACKEND": "Agg"}
            t0 = time.perf_counter()
            subprocess.run([str(Path(sys.executable).parent / "bayes-nsi"), "run", str(REPO / "models/paper.toml"),
                            "--out", f"{tmp}/paper", "--quiet"], check=True, env=env)
            cold = time.perf_counter() - t0
        print(f"{'bayes-nsi run models/paper.toml, cold cache':<52}{cold:>10.2f}{60.0:>10.1f}{cold / 60:>8.2f}")


if __name__ == "__main__":
    main()
