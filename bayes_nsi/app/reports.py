"""Text renderings shared by the runners: the acceptance-mode note and tables laid out like the paper's."""

from __future__ import annotations

from bayes_nsi.app.plots import coupling_label
from bayes_nsi.experiments.registry import BINNED, REGISTRY
from bayes_nsi.inference.intervals import intervals_to_text
from bayes_nsi.markdown import table
from bayes_nsi.names import FLAVOUR_PAIRS, QUARKS

MODE_NOTE = {"paper": "acceptance: paper normalization (SM = "
                      + ", ".join(f"{d.paper_sm_events:g}" for d in REGISTRY.values()) + " events)",
             "published": "acceptance: published curves, unnormalized"}


def row_label(key: str) -> str:
    """Row label of a result key in the paper's tables: a data set's short label, or "Combined"."""
    dataset = REGISTRY.get(key) or BINNED.get(key)
    return dataset.short_label if dataset else key.capitalize()


def table3(intervals: dict, level_key: str, caption: str, digits: int = 2) -> tuple[str, list[list[str]]]:
    """Markdown and CSV rows laid out like the paper's Table III (up block, then down block).

    ``intervals[level_key]`` maps a result key (data set or "combined") to {coupling: pieces}.
    """
    per_key = intervals[level_key]
    lines = [caption, ""]
    rows = []
    for quark in QUARKS:
        names = [f"{p}_{quark}" for p, _, _ in FLAVOUR_PAIRS]
        present = [n for n in names if any(n in v for v in per_key.values())]
        if not present:
            continue
        block = []
        for key, per in per_key.items():
            cells = [intervals_to_text(per[n], digits) for n in present]
            block.append([row_label(key), *cells])
            rows.append([quark, key] + [f"{n}: {c}" for n, c in zip(present, cells, strict=True)])
        lines += [table([f"{quark}-quark", *(coupling_label(n) for n in present)], block), ""]
    return "\n".join(lines), rows


LEVEL_CAPTIONS = {"1sigma": "## 1sigma: Delta(-2 ln L) = 1", "2sigma": "## 2sigma: Delta(-2 ln L) = 4"}
PROFILE_HEADER = ["dataset", "coupling", "x", "delta_chi2"]
TABLE3_LEVELS_HEADER = ["level", "quark", "dataset"] + [p for p, _, _ in FLAVOUR_PAIRS]


def table3_by_level(intervals: dict) -> tuple[list[str], list[list[str]]]:
    """Table III layout of each level in ``intervals`` (1 and 2 sigma): Markdown per level and CSV rows
    (:data:`TABLE3_LEVELS_HEADER`) prefixed by the level."""
    texts, rows = [], []
    for level, caption in LEVEL_CAPTIONS.items():
        if level in intervals:
            text, level_rows = table3(intervals, level, caption)
            texts.append(text)
            rows += [[level, *row] for row in level_rows]
    return texts, rows


def profile_rows(scans: dict) -> list[list[str]]:
    """CSV rows (:data:`PROFILE_HEADER`) of one-parameter profiles {key: {coupling: ProfileResult}}."""
    return [[k, c, f"{x:.6g}", f"{d:.6g}"] for k, per in scans.items() for c, r in per.items()
            for x, d in zip(r.x, r.delta_chi2, strict=True)]
