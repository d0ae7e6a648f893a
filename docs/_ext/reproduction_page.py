"""The reproduction-report page: embeds the report of a paper run when it exists at build time.

``reproduction_report`` (``conf.py``) is the path of ``results/paper/reproduction.md``. When that file
exists, the source of the page ``reproduction`` is replaced by a MyST ``include`` of it (images relative
to the report's folder), so the site shows the numbers of the run; otherwise the page keeps its own text,
which says how to produce the report. The page is re-read on every build, so a report written since the
last build appears without a clean build.
"""

import os
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment

DOCNAME = "reproduction"


def embedded_source(report: Path, srcdir: Path) -> str:
    """MyST source of the page that includes ``report``, with a title if the report has none."""
    text = report.read_text(encoding="utf-8")
    first = next((line for line in text.splitlines() if line.strip()), "")
    relative = os.path.relpath(report, srcdir)
    title = "" if first.startswith("# ") else "# Reproduction report\n\n"
    return (f"{title}```{{include}} {relative}\n:relative-images:\n```\n\n---\n\n"
            f"*Embedded from `results/paper/{report.name}` as found when this site was built.*\n")


def replace_source(app: Sphinx, docname: str, source: list[str]) -> None:
    """source-read handler: the page's source becomes an include of the report, if the report exists."""
    report = Path(app.config.reproduction_report)
    if docname == DOCNAME and report.is_file():
        source[0] = embedded_source(report, Path(app.srcdir))


def always_outdated(app: Sphinx, env: BuildEnvironment, added, changed, removed) -> list[str]:
    """env-get-outdated handler: re-read the page on every build (the report may have appeared or changed)."""
    return [DOCNAME] if DOCNAME in env.found_docs else []


def setup(app: Sphinx) -> dict:
    app.add_config_value("reproduction_report", "", "env", types=[str])
    app.connect("source-read", replace_source)
    app.connect("env-get-outdated", always_outdated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
