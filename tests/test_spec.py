"""The spec layer: each bad spec stops with one line naming the field and the allowed values."""

import copy
import subprocess
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from bayes_nsi.app.cli import main
from bayes_nsi.app.spec import KINDS, SCHEMA_FILE, hypothesis_couplings, load_spec, schema, validate_spec
from bayes_nsi.errors import SpecError

HERE = Path(__file__).parent
BAD = HERE / "bad_specs"
GOOD = HERE / "good_specs"

NAMES = "ee_u, emu_u, etau_u, mumu_u, mutau_u, tautau_u, ee_d, emu_d, etau_d, mumu_d, mutau_d, tautau_d"

# file -> (field path, substrings the message must contain). A bad spec without an entry fails the test.
EXPECTED = {
    "unknown_top_key.toml": ("colour", ["unknown key", "allowed: schema_version, name, description, kind,"]),
    "unknown_section_key.toml": ("profile.npoints", ["unknown key", "allowed: couplings, range, points, levels"]),
    "unknown_coupling_prior.toml": ("priors.ee_s", ["unknown key", f"allowed: {NAMES}, default"]),
    "unknown_coupling_profile.toml": ("profile.couplings[1]", ['"ee_q" is not allowed', f"allowed: {NAMES}"]),
    "unknown_coupling_contour.toml": ("contours[1].x", ['"eu_u" is not allowed', f"allowed: {NAMES}"]),
    "unknown_dataset.toml": ("datasets[1]", ['"lz" is not allowed', "allowed: paired, us2, xenonnt"]),
    "reversed_range.toml": ("profile.range", ["lower end 1.0 is not below upper end -1.0", "lo < hi", "[-10, 10]"]),
    "empty_range.toml": ("contours[0].y_range", ["lower end 0.2 is not below upper end 0.2", "lo < hi"]),
    "nonpositive_exposure.toml": (
        "measurements.xenonnt.exposure_tonne_year",
        ["0 is not allowed", "allowed: number > 0"],
    ),
    "nonpositive_sigma.toml": ("priors.ee_u.sigma", ["-0.1 is not allowed", "allowed: number > 0"]),
    "unknown_dist.toml": ("priors.ee_u.dist", ['"cauchy"', "allowed: uniform, normal, truncated_normal"]),
    "unknown_kind.toml": ("kind", ['"bootstrap"', "allowed: frequentist, posterior, compare, projection"]),
    "section_wrong_kind.toml": ("sampler", ['not used by kind "frequentist"', 'allowed: kind = "posterior"']),
    "published_us2.toml": (
        "acceptance",
        ['"published"', '"us2" in datasets', 'acceptance = "paper"', "paired, xenonnt"],
    ),
    "bad_hypothesis.toml": ("compare.hypotheses[1]", ['unknown coupling "ee_x" in "ee_u+ee_x"', "sm, all12", NAMES]),
    "wrong_type.toml": ("profile.points", ['expected integer, got string "2001"', "allowed: integer >= 11"]),
    "malformed.toml": ("(file)", ["malformed TOML", "line 2", "allowed: TOML"]),
    "missing_kind.toml": ("kind", ["missing", "allowed: frequentist, posterior, compare, projection"]),
    "wrong_schema_version.toml": ("schema_version", ["2 is not allowed", "allowed: 1"]),
    "float_for_integer.toml": ("profile.points", ["expected integer, got number 2001.0", "integer >= 11"]),
    "nan_value.toml": ("measurements.paired.value", ["NaN is not a finite number", "allowed: number >= 0"]),
    "range_out_of_bounds.toml": ("profile.range[0]", ["-20.0 is not allowed", "allowed: number in [-10, 10]"]),
    "couplings_wrong_shape.toml": ("profile.couplings", ["none of the allowed forms", 'allowed: "all" or array']),
    "prior_key_wrong_dist.toml": (
        "priors.ee_u.sigma",
        ['unknown key for dist "uniform"', "allowed: dist, lower, upper"],
    ),
    "prior_missing_key.toml": ("priors.ee_u.sigma", ['missing for dist "truncated_normal"', "allowed: number > 0"]),
    "prior_reversed.toml": ("priors.ee_u.lower", ["1.0 is not below upper = -1.0", "allowed: lower < upper"]),
    "constraints_gaussian_counting.toml": (
        "likelihood.us2",
        ['"gaussian": kind constraints', "allowed: poisson_counting"],
    ),
    "constraints_even_points.toml": ("constraints.bayes_factor_points", ["80 is even", "an odd number >= 5"]),
    "constraints_without_binned_group.toml": (
        "constraints.binned",
        ['"xenonnt_sr012" replaces "xenonnt", which is not in datasets', "xenonnt_sr01, xenonnt_sr012"],
    ),
    "posterior_only_default_prior.toml": ("priors", ["at least one [priors.<coupling>]", f"allowed: {NAMES}"]),
    "posterior_default_prior.toml": ("priors.default", ["not used by kind", "allowed: one [priors.<coupling>]"]),
    "frequentist_without_scan.toml": ("profile", ["needs [profile] or [[contours]]", "[[contours]] with keys x, y"]),
    "projection_without_factors_section.toml": ("projection", ["needs [projection]", "with keys factors"]),
    "contour_same_axes.toml": ("contours[0].y", ["same coupling as contours[0].x", "allowed: emu_u,"]),
    "measurement_unused_dataset.toml": ("measurements.paired", ['"paired" is not in datasets', "allowed: xenonnt"]),
    "compare_missing_prior.toml": ("priors.ee_d", ["compare.hypotheses[2]", "[priors.ee_d] or [priors.default]"]),
    "duplicate_hypothesis.toml": ("compare.hypotheses[1]", ["same couplings as compare.hypotheses[0]"]),
    "quadrature_three_couplings.toml": ("priors", ['3 couplings with sampler.engine = "quadrature"',
                                                   "allowed: 1 or 2 [priors.<coupling>] tables"]),
    "quadrature_r_n_nuisance.toml": ("nuisances.r_n", ['not integrated by sampler.engine = "quadrature"',
                                                       "allowed: [nuisances.flux_8b] only"]),
    "quadrature_nuts_setting.toml": ("sampler.target_accept", ["a NUTS setting", "allowed: engine, draws, chains, seed"]),
    "quadrature_diagnostics.toml": ("diagnostics", ["no chains to diagnose", "allowed: no [diagnostics] table"]),
}
BAD_FILES = sorted(path.name for path in BAD.glob("*.toml"))


