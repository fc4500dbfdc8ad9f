"""The graphql-transport-ws endpoint on /graphql: subscriptions only, held to the rules of
HTTP for as long as the socket lives.

- `connection_init` carries the bearer token (browsers cannot set headers on a websocket). A
  missing or bad one closes the socket with 4401 and `CODE: message` as the close reason.
- The socket's session is checked again whenever models.session_cache says its user may have
  changed (on PostgreSQL every process hears every commit's announcement; on SQLite this
  process's own mutations tell it), every LIVE_RECHECK_SECONDS in any case, the moment its
  access token expires, and before every operation. An ended session, an expired token or
  changed roles close it with 4401 (the app renews its token and reconnects); a disabled
  account with 4403 (reconnecting will not help).
- Only subscriptions run over it: queries and mutations go to HTTP (OPERATION_NEEDS_HTTP), so
  no second path has to repeat HTTP's guards. A subscription passes the same schema pipeline as
  a POST (token count, depth, aliases, text literals, production rules), after the same text
  checks of its variables, and its errors carry the same codes in the client's language.
- Limits: sockets per account and per client address, subscriptions per socket, and a socket
  that sends no `connection_init` in time is closed (4408)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.utils.aio import aclosing

from models.access import load_signed_in_actor
from models.db.unavailable import is_database_unavailable
from models.messages import message as worded
from models.messages import resolve_locale
from models.rules.actor import Actor
from models.rules.tokens import access_token_deadline, expired_access_token, read_access_token
from models.session_cache import SESSIONS
from models.tables.org import User
from schema.context import Context
from schema.live import Broker
from server.auth import client_address
from server.graphql_errors import TextRefused, check_text, client_errors
from server.graphql_http import MASKED_MESSAGE, MAX_BODY_BYTES
from server.settings import Settings

log = logging.getLogger("enterprise_desk.live")

# uvicorn's limit on one websocket message (`serve` and the tests' server set it): a subscribe
# message holds a query of at most MAX_BODY_BYTES and its variables.
MAX_MESSAGE_BYTES = MAX_BODY_BYTES + 64 * 1024
MAX_REASON_BYTES = 123  # a close frame's reason (RFC 6455)
UNAUTHORIZED = 4401  # graphql-transport-ws: renew the token and reconnect
FORBIDDEN = 4403  # reconnecting will not help
TOO_MANY = 4429
TRY_AGAIN_LATER = 1013  # RFC 6455
INTERNAL_ERROR = 1011


@dataclass(frozen=True)
class SocketLimits:
    per_account: int
    per_address: int
    subscriptions: int = 5  # the app needs one (notificationAdded)
    init_seconds: float = 10.0  # from the upgrade to connection_init

    @classmethod
    def of(cls, settings: Settings) -> SocketLimits:
        return cls(settings.live_sockets_per_account, settings.live_sockets_per_address)


def reason(code: str, locale: str, **params: Any) -> str:
    """`CODE: message`, cut to what a close frame can carry."""
    text = f"{code}: {worded(code, locale, **params)}"
    data = text.encode()
    if len(data) <= MAX_REASON_BYTES:
        return text
    return data[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


@dataclass(eq=False)
class LiveSession:
    """A signed-in socket: its token, who it is, and what wakes its watcher."""

    token: str
    actor: Actor
    deadline: float  # when the access token stops being accepted (epoch seconds)
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class LiveSockets:
    """This process's open sockets, counted by client address and by account; told by the
    session cache which accounts may have changed."""

    def __init__(self, limits: SocketLimits) -> None:
        self.limits = limits
        self.by_address: Counter[str] = Counter()
        self.by_user: dict[int, set[LiveSession]] = {}

    def open(self, address: str) -> bool:
        if self.by_address[address] >= self.limits.per_address:
            return False
        self.by_address[address] += 1
        return True

    def close(self, address: str) -> None:
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]

    def join(self, session: LiveSession) -> bool:
        mine = self.by_user.setdefault(session.actor.user_id, set())
        if len(mine) >= self.limits.per_account:
            return False
        mine.add(session)
        return True

    def leave(self, session: LiveSession) -> None:
        mine = self.by_user.get(session.actor.user_id)
        if mine is not None:
            mine.discard(session)
            if not mine:
                del self.by_user[session.actor.user_id]

    def changed(self, user_ids: list[int] | None) -> None:
        groups = self.by_user.values() if user_ids is None else map(self.by_user.get, user_ids)
        for sessions in groups:
            for session in sessions or ():
                session.wake.set()

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        """Hear the session cache's changes while the app runs."""
        stop = SESSIONS.watch(self.changed)
        try:
            yield
        finally:
            stop()


