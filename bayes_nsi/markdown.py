"""Markdown (GitHub pipe) tables: the one renderer of every table the package writes (no dependencies).

A top-level module like ``names.py`` so that every layer may import it (``inference.credible`` writes a table
too). The layout is the compact one the result files have always had: ``| a | b |`` rows under a ``|---|---|``
rule, cells not padded.
"""

from collections.abc import Sequence


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Header, rule and rows as lines joined by newlines (no trailing newline).

    A ``|`` inside a cell is escaped (``\\|``) so that it stays in its cell. A row whose length differs from
    the header's raises ValueError.
    """
    width = len(header)
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"markdown table: row {i} has {len(row)} cells, the header {width}: {list(row)}")
    lines = [_line(header), "|" + "---|" * width]
    return "\n".join(lines + [_line(row) for row in rows])


def _line(cells: Sequence[str]) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"
