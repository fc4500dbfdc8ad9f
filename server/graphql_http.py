"""GraphQL over HTTP (the GraphQL-over-HTTP spec): POST JSON, GET for queries only,
`application/graphql-response+json` with its status codes, and GraphiQL in development.

File uploads follow the GraphQL multipart request spec
(github.com/jaydenseric/graphql-multipart-request-spec): a POST of `multipart/form-data` with
the field `operations` (the usual {query, variables, operationName} as JSON), then `map`
(JSON: {"0": ["variables.input.file"]}), then one file part per map key. Each file is put into
the variables at its paths (where the client left null) as a starlette `UploadFile`, which the
`Upload` scalar hands to the mutation. Only mutations, only signed-in users (refused with 401
before the body is read: the bearer token is the only credential, so a cross-site form post
carries none and needs no CSRF preflight header), only while the account's unlinked uploads
leave room (429 before the body is parsed; `uploadAttachment` holds each file to the quota too).
Limits: `MAX_UPLOAD_FILES` files of `MAX_UPLOAD_BYTES` each, `MAX_MULTIPART_BODY_BYTES` in all
(refused with 413 before reading further), `operations` at most 1 MB and `map` 8 KB;
everything malformed is a 400 whose `errors[0].extensions.code` says what (messages in Chinese,
English on Accept-Language: en).
The body is read by the same streaming reader as POST /uploads (server/files.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

import orjson
from graphql import DocumentNode, FieldNode, GraphQLError, OperationDefinitionNode
from graphql import OperationType as AstOperationType
from graphql.utilities import get_operation_ast
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry import Schema
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType

from models.db.unavailable import is_database_unavailable
from models.errors import DomainError
from models.messages import message, resolve_locale
from models.ops.attachments import MAX_UPLOAD_BYTES, MIB, UploadQuota, check_upload_quota
from models.rules.actor import Actor
from models.session_cache import SESSIONS
from schema import SESSION_NEUTRAL_MUTATIONS
from schema.compiled import CompiledQueries
from schema.context import Context
from schema.request_limits import parse_document
from server.auth import actor_from_token, bearer_token, client_address
from server.files import MULTIPART_OVERHEAD_BYTES, FormRefused, PartKind, StreamingForm
from server.graphql_errors import TextRefused, check_text, client_errors, is_request_error
from server.ide import IDE_CSP, graphiql_page
from server.settings import Settings
from server.unavailable import note, unavailable

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
MAX_BODY_BYTES = 1_000_000
# GET carries the query in the URL: longer ones are refused (414) before anything is parsed
# (uvicorn itself answers 400 to a request head past ~64 KB).
MAX_QUERY_STRING_BYTES = 32 * 1024
# A body refused as too large is still read (and dropped) up to this, so the client gets to
# read the 413 instead of a connection reset; past it the connection is simply closed.
MAX_DRAINED_BYTES = 16 * MIB
MASKED_MESSAGE = "服务器内部错误"  # schema.build_schema's production mask
MULTIPART = "multipart/form-data"
MAX_UPLOAD_FILES = 10
MAX_MULTIPART_BODY_BYTES = 64 * MIB + MULTIPART_OVERHEAD_BYTES
MAX_OPERATIONS_BYTES = 1 * MIB
MAX_MAP_BYTES = 8 * 1024
MAX_PATH_SHOWN = 100  # characters of a refused map path echoed back


class _BadRequest(Exception):
    """A request refused before it reaches the schema, with a stable code."""

    def __init__(self, code: str, status: int = 400, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


def _negotiate(accept: str | None) -> str | None:
    """Pick the response media type; None when the client accepts neither. Legacy clients,
    that send no Accept header or only a wildcard (`*/*`, `application/*`), get
    application/json (the GraphQL-over-HTTP spec's legacy watershed); graphql-response+json is
    for those that name it. Between the two, the higher q wins, then the one listed first."""
    if not accept or not accept.strip():
        return JSON
    offers: list[tuple[float, bool, int, str]] = []  # (q, named, -position, media)
    refused: set[str] = set()
    for position, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        media = media.strip().lower()
        q = 1.0
        for p in params.split(";"):
            k, _, v = p.strip().partition("=")
            if k.strip().lower() == "q":
                try:
                    q = float(v)
                except ValueError:
                    q = 0.0
        q = q if 0 <= q <= 1 else 0.0  # NaN and nonsense included
        if media in (GRAPHQL_RESPONSE, JSON):
            if q <= 0:
                refused.add(media)
            else:
                offers.append((q, True, -position, media))
        elif media in ("*/*", "application/*") and q > 0:
            offers.append((q, False, -position, ""))
    choices = [m for m in (JSON, GRAPHQL_RESPONSE) if m not in refused]
    if not offers or not choices:
        return None
    q, named, _, media = max(offers)
    return media if named else choices[0]


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) when it is announced or grows past MAX_BODY_BYTES; a large
    body is never held in memory, only read through (up to MAX_DRAINED_BYTES)."""
    too_large = _BadRequest("REQUEST_TOO_LARGE", 413, max=MAX_BODY_BYTES // 1_000_000)
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_DRAINED_BYTES):
        raise too_large
    body = bytearray()
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received <= MAX_BODY_BYTES:
            body += chunk
        elif received > MAX_DRAINED_BYTES:
            break
    if received > MAX_BODY_BYTES:
        raise too_large
    return bytes(body)


async def _read_params(request: Request) -> dict[str, Any]:
    if request.method == "GET":
        if len(request.scope.get("query_string", b"")) > MAX_QUERY_STRING_BYTES:
            raise _BadRequest("URI_TOO_LONG", 414, max=MAX_QUERY_STRING_BYTES // 1024)
        params: dict[str, Any] = dict(request.query_params)
        for key in ("variables", "extensions"):
            if params.get(key):
                try:
                    params[key] = json.loads(params[key])
                except (ValueError, RecursionError):
                    raise _BadRequest("INVALID_JSON") from None
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != JSON:
        raise _BadRequest("UNSUPPORTED_MEDIA_TYPE", 415)
    body = await _read_body(request)
    try:
        params = json.loads(body)
    except (ValueError, RecursionError):
        raise _BadRequest("INVALID_JSON") from None
    if not isinstance(params, dict):
        raise _BadRequest("BATCH_NOT_SUPPORTED" if isinstance(params, list) else "INVALID_JSON")
    return params


def _check_params(params: dict[str, Any]) -> tuple[str, dict[str, Any] | None, str | None]:
    query, variables, op_name = (
        params.get("query"),
        params.get("variables"),
        params.get("operationName"),
    )
    if not isinstance(query, str) or not query.strip():
        raise _BadRequest("QUERY_REQUIRED")
    if variables is not None and not isinstance(variables, dict):
        raise _BadRequest("INVALID_VARIABLES")
    if op_name is not None and not isinstance(op_name, str):
        raise _BadRequest("INVALID_OPERATION_NAME")
    extensions = params.get("extensions")
    if extensions is not None and not isinstance(extensions, dict):
        raise _BadRequest("INVALID_EXTENSIONS")
    try:
        check_text(query, variables, op_name)
    except TextRefused as refused:
        raise _BadRequest(refused.code, **refused.params) from None
    return query, variables, op_name


# --- GraphQL multipart requests --------------------------------------------------------


class _Refused(Exception):
    """A multipart request refused with a stable code (its message is localised)."""

    def __init__(self, code: str, status: int = 400, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.status = status
        self.params = params


SHORT_DOCUMENT = 8192  # characters: longer documents are not remembered


def _remembered_for_short_documents(
    fn: Callable[..., bool],
) -> Callable[..., bool]:
    """`fn(query, *args)`, remembered for the short documents apps send again and again."""
    remembered = lru_cache(maxsize=512)(fn)

    def call(query: str, *args: Any) -> bool:
        return bool(remembered(query, *args) if len(query) <= SHORT_DOCUMENT else fn(query, *args))

    return call


def _parsed(query: str, max_tokens: int) -> DocumentNode | None:
    document = parse_document(query, max_tokens)
    return None if isinstance(document, GraphQLError) else document


@_remembered_for_short_documents
def _several_operations(query: str, max_tokens: int) -> bool:
    """Whether a document holds several operations (so none can run without a name). A
    document that does not parse is left to the executor, which says why."""
    document = _parsed(query, max_tokens)
    if document is None:
        return False
    return sum(isinstance(d, OperationDefinitionNode) for d in document.definitions) > 1


@_remembered_for_short_documents
def _session_neutral(query: str, op_name: str | None, max_tokens: int) -> bool:
    """Whether the document's operation only calls mutations of SESSION_NEUTRAL_MUTATIONS (or is
    a query); anything else, or a document that does not parse, is taken as changing sessions."""
    document = _parsed(query, max_tokens)
    operation = None if document is None else get_operation_ast(document, op_name)
    if operation is None:
        return False
    if operation.operation is not AstOperationType.MUTATION:
        return True
    return all(
        isinstance(s, FieldNode) and not s.directives and s.name.value in SESSION_NEUTRAL_MUTATIONS
        for s in operation.selection_set.selections
    )


def _coded_error(code: str, locale: str, status: int, media: str, **params: Any) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if code == "UNAUTHENTICATED" else None
    return JSONResponse(
        {"errors": [{"message": message(code, locale, **params), "extensions": {"code": code}}]},
        status_code=status,
        media_type=media,
        headers=headers,
    )


async def _unless_unavailable(request: Request, media: str, work: Awaitable[Response]) -> Response:
    """`work`'s response, or 503 DATABASE_UNAVAILABLE when the database is away (its
    failure raised outside the resolvers: signing in, the compiled queries)."""
    try:
        return await work
    except Exception as exc:
        if not is_database_unavailable(exc):
            raise
        note(exc)
        return unavailable(request, media)


def _database_away(error: GraphQLError) -> bool:
    """A resolver's error that is the database being away (masked in production, where
    schema.errors keeps its code)."""
    code = (error.extensions or {}).get("code")
    return code == "DATABASE_UNAVAILABLE" or is_database_unavailable(error.original_error)


def _is_multipart(request: Request) -> bool:
    content_type = request.headers.get("content-type", "")
    return content_type.split(";")[0].strip().lower() == MULTIPART


def _shown(path: str) -> str:
    return path if len(path) <= MAX_PATH_SHOWN else path[:MAX_PATH_SHOWN] + "…"


def _step(target: Any, key: str, path: str) -> Any:
    """One step along a map path: an existing key of an object or index of a list."""
    if isinstance(target, dict) and key in target:
        return target[key]
    if (
        isinstance(target, list)
        and key.isascii()
        and key.isdigit()
        and (key == "0" or not key.startswith("0"))
        and int(key) < len(target)
    ):
        return target[int(key)]
    raise _Refused("MULTIPART_INVALID_PATH", path=_shown(path))


def _placeholder(variables: Any, path: str) -> tuple[Any, str]:
    """The container and key a map path names: inside `variables`, holding null."""
    keys = path.split(".")
    if len(keys) < 2 or keys[0] != "variables" or not isinstance(variables, dict):
        raise _Refused("MULTIPART_INVALID_PATH", path=_shown(path))
    target = variables
    for key in keys[1:-1]:
        target = _step(target, key, path)
    if _step(target, keys[-1], path) is not None:
        raise _Refused("MULTIPART_INVALID_PATH", path=_shown(path))
    return target, keys[-1]


class _OperationsForm(StreamingForm):
    """A GraphQL multipart request: `operations`, then `map`, then the files `map` names.
    Each field is checked as soon as it arrives, so a bad request is refused before any file
    is read."""

    def __init__(self, max_tokens: int) -> None:
        super().__init__(
            max_body=MAX_MULTIPART_BODY_BYTES,
            max_file=MAX_UPLOAD_BYTES,
            max_files=MAX_UPLOAD_FILES,
            max_field=MAX_MAP_BYTES,
        )
        self.max_tokens = max_tokens
        self.operations: dict[str, Any] | None = None
        self.query = ""
        self.variables: dict[str, Any] | None = None
        self.op_name: str | None = None
        # file field name -> the (container, key) places it goes
        self.places: dict[str, list[tuple[Any, str]]] | None = None

    def classify(self, name: str, file_name: str | None) -> PartKind:
        if name == "operations":
            if self.operations is not None:
                raise _Refused("MULTIPART_MALFORMED")
            return "field"
        if name == "map":
            if self.operations is None:
                raise _Refused("MULTIPART_ORDER")
            if self.places is not None:
                raise _Refused("MULTIPART_MALFORMED")
            return "field"
        if self.places is None:
            raise _Refused("MULTIPART_ORDER")
        if name not in self.places:
            raise _Refused("MULTIPART_UNEXPECTED_PART", name=_shown(name))
        return "file"  # even without a filename: the map says it is one

    def field_limit(self, name: str) -> int:
        return MAX_OPERATIONS_BYTES if name == "operations" else MAX_MAP_BYTES

    def on_field(self, name: str, value: bytes) -> None:
        if name == "operations":
            self._read_operations(value)
        else:
            self._read_map(value)

    def _read_operations(self, raw: bytes) -> None:
        try:
            operations = json.loads(raw)
        except (ValueError, RecursionError):
            raise _Refused("MULTIPART_INVALID_OPERATIONS") from None
        if not isinstance(operations, dict):  # a batch (array) or a scalar
            raise _Refused("MULTIPART_INVALID_OPERATIONS")
        try:
            query, variables, op_name = _check_params(operations)
        except _BadRequest as bad:
            if bad.code in ("INVALID_CHARACTERS", "NUMBER_OUT_OF_RANGE", "VARIABLES_TOO_DEEP"):
                raise _Refused(bad.code, **bad.params) from None
            raise _Refused("MULTIPART_INVALID_OPERATIONS") from None
        self.operations, self.query, self.variables, self.op_name = (
            operations,
            query,
            variables,
            op_name,
        )
        # Refuse queries before reading any file. A document that does not parse is left to
        # the executor, which says why in the usual GraphQL way (and allows mutations only).
        document = _parsed(query, self.max_tokens)
        if document is None:
            return
        operation = get_operation_ast(document, op_name)
        if operation is not None and operation.operation != AstOperationType.MUTATION:
            raise _Refused("MULTIPART_MUTATION_ONLY")

    def _read_map(self, raw: bytes) -> None:
        try:
            file_map = json.loads(raw)
        except (ValueError, RecursionError):
            raise _Refused("MULTIPART_INVALID_MAP") from None
        if not isinstance(file_map, dict) or not all(
            isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)
            for paths in file_map.values()
        ):
            raise _Refused("MULTIPART_INVALID_MAP")
        if len(file_map) > MAX_UPLOAD_FILES or sum(map(len, file_map.values())) > MAX_UPLOAD_FILES:
            raise _Refused("TOO_MANY_FILES", max=MAX_UPLOAD_FILES)
        places: dict[str, list[tuple[Any, str]]] = {}
        seen: set[tuple[int, str]] = set()
        for name, paths in file_map.items():
            if name in ("", "operations", "map"):
                raise _Refused("MULTIPART_INVALID_MAP")
            for path in paths:
                container, key = _placeholder(self.variables, path)
                if (id(container), key) in seen:  # the same placeholder mapped twice
                    raise _Refused("MULTIPART_INVALID_PATH", path=_shown(path))
                seen.add((id(container), key))
                places.setdefault(name, []).append((container, key))
        self.places = places

    def substitute(self) -> dict[str, Any] | None:
        """The variables with each file in its places; refused when a file is missing."""
        if self.operations is None:
            raise _Refused("MULTIPART_INVALID_OPERATIONS")
        if self.places is None:
            raise _Refused("MULTIPART_INVALID_MAP")
        for name, places in self.places.items():
            upload: UploadFile | None = self.files.get(name)
            if upload is None:
                raise _Refused("MULTIPART_MISSING_FILE", name=_shown(name))
            for container, key in places:
                if isinstance(container, list):
                    container[int(key)] = upload
                else:
                    container[key] = upload
        return self.variables


def _form_refusal(refused: FormRefused) -> _Refused:
    problem = refused.problem
    if problem == "BODY_TOO_LARGE":
        return _Refused("REQUEST_TOO_LARGE", 413, max=MAX_MULTIPART_BODY_BYTES // MIB)
    if problem == "FILE_TOO_LARGE":
        return _Refused("FILE_TOO_LARGE", 413, max=MAX_UPLOAD_BYTES // MIB)
    if problem == "FIELD_TOO_LARGE":
        name = str(refused.params.get("name", ""))
        limit = int(refused.params.get("max", 0)) // 1024
        if name in ("operations", "map"):
            return _Refused("MULTIPART_FIELD_TOO_LARGE", 413, name=name, max=limit)
        return _Refused("MULTIPART_UNEXPECTED_PART", name=_shown(name))
    if problem == "TOO_MANY_FILES":
        return _Refused("TOO_MANY_FILES", max=MAX_UPLOAD_FILES)
    if problem == "NOT_MULTIPART":
        return _Refused("MULTIPART_MALFORMED", 415)
    if problem == "BAD_FILE_NAME":
        return _Refused("INVALID_FILE_NAME")
    return _Refused("MULTIPART_MALFORMED")


def _json(body: dict[str, Any], status: int, media: str) -> Response:
    """An execution result as UTF-8 JSON, by orjson (json.dumps took 3-6% of a list screen)."""
    return Response(orjson.dumps(body), status_code=status, media_type=media)


class GraphQLEndpoint:
    def __init__(
        self, schema: Schema, settings: Settings, compiled: CompiledQueries | None = None
    ) -> None:
        self.schema = schema
        self.settings = settings
        self.compiled = compiled
        self.ide_html = None if settings.production else graphiql_page()
        # What each limit code's message names.
        self.limits = settings.document_limits
        self.ide_headers = {"Content-Security-Policy": IDE_CSP}
        self.upload_quota = UploadQuota(settings.upload_quota_files, settings.upload_quota_bytes)

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
            return HTMLResponse(self.ide_html, headers=self.ide_headers)
        media = _negotiate(accept)
        if media is None:
            return Response("Not Acceptable", status_code=406)
        if request.method == "POST" and _is_multipart(request):
            return await _unless_unavailable(request, media, self._multipart(request, media))
        try:
            query, variables, op_name = _check_params(await _read_params(request))
        except _BadRequest as err:
            locale = resolve_locale(request.headers.get("accept-language"))
            return _coded_error(err.code, locale, err.status, media, **err.params)
        allowed = (
            {OperationType.QUERY}
            if request.method == "GET"
            else {OperationType.QUERY, OperationType.MUTATION}
        )
        return await _unless_unavailable(
            request, media, self._signed_in(request, media, query, variables, op_name, allowed)
        )

    async def _signed_in(
        self,
        request: Request,
        media: str,
        query: str,
        variables: dict[str, Any] | None,
        op_name: str | None,
        allowed: set[OperationType],
    ) -> Response:
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        return await self._execute(request, media, actor, query, variables, op_name, allowed)

    async def _multipart(self, request: Request, media: str) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        actor = await actor_from_token(bearer_token(request), self.settings.secret_key)
        if actor is None:  # uploads are for signed-in users: refused before the body is read
            return _coded_error("UNAUTHENTICATED", locale, 401, media)
        try:  # an account whose unlinked uploads fill its quota: its body is not even parsed
            await check_upload_quota(actor, self.upload_quota)
        except DomainError as err:
            # As for 401: uvicorn drops the unread body and keeps the connection, so the
            # client reads this answer (a close with its body unread could reset it first).
            p = err.problems[0]
            return _coded_error(p.code, locale, 429, media, **p.params)
        form = _OperationsForm(self.settings.max_query_tokens)
        try:
            try:
                await form.read(request)
            except FormRefused as refused:
                raise _form_refusal(refused) from None
            variables = form.substitute()
        except _Refused as refused:
            await form.aclose()
            response = _coded_error(refused.code, locale, refused.status, media, **refused.params)
            # Refused before the body was read through: the connection cannot be reused.
            response.headers["Connection"] = "close"
            return response
        try:
            return await self._execute(
                request,
                media,
                actor,
                form.query,
                variables,
                form.op_name,
                {OperationType.MUTATION},
            )
        finally:
            await form.aclose()

    async def _execute(
        self,
        request: Request,
        media: str,
        actor: Actor | None,
        query: str,
        variables: dict[str, Any] | None,
        op_name: str | None,
        allowed: set[OperationType],
    ) -> Response:
        locale = resolve_locale(request.headers.get("accept-language"))
        context = Context(
            actor=actor,
            locale=locale,
            client=client_address(request),
            secret_key=self.settings.secret_key,
            request=request,
            upload_quota=self.upload_quota,
        )
        if self.compiled is not None and OperationType.QUERY in allowed:
            data = await self.compiled.execute(query, op_name, variables, context)
            if data is not None:
                return _json({"data": data}, 200, media)
        if op_name is None and _several_operations(query, self.settings.max_query_tokens):
            # The spec: several operations and no operationName is an error (strawberry would
            # run the first).
            return _coded_error("UNKNOWN_OPERATION", locale, 400, media)
        try:
            try:
                result = await self.schema.execute(
                    query,
                    variable_values=variables,
                    context_value=context,
                    operation_name=op_name,
                    allowed_operation_types=allowed,
                )
            finally:
                if OperationType.MUTATION in allowed and not _session_neutral(
                    query, op_name, self.settings.max_query_tokens
                ):
                    # It may have ended a session or changed grants: this process's next
                    # request must not wait for the database's announcement to hear it.
                    SESSIONS.changed_here()
        except InvalidOperationTypeError as err:
            if err.operation_type == OperationType.SUBSCRIPTION:
                return _coded_error("SUBSCRIPTION_NEEDS_WEBSOCKET", locale, 400, media)
            if request.method == "GET":  # the spec: mutations over GET are 405
                response = _coded_error("MUTATION_NEEDS_POST", locale, 405, media)
                response.headers["Allow"] = "POST"
                return response
            return _coded_error("MULTIPART_MUTATION_ONLY", locale, 400, media)
        except CannotGetOperationTypeError:
            return _coded_error("UNKNOWN_OPERATION", locale, 400, media)
        if result.errors and any(_database_away(e) for e in result.errors):
            note(result.errors[0].original_error or Exception("database unavailable"))
            return unavailable(request, media)  # the whole answer: a mutation rolled back
        body: dict[str, Any] = {}
        if result.errors:
            body["errors"] = client_errors(
                result.errors, locale, self.limits, masked=MASKED_MESSAGE
            )
        # A document or variables refused before anything ran: 400 without data (the
        # GraphQL-over-HTTP spec; legacy application/json clients get 200 with data null).
        refused = isinstance(result, PreExecutionError) or is_request_error(
            result.errors, result.data
        )
        if not (refused and media == GRAPHQL_RESPONSE):
            body["data"] = result.data
        status = 400 if refused and media == GRAPHQL_RESPONSE else 200
        return _json(body, status, media)