def _token(params: dict[str, Any] | None) -> str | None:
    """`{"Authorization": "Bearer …"}` (what Apollo and urql clients send) or `{"token": …}`."""
    if not params:
        return None
    raw = params.get("Authorization") or params.get("authorization") or params.get("token")
    if not isinstance(raw, str):
        return None
    scheme, _, value = raw.strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value else raw.strip() or None


Verdict = tuple[int, str]  # close code, reason code


async def _signed_in(token: str | None, secret: str) -> tuple[Actor | None, Verdict | None]:
    """The actor of the token, or why there is none."""
    if not token:
        return None, (UNAUTHORIZED, "UNAUTHENTICATED")
    claims = read_access_token(token, secret)
    if claims is None:
        expired = expired_access_token(token, secret)
        return None, (UNAUTHORIZED, "TOKEN_EXPIRED" if expired else "UNAUTHENTICATED")
    actor = await load_signed_in_actor(claims.user_id, claims.session_version, claims.family)
    if actor is not None:
        return actor, None
    if not await User.filter(id=claims.user_id, is_active=True).exists():
        return None, (FORBIDDEN, "ACCOUNT_DISABLED")
    return None, (UNAUTHORIZED, "SESSION_ENDED")


def _fault(exc: Exception) -> Verdict:
    """A session check that failed: the database away (the client retries later), or a fault."""
    if is_database_unavailable(exc):
        return TRY_AGAIN_LATER, "DATABASE_UNAVAILABLE"
    log.exception("live socket session check failed", exc_info=exc)
    return INTERNAL_ERROR, "INTERNAL_ERROR"


