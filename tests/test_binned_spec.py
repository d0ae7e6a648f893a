"""Specs with binned data sets: kind = "binned" and posterior specs with [binned], checked before anything runs."""

from pathlib import Path

import pytest

from bayes_nsi.app.spec import validate_spec
from bayes_nsi.app.typed_spec import load, typed
from bayes_nsi.errors import SpecError

MODELS = Path(__file__).resolve().parents[1] / "models"
POSTERIOR = {"schema_version": 1, "kind": "posterior", "datasets": ["xenonnt"],
             "binned": {"datasets": ["xenonnt_sr01"]},
             "priors": {"ee_u": {"dist": "uniform", "lower": -1.0, "upper": 1.0}}}


def test_binned_specs_load_typed():
    spec = load(MODELS / "xenonnt_binned.toml")
    assert (spec.kind, spec.binned.datasets, spec.profile) == ("binned", ("xenonnt_sr01", "xenonnt_sr012"), None)
    nsi = load(MODELS / "xenonnt_binned_nsi.toml")
    assert len(nsi.profile.couplings) == 12 and [(c.x, c.y) for c in nsi.contours] == [
        ("ee_u", "ee_d"), ("mumu_u", "mumu_d"), ("tautau_u", "tautau_d")]
    default = typed(validate_spec({"schema_version": 1, "kind": "binned"}))
    assert default.binned.datasets == ("xenonnt_sr01", "xenonnt_sr012")
    assert load(MODELS / "posterior_ee_u_xenonnt_binned.toml").binned.datasets == ("xenonnt_sr01",)
    assert load(MODELS / "posterior_ee_u_xenonnt.toml").binned is None


@pytest.mark.parametrize("raw, field, words", [
    ({"schema_version": 1, "kind": "binned", "binned": {"datasets": ["xenonnt_sr3"]}}, "binned.datasets[0]",
     ['"xenonnt_sr3" is not allowed', "allowed: xenonnt_sr01, xenonnt_sr012"]),
    ({"schema_version": 1, "kind": "frequentist", "binned": {}, "profile": {"couplings": "all", "range": [-1, 1]}},
     "binned", ['not used by kind "frequentist"', 'kind = "binned" or "posterior"']),
    ({**POSTERIOR, "datasets": ["paired"]}, "binned.datasets", ['replace ["xenonnt"]', 'datasets is ["paired"]']),
    ({**POSTERIOR, "binned": {"datasets": ["xenonnt_sr01", "xenonnt_sr012"]}}, "binned.datasets",
     ['replace ["xenonnt", "xenonnt"]']),
    ({**POSTERIOR, "nuisances": {"flux_8b": {}}}, "nuisances", ['"flux_8b" with [binned]', "no [nuisances] tables"]),
])
def test_bad_binned_specs_name_the_field(raw, field, words):
    with pytest.raises(SpecError) as caught:
        validate_spec(raw)
    assert caught.value.field == field
    for word in words:
        assert word in str(caught.value)
