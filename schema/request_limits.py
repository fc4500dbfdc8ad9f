"""Validation rules that bound what one GraphQL document may ask for: the depth of its
selections, its aliases, and the text of its string literals. Each refusal carries a stable
`extensions.code`; server/graphql_errors.py words it in the client's language.

Depth and aliases are counted through fragment spreads once per fragment (memoised), so the
work is linear in the document. strawberry's own QueryDepthLimiter and MaxAliasesLimiter walk
each fragment again at every spread of it: a document of a few hundred bytes whose fragments
each spread the next one twice made them walk 2^30 paths and hang the worker."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from graphql.language import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
)
from graphql.validation import ValidationContext, ValidationRule

QUERY_TOO_DEEP = "QUERY_TOO_DEEP"
TOO_MANY_ALIASES = "TOO_MANY_ALIASES"
INVALID_CHARACTERS = "INVALID_CHARACTERS"


def _coded(message: str, code: str, nodes: Any = None) -> GraphQLError:
    return GraphQLError(message, nodes, extensions={"code": code})


def _fragments(document: DocumentNode) -> dict[str, FragmentDefinitionNode]:
    return {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}


class _Measure:
    """A per-document measure of selection sets, each fragment measured once. A fragment met
    again while it is being measured (a cycle, which NoFragmentCyclesRule reports) counts 0."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.memo: dict[str, int] = {}
        self.active: set[str] = set()

    def spread(self, node: FragmentSpreadNode) -> int:
        name = node.name.value
        fragment = self.fragments.get(name)
        if fragment is None or name in self.active:
            return 0
        if name not in self.memo:
            self.active.add(name)
            self.memo[name] = self.of(fragment.selection_set)
            self.active.discard(name)
        return self.memo[name]

    def of(self, selection_set: SelectionSetNode | None) -> int:
        raise NotImplementedError


class _Depth(_Measure):
    """How many fields with selections nest above the deepest leaf (introspection fields,
    `__schema` and the like, are not counted: strawberry's rule, kept)."""

    def of(self, selection_set: SelectionSetNode | None) -> int:
        deepest = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                if selection.selection_set and not selection.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.of(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.of(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, self.spread(selection))
        return deepest


class _Aliases(_Measure):
    """Aliased fields, each spread of a fragment counting its aliases again."""

    def of(self, selection_set: SelectionSetNode | None) -> int:
        count = 0
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                count += (selection.alias is not None) + self.of(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                count += self.of(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                count += self.spread(selection)
        return count


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def depth_rule(max_depth: int) -> type[ValidationRule]:
    class QueryDepthRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            depth = _Depth(_fragments(document))
            for operation in _operations(document):
                if depth.of(operation.selection_set) > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    self.report_error(
                        _coded(
                            f"'{name}' exceeds maximum operation depth of {max_depth}",
                            QUERY_TOO_DEEP,
                            operation,
                        )
                    )

    return QueryDepthRule


def alias_rule(max_aliases: int) -> type[ValidationRule]:
    class AliasCountRule(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            document = context.document
            aliases = _Aliases(_fragments(document))
            total = sum(aliases.of(op.selection_set) for op in _operations(document))
            if total > max_aliases:
                self.report_error(
                    _coded(f"{total} aliases found. Allowed: {max_aliases}", TOO_MANY_ALIASES)
                )

    return AliasCountRule


def bad_characters(text: str) -> bool:
    """NUL (PostgreSQL text cannot hold it) or a lone UTF-16 surrogate (not encodable)."""
    if "\x00" in text:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class TextLiteralRule(ValidationRule):
    """String literals in the document: no NUL, no lone surrogates. (Variables are checked
    by the HTTP layer before the document runs.)"""

    def enter_string_value(self, node: StringValueNode, *_: Any) -> None:
        if bad_characters(node.value):
            self.report_error(
                _coded(
                    "String values may not contain NUL characters or unpaired surrogates",
                    INVALID_CHARACTERS,
                    node,
                )
            )
