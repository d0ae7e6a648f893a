"""Read the package's plain-text docstrings as reStructuredText without changing what they say.

The docstrings are written as plain text with physics notation, the way the code reads them: ``|V_ek|^2``
and bra-kets ``|nu_k><nu_k|`` use bars, and a ``- `` list follows its introducing line directly, as in
Markdown. In reStructuredText a bar starts a substitution reference and a list needs blank lines around
it. This autodoc hook escapes bars outside inline literals and roles, and puts a blank line where a
list starts or ends right after text, so both render as written.
"""

import re

from sphinx.application import Sphinx

LITERAL_OR_ROLE = re.compile(r"(``.+?``|(?::[\w:+-]+:)?`[^`]+`_{0,2})")
LIST_ITEM = re.compile(r"^(\s*)[-*] \S")


def escape_bars(line: str) -> str:
    """``|`` -> ``\\|`` outside inline literals, interpreted text and roles."""
    parts = LITERAL_OR_ROLE.split(line)
    return "".join(p if i % 2 else p.replace("|", r"\|") for i, p in enumerate(parts))


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def separate_lists(lines: list[str]) -> list[str]:
    """A blank line before a bullet list that follows text directly, and after one that text follows directly.

    A list item's continuation lines are indented past its bullet; a line at or left of the bullet that
    is not an item ends the list.
    """
    out: list[str] = []
    list_indent = None  # indentation of the current list's bullets
    for line in lines:
        item = LIST_ITEM.match(line)
        if not line.strip():
            out.append(line)
            continue
        previous_text = bool(out) and bool(out[-1].strip())
        if item:
            if previous_text and list_indent != len(item.group(1)):
                out.append("")
            list_indent = len(item.group(1))
        elif list_indent is not None and _indent(line) <= list_indent:
            if previous_text:
                out.append("")
            list_indent = None
        out.append(line)
    return out


def plain_text_docstring(app: Sphinx, what: str, name: str, obj, options, lines: list[str]) -> None:
    """autodoc-process-docstring handler: see the module docstring."""
    lines[:] = [escape_bars(line) for line in separate_lists(lines)]


def setup(app: Sphinx) -> dict:
    app.connect("autodoc-process-docstring", plain_text_docstring)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
