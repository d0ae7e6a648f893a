"""The ``spec-reference`` directive: the analysis-spec reference, generated from the JSON schema at build time.

It renders :func:`bayes_nsi.app.spec.schema` (schema v1 completed with the coupling and data-set names)
and the per-kind rules of :mod:`bayes_nsi.app.spec` (which kinds accept a section, which need it, which
get it filled with defaults): the top-level keys, the data sets of the registry with the acceptance
modes and likelihoods each accepts, one section per TOML table, then the shared types (``$defs``).
Each key shows its type or allowed values, its default and the schema's description. Inline tables are
flattened into dotted keys (``flux_8b.prior``, valid TOML); a ``$ref`` is a link to its type.
"""

import json

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

from bayes_nsi.app import spec as spec_module
from bayes_nsi.experiments.registry import REGISTRY

DEF_PREFIX = "#/$defs/"
COLUMNS = ("key", "type or allowed values", "default", "description")


def _literal(value) -> nodes.literal:
    return nodes.literal(text=json.dumps(value))


def _type_id(name: str) -> str:
    return f"spec-type-{name.replace('_', '-')}"


def _section_id(name: str) -> str:
    return f"spec-section-{name.replace('_', '-')}"


def _joined(parts: list[list[nodes.Node]], separator: str) -> list[nodes.Node]:
    out: list[nodes.Node] = []
    for i, part in enumerate(parts):
        if i:
            out.append(nodes.Text(separator))
        out.extend(part)
    return out


def _type_link(ref: str) -> list[nodes.Node]:
    name = ref.removeprefix(DEF_PREFIX)
    return [nodes.reference("", "", nodes.literal(text=name), refid=_type_id(name), internal=True)]


def _number(node: dict) -> list[nodes.Node]:
    """``integer >= 11``, ``number in (0, 1)``: the bounds of a number."""
    low = ("[", node["minimum"]) if "minimum" in node else ("(", node.get("exclusiveMinimum"))
    high = ("]", node["maximum"]) if "maximum" in node else (")", node.get("exclusiveMaximum"))
    kind = node["type"]
    if low[1] is not None and high[1] is not None:
        return [nodes.Text(f"{kind} in {low[0]}{low[1]}, {high[1]}{high[0]}")]
    if low[1] is not None:
        return [nodes.Text(f"{kind} {'≥' if low[0] == '[' else '>'} {low[1]}")]
    if high[1] is not None:
        return [nodes.Text(f"{kind} {'≤' if high[0] == ']' else '<'} {high[1]}")]
    return [nodes.Text(kind)]


def describe(node: dict) -> list[nodes.Node]:
    """What a schema node accepts, as inline nodes; a ``$ref`` becomes a link to the type."""
    if "$ref" in node:
        return _type_link(node["$ref"])
    if "const" in node:
        return [_literal(node["const"])]
    if "enum" in node:
        return [nodes.Text("one of ")] + _joined([[_literal(v)] for v in node["enum"]], ", ")
    if "oneOf" in node:
        return _joined([describe(branch) for branch in node["oneOf"]], " or ")
    kind = node.get("type")
    if kind in ("integer", "number"):
        return _number(node)
    if kind == "array":
        size = node.get("minItems", 0)
        count = f"{size} items" if node.get("maxItems") == size else f"at least {size} item{'s' * (size != 1)}"
        unique = ", distinct" if node.get("uniqueItems") else ""
        return [nodes.Text(f"array ({count}{unique}) of ")] + describe(node.get("items", {}))
    if kind == "boolean":
        return [nodes.Text("true or false")]
    if kind == "object" or "properties" in node:
        return [nodes.Text("table")]
    return [nodes.Text(kind or "any value")]


def _key_rows(node: dict, prefix: str = "") -> list[tuple[list[nodes.Node], ...]]:
    """One row per key of a table schema; inline sub-tables flattened into dotted keys.

    Keys named by ``propertyNames`` (or several keys sharing one ``$ref``, like the priors) become one
    row ``<type>`` or ``<name>`` whose description lists the names.
    """
    rows = []
    required = set(node.get("required", ()))
    props = node.get("properties", {})
    refs = {json.dumps(child, sort_keys=True) for child in props.values()}
    if len(props) > 1 and len(refs) == 1 and "$ref" in next(iter(props.values())):
        names = [[nodes.literal(text=k)] for k in props]
        note = [nodes.Text("name: ")] + _joined(names, ", ")
        rows.append(_row(f"{prefix}<name>", next(iter(props.values())), note=note))
        props = {}
    for key, child in props.items():
        if "$ref" not in child and child.get("type") == "object" and "properties" in child:
            if child.get("description"):
                rows.append(_row(f"{prefix}{key}", child))
            rows.extend(_key_rows(child, f"{prefix}{key}."))
        else:
            rows.append(_row(f"{prefix}{key}", child, required=key in required))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        names = node.get("propertyNames", {})
        placeholder = names["$ref"].removeprefix(DEF_PREFIX) if "$ref" in names else "name"
        note = None if "$ref" in names or not names else [nodes.Text("name: ")] + describe(names)
        rows.append(_row(f"{prefix}<{placeholder}>", extra, note=note))
    return rows


def _row(key: str, node: dict, required: bool = False, note: list[nodes.Node] | None = None):
    key_cell = [nodes.literal(text=key)] + ([nodes.Text(" (required)")] if required else [])
    default = [_literal(node["default"])] if "default" in node else []
    description = [nodes.Text(node.get("description", ""))]
    if note:
        description = note + ([nodes.Text("; ")] + description if node.get("description") else [])
    return key_cell, describe(node), default, description


