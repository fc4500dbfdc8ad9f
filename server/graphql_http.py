"""GraphQL over HTTP (the GraphQL-over-HTTP spec): POST JSON, GET for queries only,
`application/graphql-response+json` with its status codes, and GraphiQL in development."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry import Schema
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from models.messages import resolve_locale
from schema.context import Context
from server.auth import actor_from_token, bearer_token, client_address
from server.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_BODY_BYTES = 1_000_000


class _BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _negotiate(accept: str | None) -> str | None:
    """Pick the response media type; None when the client accepts neither."""
    if not accept:
        return JSON  # legacy clients send no Accept header
    best, best_q = None, -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        for candidate in (GRAPHQL_RESPONSE, JSON):
            if media in (candidate, "*/*", "application/*") and q > best_q and q > 0:
                best, best_q = (candidate if media == candidate else GRAPHQL_RESPONSE), q
                break
    return best


async def _read_params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        params: dict[str, Any] = dict(request.query_params)
        for key in ("variables", "extensions"):
            if params.get(key):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    raise _BadRequest(f"{key} is not valid JSON") from None
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise _BadRequest("Content-Type must be application/json", 415)
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise _BadRequest("Request body too large", 413)
    try:
        params = json.loads(body)
    except ValueError:
        raise _BadRequest("Request body is not valid JSON") from None
    if not isinstance(params, dict):
        raise _BadRequest("Request body must be a JSON object (batching is not supported)")
    return params


def _check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, op_name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise _BadRequest("No GraphQL query found in the request")
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequest("variables must be a JSON object")
    if op_name is not None and not isinstance(op_name, str):
        raise _BadRequest("operationName must be a string")
    return query, variables, op_name


def _error_response(message: str, status: int, media: str) -> Response:
    return JSONResponse({"errors": [{"message": message}]}, status_code=status, media_type=media)


class GraphQLEndpoint:
    def __init__(self, schema: Schema, settings: Settings) -> None:
        self.schema = schema
        self.settings = settings
        self.ide_html = None if settings.production else get_graphql_ide_html("graphiql")

    async def handle(self, request: Request) -> Response:
        if request.method not in ("GET", "POST"):
            return Response(status_code=405, headers={"Allow": "GET, POST"})
        accept = request.headers.get("accept")
        if (
            request.method == "GET"
            and self.ide_html
            and "text/html" in (accept or "")
            and "query" not in request.query_params
        ):
            return HTMLResponse(self.ide_html)
        media = _negotiate(accept)
        if media is None:
            return Response("Not Acceptable", status_code=406)
        try:
            query, variables, op_name = _check_params(await _read_params(request))
        except _BadRequest as err:
            return _error_response(str(err), err.status, media)
        context = Context(
            actor=await actor_from_token(bearer_token(request), self.settings.secret_key),
            locale=resolve_locale(request.headers.get("accept-language")),
            client=client_address(request),
            secret_key=self.settings.secret_key,
            request=request,
        )
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=context,
                operation_name=op_name,
                allowed_operation_types=allowed,
            )
        except InvalidOperationTypeError as err:
            reason = err.as_http_error_reason(request.method)
            if request.method == "GET":  # the spec: mutations over GET are 405
                return Response(reason, status_code=405, headers={"Allow": "POST"})
            return _error_response(reason, 400, media)
        except CannotGetOperationTypeError as err:
            return _error_response(err.as_http_error_reason(), 400, media)
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = [e.formatted for e in result.errors]
        pre_execution = isinstance(result, PreExecutionError)
        if not (pre_execution and media == GRAPHQL_RESPONSE):
            body["data"] = result.data
        status = 400 if pre_execution and media == GRAPHQL_RESPONSE else 200
        return JSONResponse(body, status_code=status, media_type=media)
