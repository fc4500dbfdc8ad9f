"""Property-based fuzzing of the whole API: queries and mutations generated from the committed
`schema.graphql` by hypothesis-graphql, sent over HTTP to a server in production mode, as each
role (and signed out). Whatever comes back:

- no HTTP 5xx, and every error carries a stable `extensions.code` other than INTERNAL_ERROR
  (a masked server fault is as much a defect as a 500) and no exception text;
- a call that was refused (a 4xx, errors without data, or a payload with UserErrors) changed
  nothing in the database: every table's rows hash the same before and after, except the
  tables a refusal is meant to write (the audit log; failed sign-ins and refresh-token reuse);
- a query changes nothing at all.

Generated inputs include the edges (issue 22): days outside the supported range and at its
ends, tampered `after` cursors and over-long text among the strings, Int and Float literals
past 32 and 64 bits and past Python's int() digit limit (also inside JSON values).

Bounded for CI: FUZZ_EXAMPLES examples per role and kind (default 10), derandomized, so a run
is repeatable. A longer session: `FUZZ_EXAMPLES=500 .venv/bin/pytest -q tests/test_fuzz.py`
(add TEST_DATABASE_URL for PostgreSQL; FUZZ_RANDOM=1 draws new examples on every run instead of
the same derandomized ones; FUZZ_DEBUG=1 with -s prints each document and answer)."""

from __future__ import annotations

import base64
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from models.access import system_actor
from models.errors import DomainError
from models.ops import demands as demand_ops
from models.ops import support_policies as policy_ops
from models.ops.work_day_index import ensure_work_day_index
from models.rules.roles import Role
from models.tables.grants import RoleGrant
from models.tables.org import User
from models.tables.service_points import Procedure, ServicePoint
from schema.relay import from_global_id, to_global_id
from server.settings import Settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.db_state import ALLOWED_BY_FIELD, ALWAYS_ALLOWED, changed, snapshot
from tests.demand_world import build_demand_world
from tests.factories import PASSWORD, make_user
from tests.test_input_edges import TAMPERED

SCHEMA = graphql.build_schema(
    (Path(__file__).resolve().parent.parent / "schema.graphql").read_text(encoding="utf-8")
)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") not in ("", "0")
DEBUG = os.environ.get("FUZZ_DEBUG", "") not in ("", "0")
GR = "application/graphql-response+json"
CODE = re.compile(r"[A-Z][A-Z0-9_]*")
# What would betray an exception: a traceback, a Python exception's or a driver's name.
LEAKS = ("Traceback", 'File "', "Exception", "Error(", "sqlite", "asyncpg", "tortoise", "psycopg")

ROLES = {
    "admin": "county_admin",
    "cadre": "cadre_a",
    "dispatcher": "dispatcher",
    "handler": "handler",
    "supervisor": "supervisor",
    "enterprise": "ent_user",
    "agent": "agent_li",
    "signed_out": None,
}


# --- values: ids of the objects the world holds (and some that do not exist) ---------------

NODE_TYPES = sorted(
    t.name
    for t in SCHEMA.type_map.values()
    if isinstance(t, graphql.GraphQLObjectType) and any(i.name == "Node" for i in t.interfaces)
)
IDS = [to_global_id(t, pk) for t in NODE_TYPES for pk in range(1, 5)]
_text = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)

# The edges of the API's input (issue 22): each scalar mostly draws ordinary values, so that
# documents reach the operations behind the edges, and now and then a value at or past one.
# Days outside 2000-01-01..2100-12-31 (the supported range) and the range's own first and last.
EDGE_DAYS = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01", "2000-01-01", "2100-12-31"]
_edge_days = st.sampled_from(EDGE_DAYS)
_edge_times = st.tuples(_edge_days, st.sampled_from(["T00:00:00-12:00", "T23:59:59+14:00"])).map(
    "".join
)


# Valid base64 of the wrong shapes, as an `after` cursor (any String may be drawn as one).
# Those of tests/test_input_edges, and a date before the supported range where a list keeps one.
TAMPERED_CURSORS = [
    *TAMPERED,
    base64.urlsafe_b64encode(b'["0001-01-01T00:00:00+08:00", 1]').decode(),
]

