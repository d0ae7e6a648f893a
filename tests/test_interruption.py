"""A real run killed mid-way (SIGINT, SIGTERM, SIGKILL) never damages the previous results."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SPEC = """schema_version = 1
kind = "frequentist"
datasets = ["paired", "us2", "xenonnt"]
[profile]
couplings = "all"
range = [-1.0, 1.0]
points = 801
[[contours]]
x = "ee_u"
y = "ee_d"
x_range = [-1.0, 1.0]
y_range = [-1.0, 1.0]
points = 301
[figures]
enabled = true
"""


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def previous(tmp_path_factory):
    root = tmp_path_factory.mktemp("interrupt")
    spec = root / "spec.toml"
    spec.write_text(SPEC)
    out = root / "results"
    cli = Path(sys.executable).parent / "bayes-nsi"
    subprocess.run([str(cli), "run", str(spec), "--out", str(out)], check=True, capture_output=True)
    return cli, spec, out


def default_sigint() -> None:
    """A child of a background job inherits an ignored SIGINT; restore the default so Ctrl-C applies."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["int", "term", "kill"])
def test_killed_run_leaves_previous_results(previous, sig):
    cli, spec, out = previous
    before = snapshot(out)
    proc = subprocess.Popen([str(cli), "run", str(spec), "--out", str(out)], stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_sigint)
    assert "running the frequentist analysis" in proc.stderr.readline()  # the runner has started
    partial = out.parent / f".{out.name}.partial-{proc.pid}"
    deadline = time.time() + 60
    while not any(partial.glob("*")) and time.time() < deadline:  # first files written, run not finished
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be interrupted"
    os.kill(proc.pid, sig)
    code = proc.wait(timeout=120)
    assert snapshot(out) == before
    if sig == signal.SIGKILL:
        assert code == -signal.SIGKILL and partial.exists()  # nothing can clean up after SIGKILL ...
        from bayes_nsi.app.results import atomic_result_dir

        with pytest.raises(RuntimeError), atomic_result_dir(out):  # the next run of the same result ...
            assert not partial.exists()  # ... has removed the stale partial folder
            raise RuntimeError("abort: keep the previous results")
        assert snapshot(out) == before
    else:
        assert code == 130
        assert not partial.exists()