def test_every_bad_spec_has_an_expectation_and_back():
    assert set(BAD_FILES) == set(EXPECTED)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_spec_gives_one_line_naming_field_and_allowed(name):
    assert name in EXPECTED, f"add the expected message of tests/bad_specs/{name} to EXPECTED"
    path = BAD / name
    field, parts = EXPECTED[name]
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: {field}: ")
    assert "; allowed: " in message
    for part in parts:
        assert part in message
    assert caught.value.field == field


@pytest.mark.parametrize("name", BAD_FILES)
def test_validate_command_exits_2_with_the_line(name, capsys):
    path = BAD / name
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {caught.value}\n"
    assert captured.out == ""


def test_installed_script_exits_2_on_a_bad_spec():
    script = Path(sys.executable).with_name("bayes-nsi")
    path = BAD / "unknown_kind.toml"
    done = subprocess.run([str(script), "validate", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.startswith(f"error: {path}: kind: ")
    assert len(done.stderr.splitlines()) == 1


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(SpecError, match=r"absent\.toml: \(file\): no such file; allowed: "):
        load_spec(tmp_path / "absent.toml")
    with pytest.raises(SpecError, match=r": \(file\): is a directory; allowed: "):
        load_spec(tmp_path)


def test_validate_spec_names_its_source_and_leaves_input_alone():
    raw = {"schema_version": 1, "kind": "frequentist", "profile": {"couplings": "all", "range": [-1, 1]}}
    before = copy.deepcopy(raw)
    spec = validate_spec(raw)
    assert raw == before
    assert spec["profile"]["couplings"][0] == "ee_u" and len(spec["profile"]["couplings"]) == 12
    with pytest.raises(SpecError, match=r"^<spec>: kind: "):
        validate_spec({"schema_version": 1, "kind": "fit"})


def test_schema_is_valid_and_closed():
    Draft202012Validator.check_schema(schema())

    def closed(node) -> bool:
        """No key outside the listed ones: additionalProperties false, or keys restricted to an enum."""
        names = node.get("propertyNames", {})
        if "$ref" in names:
            target = schema()
            for part in names["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            names = target
        return node.get("additionalProperties") is False or "enum" in names

    def walk(node, where):
        if isinstance(node, dict):
            if "properties" in node:
                assert closed(node), where
            for key, child in node.items():
                if key != "if":  # a condition, not a table
                    walk(child, f"{where}/{key}")
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, f"{where}/{i}")

    walk(schema(), "#")


@pytest.mark.parametrize("kind", ["frequentist", "posterior", "compare", "projection"])
def test_good_spec_validates(kind, capsys):
    path = GOOD / f"{kind}.toml"
    assert load_spec(path)["kind"] == kind
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out == f"{path}: ok (kind {kind})\n"


def test_frequentist_defaults():
    spec = load_spec(GOOD / "frequentist.toml")
    assert spec["acceptance"] == "paper"
    assert spec["datasets"] == ["paired", "us2", "xenonnt"]
    assert spec["profile"]["points"] == 2001
    assert spec["profile"]["levels"] == [1.0, 4.0]
    assert spec["figures"] == {"enabled": True, "fig1_ee_u_values": [-0.5, -0.25, 0, 0.25, 0.5]}
    assert spec["likelihood"] == {}  # every data set keeps its default likelihood (gaussian, eq. 20)
    assert "sampler" not in spec and "seed" not in spec


def test_posterior_defaults():
    spec = load_spec(GOOD / "posterior.toml")
    assert spec["sampler"] == {
        "engine": "nutpie", "draws": 1000, "tune": 1000, "chains": 4, "seed": 1,
        "low_rank_mass_matrix": True, "target_accept": 0.8,
    }  # fmt: skip
    assert spec["diagnostics"] == {
        "max_r_hat": 1.01, "min_ess_bulk": 400, "min_ess_tail": 400, "max_divergences": 0, "min_bfmi": 0.3,
    }  # fmt: skip
    assert spec["nuisances"] == {"flux_8b": {"prior": "b16"}, "r_n": {"sigma_fm": 0.5}}


def test_compare_and_projection_defaults():
    compare = load_spec(GOOD / "compare.toml")
    assert compare["smc"] == {"draws": 2000, "chains": 4, "seed": 1}
    assert compare["compare"]["per_dataset"] is True and compare["compare"]["savage_dickey"] is True
    assert compare["nuisances"] == {}
    projection = load_spec(GOOD / "projection.toml")
    assert projection["projection"] == {"factors": [1, 2, 5, 10]}
    assert projection["profile"]["couplings"] == NAMES.split(", ")


def test_hypothesis_couplings():
    assert hypothesis_couplings("sm") == ()
    assert hypothesis_couplings("ee_u") == ("ee_u",)
    assert hypothesis_couplings("ee_u+ee_d") == ("ee_u", "ee_d")
    assert hypothesis_couplings("all12") == tuple(NAMES.split(", "))
    for bad in ("ee_x", "ee_u+ee_u", "sm+ee_u", ""):
        with pytest.raises(ValueError):
            hypothesis_couplings(bad)


@pytest.mark.parametrize("path", sorted((HERE.parent / "models").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_specs_are_valid(path):
    assert load_spec(path)["kind"] in KINDS


def test_schema_names_are_the_packages_names():
    """The schema file names no coupling or data set: the loaded schema's enums are names.py and the registry."""
    from bayes_nsi import names
    from bayes_nsi.experiments.registry import REGISTRY

    node = schema()
    defs = node["$defs"]
    assert tuple(defs["coupling"]["enum"]) == names.COUPLINGS
    assert set(node["properties"]["priors"]["properties"]) == {*names.COUPLINGS, "default"}
    assert tuple(defs["dataset"]["enum"]) == tuple(REGISTRY)
    assert node["properties"]["datasets"]["default"] == list(REGISTRY)
    assert tuple(defs["likelihood"]["enum"]) == names.LIKELIHOODS
    aliases = {key for d in REGISTRY.values() for key in d.likelihood_aliases}
    assert set(defs["likelihood_key"]["enum"]) == set(REGISTRY) | aliases
    assert tuple(node["properties"]["acceptance"]["enum"]) == names.ACCEPTANCE_MODES
    assert tuple(node["properties"]["physics"]["enum"]) == names.PHYSICS_MODES
    assert node["properties"]["physics"]["default"] == names.DEFAULT_PHYSICS
    # and the raw schema file really lists none of them (the names live in one place)
    raw = resources.files("bayes_nsi.app").joinpath("schema", SCHEMA_FILE).read_text(encoding="utf-8")
    physics_only = [m for m in names.PHYSICS_MODES if m not in names.ACCEPTANCE_MODES]  # "paper" is both
    for name in (*names.COUPLINGS, *REGISTRY, *physics_only):
        assert f'"{name}"' not in raw, name
