"""A plain numpy reader of the shipped CSV tables, independent of ``bayes_nsi.physics.inputs``, for tests that
recompute numbers without the package's loaders."""

from pathlib import Path

import numpy as np

from bayes_nsi.physics.inputs import TABLES


def read_table(path: Path) -> dict[str, np.ndarray]:
    """Skip '#' lines; the first remaining line names the columns, the rest are numbers."""
    lines = [ln for ln in Path(path).read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    names = lines[0].split(",")
    data = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    return {n: data[:, i] for i, n in enumerate(names)}


def read_csv(name: str) -> dict[str, np.ndarray]:
    """A shipped table by file name."""
    return read_table(TABLES / name)
