"""Read a jupytext percent-format ``.py`` notebook for myst-nb, with the Python 3 kernel declared.

The notebooks in ``notebooks/`` carry no jupytext header, so the notebook jupytext builds has no kernel
metadata; myst-nb needs it to pick the kernel that executes the notebook and the lexer that highlights
its cells (``nb_custom_formats`` in ``conf.py`` names :func:`read_percent`).
"""

import jupytext
import nbformat

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
LANGUAGE_INFO = {"name": "python", "pygments_lexer": "ipython3"}


def read_percent(text: str, **kwargs) -> nbformat.NotebookNode:
    """The notebook of a percent-format script, with kernelspec and language_info set if absent."""
    notebook = jupytext.reads(text, fmt="py:percent", **kwargs)
    notebook.metadata.setdefault("kernelspec", KERNELSPEC)
    notebook.metadata.setdefault("language_info", LANGUAGE_INFO)
    return notebook
