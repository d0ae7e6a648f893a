"""The CLI and result writing: exit codes, atomic result folders, manifest, table and figure helpers."""

import json
import os
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from bayes_nsi.app import results
from bayes_nsi.app import runners as analyses
from bayes_nsi.app.cli import main
from bayes_nsi.app.results import atomic_result_dir, save_figure, write_csv, write_json, write_manifest
from bayes_nsi.app.spec import load_spec
from bayes_nsi.app.typed_spec import load
from bayes_nsi.errors import DiagnosticsFailed

HERE = Path(__file__).parent
GOOD_SPEC = HERE / "good_specs" / "frequentist.toml"
BAD_SPEC = HERE / "bad_specs" / "unknown_kind.toml"
MANIFEST_KEYS = {"package", "version", "versions", "kind", "acceptance", "seed", "timings", "created_utc", "spec"}


def fake_runner(content: str, failure: BaseException | None = None):
    """A runner that writes a table and a log line, then raises ``failure`` (if any) half-way."""

    def run(spec, out, log):
        (out / "table.csv").write_text(content)
        log("half-way")
        if failure is not None:
            raise failure
        (out / "done.txt").write_text("complete")
        return {"timings": {"scan_s": 0.25}, "points": spec.profile.points}

    return run


@pytest.fixture
def use_runner(monkeypatch):
    def install(runner):
        monkeypatch.setattr(analyses, "get_runner", lambda kind: runner)

    return install


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_successful_run_writes_results_and_manifest(tmp_path, use_runner, capsys):
    use_runner(fake_runner("good"))
    out = tmp_path / "results" / "freq"
    assert main(["run", str(GOOD_SPEC), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"results written to {out}\n"
    assert "half-way" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["done.txt", "manifest.json", "table.csv"]
    assert os.listdir(out.parent) == ["freq"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert MANIFEST_KEYS | {"points", "spec_file", "physics"} == set(manifest)
    assert manifest["version"] == metadata.version("bayes_nsi")
    assert {"python", "numpy", "jsonschema"} <= set(manifest["versions"])
    assert manifest["spec"] == load_spec(GOOD_SPEC)
    assert (manifest["kind"], manifest["acceptance"], manifest["seed"]) == ("frequentist", "paper", None)
    assert manifest["timings"]["scan_s"] == 0.25 and manifest["timings"]["total_wall_s"] >= 0
    assert manifest["points"] == 2001 and manifest["spec_file"] == str(GOOD_SPEC)
    assert manifest["physics"] == manifest["spec"]["physics"] == load(GOOD_SPEC).physics  # the rate formula used


def test_quiet_run_prints_only_the_destination(tmp_path, use_runner, capsys):
    use_runner(fake_runner("good"))
    out = tmp_path / "freq"
    assert main(["run", str(GOOD_SPEC), "--out", str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out == f"results written to {out}\n"


def test_default_result_folder_is_results_slash_stem(tmp_path, use_runner, monkeypatch):
    use_runner(fake_runner("good"))
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(GOOD_SPEC), "--quiet"]) == 0
    assert (tmp_path / "results" / "frequentist" / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (RuntimeError("boom"), 1, "RuntimeError: boom"),
        (KeyboardInterrupt(), 130, "interrupted; previous results left intact"),
        (DiagnosticsFailed("r_hat 1.2 > 1.01 for ee_u"), 3, "error: diagnostics failed: r_hat 1.2 > 1.01 for ee_u"),
    ],
)
def test_failed_run_keeps_previous_results(tmp_path, use_runner, capsys, failure, code, message):
    out = tmp_path / "results" / "freq"
    use_runner(fake_runner("good"))
    assert main(["run", str(GOOD_SPEC), "--out", str(out)]) == 0
    before = snapshot(out)
    use_runner(fake_runner("half-written", failure))
    capsys.readouterr()
    assert main(["run", str(GOOD_SPEC), "--out", str(out)]) == code
    assert message in capsys.readouterr().err
    assert os.listdir(out.parent) == ["freq"]
    assert snapshot(out) == before


@pytest.mark.parametrize(
    ("failure", "code"),
    [(RuntimeError("boom"), 1), (KeyboardInterrupt(), 130), (DiagnosticsFailed("ess too low"), 3)],
)
def test_failed_first_run_leaves_no_folder(tmp_path, use_runner, failure, code):
    use_runner(fake_runner("half-written", failure))
    out = tmp_path / "results" / "freq"
    assert main(["run", str(GOOD_SPEC), "--out", str(out), "--quiet"]) == code
    assert os.listdir(out.parent) == []


def test_bad_spec_stops_before_any_runner(tmp_path, monkeypatch, capsys):
    def no_runner(kind):
        raise AssertionError("the runner must not be looked up for an invalid spec")

    monkeypatch.setattr(analyses, "get_runner", no_runner)
    out = tmp_path / "out"
    assert main(["run", str(BAD_SPEC), "--out", str(out)]) == 2
    assert capsys.readouterr().err.startswith(f"error: {BAD_SPEC}: kind: ")
    assert not tmp_path.joinpath("out").exists()


def test_bad_spec_run_imports_no_pytensor_or_pymc():
    code = (
        "import sys; from bayes_nsi.app.cli import main; code = main(['run', sys.argv[1]]); "
        "loaded = [m for m in ('pytensor', 'pymc', 'arviz') if m in sys.modules]; "
        "print(','.join(loaded)); sys.exit(code)"
    )
    done = subprocess.run([sys.executable, "-c", code, str(BAD_SPEC)], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stdout.strip() == "", f"imported before validation: {done.stdout.strip()}"


def test_list_shows_kind_and_description(tmp_path, capsys):
    assert main(["list", str(HERE / "good_specs")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert any("frequentist" in line and "One-coupling profile of ee_u" in line for line in lines)
    shutil.copy(GOOD_SPEC, tmp_path / "good.toml")
    shutil.copy(BAD_SPEC, tmp_path / "bad.toml")
    assert main(["list", str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "bad.toml   INVALID      kind: " in out
    assert "good.toml  frequentist  One-coupling profile of ee_u" in out


def test_atomic_dir_restores_old_results_when_the_final_rename_fails(tmp_path, monkeypatch):
    final = tmp_path / "res"
    final.mkdir()
    (final / "old.txt").write_text("old")
    real_rename = os.rename

    def failing_rename(src, dst):
        if ".partial-" in str(src):
            raise OSError("disk gone")
        real_rename(src, dst)

    monkeypatch.setattr(results.os, "rename", failing_rename)
    monkeypatch.setattr(results, "_exchange", lambda a, b: False)  # the fallback path of systems without exchange
    with pytest.raises(OSError, match="disk gone"), atomic_result_dir(final) as partial:
        (partial / "new.txt").write_text("new")
    assert os.listdir(tmp_path) == ["res"]
    assert snapshot(final) == {"old.txt": b"old"}


def test_atomic_dir_replaces_old_results(tmp_path):
    final = tmp_path / "res"
    final.mkdir()
    (final / "old.txt").write_text("old")
    with atomic_result_dir(final) as partial:
        assert partial.name == f".res.partial-{os.getpid()}"
        (partial / "new.txt").write_text("new")
    assert os.listdir(tmp_path) == ["res"]
    assert snapshot(final) == {"new.txt": b"new"}


def test_write_json_converts_numpy_and_refuses_nan(tmp_path):
    path = tmp_path / "t.json"
    write_json(path, {"a": np.float32(0.5), "b": np.arange(3), "c": np.int64(7), "d": np.bool_(True), "p": tmp_path})
    assert json.loads(path.read_text()) == {"a": 0.5, "b": [0, 1, 2], "c": 7, "d": True, "p": str(tmp_path)}
    with pytest.raises(ValueError, match="NaN"):
        write_json(path, {"x": np.array([1.0, np.nan])})
    with pytest.raises(ValueError, match="NaN"):
        write_json(path, {"x": float("inf")})


def test_write_csv_and_save_figure(tmp_path):
    write_csv(tmp_path / "t.csv", ["coupling", "lo", "hi"], [("ee_u", -0.5, 0.25)])
    assert (tmp_path / "t.csv").read_bytes() == b"coupling,lo,hi\nee_u,-0.5,0.25\n"
    from matplotlib.figure import Figure

    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    save_figure(fig, tmp_path, "fig1")
    assert (tmp_path / "fig1.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "fig1.pdf").read_bytes()[:4] == b"%PDF"


def test_manifest_extra_may_repeat_but_not_contradict(tmp_path):
    write_manifest(tmp_path, {}, "frequentist", "paper", 1, {}, {"acceptance": "paper", "note": "x"})
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert (manifest["acceptance"], manifest["note"]) == ("paper", "x")
    with pytest.raises(ValueError, match="seed"):
        write_manifest(tmp_path, {}, "frequentist", "paper", 1, {}, {"seed": 2})
