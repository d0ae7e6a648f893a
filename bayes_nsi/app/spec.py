"""The analysis spec: read a TOML file, check it against schema v1 and the cross-field rules, fill defaults.

Every problem becomes one ``SpecError`` line, ``<file>: <field path>: <what is wrong>; allowed: <...>``,
raised before anything is computed.
"""

import copy
import functools
import json
import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import best_match

from bayes_nsi.errors import SpecError
from bayes_nsi.experiments.registry import BINNED, REGISTRY
from bayes_nsi.names import COUPLINGS, DEFAULT_PHYSICS, PHYSICS_MODES

SCHEMA_FILE = "spec-v1.json"
FILE_FIELD = "(file)"

# Keys that only some kinds accept; every other key of the schema is accepted by all kinds.
KINDS_OF_KEY = {
    "seed": ("frequentist",),
    "profile": ("frequentist", "projection", "measurements", "binned", "coverage", "feldman_cousins", "constraints"),
    "fit": ("measurements",),
    "contours": ("frequentist", "binned", "constraints"),
    "binned": ("binned", "posterior", "coverage"),
    "physics_comparison": ("frequentist",),
    "reports": ("frequentist",),
    "priors": ("posterior", "compare", "sbc", "constraints"),
    "nuisances": ("posterior", "compare", "sbc"),
    "sampler": ("posterior", "constraints"),
    "diagnostics": ("posterior", "constraints"),
    "compare": ("compare",),
    "smc": ("compare",),
    "prior_sensitivity": ("compare",),
    "projection": ("projection",),
    "study": ("coverage", "feldman_cousins", "sbc"),
    "coverage": ("coverage",),
    "feldman_cousins": ("feldman_cousins",),
    "sbc": ("sbc",),
    "constraints": ("constraints",),
}
# Sections each kind needs: one of each tuple must be present (posterior priors are checked apart).
REQUIRED_SECTIONS = {
    "frequentist": (("profile", "contours"),),
    "measurements": (),
    "posterior": (),
    "compare": (("compare",),),
    "projection": (("profile",), ("projection",)),
    "binned": (),
    "coverage": (("profile",),),
    "feldman_cousins": (("profile",),),
    "sbc": (),
    "constraints": (("profile",),),
}
# Sections created (then filled with their defaults) when a spec of that kind leaves them out.
DEFAULT_SECTIONS = {
    "frequentist": ("figures", "likelihood", "reports"),
    "measurements": ("figures", "likelihood", "fit"),
    "posterior": ("figures", "likelihood", "nuisances", "sampler", "diagnostics"),
    "compare": ("figures", "likelihood", "nuisances", "smc"),
    "projection": ("figures", "likelihood"),
    "binned": ("figures", "likelihood", "binned"),
    "coverage": ("figures", "likelihood", "study", "coverage"),
    "feldman_cousins": ("figures", "likelihood", "study", "feldman_cousins"),
    "sbc": ("figures", "likelihood", "nuisances", "study", "sbc"),
    "constraints": ("figures", "likelihood", "sampler", "diagnostics", "constraints"),
}


@functools.cache
def schema() -> dict:
    """The JSON Schema (draft 2020-12) of spec version 1, completed with the registry's data-set names
    (the schema file names no data set), the datasets default and each data set's likelihood aliases."""
    text = resources.files("bayes_nsi.app").joinpath("schema").joinpath(SCHEMA_FILE).read_text(encoding="utf-8")
    node = json.loads(text)
    node["$defs"]["coupling"]["enum"] = list(COUPLINGS)
    node["properties"]["physics"].update(enum=list(PHYSICS_MODES), default=DEFAULT_PHYSICS)
    node["properties"]["physics_comparison"]["properties"]["reference"]["enum"] = list(PHYSICS_MODES)
    node["properties"]["priors"]["properties"] = {c: {"$ref": "#/$defs/prior"} for c in (*COUPLINGS, "default")}
    names = list(REGISTRY)
    node["$defs"]["dataset"]["enum"] = names
    node["properties"]["datasets"]["default"] = names
    aliases = {key: {"enum": list(values)} for d in REGISTRY.values() for key, values in d.likelihood_aliases.items()}
    node["$defs"]["likelihood_key"]["enum"] = names + list(aliases)
    node["properties"]["likelihood"]["properties"] = aliases
    node["$defs"]["binned_dataset"]["enum"] = list(BINNED)
    node["properties"]["binned"]["properties"]["datasets"]["default"] = list(BINNED)
    return node


