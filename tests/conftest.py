"""Test configuration: a writable PyTensor compile directory and a headless matplotlib, set before any
test module imports pytensor; then the package's PyTensor settings (numba without fast-math, generated
sources under the compile directory instead of the system temporary folder), so that tests compiling
graphs of their own get them too."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")
os.environ.setdefault("MPLBACKEND", "Agg")

import bayes_nsi.pytensor_config  # noqa: E402, F401  (after the flags above: it imports pytensor)
