"""Test configuration: a writable PyTensor compile directory and a headless matplotlib, set before any
test module imports pytensor."""

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYTENSOR_FLAGS", f"base_compiledir={REPO / '.pytensor'}")
os.environ.setdefault("MPLBACKEND", "Agg")
