"""Study kinds (coverage, feldman_cousins, sbc) from specs: validation, and a tiny coverage spec through the CLI.

Bad specs live in tests/bad_specs_studies (one per new key or rule); the CLI runs use
tests/study_specs/coverage_tiny.toml (serially, on a two-worker LocalCluster, and on a cluster started
here and reached through ``--scheduler``) and check the counts against a brute-force refit written here.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from bayes_nsi.app.cli import main
from bayes_nsi.app.spec import load_spec
from bayes_nsi.app.typed_spec import load
from bayes_nsi.errors import SpecError

HERE = Path(__file__).parent
REPO = HERE.parent
BAD = HERE / "bad_specs_studies"
TINY = HERE / "study_specs" / "coverage_tiny.toml"
SCHEMA = json.loads((REPO / "bayes_nsi" / "app" / "schema" / "spec-v1.json").read_text())
# workers compile under the repository's (ignored) cache, so a second test run starts warm
COMPILE_ROOT = REPO / ".pytensor" / "dask-workers"

STUDY_KEYS = "workers, scheduler, serial, seed, folder, compile_root, retries"
NAMES = "ee_u, emu_u, etau_u, mumu_u, mutau_u, tautau_u, ee_d, emu_d, etau_d, mumu_d, mutau_d, tautau_d"

# file -> (field path, substrings the message must contain)
EXPECTED = {
    "study_workers_zero.toml": ("study.workers", ["0 is not allowed", "allowed: integer >= 1"]),
    "study_scheduler_number.toml": ("study.scheduler", ["expected string, got integer 8786", "allowed: string"]),
    "study_serial_string.toml": ("study.serial", ['expected boolean, got string "yes"', "allowed: true or false"]),
    "study_seed_negative.toml": ("study.seed", ["-1 is not allowed", "allowed: integer >= 0"]),
    "study_folder_number.toml": ("study.folder", ["expected string, got integer 3", "allowed: string"]),
    "study_compile_root_bool.toml": ("study.compile_root", ["expected string, got boolean true", "allowed: string"]),
    "study_retries_negative.toml": ("study.retries", ["-1 is not allowed", "allowed: integer >= 0"]),
    "study_unknown_key.toml": ("study.threads", ["unknown key", f"allowed: {STUDY_KEYS}"]),
    "study_serial_and_scheduler.toml": ("study.serial", ['true together with study.scheduler = "tcp://127.0.0.1:8786"',
                                                         "allowed: serial = false with a scheduler"]),
    "study_wrong_kind.toml": ("study", ['not used by kind "frequentist"',
                                        'allowed: kind = "coverage" or "feldman_cousins" or "sbc"']),
    "coverage_without_profile.toml": ("profile", ['kind "coverage" needs [profile]',
                                                  "allowed: [profile] with keys couplings, range, points, levels"]),
    "coverage_toys_zero.toml": ("coverage.toys", ["0 is not allowed", "allowed: integer >= 1"]),
    "coverage_toys_per_task_zero.toml": ("coverage.toys_per_task", ["0 is not allowed", "allowed: integer >= 1"]),
    "coverage_true_range_outside.toml": ("coverage.true_range", ["[-1.5, 0.5] reaches outside profile.range",
                                                                 "allowed: [lo, hi] inside [-1.0, 1.0]"]),
    "coverage_true_range_reversed.toml": ("coverage.true_range", ["lower end 0.5 is not below upper end -0.5",
                                                                  "lo < hi"]),
    "coverage_true_points_one.toml": ("coverage.true_points", ["1 is not allowed", "allowed: integer >= 2"]),
    "coverage_fit_points_few.toml": ("coverage.fit_points", ["5 is not allowed", "allowed: integer >= 11"]),
    "coverage_split_normal.toml": ("likelihood.xenonnt", ['"split_normal" is not supported by kind "coverage"',
                                                          "allowed: gaussian, poisson_counting"]),
    "coverage_mixed_likelihoods.toml": ("likelihood", ['paired = "poisson_counting", xenonnt = "gaussian" mix',
                                                       "allowed: one likelihood for every data set"]),
    "fc_binned_section.toml": ("binned", ['not used by kind "feldman_cousins"', 'or "coverage"']),
    "coverage_exposure_override.toml": ("measurements.paired.exposure_tonne_year", ['not used by kind "coverage"',
                                                                                   "allowed: value, sigma"]),
    "coverage_section_in_fc.toml": ("coverage", ['not used by kind "feldman_cousins"', 'allowed: kind = "coverage"']),
    "fc_toys_few.toml": ("feldman_cousins.toys", ["50 is not allowed", "allowed: integer >= 100"]),
    "fc_grid_points_few.toml": ("feldman_cousins.grid_points", ["5 is not allowed", "allowed: integer >= 11"]),
    "fc_fit_points_few.toml": ("feldman_cousins.fit_points", ["3 is not allowed", "allowed: integer >= 11"]),
    "sbc_without_priors.toml": ("priors", ['kind "sbc" needs at least one [priors.<coupling>]', f"allowed: {NAMES}"]),
    "sbc_default_prior.toml": ("priors.default", ['not used by kind "sbc"', "allowed: one [priors.<coupling>]"]),
    "sbc_simulations_zero.toml": ("sbc.simulations", ["0 is not allowed", "allowed: integer >= 1"]),
    "sbc_sims_per_task_zero.toml": ("sbc.sims_per_task", ["0 is not allowed", "allowed: integer >= 1"]),
    "sbc_draws_few.toml": ("sbc.draws", ["5 is not allowed", "allowed: integer >= 10"]),
    "sbc_tune_negative.toml": ("sbc.tune", ["-1 is not allowed", "allowed: integer >= 0"]),
    "sbc_chains_zero.toml": ("sbc.chains", ["0 is not allowed", "allowed: integer >= 1"]),
    "sbc_thin_not_dividing.toml": ("sbc.thin", ["3 does not divide sbc.draws = 200",
                                                "allowed: a divisor of sbc.draws"]),
    "sbc_target_accept_one.toml": ("sbc.target_accept", ["1.0 is not allowed", "allowed: number in (0, 1)"]),
    "sbc_low_rank_string.toml": ("sbc.low_rank_mass_matrix", ['expected boolean, got string "no"',
                                                              "allowed: true or false"]),
    "sbc_poisson_counting.toml": ("likelihood.paired", ['"poisson_counting" is not supported by kind "sbc"',
                                                        "allowed: gaussian, split_normal"]),
    "sbc_sampler_section.toml": ("sampler", ['not used by kind "sbc"', 'allowed: kind = "posterior"']),
}
BAD_FILES = sorted(path.name for path in BAD.glob("*.toml"))


def test_every_bad_study_spec_has_an_expectation_and_back():
    assert set(BAD_FILES) == set(EXPECTED)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_study_spec_gives_one_line_naming_field_and_allowed(name, capsys):
    path = BAD / name
    field, parts = EXPECTED[name]
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{path}: {field}: ") and "; allowed: " in message
    assert all(part in message for part in parts), message
    assert main(["validate", str(path)]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"


STUDY_SPECS = ("coverage", "coverage_counting", "feldman_cousins", "sbc_all12")


@pytest.mark.parametrize("spec", STUDY_SPECS)
def test_shipped_study_specs_validate(spec):
    typed = load(REPO / "models" / f"{spec}.toml")
    assert typed.kind == spec.removesuffix("_all12").removesuffix("_counting") and typed.study is not None
    assert typed.seed == typed.study.seed  # the study seed is the run's seed (manifest)


def test_shipped_study_specs_are_listed_with_their_kind(tmp_path, capsys):
    for spec in STUDY_SPECS:
        shutil.copy(REPO / "models" / f"{spec}.toml", tmp_path)
    assert main(["list", str(tmp_path)]) == 0
    kinds = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()}
    assert kinds == {"coverage.toml": "coverage", "coverage_counting.toml": "coverage",
                     "feldman_cousins.toml": "feldman_cousins", "sbc_all12.toml": "sbc"}


def test_study_defaults_are_the_schema_file_defaults(tmp_path):
    """A minimal coverage spec gets the defaults written in the schema file (read here as plain JSON)."""
    path = tmp_path / "minimal.toml"
    path.write_text('schema_version = 1\nkind = "coverage"\n\n[profile]\ncouplings = ["ee_u"]\nrange = [-1.0, 1.0]\n')
    spec = load(path)
    study, coverage = SCHEMA["properties"]["study"]["properties"], SCHEMA["properties"]["coverage"]["properties"]
    assert (spec.study.workers, spec.study.serial, spec.study.seed, spec.study.retries) == tuple(
        study[k]["default"] for k in ("workers", "serial", "seed", "retries"))
    assert spec.study.scheduler is None and spec.study.folder is None and spec.study.compile_root is None
    assert (spec.coverage.toys, spec.coverage.toys_per_task, list(spec.coverage.true_range), spec.coverage.true_points,
            spec.coverage.fit_points, spec.coverage.binned_fit_points) == tuple(coverage[k]["default"] for k in (
                "toys", "toys_per_task", "true_range", "true_points", "fit_points", "binned_fit_points"))


def test_task_folder_defaults_beside_the_result_folder_and_scheduler_overrides(tmp_path):
    settings = load(TINY).study
    assert settings.serial and settings.scheduler is None
    run = settings.for_run(tmp_path / "out" / "cov")
    assert run.folder == os.path.join(str(tmp_path / "out"), ".cov.tasks") and run.serial
    remote = settings.for_run(tmp_path / "cov", "tcp://10.1.2.3:8786")
    assert remote.scheduler == "tcp://10.1.2.3:8786" and not remote.serial
    assert remote.folder == os.path.join(str(tmp_path), ".cov.tasks")
    # remote workers write the task files: a relative result folder gives an absolute task folder
    assert settings.for_run(Path("results/cov")).folder == os.path.join(os.getcwd(), "results", ".cov.tasks")


def test_scheduler_option_is_refused_for_other_kinds(capsys):
    assert main(["run", str(HERE / "good_specs" / "frequentist.toml"), "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler: not used by kind 'frequentist'" in capsys.readouterr().err


def test_posterior_sbc_recipe_names_and_refuses_counting_terms():
    from bayes_nsi.inference.priors import Nuisances, Prior
    from bayes_nsi.inference.studies.posterior_sbc import PosteriorSBC

    flat = Prior.uniform(-1.0, 1.0)
    recipe = PosteriorSBC(("a", "b"), (), (), (("ee_u", flat), ("mumu_d", flat)),
                          Nuisances(flux_8b="b16", acceptance_scale_sigma=0.1), draws=100, chains=3, thin=4)
    assert recipe.names == ("ee_u", "mumu_d", "flux_8b", "acceptance_scale[a]", "acceptance_scale[b]")
    assert recipe.n_draws == 3 * 100 // 4
    with pytest.raises(ValueError, match="likelihood.b: 'poisson_counting'.*allowed: gaussian, split_normal"):
        PosteriorSBC(("a", "b"), (), (("b", "poisson_counting"),), (("ee_u", flat),), Nuisances())
    with pytest.raises(ValueError, match="thin: 3 must divide draws = 100"):
        PosteriorSBC(("a",), (), (), (("ee_u", flat),), Nuisances(), draws=100, thin=3)


# -- the tiny coverage spec through the CLI ----------------------------------------------------------


def task_arrays(out: Path) -> dict[str, dict[str, np.ndarray]]:
    """Every task file of a run (its folder beside ``out``), by file name."""
    manifest = json.loads((out / "manifest.json").read_text())
    tasks = Path(manifest["study"]["folder"]) / "tasks"
    return {p.name: dict(np.load(p)) for p in sorted(tasks.glob("task-*.npz"))}


def same_tasks(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(a[n].keys() == b[n].keys() and all(np.array_equal(a[n][k], b[n][k])
                                                                            for k in a[n]) for n in a)


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "cov"
    assert main(["run", str(TINY), "--out", str(out), "--quiet"]) == 0
    return out


def test_tiny_coverage_counts_match_a_brute_force_refit(serial_run):
    """Each toy redrawn here from its task seed and refitted on a 20001-point grid: same covered counts.

    Toys of task i: model i // 9 (ee_u on paired, xenonnt, combined), true value (i % 9) // 3, 20 toys,
    x = N(eps_true) + sigma * standard_normal(20, n_columns) from default_rng(task_seed(3, i)).
    """
    from bayes_nsi.inference.observations import observations
    from bayes_nsi.inference.scans import Chi2Scanner
    from bayes_nsi.inference.studies.store import task_seed

    result = json.loads((serial_run / "coverage.json").read_text())
    assert result["acceptance"] == "paper" and result["physics"] == "paper" and result["keys"] == [
        "paired", "xenonnt", "combined"]
    obs = observations(("paired", "xenonnt"))
    sigma = np.array([t.sigma for t in obs.terms])
    scanner = Chi2Scanner.for_data(obs, "paper", "paper")
    grid = np.linspace(-1.0, 1.0, 20001)
    eps = np.zeros((len(grid), 12))
    eps[:, 0] = grid
    on_grid = scanner.events(eps)
    truths = [-0.5, 0.0, 0.5]
    covered = np.zeros((3, 3, 2), int)  # key, true value, level
    for i in range(27):
        m, t = i // 9, (i % 9) // 3
        cols = [[0], [1], [0, 1]][m]
        at = np.zeros((1, 12))
        at[0, 0] = truths[t]
        mean = scanner.events(at)[0, cols]
        x = mean + sigma[cols] * np.random.default_rng(task_seed(3, i)).standard_normal((20, len(cols)))
        chi2_truth = (((x - mean) / sigma[cols]) ** 2).sum(1)
        chi2_min = np.array([((((row - on_grid[:, cols]) / sigma[cols]) ** 2).sum(1)).min() for row in x])
        delta = chi2_truth - np.minimum(chi2_min, chi2_truth)
        covered[m, t] += np.stack([delta <= 1.0, delta <= 4.0], axis=1).sum(0)
    for m, key in enumerate(("paired", "xenonnt", "combined")):
        cov = result["coverage"]["ee_u"][key]
        assert cov["theta_true"] == truths and cov["n_toys"] == 60
        for j, level in enumerate(("1", "4")):
            assert np.array_equal(np.round(np.array(cov["levels"][level]["fraction"]) * 60), covered[m, :, j])


def test_rerun_computes_only_the_missing_task_files(serial_run, tmp_path):
    """Five task files removed (as if the run had been stopped): the rerun computes those five, reuses the rest."""
    out = tmp_path / "cov"
    shutil.copytree(serial_run.parent / f".{serial_run.name}.tasks", tmp_path / ".cov.tasks")
    removed = sorted((tmp_path / ".cov.tasks").glob("*/tasks/task-*.npz"))[::6]
    for path in removed:
        path.unlink()
    assert main(["run", str(TINY), "--out", str(out), "--quiet"]) == 0
    study = json.loads((out / "manifest.json").read_text())["study"]
    assert (study["computed"], study["reused"]) == (len(removed), 27 - len(removed)) == (5, 22)
    assert same_tasks(task_arrays(out), task_arrays(serial_run))
    assert (out / "coverage.json").read_text() == (serial_run / "coverage.json").read_text()


@pytest.mark.slow
def test_two_workers_give_the_serial_task_files(serial_run, tmp_path):
    """Two workers compiling into empty directories (each compiles its model in process, whatever the state of its
    cache) write the serial, warm run's task files bit for bit."""
    spec = tmp_path / "tiny_dask.toml"
    text = TINY.read_text().replace("serial = true", f'workers = 2\ncompile_root = "{tmp_path / "workers"}"')
    spec.write_text(text)
    out = tmp_path / "cov"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"]["worker_threads"] == 2 and manifest["study"]["computed"] == 27
    assert manifest["study"]["spec_hash"] == json.loads((serial_run / "manifest.json").read_text())["study"][
        "spec_hash"]
    assert same_tasks(task_arrays(out), task_arrays(serial_run))
    assert (out / "coverage.json").read_text() == (serial_run / "coverage.json").read_text()


