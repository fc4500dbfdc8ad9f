"""Every error a GraphQL response carries leaves with a stable `extensions.code` and a message
in the client's language (Chinese, English on Accept-Language: en), and nothing the client
sent reaches the schema with characters no field can hold.

Codes: our domain refusals bring their own (schema/errors.py PublicError); the document rules
of schema/request_limits.py theirs; what graphql-core says about the document is
GRAPHQL_PARSE_FAILED (TOO_MANY_TOKENS past the token limit, QUERY_TOO_LONG past the length
limit), GRAPHQL_VALIDATION_FAILED or GRAPHQL_INVALID_VARIABLES, with graphql-core's wording as
the detail: in Chinese from the catalogue of its templates (models.messages.graphql; one it
does not know reads a generic Chinese detail with the line and column), in English as
graphql-core says it; anything else is INTERNAL_ERROR (its text masked in production by
schema/errors.py)."""

from __future__ import annotations

import math
from typing import Any

from graphql import GraphQLError

from models.messages import message
from models.messages.graphql import graphql_detail_zh
from schema.request_limits import DOCUMENT_LIMITS, bad_characters

MAX_VARIABLES_DEPTH = 32
_INT64 = (-(2**63), 2**63 - 1)  # inputs nest a few levels; JSON values (opening hours …) a few more

# Codes whose message is ours entirely, with the limit it names.
_LIMITS = ("QUERY_TOO_DEEP", "TOO_MANY_ALIASES", "TOO_MANY_TOKENS", *DOCUMENT_LIMITS)
# Codes whose message wraps graphql-core's (English) detail.
_DETAILED = frozenset(
    {"GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED", "GRAPHQL_INVALID_VARIABLES"}
)
_OURS = frozenset({*_LIMITS, "INVALID_CHARACTERS", "ONE_LOGIN_PER_REQUEST"})


class TextRefused(Exception):
    """A request's text that no field may hold, or variables nested past the limit."""

    def __init__(self, code: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


def check_text(*values: Any) -> None:
    """Refuse NUL characters and unpaired surrogates anywhere in these JSON values (keys
    too), numbers no field can hold (integers past 64 bits, which no column stores and orjson
    cannot answer; NaN and infinities, which Python's JSON parser lets through), and nesting
    deeper than MAX_VARIABLES_DEPTH. Iterative: deep input cannot make it recurse."""
    stack: list[tuple[Any, int]] = [(v, 0) for v in values]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if bad_characters(value):
                raise TextRefused("INVALID_CHARACTERS")
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise TextRefused("NUMBER_OUT_OF_RANGE")
        elif isinstance(value, int):
            if not _INT64[0] <= value <= _INT64[1]:
                raise TextRefused("NUMBER_OUT_OF_RANGE")
        elif isinstance(value, dict | list):
            if depth >= MAX_VARIABLES_DEPTH:
                raise TextRefused("VARIABLES_TOO_DEEP", max=MAX_VARIABLES_DEPTH)
            if isinstance(value, dict):
                stack.extend((k, depth) for k in value)
                stack.extend((v, depth + 1) for v in value.values())
            else:
                stack.extend((v, depth + 1) for v in value)


def _code(error: GraphQLError) -> str:
    extensions = error.extensions or {}
    code = extensions.get("code")
    if isinstance(code, str):
        return code
    original = error.original_error
    if error.path is not None or (original is not None and not isinstance(original, GraphQLError)):
        return "INTERNAL_ERROR"  # raised while resolving: shown as is in development only
    text = error.message
    if text.startswith("Syntax Error"):
        if "tokens. Parsing aborted" in text:
            return "TOO_MANY_TOKENS"
        if "code points. Parsing aborted" in text:  # parse's max_source_length
            return "QUERY_TOO_LONG"
        return "GRAPHQL_PARSE_FAILED"
    if text.startswith("Variable '$") and " has invalid " in text:
        return "GRAPHQL_INVALID_VARIABLES"  # a value sent (or defaulted) that does not coerce
    return "GRAPHQL_VALIDATION_FAILED"  # variables unused, undefined or misplaced included


def _detail(error: GraphQLError, formatted: dict[str, Any], locale: str) -> str:
    """graphql-core's message for `locale`: its own English, or Chinese, never English."""
    if locale == "en":
        return error.message
    worded = graphql_detail_zh(error.message)
    if worded is not None:
        return worded
    locations = formatted.get("locations") or []
    if locations:
        return message("GRAPHQL_ERROR_AT", locale, **locations[0])
    return message("GRAPHQL_ERROR", locale)


def client_errors(
    errors: list[GraphQLError], locale: str, limits: dict[str, int], *, masked: str
) -> list[dict[str, Any]]:
    """The response's `errors`: each with its code, worded for `locale`. `limits` gives the
    value each limit code names; `masked` is the production mask's own text."""
    out = []
    for error in errors:
        formatted: dict[str, Any] = dict(error.formatted)
        code = _code(error)
        formatted["extensions"] = {**(error.extensions or {}), "code": code}
        if code in _OURS:
            formatted["message"] = message(code, locale, max=limits.get(code))
        elif code in _DETAILED:
            formatted["message"] = message(code, locale, detail=_detail(error, formatted, locale))
        elif code == "INTERNAL_ERROR" and error.message == masked and locale == "en":
            formatted["message"] = message(code, locale)  # the mask itself reads Chinese
        out.append(formatted)
    return out


def is_request_error(errors: list[GraphQLError] | None, data: Any) -> bool:
    """No data and no error from resolving: the request itself was refused (its variables,
    typically), which the GraphQL-over-HTTP spec answers with 400."""
    return bool(errors) and data is None and all(e.path is None for e in errors or ())