# Past 32 bits, past 64 bits, and past Python's 4,300-digit int() limit.
_huge_ints = st.sampled_from(["2147483648", "-2147483649", str(2**64), "9" * 5000]).map(
    lambda v: graphql.IntValueNode(value=v)
)
_huge_floats = st.sampled_from(["1e400", "-1e400", "9" * 5000 + ".0"]).map(
    lambda v: graphql.FloatValueNode(value=v)
)
# Past the search cap, and past SQLite's LIKE pattern limit (50,000 bytes).
_long_text = st.sampled_from(["企" * 201, "%" * 60_000, "a" * 300])
_strings = st.one_of(
    *[st.text(st.characters(codec="utf-8", exclude_characters="\x00"))] * 4,
    st.sampled_from(TAMPERED_CURSORS),
    _long_text,
).map(nodes.String)

CUSTOM_SCALARS = {
    # Mostly ids of rows that exist (aimed at the right type by _prepared), some garbage.
    "ID": st.one_of(*[st.sampled_from(IDS)] * 4, _text).map(nodes.String),
    "Date": st.one_of(
        st.dates(date(2025, 1, 1), date(2027, 12, 31)).map(date.isoformat), _edge_days, _text
    ).map(nodes.String),
    "DateTime": st.one_of(
        st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)).map(
            lambda d: d.isoformat() + "+08:00"
        ),
        _edge_times,
        _text,
    ).map(nodes.String),
    "Time": st.one_of(st.times().map(time.isoformat), _text).map(nodes.String),
    "JSON": st.one_of(
        _text.map(nodes.String),
        st.integers(-5, 5).map(nodes.Int),
        st.lists(_text.map(nodes.String), max_size=3).map(nodes.List),
        _huge_ints,
        _huge_floats,
    ),
    "Upload": _text.map(nodes.String),  # not a multipart request: refused, as it should be
    # The built-in scalars, with their edges.
    "Int": st.one_of(*[st.integers(-(2**31), 2**31 - 1).map(nodes.Int)] * 4, _huge_ints),
    "Float": st.one_of(
        *[st.floats(allow_nan=False, allow_infinity=False).map(nodes.Float)] * 4, _huge_floats
    ),
    "String": _strings,
}


# What an id argument names, by its name ("id" names the subject of the field it sits in).
_ID_TYPES = {
    "parent": "Region",
    "leader": "User",
    "lead": "User",
    "agent": "User",
    "visitor": "User",
    "participant": "User",
    "actor": "User",
    "user": "User",
    "category": "DemandCategory",
    "policy": "SupportPolicy",
    "photo": "Attachment",
    "attachment": "Attachment",
    "mergedInto": "Demand",
    "into": "Demand",
    "assistingDepartment": "Department",
}


def _subject(field_name: str) -> str:
    """The node type a field acts on: the longest type named in it ("decideAppeal" and other
    demand steps without one act on a Demand)."""
    lowered = field_name.lower()
    named = [t for t in NODE_TYPES if t.lower() in lowered]
    return max(named, key=len) if named else "Demand"


def _id_type(name: str, field_name: str) -> str | None:
    if name == "id":
        return _subject(field_name)
    for suffix in ("Ids", "Id"):
        if name.endswith(suffix) and len(name) > len(suffix):
            stem = name[: -len(suffix)]
            found = _ID_TYPES.get(stem) or stem[0].upper() + stem[1:]
            return found if found in NODE_TYPES else None
    return None


def _retarget(value: graphql.ValueNode, type_name: str) -> graphql.ValueNode:
    """A generated id of some node type, made one of `type_name` with the same number, so
    that most ids name a row of the right kind; anything else is left as drawn."""
    if isinstance(value, graphql.ListValueNode):
        return graphql.ListValueNode(values=tuple(_retarget(v, type_name) for v in value.values))
    if isinstance(value, graphql.StringValueNode):
        try:
            _, pk = from_global_id(value.value)
        except DomainError:  # garbage stays garbage
            return value
        return graphql.StringValueNode(value=to_global_id(type_name, pk))
    return value