DATASETS: tuple[str, ...] = tuple(REGISTRY)
KINDS: tuple[str, ...] = tuple(schema()["properties"]["kind"]["enum"])


def load_spec(path: str | Path) -> dict:
    """Read, validate and complete the TOML spec at ``path``; raise ``SpecError`` on any problem."""
    source = str(path)
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise SpecError(source, FILE_FIELD, "no such file", "a path to a TOML spec file") from None
    except IsADirectoryError:
        raise SpecError(source, FILE_FIELD, "is a directory", "a path to a TOML spec file") from None
    except OSError as exc:
        raise SpecError(source, FILE_FIELD, f"cannot read: {exc.strerror}", "a readable TOML spec file") from None
    except UnicodeDecodeError:
        raise SpecError(source, FILE_FIELD, "not UTF-8 text", "a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(source, FILE_FIELD, f"malformed TOML: {exc}", "TOML 1.0 syntax (https://toml.io)") from None
    return validate_spec(data, source)


def validate_spec(spec: dict, source: str = "<spec>") -> dict:
    """Validate a spec already parsed into a dict; return a completed deep copy (``spec`` is not changed)."""
    error = best_match(_validator().iter_errors(spec))
    if error is not None:
        raise _schema_error(error, source)
    completed = _with_defaults(copy.deepcopy(spec))
    _check_rules(completed, source)
    if completed.get("sampler", {}).get("engine") == "quadrature":
        _check_quadrature(spec, completed, source)
    return completed


def hypothesis_couplings(hypothesis: str) -> tuple[str, ...]:
    """Couplings left free by a hypothesis name: ``"sm"``, ``"all12"``, ``"ee_u"`` or ``"ee_u+ee_d"``."""
    if hypothesis == "sm":
        return ()
    if hypothesis == "all12":
        return COUPLINGS
    parts = tuple(hypothesis.split("+"))
    unknown = [part for part in parts if part not in COUPLINGS]
    if unknown:
        raise ValueError(f"unknown coupling {json.dumps(unknown[0])}")
    if len(set(parts)) != len(parts):
        raise ValueError("repeated coupling")
    return parts


# -- schema validation -------------------------------------------------------------------------------


def _is_integer(_checker: Any, value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(_checker: Any, value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@functools.cache
def _validator() -> Draft202012Validator:
    """Draft 2020-12 validator where 2.0 is not an integer and NaN or infinity is not a number."""
    checker = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
    return validators.extend(Draft202012Validator, type_checker=checker)(schema())


def _schema_error(error: ValidationError, source: str) -> SpecError:
    """Turn the most relevant jsonschema error into one ``SpecError`` line."""
    parent = error.parent
    if parent is not None and parent.validator == "oneOf" and not error.relative_path:
        error = parent  # the value has none of the allowed shapes: list them all
    path = list(error.absolute_path)
    rule, node, value = error.validator, error.schema, error.instance
    for_dist = f" for dist {_show(value['dist'])}" if isinstance(value, dict) and "dist" in value else ""
    if rule == "additionalProperties":
        key = next(k for k in value if k not in node.get("properties", {}))
        return SpecError(source, _field([*path, key]), f"unknown key{for_dist}", ", ".join(node["properties"]))
    if rule == "required":
        key = next(k for k in error.validator_value if k not in value)
        return SpecError(source, _field([*path, key]), f"missing{for_dist}", _describe(node["properties"][key]))
    if rule == "type" and isinstance(value, float) and not math.isfinite(value):
        problem = f"{_show(value)} is not a finite number"
    elif rule == "type":
        expected = "table" if node["type"] == "object" else node["type"]
        problem = f"expected {expected}, got {_type_name(value)} {_show(value)}"
    elif rule in ("enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        problem = f"{_show(value)} is not allowed"
    elif rule in ("minItems", "maxItems"):
        problem = f"has {len(value)} item{'s' if len(value) != 1 else ''}"
    elif rule == "uniqueItems":
        problem = "has repeated entries"
    elif rule == "oneOf":
        problem = f"{_show(value)} has none of the allowed forms"
    else:
        problem = error.message
    return SpecError(source, _field(path), problem, _describe(node))


def _resolve(node: Any) -> Any:
    """Follow local ``$ref`` pointers (``#/$defs/...``) inside the spec schema."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = schema()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _describe(node: Any) -> str:
    """What a schema node accepts, in words."""
    node = _resolve(node)
    if "enum" in node:
        return ", ".join(str(v) for v in node["enum"])
    if "const" in node:
        return _show(node["const"])
    if "oneOf" in node:
        return " or ".join(_describe(branch) for branch in node["oneOf"])
    kind = node.get("type")
    if kind in ("integer", "number"):
        return _describe_number(node)
    if kind == "array":
        size = node.get("minItems", 0)
        count = f"{size} items" if node.get("maxItems") == size else f"at least {size}"
        unique = ", unique" if node.get("uniqueItems") else ""
        return f"array ({count}{unique}) of {_describe(node.get('items', {}))}"
    if kind == "object":
        return "table with keys " + ", ".join(node.get("properties", {}))
    if kind == "boolean":
        return "true or false"
    return str(kind)


def _describe_number(node: dict) -> str:
    low = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
    high = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
    if low[1] is not None and high[1] is not None:
        return f"{node['type']} in {low[0]}{low[1]}, {high[1]}{high[0]}"
    if low[1] is not None:
        return f"{node['type']} {'>=' if low[0] == '[' else '>'} {low[1]}"
    if high[1] is not None:
        return f"{node['type']} {'<=' if high[0] == ']' else '<'} {high[1]}"
    return node["type"]


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "table"}
    return names.get(type(value), type(value).__name__)


def _show(value: Any, limit: int = 40) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _field(path: list) -> str:
    text = "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)
    return text.removeprefix(".") or "(root)"


# -- defaults and cross-field rules ------------------------------------------------------------------


def _with_defaults(spec: dict) -> dict:
    """Create the sections the kind uses, fill every default, expand ``profile.couplings = "all"``."""
    for section in DEFAULT_SECTIONS[spec["kind"]]:
        spec.setdefault(section, {})
    _fill(schema(), spec)
    if spec.get("profile", {}).get("couplings") == "all":
        spec["profile"]["couplings"] = list(COUPLINGS)
    return spec


def _fill(node: Any, value: Any) -> None:
    node = _resolve(node)
    if isinstance(value, dict):
        for key, child in node.get("properties", {}).items():
            if key in value:
                _fill(child, value[key])
            elif "default" in child:
                value[key] = copy.deepcopy(child["default"])
    elif isinstance(value, list) and "items" in node:
        for item in value:
            _fill(node["items"], item)


def _check_rules(spec: dict, source: str) -> None:
    """The rules a schema cannot state: sections per kind, ordered ranges, names inside strings."""
    _check_kind_sections(spec, source)
    _check_datasets(spec, source)
    if "profile" in spec:
        _check_range(source, "profile.range", spec["profile"]["range"])
    for i, contour in enumerate(spec.get("contours", [])):
        _check_range(source, f"contours[{i}].x_range", contour["x_range"])
        _check_range(source, f"contours[{i}].y_range", contour["y_range"])
        if contour["x"] == contour["y"]:
            others = ", ".join(c for c in COUPLINGS if c != contour["x"])
            raise SpecError(source, f"contours[{i}].y", f"same coupling as contours[{i}].x", others)
    for name, prior in spec.get("priors", {}).items():
        if "lower" in prior and not prior["lower"] < prior["upper"]:
            problem = f"{_show(prior['lower'])} is not below upper = {_show(prior['upper'])}"
            raise SpecError(source, f"priors.{name}.lower", problem, "lower < upper")
    if spec["kind"] == "compare":
        _check_hypotheses(spec, source)
    if spec["kind"] == "posterior" and "binned" in spec:
        _check_binned_posterior(spec, source)
    if spec["kind"] == "constraints":
        _check_constraints(spec, source)
    if "study" in spec:
        _check_study(spec, source)


def _check_kind_sections(spec: dict, source: str) -> None:
    kind = spec["kind"]
    for key in spec:
        kinds = KINDS_OF_KEY.get(key, KINDS)
        if kind not in kinds:
            allowed = "kind = " + " or ".join(json.dumps(k) for k in kinds)
            raise SpecError(source, key, f"not used by kind {json.dumps(kind)}", allowed)
    for alternatives in REQUIRED_SECTIONS[kind]:
        if not any(section in spec for section in alternatives):
            needs = " or ".join(_header(section) for section in alternatives)
            allowed = ", or ".join(f"{_header(section)} with keys {_section_keys(section)}" for section in alternatives)
            raise SpecError(source, alternatives[0], f"missing; kind {json.dumps(kind)} needs {needs}", allowed)
    if kind in ("posterior", "sbc") and not set(spec.get("priors", {})) - {"default"}:
        problem = f'no coupling prior; kind "{kind}" needs at least one [priors.<coupling>] table'
        raise SpecError(source, "priors", problem, ", ".join(COUPLINGS))
    if kind in ("posterior", "sbc") and "default" in spec.get("priors", {}):
        raise SpecError(source, "priors.default", f'not used by kind "{kind}" (it names no coupling to sample)',
                        "one [priors.<coupling>] table per sampled coupling")


def _header(section: str) -> str:
    """A section as written in TOML: ``[profile]`` or ``[[contours]]``."""
    return f"[[{section}]]" if schema()["properties"][section].get("type") == "array" else f"[{section}]"


def _section_keys(section: str) -> str:
    node = schema()["properties"][section]
    return ", ".join(_resolve(node.get("items", node))["properties"])


def _check_datasets(spec: dict, source: str) -> None:
    datasets = spec["datasets"]
    mode = spec["acceptance"]
    hidden = [d for d in datasets if mode not in REGISTRY[d].responses]
    if hidden:
        usable = ", ".join(d for d in DATASETS if mode in REGISTRY[d].responses)
        problem = f"{json.dumps(mode)} has no public acceptance curve for {json.dumps(hidden[0])} in datasets"
        others = " or ".join(json.dumps(m) for m in REGISTRY[hidden[0]].acceptance_modes)
        raise SpecError(source, "acceptance", problem, f"acceptance = {others}, or datasets from {usable}")
    for name in spec.get("measurements", {}):
        if name not in datasets:
            problem = f"data set {json.dumps(name)} is not in datasets"
            raise SpecError(source, f"measurements.{name}", problem, ", ".join(datasets))
    for i, group in enumerate(spec.get("fit", {}).get("combine", [])):
        missing = [d for d in group if d not in datasets]
        if missing:
            problem = f"data set {json.dumps(missing[0])} is not in datasets"
            raise SpecError(source, f"fit.combine[{i}]", problem, ", ".join(datasets))
    for key, value in spec.get("likelihood", {}).items():
        owner = next((d for d in REGISTRY.values() if key in d.likelihood_aliases), None)
        name = owner.name if owner else key
        chosen = owner.likelihood_aliases[key][value] if owner else value
        if owner and name not in datasets and chosen == "gaussian":
            continue  # an alias at its default says nothing about the data sets in use
        if name not in datasets:
            problem = f"{json.dumps(value)} needs data set {json.dumps(name)}, which is not in datasets"
            allowed = next(v for v, lk in owner.likelihood_aliases[key].items() if lk == "gaussian") if owner else None
            raise SpecError(source, f"likelihood.{key}", problem, json.dumps(allowed) if owner else ", ".join(datasets))
        if chosen not in REGISTRY[name].likelihoods:
            problem = f"{json.dumps(value)} is not available for data set {json.dumps(name)}"
            raise SpecError(source, f"likelihood.{key}", problem, ", ".join(REGISTRY[name].likelihoods))


def likelihood_choices(spec: dict) -> dict[str, str]:
    """The likelihood of each data set of a validated spec that chooses one (aliases translated)."""
    out = {}
    for key, value in spec.get("likelihood", {}).items():
        owner = next((d for d in REGISTRY.values() if key in d.likelihood_aliases), None)
        if owner is None:
            out[key] = value
        elif owner.name in spec["datasets"]:
            out[owner.name] = owner.likelihood_aliases[key][value]
    return out


# Likelihoods each study kind simulates and refits: the paper's Gaussian toys (inference.studies.paper), or
# the measurements a compiled posterior swaps in (inference.studies.posterior_sbc).
STUDY_LIKELIHOODS = {"coverage": ("gaussian", "poisson_counting"), "feldman_cousins": ("gaussian", "poisson_counting"),
                     "sbc": ("gaussian", "split_normal")}


def _check_study(spec: dict, source: str) -> None:
    """Study kinds: a scheduler or serial, not both; likelihoods their toys support; no exposure override
    where the toy model compiles the data sets' own exposures; true values inside the fitted range;
    sbc.thin dividing sbc.draws."""
    kind, study = spec["kind"], spec["study"]
    if study["serial"] and "scheduler" in study:
        raise SpecError(source, "study.serial", f"true together with study.scheduler = {_show(study['scheduler'])}",
                        "serial = false with a scheduler, or no scheduler")
    usable = STUDY_LIKELIHOODS[kind]
    for key, value in spec.get("likelihood", {}).items():
        owner = next((d for d in REGISTRY.values() if key in d.likelihood_aliases), None)
        if (owner.likelihood_aliases[key][value] if owner else value) not in usable:
            allowed = [v for v, lk in owner.likelihood_aliases[key].items() if lk in usable] if owner else usable
            problem = f"{_show(value)} is not supported by kind {json.dumps(kind)}"
            raise SpecError(source, f"likelihood.{key}", problem, ", ".join(allowed))
    chosen = {name: likelihood_choices(spec).get(name, "gaussian") for name in spec["datasets"]}
    if kind != "sbc" and len(set(chosen.values())) > 1:
        problem = ", ".join(f"{name} = {json.dumps(lk)}" for name, lk in chosen.items()) + " mix likelihoods"
        raise SpecError(source, "likelihood", problem, "one likelihood for every data set: " + ", ".join(usable))
    for name, override in spec.get("measurements", {}).items():
        if kind != "sbc" and "exposure_tonne_year" in override:
            raise SpecError(source, f"measurements.{name}.exposure_tonne_year", f"not used by kind {json.dumps(kind)}",
                            "value, sigma")
    if kind == "coverage":
        (low, high), (first, last) = spec["profile"]["range"], spec["coverage"]["true_range"]
        _check_range(source, "coverage.true_range", [first, last])
        if first < low or last > high:
            problem = f"[{_show(first)}, {_show(last)}] reaches outside profile.range = [{_show(low)}, {_show(high)}]"
            raise SpecError(source, "coverage.true_range", problem, f"[lo, hi] inside [{_show(low)}, {_show(high)}]")
    if kind == "sbc" and spec["sbc"]["draws"] % spec["sbc"]["thin"]:
        problem = f"{spec['sbc']['thin']} does not divide sbc.draws = {spec['sbc']['draws']}"
        raise SpecError(source, "sbc.thin", problem, "a divisor of sbc.draws")


def _check_binned_posterior(spec: dict, source: str) -> None:
    """A posterior with [binned]: each binned data set replaces the top-level data set it refines (its group);
    every top-level data set must be so replaced, one binned data set each, and the binned likelihoods carry
    their own nuisances (no [nuisances] tables)."""
    groups = [BINNED[name].binned.group for name in spec["binned"]["datasets"]]
    if sorted(groups) != sorted(spec["datasets"]):
        problem = (f"binned data sets replace {json.dumps(groups)}, datasets is {json.dumps(spec['datasets'])}; "
                   "each top-level data set needs exactly one binned data set")
        raise SpecError(source, "binned.datasets", problem, ", ".join(BINNED))
    if spec.get("nuisances"):
        problem = f"{json.dumps(next(iter(spec['nuisances'])))} with [binned]: its likelihoods carry their nuisances"
        raise SpecError(source, "nuisances", problem, "no [nuisances] tables")


QUADRATURE_SAMPLER_KEYS = ("engine", "draws", "chains", "seed")


def _check_quadrature(raw: dict, spec: dict, source: str) -> None:
    """``sampler.engine = "quadrature"``: a posterior of one or two couplings with at most the flux_8b nuisance,
    without the NUTS-only settings (checked on the spec as written, before defaults); drops those from ``spec``."""
    if spec["kind"] != "posterior" or "binned" in spec:
        problem = f'"quadrature" with kind {json.dumps(spec["kind"])}' + (" and [binned]" if "binned" in spec else "")
        raise SpecError(source, "sampler.engine", problem, '"nutpie" or "pymc" (quadrature: kind "posterior" without '
                        "[binned])")
    couplings = [c for c in spec["priors"] if c != "default"]
    if len(couplings) > 2:
        raise SpecError(source, "priors", f"{len(couplings)} couplings with sampler.engine = \"quadrature\"",
                        '1 or 2 [priors.<coupling>] tables, or sampler.engine = "nutpie"')
    for name in spec.get("nuisances", {}):
        if name != "flux_8b":
            raise SpecError(source, f"nuisances.{name}", 'not integrated by sampler.engine = "quadrature"',
                            '[nuisances.flux_8b] only, or sampler.engine = "nutpie"')
    for key in raw.get("sampler", {}):
        if key not in QUADRATURE_SAMPLER_KEYS:
            raise SpecError(source, f"sampler.{key}", 'a NUTS setting, not used by sampler.engine = "quadrature"',
                            ", ".join(QUADRATURE_SAMPLER_KEYS))
    if "diagnostics" in raw:
        problem = ('not used by sampler.engine = "quadrature" (independent draws, no chains to diagnose; '
                   "diagnostics.json reports the grid's convergence)")
        raise SpecError(source, "diagnostics", problem, "no [diagnostics] table")
    spec.pop("diagnostics", None)
    spec["sampler"] = {k: v for k, v in spec["sampler"].items() if k in QUADRATURE_SAMPLER_KEYS}


def _check_range(source: str, field: str, bounds: list) -> None:
    low, high = bounds
    if not low < high:
        problem = f"lower end {_show(low)} is not below upper end {_show(high)}"
        raise SpecError(source, field, problem, "[lo, hi] with lo < hi, both in [-10, 10]")


def _check_hypotheses(spec: dict, source: str) -> None:
    priors = spec.get("priors", {})
    seen: dict[frozenset, int] = {}
    for i, hypothesis in enumerate(spec["compare"]["hypotheses"]):
        field = f"compare.hypotheses[{i}]"
        try:
            free = hypothesis_couplings(hypothesis)
        except ValueError as exc:
            allowed = 'sm, all12, or "+"-joined names from ' + ", ".join(COUPLINGS)
            raise SpecError(source, field, f"{exc} in {json.dumps(hypothesis)}", allowed) from None
        if frozenset(free) in seen:
            problem = (
                f"{json.dumps(hypothesis)} frees the same couplings as compare.hypotheses[{seen[frozenset(free)]}]"
            )
            raise SpecError(source, field, problem, "distinct hypotheses")
        seen[frozenset(free)] = i
        missing = [c for c in free if c not in priors and "default" not in priors]
        if missing:
            problem = f"no prior for {missing[0]}, which {field} ({hypothesis}) leaves free"
            raise SpecError(
                source, f"priors.{missing[0]}", problem, f"a [priors.{missing[0]}] or [priors.default] table"
            )


def _check_constraints(spec: dict, source: str) -> None:
    """kind constraints: the binned data sets replace one top-level data set (their group), every other one is
    a counting data set with likelihood poisson_counting; the couplings sampled have priors."""
    section = spec["constraints"]
    for key in ("binned", "path_binned"):
        group = BINNED[section[key]].binned.group
        if group not in spec["datasets"]:
            raise SpecError(source, f"constraints.{key}", f"{json.dumps(section[key])} replaces {json.dumps(group)}, "
                            f"which is not in datasets {json.dumps(spec['datasets'])}", ", ".join(BINNED))
    group = BINNED[section["binned"]].binned.group
    if BINNED[section["path_binned"]].binned.group != group:
        raise SpecError(source, "constraints.path_binned", "must replace the same data set as constraints.binned",
                        ", ".join(n for n, d in BINNED.items() if d.binned.group == group))
    choices = likelihood_choices(spec)
    counting = [d for d in spec["datasets"] if d != group]
    if not counting:
        raise SpecError(source, "datasets", f"no counting data set beside {json.dumps(group)}",
                        ", ".join(d for d in REGISTRY if d != group))
    for d in counting:
        if choices.get(d) != "poisson_counting":
            raise SpecError(source, f"likelihood.{d}", f"{json.dumps(choices.get(d, 'gaussian'))}: kind constraints "
                            "fits the counting data sets with their counting likelihood", "poisson_counting")
    if not set(spec.get("priors", {})) - {"default"}:
        raise SpecError(source, "priors", 'no coupling prior; kind "constraints" samples the couplings of '
                        "[priors.<coupling>] tables", ", ".join(COUPLINGS))
    if section["bayes_factor_points"] % 2 == 0:
        raise SpecError(source, "constraints.bayes_factor_points", f"{section['bayes_factor_points']} is even",
                        "an odd number >= 5 (Simpson's rule)")
