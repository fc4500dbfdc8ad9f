"""`login` and `refreshToken` run alone: a mutation that calls either holds no other root field,
so one request checks at most one password and opens at most one session. Aliases, fragments
and inline fragments cannot smuggle in a second call (30 aliased logins once cost 30 argon2
checks and made 30 sessions).

A validation rule, so the refusal comes before anything runs, over HTTP and over the websocket
alike (both validate with the schema's rules). Root fields are counted as graphql-core executes
them: by response key, each fragment once; `__typename` does not count."""

from __future__ import annotations

from graphql import GraphQLError
from graphql.language import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from graphql.validation import ValidationContext, ValidationRule

ONE_LOGIN_PER_REQUEST = "ONE_LOGIN_PER_REQUEST"
SIGN_IN_FIELDS = frozenset({"login", "refreshToken"})


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
    found: dict[str, str],
) -> None:
    """Response key -> field name of every root field, through (inline) fragments."""
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            name = selection.name.value
            if not name.startswith("__"):
                found[selection.alias.value if selection.alias else name] = name
        elif isinstance(selection, InlineFragmentNode):
            _root_fields(selection.selection_set, fragments, seen, found)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            if fragment is not None and fragment.name.value not in seen:
                seen.add(fragment.name.value)
                _root_fields(fragment.selection_set, fragments, seen, found)


class SignInAloneRule(ValidationRule):
    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        definitions = context.document.definitions
        fragments = {d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)}
        for operation in definitions:
            if not (
                isinstance(operation, OperationDefinitionNode)
                and operation.operation is OperationType.MUTATION
            ):
                continue
            found: dict[str, str] = {}
            _root_fields(operation.selection_set, fragments, set(), found)
            if len(found) > 1 and SIGN_IN_FIELDS.intersection(found.values()):
                self.report_error(
                    GraphQLError(
                        "login and refreshToken must be the only field of their mutation",
                        operation,
                        extensions={"code": ONE_LOGIN_PER_REQUEST},
                    )
                )
