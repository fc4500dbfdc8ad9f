"""Every input edge is the client's refusal, never a server fault (issue 22, item 5): dates
outside 2000-01-01..2100-12-31 (models.rules.date_range) in every date argument and input
field and in the exports' parameters, tampered `after` cursors on every list, Int literals of
thousands of digits, numbers JSON cannot answer, and search text past its cap. Asked as an
attacker would: over HTTP, of a server in production mode (errors masked), signed in as a
system administrator, who may ask every one of these fields."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from schema.input_edges import MAX_SEARCH_LENGTH
from schema.relay import to_global_id
from server.settings import Settings
from tests.conftest import TEST_SECRET, start_server, stop_server
from tests.db_state import ALWAYS_ALLOWED, changed, snapshot
from tests.factories import PASSWORD, World, build_world, make_user

GR = "application/graphql-response+json"
OUTSIDE = ["0001-01-01", "9999-12-31", "1999-12-31", "2101-01-01"]
EDGES = ["2000-01-01", "2100-12-31"]  # the first and last supported days: answered
RANGE_ZH = "日期须在 2000-01-01 到 2100-12-31 之间"
RANGE_EN = "Dates must be between 2000-01-01 and 2100-12-31"


class Client:
    def __init__(self, http: httpx.AsyncClient, world: World) -> None:
        self.http = http
        self.world = world
        self.token: str | None = None

    async def post(
        self, query: str, variables: dict[str, Any] | None = None, language: str | None = None
    ) -> httpx.Response:
        headers = {"Accept": GR}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if language:
            headers["Accept-Language"] = language
        return await self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    async def sign_in(self, username: str) -> None:
        self.token = None
        resp = await self.post(
            "mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) "
            "{ accessToken } }",
            {"u": username, "p": PASSWORD},
        )
        self.token = resp.json()["data"]["login"]["accessToken"]


@pytest.fixture
async def prod(db: str, storage: Any) -> AsyncIterator[Client]:
    settings = Settings(database_url=db, secret_key=TEST_SECRET, environment="production")
    server, task, url = await start_server(settings)
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        client = Client(http, await build_world())
        await make_user("sys_admin", "ADMIN", None)
        await client.sign_in("sys_admin")
        yield client
    await stop_server(server, task)


def refusal(resp: httpx.Response) -> dict[str, Any]:
    """The one error of a field refused while resolving (200, the field null)."""
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["data"] is None or None in body["data"].values(), body
    [error] = body["errors"]
    return dict(error)


def request_refusal(resp: httpx.Response, code: str) -> str:
    """The message of a request refused as a whole (400, no data) with this code."""
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert "data" not in body, body
    [error] = body["errors"]
    assert error["extensions"]["code"] == code, error
    for leak in ("Traceback", "sys.", "Exceeds the limit", "ValueError", "服务器内部错误"):
        assert leak not in error["message"], error
    return str(error["message"])


# --- dates ----------------------------------------------------------------------------------

# Each query with a date, the field a refusal names, and the document with $d in the date's
# place (declared as the argument's type) and the same as a literal.
_STATS = "filter: {from: $d, to: $d}"
DATE_QUERIES = [
    ("demandStats", "from", f"demandStats({_STATS}) {{ submitted }}", "Date!"),
    ("departmentRanking", "from", f"departmentRanking({_STATS}) {{ name }}", "Date!"),
    ("regionRanking", "from", f"regionRanking({_STATS}) {{ name }}", "Date!"),
    ("demandTrend", "from", f"demandTrend({_STATS}, interval: DAY) {{ submitted }}", "Date!"),
    ("agencyStats", "from", f"agencyStats({_STATS}) {{ total {{ submitted }} }}", "Date!"),
    ("visitStats", "from", f"visitStats({_STATS}) {{ visits }}", "Date!"),
    ("visits", "to", "visits(filter: {to: $d}) { totalCount }", "Date"),
    ("demands", "submittedFrom", "demands(filter: {submittedFrom: $d}) { totalCount }", "Date"),
    ("appointments", "date", "appointments(date: $d) { totalCount }", "Date"),
    ("myAssignedEnterprises", "on", "myAssignedEnterprises(on: $d) { totalCount }", "Date"),
    (
        "myAssignedEnterprises",
        "on",
        "myAssignedEnterprises(on: $d, period: YEAR) { totalCount }",
        "Date",
    ),
    ("visitCoverage", "on", 'visitCoverage(regionId: "$R", on: $d) { assigned }', "Date"),
    ("addWorkingDays", "from", "addWorkingDays(from: $d, days: 10) { date }", "Date!"),
    (
        "appointmentSlots",
        "date",
        'appointmentSlots(servicePointId: "$P", date: $d) { startsAt }',
        "Date!",
    ),
]


def _document(template: str, variable_type: str | None, day: str, w: World) -> str:
    body = template.replace("$R", str(to_global_id("Region", w.county.id))).replace(
        "$P", str(to_global_id("ServicePoint", 1))
    )
    if variable_type is None:
        return "{ " + body.replace("$d", json.dumps(day)) + " }"
    return f"query($d: {variable_type}) {{ {body} }}"


async def test_dates_outside_the_supported_range_are_refused_naming_their_field(prod):
    """9999 and 0001 were INTERNAL_ERROR (date + timedelta overflowed; SQL drivers refused
    year 1); 1999-12-31 and 2101-01-01 are outside the range too. As literals (the compiled
    path) and as variables, in Chinese and in English."""
    for name, field, template, variable_type in DATE_QUERIES:
        for day in OUTSIDE:
            for as_variable in (False, True):
                doc = _document(template, variable_type if as_variable else None, day, prod.world)
                resp = await prod.post(doc, {"d": day} if as_variable else None)
                error = refusal(resp)
                assert error["path"] == [name], (doc, error)
                assert error["extensions"] == {"code": "DATE_OUT_OF_RANGE", "field": field}
                assert error["message"] == RANGE_ZH
        resp = await prod.post(_document(template, None, OUTSIDE[0], prod.world), language="en")
        assert refusal(resp)["message"] == RANGE_EN


async def test_the_first_and_last_supported_days_are_answered(prod):
    """The range's own edges compute: a trend, a year's period and working days counted past
    2100-12-31 (into 2110) still give answers."""
    for _, _, template, _ in DATE_QUERIES:
        for day in EDGES:
            doc = _document(template, None, day, prod.world)
            resp = await prod.post(doc)
            body = resp.json()
            assert resp.status_code == 200, body
            codes = {e["extensions"]["code"] for e in body.get("errors", [])}
            # No service point 1 exists: its slots are refused as such, not for the date.
            assert codes <= {"NOT_FOUND"}, (doc, body)
    resp = await prod.post('{ addWorkingDays(from: "2100-12-31", days: 2500) { date } }')
    assert resp.json()["data"]["addWorkingDays"]["date"].startswith("2110-")


async def test_date_times_outside_the_range_are_refused_in_the_audit_log_filter(prod):
    for moment in ("0001-01-01T00:00:00-12:00", "9999-12-31T23:59:59+14:00"):
        resp = await prod.post(
            "query($t: DateTime) { auditLog(filter: {from: $t}) { totalCount } }", {"t": moment}
        )
        assert refusal(resp)["extensions"] == {"code": "DATE_OUT_OF_RANGE", "field": "from"}


async def test_mutations_report_the_date_in_their_payload_and_write_nothing(prod):
    w = prod.world
    ids = {
        "$E": to_global_id("Enterprise", w.ent_a1.id),
        "$U": to_global_id("User", w.cadre_a.id),
        "$R": to_global_id("Region", w.town_a.id),
    }
    cases = [
        (
            "assignLeader",
            "startDate",
            'assignLeader(input: {enterpriseId: "$E", leaderId: "$U", startDate: "9999-12-31"})',
        ),
        (
            "setRegionCalendarDays",
            "days.1.date",
            'setRegionCalendarDays(input: {regionId: "$R", days: [{date: "2030-10-08", '
            'isWorkday: false}, {date: "0001-01-01", isWorkday: false}]})',
        ),
        (
            "logVisit",
            "checkIn.deviceTime",
            'logVisit(input: {enterpriseId: "$E", clientId: "c0b3f1de-1111-4a4a-9a9a-0123456789ab",'
            " checkIn: {latitude: 36.9, longitude: 115.9, coordinateSystem: GCJ02,"
            ' deviceTime: "0001-01-01T00:00:00+08:00"}})',
        ),
        (
            "logVisit",
            "visitedAt",
            'logVisit(input: {enterpriseId: "$E", clientId: "c0b3f1de-2222-4a4a-9a9a-0123456789ab",'
            ' visitedAt: "9999-12-31T23:59:59+08:00"})',
        ),
    ]
    for name, field, call in cases:
        for token, gid in ids.items():
            call = call.replace(token, gid)
        before = await snapshot()
        resp = await prod.post(f"mutation {{ {call} {{ errors {{ code field message }} }} }}")
        body = resp.json()
        assert resp.status_code == 200 and "errors" not in body, body
        assert body["data"][name]["errors"] == [
            {"code": "DATE_OUT_OF_RANGE", "field": field, "message": RANGE_ZH}
        ]
        assert not changed(before, await snapshot(), ALWAYS_ALLOWED), call


async def test_exports_refuse_dates_outside_the_range(prod):
    for params, field in [
        ({"from": "0001-01-01", "to": "2025-01-31"}, "from"),
        ({"from": "9999-12-01", "to": "9999-12-31"}, "from"),
        ({"from": "2025-01-01", "to": "9999-12-31"}, "to"),
    ]:
        for ext in ("csv", "xlsx"):
            resp = await prod.http.get(
                f"/exports/demands.{ext}",
                params=params,
                headers={"Authorization": f"Bearer {prod.token}", "Accept-Language": "en"},
            )
            assert resp.status_code == 400, resp.text
            assert resp.json() == {
                "errors": [{"code": "DATE_OUT_OF_RANGE", "field": field, "message": RANGE_EN}]
            }


# --- cursors ----------------------------------------------------------------------------------


def _cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# Valid base64 of the wrong shapes: every list's cursor holds one or two values.
TAMPERED = [
    _cursor(v)
    for v in (
        ["1"],
        [0],
        [2**31],
        ["a", "b"],
        [None, None],
        [{"a": 1}, 2],
        [[1], [2]],
        [1e308, 1.5],
        [10**30, 10**30],
        [True, False],
        ["x", "y", "z"],
        {"a": 1},
        "text",
    )
] + [
    base64.urlsafe_b64encode(b"[" * 100_000).decode(),  # past the JSON parser's recursion
    base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    "e" * 5000,
]
LISTS = [
    "auditLog",
    "demands",
    "demands(orderBy: DEADLINE_SOON",
    "supportPolicies",
    "visits",
    "myAssignedEnterprises",
    "notifications",
    "deadPushes",
    "servicePoints",
    "servicePoints(near: {latitude: 36.9, longitude: 115.9}",
    "appointments",
    "agencyRequests",
    "regions",
    "departments",
    "enterprises",
    "users",
]


async def test_tampered_cursors_are_refused_on_every_list(prod):
    """Lists whose rows are ordered by name and id passed a wrong-typed value to the database
    (SQLite cannot bind a list, PostgreSQL compares a column only with its type):
    INTERNAL_ERROR. Every list, and the lists inside an enterprise, now say INVALID_CURSOR."""
    for field in LISTS:
        call = f"{field}, after: $a)" if "(" in field else f"{field}(after: $a)"
        doc = f"query($a: String) {{ {call} {{ totalCount }} }}"
        for cursor in TAMPERED:
            resp = await prod.post(doc, {"a": cursor})
            assert resp.json().get("errors"), (doc, cursor)
            error = refusal(resp)
            assert error["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}, (
                doc,
                cursor,
            )
            assert error["message"] == "分页游标无效"
    await prod.sign_in("county_admin")  # who sees the county's enterprises
    enterprise = to_global_id("Enterprise", prod.world.ent_a1.id)
    for nested in ("visits", "agencyRequests"):
        doc = (
            f'query($a: String) {{ enterprise(id: "{enterprise}") '
            f"{{ {nested}(after: $a) {{ totalCount }} }} }}"
        )
        for cursor in TAMPERED:
            body = (await prod.post(doc, {"a": cursor})).json()
            assert body["data"] == {"enterprise": None}, body
            [error] = body["errors"]
            assert error["path"] == ["enterprise", nested], error
            assert error["extensions"] == {"code": "INVALID_CURSOR", "field": "after"}


async def test_cursors_given_out_still_page(prod):
    first = await prod.post("{ regions(first: 1) { edges { cursor node { name } } } }")
    [edge] = first.json()["data"]["regions"]["edges"]
    resp = await prod.post(
        "query($a: String) { regions(first: 5, after: $a) { edges { node { name } } } }",
        {"a": edge["cursor"]},
    )
    names = [e["node"]["name"] for e in resp.json()["data"]["regions"]["edges"]]
    assert len(names) == 2 and edge["node"]["name"] not in names


# --- numbers ----------------------------------------------------------------------------------


async def test_a_five_thousand_digit_int_literal_is_a_validation_error(prod):
    """Python refuses int() of more than 4,300 digits; graphql-core took that for a fault of
    the server: INTERNAL_ERROR. An Int is 32-bit, so the document is invalid."""
    huge = "9" * 5000
    for doc in (
        f"{{ regions(first: {huge}) {{ totalCount }} }}",
        f"{{ regions(first: -{huge}) {{ totalCount }} }}",
        f'{{ addWorkingDays(from: "2025-01-01", days: {huge}) {{ date }} }}',
        f"{{ workingCalendar(year: {huge}) {{ year }} }}",
    ):
        message = request_refusal(await prod.post(doc), "GRAPHQL_VALIDATION_FAILED")
        assert "Int 须为 32 位有符号整数" in message
        assert len(message) < 200  # the literal is not echoed whole
    # Inside a JSON value: 64-bit integers are what can be stored and answered.
    doc = (
        'mutation { setRegionPolicy(input: {regionId: "%s", rankingWeights: {onTime: %s}}) '
        "{ errors { code } } }"
    )
    for number in (huge, str(2**64), "1e999"):
        resp = await prod.post(doc % (to_global_id("Region", prod.world.county.id), number))
        request_refusal(resp, "GRAPHQL_VALIDATION_FAILED")


async def test_numbers_in_variables_that_no_field_can_hold_are_refused(prod):
    region = to_global_id("Region", prod.world.county.id)
    doc = (
        "mutation($w: JSON) { setRegionPolicy(input: {regionId: "
        f'"{region}", rankingWeights: $w}}) {{ errors {{ code }} }} }}'
    )
    before = await snapshot()
    for raw in ('{"onTime": 100000000000000000000000000000}', '{"onTime": NaN}', "Infinity"):
        resp = await prod.http.post(
            "/graphql",
            content=f'{{"query": {json.dumps(doc)}, "variables": {{"w": {raw}}}}}',
            headers={
                "Accept": GR,
                "Content-Type": "application/json",
                "Authorization": f"Bearer {prod.token}",
            },
        )
        request_refusal(resp, "NUMBER_OUT_OF_RANGE")
    assert not changed(before, await snapshot(), ALWAYS_ALLOWED)
    # A 5,000-digit number is past what the JSON parser converts: the body is not JSON.
    resp = await prod.http.post(
        "/graphql",
        content='{"query": "query($n: Int) { regions(first: $n) { totalCount } }", '
        '"variables": {"n": ' + "9" * 5000 + "}}",
        headers={"Accept": GR, "Content-Type": "application/json"},
    )
    request_refusal(resp, "INVALID_JSON")


# --- search text ------------------------------------------------------------------------------

SEARCHES = [
    ("regions", "search", "regions(filter: {search: $s})"),
    ("departments", "search", "departments(filter: {search: $s})"),
    ("enterprises", "search", "enterprises(filter: {search: $s})"),
    ("enterprises", "industry", "enterprises(filter: {industry: $s})"),
    ("users", "search", "users(filter: {search: $s})"),
    ("demands", "search", "demands(filter: {search: $s})"),
    ("supportPolicies", "search", "supportPolicies(search: $s)"),
    ("servicePoints", "procedureSearch", "servicePoints(procedureSearch: $s)"),
    ("auditLog", "actorUsername", "auditLog(filter: {actorUsername: $s})"),
    ("auditLog", "objectType", "auditLog(filter: {objectType: $s})"),
    ("deadPushes", "provider", "deadPushes(provider: $s)"),
]


async def test_search_text_past_its_cap_is_refused(prod):
    """A 900 KB search made SQLite's LIKE give up ("pattern too complex"): INTERNAL_ERROR.
    Every search and filter text of a query is capped; the cap itself is accepted."""
    for name, field, call in SEARCHES:
        doc = f"query($s: String) {{ {call} {{ totalCount }} }}"
        for text in ("a" * 900_000, "%" * 50_000, "企" * (MAX_SEARCH_LENGTH + 1)):
            error = refusal(await prod.post(doc, {"s": text}))
            assert error["path"] == [name]
            assert error["extensions"] == {"code": "SEARCH_TOO_LONG", "field": field}
            assert error["message"] == f"搜索或筛选的文字不能超过 {MAX_SEARCH_LENGTH} 个字符"
        resp = await prod.post(doc, {"s": "%" * MAX_SEARCH_LENGTH})
        assert resp.json().get("data"), (doc, resp.text)
        assert resp.json()["data"][name]["totalCount"] == 0, (doc, resp.text)
    resp = await prod.post(
        "query($s: String) { regions(filter: {search: $s}) { totalCount } }",
        {"s": "a" * 201},
        language="en",
    )
    assert refusal(resp)["message"] == "Search and filter text must be at most 200 characters"


async def test_exact_filters_longer_than_their_column_find_nothing(prod):
    """Equality filters on a text column refused a value longer than the column (the ORM's
    length check, a server fault): such a value matches nothing, and the list says so."""
    long_type = base64.urlsafe_b64encode(b"X" * 100 + b":1").decode()
    for doc, variables in [
        ("query($s: String) { auditLog(filter: {actorUsername: $s}) { totalCount } }", "u" * 65),
        ("query($s: String) { auditLog(filter: {objectType: $s}) { totalCount } }", "T" * 33),
        ("query($s: ID) { auditLog(filter: {objectId: $s}) { totalCount } }", long_type),
        ("query($s: String) { deadPushes(provider: $s) { totalCount } }", "p" * 17),
    ]:
        resp = await prod.post(doc, {"s": variables})
        assert resp.json() == {"data": {doc.split("{")[1].split("(")[0].strip(): {"totalCount": 0}}}
