"""The documentation site builds with warnings as errors, and its generated pages say what the code holds.

One Sphinx build (about a minute: most of it importing the package for autodoc) into a temporary folder,
notebook execution off (``tests/test_notebooks.py`` executes them), the reproduction report pointed at a
report written here. The checks compare the pages with what this file reads or writes itself: the raw
schema file and its defaults, the module files on disk, the notebooks' titles, and the report's numbers.
The helpers of ``docs/_ext`` are checked on hand-written inputs.
"""

import html
import json
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SCHEMA_FILE = ROOT / "bayes_nsi" / "app" / "schema" / "spec-v1.json"
# Written out here, independently of bayes_nsi.names and the registry.
COUPLINGS = [f"{pair}_{q}" for q in "ud" for pair in ("ee", "emu", "etau", "mumu", "mutau", "tautau")]
DATASETS = ["paired", "us2", "xenonnt"]
REPORT_NUMBER = "0.0123456"  # a number the reproduction report of this test holds, and no page else


def _png(width: int = 2, height: int = 2) -> bytes:
    """A valid grey PNG, written byte by byte (signature, IHDR, IDAT, IEND)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def package_modules() -> list[str]:
    """Dotted names of every module of the package, from the files on disk."""
    modules = []
    for path in (ROOT / "bayes_nsi").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        modules.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return sorted(modules)


@pytest.fixture(scope="module")
def modules() -> list[str]:
    """The package's modules, listed before the site is built (files may appear while it builds)."""
    return package_modules()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, modules: list[str]) -> Path:
    """Build the site once: -W (warnings are errors), --keep-going (report them all), notebooks not run."""
    tmp = tmp_path_factory.mktemp("docs")
    report = tmp / "results" / "paper" / "reproduction.md"
    report.parent.mkdir(parents=True)
    report.write_text(f"# Reproduction of the paper\n\n| entry | difference |\n|---|---|\n"
                      f"| ee_u | {REPORT_NUMBER} |\n\n![Fig. 2](fig2_up.png)\n", encoding="utf-8")
    (report.parent / "fig2_up.png").write_bytes(_png())
    out = tmp / "html"
    env = {**os.environ, "BAYES_NSI_DOCS_EXECUTE": "off"}
    cmd = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q", "-d", str(tmp / "doctrees"),
           "-D", f"reproduction_report={report}", str(DOCS), str(out)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    warnings = "\n".join(line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line)
    assert done.returncode == 0, f"docs build failed (exit {done.returncode}):\n{warnings or done.stderr[-3000:]}"
    return out


def _text(page: Path) -> str:
    """The visible text of a page's article, tags stripped."""
    source = page.read_text(encoding="utf-8")
    article = source[source.find("<article"):source.find("</article>")]
    text = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", article)))
    return text.replace(" ,", ",")


def _spec_rows(page: Path) -> dict[str, dict[str, list[str]]]:
    """Table rows of the spec reference per section id: {section: {key: [type, default, description]}}."""
    source = page.read_text(encoding="utf-8")
    out = {}
    for chunk in re.split(r'<section id="', source)[1:]:
        section = chunk[:chunk.find('"')]
        rows = {}
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", chunk, flags=re.S):
            cells = [html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c))).strip()
                     for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)]
            rows[cells[0].removesuffix(" (required)")] = cells[1:]
        out[section] = rows
    return out


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_spec_reference_has_every_key_and_default_of_the_schema_file(site: Path) -> None:
    raw = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    rows = _spec_rows(site / "spec.html")
    checked = 0
    for key, node in raw["properties"].items():
        section = f"spec-section-{key.replace('_', '-')}"
        assert key in rows["spec-top-level"] or section in rows, key
        if node.get("type") == "object" and node.get("additionalProperties") is False:
            for sub, child in node["properties"].items():
                if "properties" in child:  # an inline table: its keys are dotted
                    for leaf, grandchild in child["properties"].items():
                        checked += _check_row(rows[section], f"{sub}.{leaf}", grandchild)
                elif "$ref" not in child:  # a $ref shared by several keys (priors) is one row <name>
                    checked += _check_row(rows[section], sub, child)
    for name, node in raw["$defs"].items():
        for sub, child in node.get("properties", {}).items():
            checked += _check_row(rows[f"spec-type-{name.replace('_', '-')}"], sub, child)
    assert checked >= 40  # defaults of sampler, diagnostics, smc, figures, profile, contour, ...