class _Operation(Operation[Context, None]):
    """An operation whose errors leave with our codes, in the client's language."""

    __slots__ = ()

    handler: _Handler

    async def send_initial_errors(self, errors: list[GraphQLError]) -> None:
        payload = self.handler.errors(errors)
        await self.send_operation_message(
            cast(Any, {"id": self.id, "type": "error", "payload": payload})
        )

    async def send_next(self, execution_result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": execution_result.data}
        if execution_result.errors:
            payload["errors"] = self.handler.errors(execution_result.errors)
        await self.send_operation_message(
            cast(Any, {"id": self.id, "type": "next", "payload": payload})
        )


class _Handler(BaseGraphQLTransportWSHandler[Context, None]):
    session: LiveSession | None = None
    watcher: asyncio.Task[None] | None = None
    released = False

    @property
    def endpoint(self) -> GraphQLWebSocket:
        return cast(GraphQLWebSocket, self.view)

    @property
    def locale(self) -> str:
        return self.context.locale

    def errors(self, errors: list[GraphQLError]) -> list[dict[str, Any]]:
        coded = []
        for error in errors:
            original = error.original_error
            if isinstance(original, InvalidOperationTypeError):
                code = "OPERATION_NEEDS_HTTP"
            elif isinstance(original, CannotGetOperationTypeError):
                code = "UNKNOWN_OPERATION"
            else:
                coded.append(error)
                continue
            coded.append(GraphQLError(worded(code, self.locale), extensions={"code": code}))
        return client_errors(coded, self.locale, self.endpoint.limits, masked=MASKED_MESSAGE)

    async def handle(self) -> None:
        if not self.endpoint.sockets.open(self.context.client):
            self.released = True
            await self._close(TOO_MANY, "TOO_MANY_SOCKETS_FROM_ADDRESS")
            return
        try:
            await super().handle()
        finally:
            self._release()

    def _release(self) -> None:
        """Give back this socket's places (before a close frame the server sends, so the
        client that reads it may connect again at once)."""
        if self.released:
            return
        self.released = True
        self.endpoint.sockets.close(self.context.client)
        if self.watcher is not None and self.watcher is not asyncio.current_task():
            self.watcher.cancel()
        if self.session is not None:
            self.endpoint.sockets.leave(self.session)

    async def handle_message(self, message: Any) -> None:
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            await self.handle_invalid_message("Failed to parse message")
            return
        await super().handle_message(message)  # type: ignore[arg-type]

    async def _close(self, code: int, why: str, **params: Any) -> None:
        self._release()
        with contextlib.suppress(Exception):  # already closed by the client
            await self.websocket.close(code=code, reason=reason(why, self.locale, **params))

    async def handle_connection_init(self, message: Any) -> None:
        if self.connection_timed_out:
            return
        if self.connection_init_timeout_task:
            self.connection_init_timeout_task.cancel()
        payload = message.get("payload")
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            await self.websocket.close(code=4400, reason="Invalid connection init payload")
            return
        if self.connection_init_received:
            await self.websocket.close(code=4429, reason="Too many initialisation requests")
            return
        self.connection_init_received = True
        self.context.connection_params = payload
        token = _token(payload)
        try:
            actor, verdict = await _signed_in(token, self.endpoint.settings.secret_key)
        except Exception as exc:
            actor, verdict = None, _fault(exc)
        if verdict is not None or actor is None or token is None:
            await self._close(*(verdict or (UNAUTHORIZED, "UNAUTHENTICATED")))
            return
        deadline = access_token_deadline(token, self.endpoint.settings.secret_key) or time.time()
        session = LiveSession(token, actor, deadline)
        if not self.endpoint.sockets.join(session):
            limit = self.endpoint.sockets.limits.per_account
            await self._close(TOO_MANY, "TOO_MANY_SOCKETS_FOR_ACCOUNT", max=limit)
            return
        self.session = session
        self.context.actor = actor
        self.watcher = asyncio.create_task(self._watch(session), name="live-socket-session")
        await self.send_message({"type": "connection_ack"})
        self.connection_acknowledged = True

    async def _verdict(self, session: LiveSession) -> Verdict | None:
        actor, verdict = await _signed_in(session.token, self.endpoint.settings.secret_key)
        if verdict is not None:
            return verdict
        if actor is not None and actor.grants != session.actor.grants:
            return UNAUTHORIZED, "ROLES_CHANGED"
        self.context.actor = actor
        return None

    async def _watch(self, session: LiveSession) -> None:
        """Close the socket as soon as its session ends: woken by the session cache, by the
        token's expiry, or every LIVE_RECHECK_SECONDS."""
        every = self.endpoint.settings.live_recheck_seconds
        while True:
            wait = max(0.0, min(every, session.deadline - time.time()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(session.wake.wait(), wait)
            session.wake.clear()
            try:
                verdict = await self._verdict(session)
            except Exception as exc:  # the database away: keep the socket, ask again later
                log.warning("live socket session check failed: %s", type(exc).__name__)
                continue
            if verdict is not None:
                await self._end(verdict)
                return

    async def _end(self, verdict: Verdict) -> None:
        """Stop every operation of the socket, then close it."""
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        await self._close(*verdict)

    async def handle_subscribe(self, message: Any) -> None:
        if not self.connection_acknowledged or self.session is None:
            await self._close(UNAUTHORIZED, "UNAUTHENTICATED")
            return
        operation_id = message["id"]
        if not isinstance(operation_id, str):
            await self.handle_invalid_message("Failed to parse message")
            return
        if operation_id in self.operations:
            await self.websocket.close(
                code=4409, reason=f"Subscriber for {operation_id[:64]} already exists"
            )
            return
        try:
            verdict = await self._verdict(self.session)
        except Exception as exc:
            verdict = _fault(exc)
        if verdict is not None:
            await self._end(verdict)
            return
        refused = self._refusal(message.get("payload"))
        if refused is None and len(self.operations) >= self.endpoint.sockets.limits.subscriptions:
            refused = (
                "TOO_MANY_SUBSCRIPTIONS",
                {"max": self.endpoint.sockets.limits.subscriptions},
            )
        if refused is not None:
            code, params = refused
            error = {"message": worded(code, self.locale, **params), "extensions": {"code": code}}
            await self.send_message(
                cast(Any, {"id": operation_id, "type": "error", "payload": [error]})
            )
            return
        payload = message["payload"]
        operation = _Operation(
            self,
            operation_id,
            payload["query"],
            payload.get("variables"),
            payload.get("operationName"),
        )
        operation.task = asyncio.create_task(self.run_operation(operation))
        operation.task.add_done_callback(self._task_done)
        self.operations[operation_id] = operation

    @staticmethod
    def _refusal(payload: Any) -> tuple[str, dict[str, Any]] | None:
        """What HTTP's request checks would refuse in this subscribe payload."""
        if not isinstance(payload, dict):
            return "INVALID_SUBSCRIBE_MESSAGE", {}
        query, variables = payload.get("query"), payload.get("variables")
        op_name, extensions = payload.get("operationName"), payload.get("extensions")
        if not isinstance(query, str) or not query.strip():
            return "QUERY_REQUIRED", {}
        if len(query.encode(errors="surrogatepass")) > MAX_BODY_BYTES:
            return "REQUEST_TOO_LARGE", {"max": MAX_BODY_BYTES // 1_000_000}
        if variables is not None and not isinstance(variables, dict):
            return "INVALID_VARIABLES", {}
        if op_name is not None and not isinstance(op_name, str):
            return "INVALID_OPERATION_NAME", {}
        if extensions is not None and not isinstance(extensions, dict):
            return "INVALID_SUBSCRIBE_MESSAGE", {}
        try:
            check_text(query, variables, op_name)
        except TextRefused as refused:
            return refused.code, refused.params
        return None

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        try:
            result_source = await self.schema.stream(
                operation.query,
                variable_values=operation.variables,
                context_value=self.context,
                root_value=self.root_value,
                operation_name=operation.operation_name,
                allowed_operation_types={OperationType.SUBSCRIPTION},
            )
            async with aclosing(result_source):
                async for result in result_source:
                    if isinstance(result, PreExecutionError):
                        await operation.send_initial_errors(result.errors or [])
                        return
                    if not isinstance(result, ExecutionResult):  # @defer/@stream frames
                        await self._reject_incremental_delivery(operation)
                        return
                    await operation.send_next(result)
            await operation.send_operation_message({"id": operation.id, "type": "complete"})
        except asyncio.CancelledError:
            raise
        except GraphQLError as error:  # raised by an extension hook rather than returned
            await operation.send_initial_errors([error])
        except Exception as error:  # the socket went away meanwhile, or a fault
            if not self.websocket_closed:
                log.exception("live operation failed", exc_info=error)
            self.operations.pop(operation.id, None)

    @property
    def websocket_closed(self) -> bool:
        ws = getattr(self.websocket, "ws", None)
        return ws is None or ws.application_state.name == "DISCONNECTED"


class GraphQLWebSocket(GraphQL):
    """strawberry's graphql-transport-ws handling with our handler; HTTP is served by
    server.graphql_http."""

    graphql_transport_ws_handler_class = cast(Any, _Handler)

    def __init__(self, schema: Any, settings: Settings, broker: Broker) -> None:
        limits = SocketLimits.of(settings)
        super().__init__(
            schema,
            graphql_ide=None,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=limits.init_seconds),
            max_subscriptions_per_connection=limits.subscriptions,
        )
        self.settings = settings
        self.broker = broker
        self.sockets = LiveSockets(limits)
        self.limits = settings.document_limits

    def decode_json(self, data: str | bytes) -> object:
        """A message Python's parser cannot hold (an integer of thousands of digits, nesting
        past the recursion limit) is invalid JSON too: the protocol closes with 4400."""
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise json.JSONDecodeError(type(exc).__name__, "", 0) from None

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:  # type: ignore[override]
        return Context(
            actor=None,
            locale=resolve_locale(request.headers.get("accept-language")),
            client=client_address(request),
            secret_key=self.settings.secret_key,
            request=request,
            broker=self.broker,
        )

    async def render_graphql_ide(self, request: Request) -> Response:  # pragma: no cover
        return Response(status_code=404)
