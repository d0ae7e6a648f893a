"""Sphinx configuration of the bayes_nsi documentation site (``scripts/dev docs`` builds it).

Pages are MyST Markdown; the notebooks are the jupytext percent-format ``.py`` files of ``notebooks/``
(reached through the ``docs/notebooks`` symlink), read and executed by myst-nb. Notebook execution is
set by the environment variable ``BAYES_NSI_DOCS_EXECUTE``: ``cache`` (default: executed once, outputs
kept in ``_build/.jupyter_cache`` until a notebook changes), ``force`` or ``off`` (no outputs; the test
build). The kernel inherits the environment, so ``BAYES_NSI_TEST=1`` gives the notebooks' reduced draws.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

project = "bayes_nsi"
author = "the bayes_nsi developers"
copyright = "the bayes_nsi developers, MIT licence"

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "plain_docstrings",
    "spec_reference",
    "reproduction_page",
]

# Every .py file under docs/ would otherwise be read as a notebook.
exclude_patterns = ["_build", "_ext", "_templates", "conf.py", "**/.ipynb_checkpoints", "**/__pycache__"]
templates_path = ["_templates"]

# -- MyST and notebooks ------------------------------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "deflist", "colon_fence"]
myst_heading_anchors = 3
nb_custom_formats = {".py": "notebook_format.read_percent"}
EXECUTION_MODES = ("cache", "force", "off")
nb_execution_mode = os.environ.get("BAYES_NSI_DOCS_EXECUTE", "cache")
if nb_execution_mode not in EXECUTION_MODES:
    raise ValueError(f"BAYES_NSI_DOCS_EXECUTE: unknown {nb_execution_mode!r}; allowed: {', '.join(EXECUTION_MODES)}")
nb_execution_in_temp = False  # the notebooks read ../models: they run with notebooks/ as working directory
nb_execution_timeout = 3600  # per cell, in s: the full (not test-mode) posterior cells sample for minutes
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True  # and its traceback is in the build log
nb_execution_cache_path = str(DOCS / "_build" / ".jupyter_cache")
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs (the notebooks' tables) rendered with tables and math

# -- API reference -----------------------------------------------------------------------------------------
# autosummary writes one stub per module into docs/api/ (api.md); a stub left from a module renamed since
# would fail the build, so stubs of modules that no longer exist are deleted first.
API_STUBS = DOCS / "api"


def prune_stale_stubs(folder: Path, root: Path) -> None:
    """Delete the stubs ``<module>.rst`` in ``folder`` whose module has no source file under ``root``."""
    for stub in folder.glob("*.rst"):
        path = root.joinpath(*stub.stem.split("."))
        if not (path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()):
            stub.unlink()


prune_stale_stubs(API_STUBS, DOCS.parent)
autosummary_generate = True
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_preserve_defaults = True

# -- Spec reference and reproduction report ----------------------------------------------------------------
reproduction_report = str(DOCS.parent / "results" / "paper" / "reproduction.md")

# -- HTML --------------------------------------------------------------------------------------------------
html_theme = "furo"
html_title = "bayes_nsi"
