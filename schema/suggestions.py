"""Production leaves graphql-core's "Did you mean …?" suggestions out of every message: with
introspection off they would still hand out the schema's field, argument, enum value, input
field and type names to whoever probes with near misses.

graphql-core 3.3 words each such message with or without them (its `hide_suggestions`, as
graphql-js 17's hideSuggestions), in validation and in the coercion of variables and arguments
while executing. strawberry passes neither, so both steps are configured on the schema, for
every transport that runs it (HTTP, the websocket): validation by
schema.request_limits.DocumentLimits (`hide_suggestions`), executing here."""

from __future__ import annotations

from typing import Any

from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext


class ExecutorWithoutSuggestions(StrawberryGraphQLCoreExecutionContext):
    """strawberry's executor; variables and arguments are coerced without suggestions."""

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        return super().build(*args, **{**kwargs, "hide_suggestions": True})
