"""The same posterior spec and seed give bit-identical draws whatever the state of PyTensor's compile cache
(issues 8 and 15).

Two fresh processes sample the same small spec through ``sampling.sample`` (the posterior runner's path):
the first compiles everything into an empty compile directory, the second loads everything from it. The
posterior draws and the posterior predictive must agree bit for bit. Before ``bayes_nsi.pytensor_config``
turned numba's fast-math off they did not: the two processes' log-densities differed in the last bits
and the draws drifted apart (run this file with ``PYTENSOR_FLAGS=numba__fastmath=True`` to see it fail).

The cold process also runs with ``TMPDIR`` at an empty folder, which must stay empty: compiling from
scratch writes nothing outside the compile directory. (The frequentist scan's reproducibility is tested
in test_frequentist.py.)
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SPEC = """schema_version = 1
kind = "posterior"
acceptance = "paper"
datasets = ["xenonnt"]
[priors.ee_u]
dist = "uniform"
lower = -1.0
upper = 1.0
[sampler]
draws = 200
tune = 200
chains = 2
seed = 11
"""

SAMPLE = """
import sys
import numpy as np
from bayes_nsi.app.runners.posterior import setup
from bayes_nsi.app.typed_spec import load
from bayes_nsi.inference import sampling

spec = load(sys.argv[1])
model = setup(spec)
idata = sampling.sample(model.model, spec.sampler, model.observed, progressbar=False)
np.savez(sys.argv[2], ee_u=idata["posterior"]["ee_u"].values,
         signal=idata["posterior_predictive"]["signal"].values)
"""


def _sample(spec: Path, out: Path, compiledir: Path, tmpdir: Path) -> dict[str, np.ndarray]:
    """Draws of a fresh process compiling into (or loading from) ``compiledir``, with TMPDIR = ``tmpdir``."""
    flags = [f for f in os.environ.get("PYTENSOR_FLAGS", "").split(",") if f and not f.startswith("base_compiledir=")]
    env = {**os.environ, "TMPDIR": str(tmpdir),
           "PYTENSOR_FLAGS": ",".join([f"base_compiledir={compiledir}", *flags])}
    subprocess.run([sys.executable, "-c", SAMPLE, str(spec), str(out)], check=True, env=env)
    with np.load(out) as npz:
        return dict(npz)


@pytest.mark.slow  # two posterior runs in fresh processes, one compiling into an empty cache
def test_same_draws_from_an_empty_and_a_warm_compile_cache(tmp_path):
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    compiledir, cold_tmp, warm_tmp = tmp_path / "pytensor", tmp_path / "tmp_cold", tmp_path / "tmp_warm"
    for folder in (compiledir, cold_tmp, warm_tmp):
        folder.mkdir()
    try:
        cold = _sample(spec, tmp_path / "cold.npz", compiledir, cold_tmp)
        warm = _sample(spec, tmp_path / "warm.npz", compiledir, warm_tmp)
    finally:
        shutil.rmtree(compiledir)  # a cold compile directory is tens of MB
    for name in ("ee_u", "signal"):
        assert cold[name].shape == warm[name].shape == (2, 200) + cold[name].shape[2:]
        assert np.array_equal(cold[name], warm[name]), f"{name}: draws differ between a cold and a warm cache"
    assert np.unique(cold["ee_u"]).size > 100  # real draws, not a constant
    assert sorted(os.listdir(cold_tmp)) == sorted(os.listdir(warm_tmp)) == []
