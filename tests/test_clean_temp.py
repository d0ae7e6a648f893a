"""A run leaves no file in the system temporary folder (issue 15).

PyTensor used to write the Python source of every numba-compiled function to a new file in the temporary
folder and never remove it (about 50 per posterior run); ``bayes_nsi.pytensor_config`` sends them to the
compile directory. Each run here is a fresh ``bayes-nsi run`` process with ``TMPDIR`` at an empty folder
(Python's ``tempfile``, PyTensor, numba, matplotlib and the compiler all honour it), which must still be
empty afterwards. The cold-cache path is checked in test_reproducibility.py.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

FREQUENTIST = """schema_version = 1
kind = "frequentist"
acceptance = "paper"
datasets = ["paired", "xenonnt"]
[profile]
couplings = ["ee_u"]
range = [-1.0, 1.0]
points = 41
[[contours]]
x = "ee_u"
y = "ee_d"
x_range = [-1.0, 1.0]
y_range = [-1.0, 1.0]
points = 21
level = 4.61
"""

POSTERIOR = """schema_version = 1
kind = "posterior"
acceptance = "paper"
datasets = ["xenonnt"]
[priors.ee_u]
dist = "uniform"
lower = -1.0
upper = 1.0
[sampler]
draws = 100
tune = 100
chains = 2
seed = 3
[diagnostics]
max_r_hat = 1.5
min_ess_bulk = 10
min_ess_tail = 10
max_divergences = 100
min_bfmi = 0.01
"""


@pytest.mark.slow  # whole runs in fresh processes
@pytest.mark.parametrize("text", [FREQUENTIST, POSTERIOR], ids=["frequentist", "posterior"])
def test_run_leaves_the_temporary_folder_empty(text, tmp_path):
    spec, tmp = tmp_path / "spec.toml", tmp_path / "tmp"
    spec.write_text(text)
    tmp.mkdir()
    cli = Path(sys.executable).parent / "bayes-nsi"
    subprocess.run([str(cli), "run", str(spec), "--out", str(tmp_path / "out"), "--quiet"], check=True,
                   env={**os.environ, "TMPDIR": str(tmp)})
    assert (tmp_path / "out" / "manifest.json").is_file()  # the run did write its results
    assert sorted(p.name for p in tmp.iterdir()) == []
