"""Execute every notebook in ``notebooks/`` (jupytext percent-format ``.py`` files) with nbclient.

A notebook is a ``.py`` file whose first line starts with ``# %%``; other ``.py`` files there are not
notebooks and are skipped. Each one runs in a fresh ``python3`` kernel with ``notebooks/`` as working
directory and ``BAYES_NSI_TEST=1`` in the kernel's environment (the notebooks then use small draws).
Any failing cell (an ``assert`` included) fails the test. The executed notebook is written to the
test's temporary folder, never next to the source (outputs are not committed). Run with ``-s`` to see
how long each notebook took.
"""

import os
import time
import warnings
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT_S = 600  # per cell
BUDGET_S = 180  # the budget of a whole notebook on 2 cores (warm compile cache); exceeding it warns


def is_notebook(path: Path) -> bool:
    """Percent-format notebooks start with a ``# %%`` cell marker."""
    with path.open(encoding="utf-8") as handle:
        return handle.readline().startswith("# %%")


def notebook_paths() -> list[Path]:
    return sorted(p for p in NOTEBOOKS.glob("*.py") if is_notebook(p))


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this process's environment: the test flag, and the PyTensor compile
    # directory and matplotlib backend that conftest.py sets.
    monkeypatch.setenv("BAYES_NSI_TEST", "1")
    monkeypatch.setenv("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    nb = jupytext.read(path)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    try:
        client.execute()
    finally:
        elapsed = time.perf_counter() - t0
        print(f"\n{path.name}: {elapsed:.1f} s")
        nbformat.write(nb, tmp_path / f"{path.stem}.ipynb")
    if elapsed > BUDGET_S:
        warnings.warn(f"{path.name} took {elapsed:.0f} s, over the {BUDGET_S} s budget (cold compile cache or a "
                      "loaded machine?)", stacklevel=1)


def test_notebooks_found() -> None:
    """The three notebooks are there, and helper modules would be skipped rather than executed."""
    names = [p.name for p in notebook_paths()]
    assert {"01_paper_reproduction.py", "02_posterior_diagnostics.py", "03_model_comparison.py"} <= set(names)
