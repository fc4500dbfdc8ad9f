"""The access matrix (issue 9): every query, mutation and subscription × every role × an object
in the role's scope and one outside it, against the committed table in tests/access_matrix/ (README.md there says how to read it).

Each cell is one GraphQL call over HTTP as a real signed-in user of that column (or none), made by
the operation's probe (tests/access_probes_*.py) in the two-county world of tests/access_world.py.
The answer is read as `ok`, `null`, `empty` or the refusal's code (`access_world.outcome`) and
must be what the table says. A refused mutation must leave every table as it was (the audit log
aside), and an `ok` one must have made its change where the probe can check it.

An operation added to the schema without rows in the table fails
`test_every_operation_has_rows_and_a_probe`; so does a row or probe of an operation that no
longer exists."""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import graphql
import httpx
import pytest
import websockets

from models.ops.policy import invalidate_policy_cache
from models.ops.work_calendar import invalidate_calendar_cache
from tests.access_world import COLUMNS, OBJECTS, PROBES, AccessContext, Call, build_access_world
from tests.access_world import outcome as read_outcome
from tests.conftest import truncate_all
from tests.db_state import ALLOWED_BY_FIELD, ALWAYS_ALLOWED, changed, snapshot

HERE = Path(__file__).resolve().parent
for _module in sorted(HERE.glob("access_probes_*.py")):  # each registers its probes
    importlib.import_module(f"tests.{_module.stem}")
TABLES = HERE / "access_matrix"  # README.md says how to read them; one file per area
SCHEMA = graphql.build_schema((HERE.parent / "schema.graphql").read_text(encoding="utf-8"))
GR = "application/graphql-response+json"
CODE_OR_WORD = re.compile(r"ok|null|empty|[A-Z][A-Z0-9_]*")


def _fields(kind: graphql.GraphQLObjectType | None) -> list[str]:
    return sorted(kind.fields) if kind else []


QUERIES = _fields(SCHEMA.query_type)
MUTATIONS = _fields(SCHEMA.mutation_type)
SUBSCRIPTIONS = _fields(SCHEMA.subscription_type)
OPERATIONS = QUERIES + MUTATIONS + SUBSCRIPTIONS


@dataclass(frozen=True)
class Row:
    operation: str
    obj: str
    expected: dict[str, str]
    line: str  # file:line


def read_table(text: str, path: Path) -> list[Row]:
    """The rows of every markdown table whose header starts `| operation | object |`."""
    rows: list[Row] = []
    columns: list[str] | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line.startswith("|"):
            columns = None
            continue
        cells = [c.strip().strip("`") for c in line.strip("|").split("|")]
        if cells[:2] == ["operation", "object"]:
            columns = cells[2:]
            assert tuple(columns) == COLUMNS, f"{path.name}:{number}: columns must be {COLUMNS}"
            continue
        if columns is None or set(line) <= set("|-: "):
            continue
        assert len(cells) == 2 + len(COLUMNS), f"{path.name}:{number}: {len(cells)} cells"
        operation, obj, *answers = cells
        assert obj in OBJECTS, f"{path.name}:{number}: object {obj!r} not one of {OBJECTS}"
        for answer in answers:
            assert CODE_OR_WORD.fullmatch(answer), f"{path.name}:{number}: {answer!r}"
        rows.append(
            Row(operation, obj, dict(zip(COLUMNS, answers, strict=True)), f"{path.name}:{number}")
        )
    return rows


ROWS = [
    row for path in sorted(TABLES.glob("*.md")) for row in read_table(path.read_text("utf-8"), path)
]


def test_every_operation_has_rows_and_a_probe() -> None:
    by_op: dict[str, list[str]] = {}
    for row in ROWS:
        by_op.setdefault(row.operation, []).append(row.obj)
    missing = [op for op in OPERATIONS if op not in by_op]
    stale = sorted(set(by_op) - set(OPERATIONS))
    assert not missing, f"operations without rows in {TABLES}: {missing}"
    assert not stale, f"rows of operations the schema does not have: {stale}"
    for op, objs in by_op.items():
        assert sorted(objs) in (["-"], ["in", "out"]), f"{op}: rows {objs} (want - or in+out)"
    assert not [op for op in OPERATIONS if op not in PROBES], "operations without a probe"
    assert not sorted(set(PROBES) - set(OPERATIONS)), "probes of unknown operations"