@pytest.mark.slow
def test_scheduler_option_reaches_a_running_cluster(serial_run, tmp_path):
    """--scheduler overrides the spec's serial = true: the tasks run on the one-worker cluster started here."""
    from distributed import Client, LocalCluster

    spec = tmp_path / "tiny_remote.toml"
    spec.write_text(TINY.read_text().replace("[study]", f'[study]\ncompile_root = "{COMPILE_ROOT}"'))
    out = tmp_path / "cov"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        assert main(["run", str(spec), "--out", str(out), "--quiet", "--scheduler", cluster.scheduler_address]) == 0
        with Client(cluster) as client:
            plugins = client.run(lambda dask_worker: sorted(dask_worker.plugins))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["study"]["ran"] == f"on the dask scheduler at {cluster.scheduler_address}"
    assert manifest["study"]["worker_threads"] == 1 and manifest["study"]["computed"] == 27
    assert [p for names in plugins.values() for p in names if p.startswith("bayes_nsi")] == ["bayes_nsi-compile-dir"]
    assert same_tasks(task_arrays(out), task_arrays(serial_run))


@pytest.mark.slow
def test_counting_and_binned_coverage_through_the_cli(tmp_path):
    """The counting keys' covered counts equal toys redrawn here from the task seeds and refitted on a
    20001-point grid; the binned key is labelled and counted like the others.

    Tasks: model i // 4 (ee_u on paired, xenonnt, combined, xenonnt_sr012), true value (i % 4) // 2, 3 toys each;
    a counting toy draws the counts, then the backgrounds' auxiliary measurements, from default_rng(task_seed(4, i)).
    """
    from bayes_nsi.inference.likelihoods import poisson_counting_chi2, split_normal_random
    from bayes_nsi.inference.observations import observations
    from bayes_nsi.inference.scans import Chi2Scanner
    from bayes_nsi.inference.studies.store import task_seed

    spec = HERE / "study_specs" / "coverage_counting_tiny.toml"
    out = tmp_path / "cov"
    assert main(["run", str(spec), "--out", str(out), "--quiet"]) == 0
    result = json.loads((out / "coverage.json").read_text())
    keys = ["paired", "xenonnt", "combined", "xenonnt_sr012"]
    assert result["keys"] == keys and result["binned"] == ["xenonnt_sr012"]
    assert result["likelihood"]["xenonnt_sr012"].startswith("binned_poisson")
    assert all(result["likelihood"][k].startswith("poisson_counting") for k in keys[:3])
    assert json.loads((out / "manifest.json").read_text())["study"]["computed"] == 16

    obs = observations(("paired", "xenonnt"), likelihoods={"paired": "poisson_counting", "xenonnt": "poisson_counting"})
    terms = obs.terms
    scanner = Chi2Scanner.for_data(obs, "paper", "paper")
    eps = np.zeros((20001, 12))
    eps[:, 0] = np.linspace(-1.0, 1.0, 20001)
    on_grid = scanner.events(eps)
    truths = [-0.5, 0.5]
    covered = np.zeros((3, 2, 2), int)  # key, true value, level
    for i in range(12):
        m, t = i // 4, (i % 4) // 2
        cols = [[0], [1], [0, 1]][m]
        at = np.zeros((1, 12))
        at[0, 0] = truths[t]
        signal = scanner.events(at)[0, cols]
        b = np.array([terms[c].background for c in cols])
        up, down = np.array([terms[c].sigma_up for c in cols]), np.array([terms[c].sigma_down for c in cols])
        rng = np.random.default_rng(task_seed(4, i))
        counts = rng.poisson(signal + b, size=(3, len(cols)))
        aux = split_normal_random(b, up, down, rng=rng, size=(3, len(cols)))
        for n, a in zip(counts, aux, strict=True):
            at_truth = poisson_counting_chi2(signal, n, a, up, down).sum(-1)
            best = poisson_counting_chi2(on_grid[:, cols], n, a, up, down).sum(-1).min()
            delta = at_truth - min(best, at_truth)
            covered[m, t] += [delta <= 1.0, delta <= 4.0]
    for m, key in enumerate(keys[:3]):
        cov = result["coverage"]["ee_u"][key]
        for j, level in enumerate(("1", "4")):
            assert np.array_equal(np.round(np.array(cov["levels"][level]["fraction"]) * 6), covered[m, :, j])
    binned = result["coverage"]["ee_u"]["xenonnt_sr012"]
    assert binned["n_toys"] == 6 and all(0 <= f <= 1 for f in binned["levels"]["1"]["fraction"])