class _Ids(graphql.Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.fields: list[str] = []

    def enter_field(self, node: graphql.FieldNode, *_: Any) -> None:
        self.fields.append(node.name.value)

    def leave_field(self, node: graphql.FieldNode, *_: Any) -> None:
        self.fields.pop()

    def _named(self, node: Any) -> Any:
        type_name = _id_type(node.name.value, self.fields[-1] if self.fields else "")
        if type_name is None:
            return None
        return node.__class__(name=node.name, value=_retarget(node.value, type_name))

    def enter_argument(self, node: graphql.ArgumentNode, *_: Any) -> Any:
        return self._named(node)

    def enter_object_field(self, node: graphql.ObjectFieldNode, *_: Any) -> Any:
        return self._named(node)


def _prepared(document: graphql.DocumentNode) -> str:
    """The generated document with its ids aimed at the right node types and, on mutations,
    `errors { code field message }` selected on each payload that has it, so that a refusal
    is seen whatever else the selection asked for."""
    document = graphql.visit(document, _Ids())
    operation = document.definitions[0]
    assert isinstance(operation, graphql.OperationDefinitionNode)
    mutation_type = SCHEMA.mutation_type
    if operation.operation != graphql.OperationType.MUTATION or mutation_type is None:
        return graphql.print_ast(document)
    fields = []
    for selection in operation.selection_set.selections:
        assert isinstance(selection, graphql.FieldNode)
        payload = graphql.get_named_type(mutation_type.fields[selection.name.value].type)
        if isinstance(payload, graphql.GraphQLObjectType) and "errors" in payload.fields:
            errors = graphql.parse("{ errors { code field message } }").definitions[0]
            assert isinstance(errors, graphql.OperationDefinitionNode)
            extra = errors.selection_set.selections
            own = selection.selection_set.selections if selection.selection_set else ()
            selection = graphql.FieldNode(
                alias=selection.alias,
                name=selection.name,
                arguments=selection.arguments,
                directives=selection.directives,
                selection_set=graphql.SelectionSetNode(selections=(*own, *extra)),
            )
        fields.append(selection)
    return graphql.print_ast(
        graphql.DocumentNode(
            definitions=(
                graphql.OperationDefinitionNode(
                    operation=operation.operation,
                    selection_set=graphql.SelectionSetNode(selections=tuple(fields)),
                ),
            )
        )
    )


QUERIES = queries(SCHEMA, custom_scalars=CUSTOM_SCALARS, allow_x00=False, print_ast=_prepared)
MUTATION_FIELDS = sorted(SCHEMA.mutation_type.fields) if SCHEMA.mutation_type else []
MUTATIONS = st.sampled_from(MUTATION_FIELDS).flatmap(
    lambda name: mutations(
        SCHEMA,
        fields=[name],
        custom_scalars=CUSTOM_SCALARS,
        allow_x00=False,
        print_ast=_prepared,
    )
)

# --- the world, the server and the database's state -----------------------------------------


async def _build() -> None:
    """The demand county, with a service desk and its agent, a procedure, a policy and demands
    in a few states, all through the real operations or plain rows."""
    w = await build_demand_world()
    desk = await ServicePoint.create(
        name="园小二帮办服务站", region=w.base.town_a, opening_hours={}
    )
    await Procedure.create(
        service_point=desk, name="食品经营许可证变更", promised_days=5, materials=[]
    )
    agent = await make_user("agent_li", None, None)
    await RoleGrant.create(
        user=agent, role=Role.SERVICE_AGENT, region=w.base.town_a, service_point=desk
    )
    await policy_ops.create_support_policy(
        system_actor(), policy_ops.SupportPolicyData(title="技改补助", issuer="县经信局")
    )
    await w.submit()
    await w.dispatched()
    progressing = await w.in_progress()
    await demand_ops.reply_demand(
        w.handler, progressing.id, outcome="RESOLVED", text_="已协调解决。"
    )
    # Built at server start in production; a stats query would build it on first use.
    await ensure_work_day_index()


@pytest.fixture(scope="module")
async def prod_url(_database: str) -> AsyncIterator[str]:
    settings = Settings(database_url=_database, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    yield url
    await stop_server(server, task)


@pytest.fixture
async def fuzz_http(db: str, storage: Any, prod_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=prod_url, timeout=30) as http:
        yield http


async def sign_in(http: httpx.AsyncClient, username: str | None) -> str | None:
    if username is None:
        return None
    resp = await http.post(
        "/graphql",
        json={
            "query": "mutation($u: String!, $p: String!) { login(input: {username: $u, "
            "password: $p}) { accessToken errors { code } } }",
            "variables": {"u": username, "p": PASSWORD},
        },
        headers={"Accept": GR},
    )
    token = resp.json()["data"]["login"]["accessToken"]
    assert token, resp.text
    return str(token)


# --- the properties -------------------------------------------------------------------------


def check_answer(doc: str, resp: httpx.Response) -> tuple[bool, dict[str, Any]]:
    """The answer is sane; returns whether the call was refused, and the body."""
    assert resp.status_code < 500, (doc, resp.status_code, resp.text)
    body = resp.json()
    for error in body.get("errors", []):
        code = (error.get("extensions") or {}).get("code")
        assert isinstance(code, str) and CODE.fullmatch(code), (doc, error)
        assert code != "INTERNAL_ERROR", (doc, error)
        assert not any(leak in error["message"] for leak in LEAKS), (doc, error)
    data = body.get("data")
    refused = resp.status_code >= 400 or (bool(body.get("errors")) and not data)
    if isinstance(data, dict):
        for payload in data.values():
            if isinstance(payload, dict) and payload.get("errors"):
                refused = True
                for error in payload["errors"]:
                    assert CODE.fullmatch(error["code"]), (doc, error)
                    assert not any(leak in error["message"] for leak in LEAKS), (doc, error)
    return refused, body


def root_fields(doc: str) -> set[str]:
    try:
        document = graphql.parse(doc)
    except graphql.GraphQLError:
        return set()
    return {
        s.name.value
        for d in document.definitions
        if isinstance(d, graphql.OperationDefinitionNode)
        for s in d.selection_set.selections
        if isinstance(s, graphql.FieldNode)
    }


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=not RANDOM,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


@dataclass
class Fuzzer:
    http: httpx.AsyncClient
    username: str | None
    token: str | None
    before: dict[str, str]


@pytest.fixture
async def fuzzer(fuzz_http: httpx.AsyncClient, role: str) -> Fuzzer:
    """The world built once per role and kind; the examples run one after another in it."""
    await _build()
    username = ROLES[role]
    token = await sign_in(fuzz_http, username)
    return Fuzzer(fuzz_http, username, token, await snapshot())


@pytest.mark.parametrize("kind", ["query", "mutation"])
@pytest.mark.parametrize("role", list(ROLES))
@FUZZ_SETTINGS
@given(data=st.data())
async def test_generated_operations_never_fail_or_write_when_refused(
    fuzzer: Fuzzer, role: str, kind: str, data: st.DataObject
) -> None:
    doc = data.draw(QUERIES if kind == "query" else MUTATIONS, label="document")
    headers = {"Accept": GR}
    if fuzzer.token:
        headers["Authorization"] = f"Bearer {fuzzer.token}"
    resp = await fuzzer.http.post("/graphql", json={"query": doc}, headers=headers)
    refused, _ = check_answer(doc, resp)
    if DEBUG:
        print("\n>>>", doc, "\n<<<", resp.status_code, resp.text[:500])
    before, after = fuzzer.before, await snapshot()
    fuzzer.before = after  # first: a failing example must not fail the ones shrinking it
    if refused or kind == "query":
        allowed = ALWAYS_ALLOWED.union(
            *(ALLOWED_BY_FIELD.get(f, frozenset()) for f in root_fields(doc))
        )
        assert not changed(before, after, allowed), (doc, resp.text)
    elif fuzzer.username:
        # A mutation went through (it may have signed this user out or changed the account):
        # sign in again for the next one.
        fuzzer.token = await _renew(fuzzer.http, fuzzer.username)
        fuzzer.before = await snapshot()


async def _renew(http: httpx.AsyncClient, username: str) -> str | None:
    user = await User.get(username=username)
    if not user.is_active:
        await User.filter(id=user.id).update(is_active=True)
    try:
        return await sign_in(http, username)
    except AssertionError:  # the password was changed by the call: the role goes on signed out
        return None
