"""MkDocs hook: the GraphQL reference pages, generated from the committed `schema.graphql` at
every build, so the reference cannot drift from the API (a test keeps `schema.graphql` equal
to the server's schema). Nothing is written to docs/: the pages exist only in the build.

One page per kind (queries, mutations, subscriptions, objects, inputs, enums, interfaces and
unions, scalars); every type name links to its entry. Descriptions are the schema's own.
Needs graphql-core only (a dependency of the server); no network."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    build_schema,
    print_ast,
)
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files

SCHEMA_FILE = "schema.graphql"
SECTION = "reference"

# file (under reference/) → title
PAGES = {
    "queries": "Queries",
    "mutations": "Mutations",
    "subscriptions": "Subscriptions",
    "objects": "Object types",
    "inputs": "Input types",
    "enums": "Enums",
    "interfaces": "Interfaces and unions",
    "scalars": "Scalars",
}

_CODE_SPAN = re.compile(r"(`[^`]*`)")
_SPECIAL = re.compile(r"([\\*_<>\[\]|#])")


def _text(description: str | None, *, cell: bool = False) -> str:
    """A schema description as Markdown text: characters Markdown would read as markup are
    escaped outside code spans; in a table cell, line breaks become <br>."""
    if not description:
        return ""
    parts = _CODE_SPAN.split(description.strip())
    out = "".join(p if p.startswith("`") else _SPECIAL.sub(r"\\\1", p) for p in parts)
    if cell:
        out = re.sub(r"\s*\n\s*", "<br>", out)
    return out


def _page_of(named: GraphQLNamedType) -> str:
    if isinstance(named, GraphQLObjectType):
        return "objects"
    if isinstance(named, GraphQLInputObjectType):
        return "inputs"
    if isinstance(named, GraphQLEnumType):
        return "enums"
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return "interfaces"
    return "scalars"


def _type_ref(type_: Any, here: str) -> str:
    """`[Demand!]!` with the named type linked to its entry (same page: anchor only)."""
    if isinstance(type_, GraphQLNonNull):
        return _type_ref(type_.of_type, here) + "!"
    if isinstance(type_, GraphQLList):
        return r"\[" + _type_ref(type_.of_type, here) + r"\]"
    page = _page_of(type_)
    target = f"#{type_.name}" if page == here else f"{page}.md#{type_.name}"
    return f"[{type_.name}]({target})"


def _default(value: GraphQLArgument | GraphQLInputField) -> str:
    node = value.ast_node
    if node is None or node.default_value is None:
        return ""
    return f"`{print_ast(node.default_value)}`"


def _deprecation(item: GraphQLField | Any) -> str:
    reason = getattr(item, "deprecation_reason", None)
    return f" **Deprecated:** {_text(reason)}" if reason else ""


def _arguments_table(args: dict[str, GraphQLArgument], here: str) -> list[str]:
    if not args:
        return []
    rows = ["| Argument | Type | Default | Description |", "|---|---|---|---|"]
    for name, arg in args.items():
        rows.append(
            f"| `{name}` | {_type_ref(arg.type, here)} | {_default(arg)} | "
            f"{_text(arg.description, cell=True)}{_deprecation(arg)} |"
        )
    return [*rows, ""]


def _single_input(field: GraphQLField) -> GraphQLInputObjectType | None:
    """The input object of a field whose only argument is `input`, else None."""
    if list(field.args) != ["input"]:
        return None
    type_ = field.args["input"].type
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_ if isinstance(type_, GraphQLInputObjectType) else None


def _root_page(title: str, root: GraphQLObjectType | None, here: str, intro: str) -> str:
    lines = [f"# {title}", "", intro, ""]
    if root is None:
        return "\n".join([*lines, "None in this schema.", ""])
    for name in sorted(root.fields):
        field = root.fields[name]
        lines += [f"## {name} {{#{name}}}", ""]
        if field.description:
            lines += [_text(field.description) + _deprecation(field), ""]
        input_type = _single_input(field)
        if input_type is not None:
            # A mutation's one `input`: its fields here, where the reader looks for them.
            lines += [f"Takes `input`: {_type_ref(field.args['input'].type, here)}", ""]
            lines += _fields_table(input_type.fields, here, inputs=True)
        else:
            lines += _arguments_table(field.args, here)
        lines += [f"Returns {_type_ref(field.type, here)}.", ""]
    return "\n".join(lines)


def _fields_table(
    fields: dict[str, GraphQLField] | dict[str, GraphQLInputField], here: str, *, inputs: bool
) -> list[str]:
    if inputs:
        rows = ["| Field | Type | Default | Description |", "|---|---|---|---|"]
    else:
        rows = ["| Field | Type | Description |", "|---|---|---|"]
    for name, field in fields.items():
        description = _text(field.description, cell=True) + _deprecation(field)
        if inputs:
            assert isinstance(field, GraphQLInputField)
            default = _default(field)
            rows.append(f"| `{name}` | {_type_ref(field.type, here)} | {default} | {description} |")
            continue
        assert isinstance(field, GraphQLField)
        if field.args:
            args = ", ".join(
                f"`{a}`: {_type_ref(arg.type, here)}"
                + (f" = {_default(arg)}" if _default(arg) else "")
                for a, arg in field.args.items()
            )
            description = (
                f"{description}<br>Arguments: {args}" if description else f"Arguments: {args}"
            )
        rows.append(f"| `{name}` | {_type_ref(field.type, here)} | {description} |")
    return [*rows, ""]


def _entry(named: GraphQLNamedType, here: str) -> list[str]:
    lines = [f"## {named.name} {{#{named.name}}}", ""]
    if named.description:
        lines += [_text(named.description), ""]
    if isinstance(named, GraphQLObjectType | GraphQLInterfaceType):
        if named.interfaces:
            links = ", ".join(_type_ref(i, here) for i in named.interfaces)
            lines += [f"Implements {links}.", ""]
        lines += _fields_table(named.fields, here, inputs=False)
    elif isinstance(named, GraphQLInputObjectType):
        lines += _fields_table(named.fields, here, inputs=True)
    elif isinstance(named, GraphQLEnumType):
        lines += ["| Value | Description |", "|---|---|"]
        for value_name, value in named.values.items():
            lines.append(
                f"| `{value_name}` | {_text(value.description, cell=True)}{_deprecation(value)} |"
            )
        lines.append("")
    elif isinstance(named, GraphQLUnionType):
        links = ", ".join(_type_ref(t, here) for t in named.types)
        lines += [f"One of {links}.", ""]
    elif isinstance(named, GraphQLScalarType) and named.specified_by_url:
        lines += [f"Specified by <{named.specified_by_url}>.", ""]
    return lines


def _kind_page(title: str, types: Iterable[GraphQLNamedType], here: str, intro: str) -> str:
    lines = [f"# {title}", "", intro, ""]
    for named in types:
        lines += _entry(named, here)
    return "\n".join(lines)


def _index(counts: dict[str, int]) -> str:
    rows = "\n".join(f"| [{PAGES[p]}]({p}.md) | {counts[p]} |" for p in PAGES)
    return f"""# GraphQL schema reference

