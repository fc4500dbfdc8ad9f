"""A resolver's look at its own selection, so that it fetches what the fields below it will
show in its own statement (DESIGN section 6: the selection looked ahead from `info`)."""

from __future__ import annotations

from collections.abc import Collection

from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode
from strawberry.types import Info


def asked_for(info: Info, names: Collection[str]) -> frozenset[str]:
    """Those of `names` selected directly on the field's value, fragments included. Type
    conditions and @skip/@include are not weighed: at worst something is fetched that is not
    shown. Reads the field's nodes (graphql-core's, or schema.compiled's, which carry the same
    names): strawberry's `info.selected_fields` converts the whole subtree, 44 µs for the
    demand detail against 1 µs here."""
    raw = info._raw_info
    found: set[str] = set()
    seen: set[str] = set()
    todo: list[SelectionSetNode] = [n.selection_set for n in raw.field_nodes if n.selection_set]
    while todo:
        for s in todo.pop().selections:
            if isinstance(s, FieldNode):
                if s.name.value in names:
                    found.add(s.name.value)
            elif isinstance(s, InlineFragmentNode):
                todo.append(s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value not in seen:
                seen.add(s.name.value)
                todo.append(raw.fragments[s.name.value].selection_set)
    return frozenset(found)
