"""The one Markdown table renderer: what a Markdown parser (markdown-it-py, GFM tables) reads back from it."""

import html
import re

import pytest
from markdown_it import MarkdownIt

from bayes_nsi.markdown import table


def parsed_cells(text: str) -> list[list[str]]:
    """Rows of cells (header first) as markdown-it-py's table extension reads them."""
    rendered = MarkdownIt("commonmark").enable("table").render(text)
    return [[html.unescape(c) for c in re.findall(r"<t[hd]>(.*?)</t[hd]>", row)]
            for row in re.findall(r"<tr>(.*?)</tr>", rendered, flags=re.S)]


def test_a_parser_reads_back_every_cell():
    header = ["coupling", "HDI 68%", "chi2 dchi2<=1"]
    rows = [["ee_u", "[-0.10, 0.20] U [0.30, 0.40]", "none"], ["a|b", "", "x"]]
    assert parsed_cells(table(header, rows)) == [header, *rows]


def test_layout_is_the_compact_pipe_table():
    """The bytes the result files have always had: unpadded cells, a ``|---|`` rule, no trailing newline."""
    assert table(["a", "b"], [["1", "22"]]) == "| a | b |\n|---|---|\n| 1 | 22 |"


def test_a_ragged_row_is_refused():
    with pytest.raises(ValueError, match="row 1 has 1 cells, the header 2"):
        table(["a", "b"], [["1", "2"], ["3"]])
