"""A resolver's look at its own selection, so that it fetches what the fields below it will
show in its own statement (docs/design.md section 12.2: the selection looked ahead
from `info`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info


def _children(
    selection_sets: list[SelectionSetNode], fragments: dict[str, FragmentDefinitionNode]
) -> list[FieldNode]:
    """The fields selected directly in these selection sets, fragments followed."""
    fields: list[FieldNode] = []
    seen: set[str] = set()
    todo = list(selection_sets)
    while todo:
        for s in todo.pop().selections:
            if isinstance(s, FieldNode):
                fields.append(s)
            elif isinstance(s, InlineFragmentNode):
                todo.append(s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                todo.append(fragments[s.name.value].selection_set)
    return fields


def asked_under(info: Info, path: Sequence[str]) -> frozenset[str]:
    """The names of the fields selected below the field's `path` (e.g. a connection's
    ("edges", "node")), under every alias, fragments followed; as `asked_for`, type conditions
    and @skip/@include are not weighed (a superset of what is shown)."""
    raw = info._raw_info
    sets = [n.selection_set for n in raw.field_nodes if n.selection_set]
    for name in path:
        sets = [
            f.selection_set
            for f in _children(sets, raw.fragments)
            if f.name.value == name and f.selection_set
        ]
    return frozenset(f.name.value for f in _children(sets, raw.fragments))


def asked_for(info: Info, names: Collection[str]) -> frozenset[str]:
    """Those of `names` selected directly on the field's value, fragments included. Type
    conditions and @skip/@include are not weighed: at worst something is fetched that is not
    shown. Reads the field's nodes (graphql-core's, or schema.compiled's, which carry the same
    names): strawberry's `info.selected_fields` converts the whole subtree, 44 µs for the
    demand detail against 1 µs here."""
    return asked_under(info, ()) & frozenset(names)