def undescribed(node: dict, path: str = "") -> list[str]:
    """Every key of a ``properties`` table, and every shared type, without a "description" (paths dotted).

    The ``if``/``then`` clauses of a type restate its own keys by ``$ref`` to validate combinations: not keys.
    """
    found = []
    for name, child in node.get("$defs", {}).items():
        found += [] if "description" in child else [f"$defs.{name}"]
        found += undescribed(child, f"$defs.{name}")
    for key, child in node.get("properties", {}).items():
        found += [] if "description" in child else [f"{path}.{key}".lstrip(".")]
        found += undescribed(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            found += undescribed(node[key], f"{path}.{key}")
    for i, branch in enumerate(node.get("oneOf", [])):
        found += undescribed(branch, f"{path}.oneOf[{i}]")
    return found


def test_every_key_of_the_schema_file_has_a_description() -> None:
    """The spec reference shows each key's description: the schema file gives one for every key and type."""
    raw = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert undescribed(raw) == []
    # the walk itself finds a missing description at any depth
    raw["properties"]["nuisances"]["properties"]["r_n"]["properties"]["sigma_fm"].pop("description")
    raw["$defs"]["contour"].pop("description")
    assert undescribed(raw) == ["$defs.contour", "nuisances.r_n.sigma_fm"]

def _check_row(rows: dict[str, list[str]], key: str, node: dict) -> int:
    """The key has a row; where the schema file gives a default, the row shows it (1 counts a default)."""
    assert key in rows, key
    if "default" not in node:  # some defaults are filled at load time: not in the file
        return 0
    assert rows[key][1] == json.dumps(node["default"]), key
    return 1


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_spec_reference_names_what_the_code_fills_in(site: Path) -> None:
    """Couplings and data sets are not in the schema file: the page shows them, so it renders the completed schema."""
    rows = _spec_rows(site / "spec.html")
    text = _text(site / "spec.html")
    allowed = "one of " + ", ".join(json.dumps(c) for c in COUPLINGS)
    assert allowed in text
    assert rows["spec-top-level"]["datasets"][1] == json.dumps(DATASETS)
    assert set(rows["spec-datasets"]) == {"name", *DATASETS}
    # US2 has no public acceptance curve: only the paper normalization.
    assert rows["spec-datasets"]["us2"][1] == '"paper"'
    assert rows["spec-section-priors"]["<name>"][2].startswith("name: " + ", ".join(COUPLINGS) + ", default")


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_api_reference_has_a_page_for_every_module(site: Path, modules: list[str]) -> None:
    missing = [m for m in modules if not (site / "api" / f"{m}.html").is_file()]
    assert len(modules) > 40 and not missing


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_notebooks_are_pages(site: Path) -> None:
    notebooks = [p for p in (ROOT / "notebooks").glob("*.py") if p.read_text(encoding="utf-8").startswith("# %%")]
    assert len(notebooks) == 3
    for path in notebooks:
        title = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("# # "))
        assert title.removeprefix("# # ") in _text(site / "notebooks" / f"{path.stem}.html")


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_reproduction_page_embeds_the_report(site: Path) -> None:
    text = _text(site / "reproduction.html")
    assert "Reproduction of the paper" in text and REPORT_NUMBER in text
    assert "did not exist when this copy of the site was built" not in text
    assert any(p.name.startswith("fig2_up") for p in (site / "_images").iterdir())


@pytest.mark.slow  # builds the documentation site (Sphinx, about a minute)
def test_physics_page_has_the_paper_equations(site: Path) -> None:
    text = _text(site / "physics.html")
    for phrase in ("Physics modes", "Acceptance normalization", "typos", r"\Delta m^2_{21}", r"\mathrm{Tr}"):
        assert phrase.lower() in text.lower(), phrase


# -- the helpers of docs/_ext on hand-written inputs ---------------------------------------------------------

sys.path.insert(0, str(DOCS / "_ext"))


def test_bars_are_escaped_outside_literals_and_roles() -> None:
    from plain_docstrings import escape_bars

    assert escape_bars("|V_ek|^2 and ``|a|`` and :func:`f` |b|") == r"\|V_ek\|^2 and ``|a|`` and :func:`f` \|b\|"


def test_lists_get_blank_lines_around_them() -> None:
    from plain_docstrings import separate_lists

    lines = ["Intro:", "- one", "  more of one", "- two", "After.", "", "- three"]
    assert separate_lists(lines) == ["Intro:", "", "- one", "  more of one", "- two", "", "After.", "", "- three"]


def test_reproduction_page_keeps_its_text_without_a_report(tmp_path: Path) -> None:
    from reproduction_page import replace_source

    app = SimpleNamespace(config=SimpleNamespace(reproduction_report=str(tmp_path / "missing.md")), srcdir=DOCS)
    source = ["# Reproduction report\n\nhow to produce it"]
    replace_source(app, "reproduction", source)
    assert source == ["# Reproduction report\n\nhow to produce it"]
