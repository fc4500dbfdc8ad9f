"""Production leaves graphql-core's "Did you mean …?" suggestions out of every message: with
introspection off they would still hand out the schema's field, argument, enum value, input
field and type names to whoever probes with near misses.

graphql-core 3.3 words each such message with or without them (its `hide_suggestions`, as
graphql-js 17's hideSuggestions), in validation and in the coercion of variables and arguments
while executing. strawberry passes neither, so both steps are configured here, on the schema:
every transport that runs it (HTTP, the websocket) gets them."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from graphql import DocumentNode, GraphQLError, GraphQLSchema, validate
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule


@lru_cache(maxsize=256)
def _validate(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
) -> list[GraphQLError]:
    # strawberry's own rules, as its validate_document adds them.
    rules = (*rules, MaybeNullValidationRule, OneOfInputValidationRule)
    return validate(schema, document, rules, hide_suggestions=True)


class ValidationWithoutSuggestions(SchemaExtension):
    """strawberry's ValidationCache (the same LRU of results per document and rules), with
    graphql-core told to leave suggestions out."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        context.pre_execution_errors = _validate(
            context.schema._schema, context.graphql_document, context.validation_rules
        )
        yield


class ExecutorWithoutSuggestions(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor; variables and arguments are coerced without suggestions."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
