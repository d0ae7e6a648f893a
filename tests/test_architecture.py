"""The layout's dependency direction: physics <- experiments <- inference <- app (imports only go left),
names.py and errors.py depend on nothing, and no data set is named outside its own module and tables."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bayes_nsi"
LAYERS = ("physics", "experiments", "inference", "app")
LEAVES = ("names", "errors", "markdown")


def imported_modules(path: Path) -> set[str]:
    """Every bayes_nsi module a file imports (absolute or relative, at any depth of the code)."""
    tree = ast.parse(path.read_text())
    package = ["bayes_nsi", *path.relative_to(PACKAGE).parent.parts]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("bayes_nsi")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            if base.startswith("bayes_nsi"):
                found.add(base)
                found |= {f"{base}.{a.name}" for a in node.names}
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_down_the_layers(path):
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    for module in imported_modules(path):
        target = layer_of(module)
        if own in LEAVES:
            assert target is None or target in LEAVES and target == own, f"{path.name} imports {module}"
            continue
        if own not in LAYERS or target not in LAYERS:
            continue
        assert LAYERS.index(target) <= LAYERS.index(own), f"{path.relative_to(PACKAGE)} imports {module}"


def test_the_checker_sees_a_violation(tmp_path):
    """The checker itself: a physics module importing the inference layer is caught."""
    fake = PACKAGE / "physics" / "_fake_for_test.py"
    fake.write_text("from bayes_nsi.inference import scans\nfrom ..app import cli\n")
    try:
        found = imported_modules(fake)
    finally:
        fake.unlink()
    assert {"bayes_nsi.inference", "bayes_nsi.app"} <= {".".join(m.split(".")[:2]) for m in found}
    assert any(LAYERS.index(layer_of(m)) > LAYERS.index("physics") for m in found)


def test_no_data_set_is_named_outside_its_module():
    """The shipped data sets' names appear only in the experiments layer's data-set modules."""
    from bayes_nsi.experiments.registry import REGISTRY

    allowed = {"paired.py", "us2.py", "xenonnt.py", "pandax4t.py", "xenonnt_release.py"}
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.name in allowed:
            continue
        text = path.read_text()
        offenders += [f"{path.relative_to(PACKAGE)}: {name}" for name in REGISTRY if f'"{name}"' in text
                      or f"'{name}'" in text]
    assert not offenders, offenders
