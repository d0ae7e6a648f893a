"""The same posterior spec and seed give identical draws in separate processes (issue 8, item 5).

Known limit, measured: the draws are bit-identical for a given PyTensor compile-cache state. A run that
compiles into an empty cache and a run that loads the cached code can differ in the last bits of the
log-density, which NUTS amplifies into different (statistically equivalent) draws. So the first run
here only warms the cache and the next two must agree exactly. (The frequentist scan's reproducibility
is tested in test_frequentist.py.)
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

SPEC = """schema_version = 1
kind = "posterior"
acceptance = "paper"
datasets = ["paired", "xenonnt"]
[priors.ee_u]
dist = "uniform"
lower = -1.0
upper = 1.0
[nuisances.flux_8b]
prior = "b16"
[sampler]
draws = 200
tune = 200
chains = 2
seed = 11
[diagnostics]
max_r_hat = 1.5
min_ess_bulk = 10
min_ess_tail = 10
max_divergences = 200
min_bfmi = 0.01
"""


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_same_seed_same_draws_across_processes(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    cli = Path(sys.executable).parent / "bayes-nsi"
    draws = []
    for i in range(3):
        out = tmp_path / f"run{i}"
        subprocess.run([str(cli), "run", str(spec), "--out", str(out), "--quiet"], check=True)
        post = xr.open_datatree(out / "posterior.nc")["posterior"]
        draws.append({v: post[v].values for v in ("ee_u", "flux_8b")})
    for v in ("ee_u", "flux_8b"):
        assert np.array_equal(draws[1][v], draws[2][v])
        assert np.unique(draws[1][v]).size > 100  # real draws, not a constant