# --- walking the table ----------------------------------------------------------------------


@pytest.fixture(scope="module")
async def access(_database: str, server_url: str) -> AsyncIterator[AccessContext]:
    """The two counties, built once for the module; the cells' own changes stay in it."""
    await truncate_all()
    invalidate_calendar_cache()
    invalidate_policy_cache()
    async with httpx.AsyncClient(base_url=server_url, timeout=30) as http:
        yield await build_access_world(http)


async def _post(ctx: AccessContext, call: Call, token: str | None) -> dict:
    headers = {"Accept": GR}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if call.files:  # a multipart upload: each file's variable is named in the map
        paths = list(call.files)
        resp = await ctx.http.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": call.document, "variables": call.variables}),
                "map": json.dumps({str(i): [p] for i, p in enumerate(paths)}),
            },
            files={str(i): call.files[p] for i, p in enumerate(paths)},
            headers=headers,
        )
    else:
        resp = await ctx.http.post(
            "/graphql", json={"query": call.document, "variables": call.variables}, headers=headers
        )
    assert resp.status_code < 500, resp.text
    body: dict = resp.json()
    return body


async def _subscribe(ctx: AccessContext, operation: str, call: Call, token: str | None) -> str:
    """A subscription: signed in through connection_init, then `call.trigger` runs (it makes
    messages happen); `ok` if the first message holds `call.target`, `empty` if it does not or
    none arrives within 3 s, else the error's or the closed connection's code."""
    url = str(ctx.http.base_url).replace("http://", "ws://").rstrip("/") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        payload = {"Authorization": f"Bearer {token}"} if token else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        try:
            ack = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except websockets.ConnectionClosed as closed:  # the protocol's refusal: 4401
            return f"CLOSED_{closed.rcvd.code if closed.rcvd else 'NO_CODE'}"
        assert ack["type"] == "connection_ack", ack
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": call.document, "variables": call.variables},
                }
            )
        )
        await asyncio.sleep(0.3)
        if call.trigger is not None:
            await call.trigger()
        try:
            while True:
                msg = json.loads(await asyncio.wait_for(ws.recv(), 3))
                if msg["type"] == "error":
                    return str((msg["payload"][0].get("extensions") or {}).get("code"))
                if msg["type"] == "next":  # the first message decides (see the probe)
                    return read_outcome(operation, msg["payload"], call.target)
                if msg["type"] == "complete":
                    return "empty"
        except TimeoutError:
            return "empty"


async def _cell(ctx: AccessContext, operation: str, obj: str, column: str) -> tuple[str, str]:
    """The outcome of one cell, and what else went wrong with it ("" when nothing)."""
    call = await PROBES[operation](ctx, column, obj)
    token = call.token if call.token is not None else ctx.tokens[column]
    if operation in SUBSCRIPTIONS:
        return await _subscribe(ctx, operation, call, token), ""
    before = await snapshot() if operation in MUTATIONS else None
    body = await _post(ctx, call, token)
    got = read_outcome(operation, body, call.target)
    problem = ""
    if got == "ok" and call.verify is not None:
        try:
            await call.verify()
        except AssertionError as exc:
            problem = f"answered ok but {exc}"
    elif before is not None and got != "ok":
        allowed = ALWAYS_ALLOWED | ALLOWED_BY_FIELD.get(operation, frozenset())
        if touched := changed(before, await snapshot(), allowed):
            problem = f"refused ({got}) but wrote {sorted(touched)}"
    return got, problem


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_access(access: AccessContext, operation: str) -> None:
    if operation not in PROBES:
        pytest.fail(f"{operation} has no probe")
    wrong = []
    for row in [r for r in ROWS if r.operation == operation]:
        for column in COLUMNS:
            got, problem = await _cell(access, operation, row.obj, column)
            want = row.expected[column]
            if got != want or problem:
                wrong.append(
                    f"  {row.line} {row.obj:>3} {column:<10} want {want:<20} got {got} {problem}"
                )
    assert not wrong, "cells that disagree with the table:\n" + "\n".join(wrong)