def _datasets_table() -> nodes.table:
    """What each registered data set accepts: acceptance modes and likelihoods (a cross-field rule)."""
    rows = [([nodes.literal(text=name)], [nodes.Text(d.label)],
             _joined([[_literal(m)] for m in d.acceptance_modes], ", "),
             _joined([[_literal(lk)] for lk in d.likelihoods], ", ")) for name, d in REGISTRY.items()]
    return _table(rows, ("name", "data set", "acceptance", "likelihoods"), (15, 25, 25, 35))


def _table(rows: list[tuple[list[nodes.Node], ...]], columns=COLUMNS, widths=(20, 35, 15, 30)) -> nodes.table:
    table = nodes.table(classes=["spec-keys"])
    group = nodes.tgroup(cols=len(columns))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body
    for parent, cells in [(head, [[nodes.Text(c)] for c in columns])] + [(body, r) for r in rows]:
        row = nodes.row()
        for cell in cells:
            row += nodes.entry("", nodes.paragraph("", "", *cell))
        parent += row
    return table


def _section(title: str, ident: str, *children: nodes.Node) -> nodes.section:
    section = nodes.section(ids=[ident])
    section += nodes.title(text=title)
    for child in children:
        section += child
    return section


def _kinds_paragraph(key: str) -> nodes.paragraph:
    """Which kinds accept the section, which need it and which get it with its defaults."""
    accepted = spec_module.KINDS_OF_KEY.get(key, spec_module.KINDS)
    parts = [f"Accepted by {_kinds(accepted)}."]
    needed = [kind for kind, groups in spec_module.REQUIRED_SECTIONS.items() if any(key in g for g in groups)]
    for kind in needed:
        group = next(g for g in spec_module.REQUIRED_SECTIONS[kind] if key in g)
        either = " or ".join(_header(s) for s in group)
        parts.append(f"Kind {kind} needs {either}.")
    filled = [kind for kind, sections in spec_module.DEFAULT_SECTIONS.items() if key in sections]
    if filled:
        parts.append(f"Created with its defaults when left out, for {_kinds(filled)}.")
    return nodes.paragraph(text=" ".join(parts))


def _kinds(kinds) -> str:
    return f"kind {kinds[0]}" if len(kinds) == 1 else f"kinds {', '.join(kinds[:-1])} and {kinds[-1]}"


def _header(key: str) -> str:
    node = spec_module.schema()["properties"][key]
    if node.get("type") == "array":
        return f"[[{key}]]"
    names = node.get("propertyNames", {})
    if "$ref" in names and node.get("properties") is None:
        return f"[{key}.<{names['$ref'].removeprefix(DEF_PREFIX)}>]"
    if len(node.get("properties", {})) > 1 and len({json.dumps(c) for c in node["properties"].values()}) == 1:
        return f"[{key}.<name>]"
    return f"[{key}]"


def _conditions(node: dict) -> list[nodes.Node]:
    """``if dist = "uniform": requires lower, upper, and no other key`` for each if/then of a type."""
    items = []
    for rule in node.get("allOf", ()):
        condition = rule.get("if", {}).get("properties", {})
        then = rule.get("then", {})
        if len(condition) != 1 or "const" not in next(iter(condition.values())):
            continue
        (field, test), = condition.items()
        text = [nodes.literal(text=f"{field} = {json.dumps(test['const'])}"), nodes.Text(": requires ")]
        text += _joined([[nodes.literal(text=k)] for k in then.get("required", ())], ", ")
        if then.get("additionalProperties") is False:
            text.append(nodes.Text("; no other key"))
        items.append(nodes.list_item("", nodes.paragraph("", "", *text)))
    return [nodes.bullet_list("", *items)] if items else []


class SpecReference(SphinxDirective):
    """Render the completed spec schema (no arguments, no content)."""

    def run(self) -> list[nodes.Node]:
        schema = spec_module.schema()
        self.env.note_dependency(spec_module.__file__)
        props = schema["properties"]
        sections = [k for k, v in props.items() if _is_table(v, schema)]
        top = {k: v for k, v in props.items() if k not in sections}
        top_rows = [_row(k, v, required=k in schema.get("required", ())) for k, v in top.items()]
        out = [nodes.paragraph(text=f"{schema['title']} ({schema['$id']}). {schema.get('description', '')}"),
               _section("Top-level keys", "spec-top-level", _table(top_rows)),
               _section("Data sets", "spec-datasets",
                        nodes.paragraph(text="The acceptance modes and likelihoods each data set of the registry "
                                             "accepts (checked when a spec is loaded):"),
                        _datasets_table())]
        for key in sections:
            node = props[key]
            body = [_kinds_paragraph(key)]
            if node.get("description"):
                body.append(nodes.paragraph(text=node["description"]))
            if node.get("type") == "array":
                body.append(nodes.paragraph("", "", nodes.Text("An array of tables: "), *describe(node)))
            else:
                body.append(_table(_key_rows(node)))
            out.append(_section(_header(key), _section_id(key), *body))
        types = []
        for name, node in schema["$defs"].items():
            body = [nodes.paragraph(text=node["description"])] if node.get("description") else []
            if "properties" in node:
                body.append(_table(_key_rows(node)))
                body.extend(_conditions(node))
            else:
                body.append(nodes.paragraph("", "", *describe(node)))
            types.append(_section(name, _type_id(name), *body))
        out.append(_section("Types", "spec-types", *types))
        return out


def _is_table(node: dict, schema: dict) -> bool:
    """A TOML table ``[key]`` or an array of tables ``[[key]]``."""
    if node.get("type") == "array":
        node = node.get("items", {})
    if "$ref" in node:
        node = schema["$defs"][node["$ref"].removeprefix(DEF_PREFIX)]
    return node.get("type") == "object"


def setup(app: Sphinx) -> dict:
    app.add_directive("spec-reference", SpecReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