Generated at every build of this site from `schema.graphql`, the printed schema committed
beside the code (`python -m server.print_schema > schema.graphql`; a test fails when it and
the server's schema differ). The descriptions are the schema's own: what GraphiQL shows in
development, and what introspection answers.

| Page | Entries |
|---|---|
{rows}

Conventions that hold everywhere (see [Using the API](../api.md)): ids are global (`Node.id`);
lists are Relay connections (`first`, `after`, `edges`, `pageInfo`); every mutation takes one
`input` and returns a payload with `errors {{ code field message }}`.
"""


def reference_pages(schema_text: str) -> dict[str, str]:
    """src path (under reference/) → Markdown, for every page of the reference."""
    schema = build_schema(schema_text)
    named = [
        t
        for name, t in sorted(schema.type_map.items())
        if not name.startswith("__")
        and t not in (schema.query_type, schema.mutation_type, schema.subscription_type)
    ]
    by_page: dict[str, list[GraphQLNamedType]] = {p: [] for p in PAGES}
    for t in named:
        by_page[_page_of(t)].append(t)
    roots: dict[str, tuple[GraphQLObjectType | None, str]] = {
        "queries": (schema.query_type, "Fields of `Query`: what a client reads."),
        "mutations": (
            schema.mutation_type,
            "Fields of `Mutation`. Each takes one `input` and returns a payload whose `errors` "
            "lists refusals (`code`, `field`, `message`).",
        ),
        "subscriptions": (
            schema.subscription_type,
            "Fields of `Subscription`, over `graphql-transport-ws` on `/graphql`.",
        ),
    }
    intros = {
        "objects": "Types a query or a mutation returns.",
        "inputs": "Types of arguments and mutation inputs.",
        "enums": "Fixed sets of values.",
        "interfaces": "Abstract types and the types that implement or make them up.",
        "scalars": "Leaf values and how they are written.",
    }
    pages: dict[str, str] = {}
    counts: dict[str, int] = {}
    for page, title in PAGES.items():
        if page in roots:
            root, intro = roots[page]
            pages[page] = _root_page(title, root, page, intro)
            counts[page] = len(root.fields) if root else 0
        else:
            pages[page] = _kind_page(title, by_page[page], page, intros[page])
            counts[page] = len(by_page[page])
    pages["index"] = _index(counts)
    return {f"{SECTION}/{p}.md": text for p, text in pages.items()}


def _schema_path(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).parent / SCHEMA_FILE


def on_files(files: Files, config: MkDocsConfig) -> Files:
    for src, text in reference_pages(_schema_path(config).read_text(encoding="utf-8")).items():
        files.append(File.generated(config, src, content=text))
    return files


def on_serve(server: Any, config: MkDocsConfig, builder: Callable[..., Any]) -> Any:
    """`mkdocs serve` rebuilds when the schema changes."""
    server.watch(str(_schema_path(config)))
    return server
