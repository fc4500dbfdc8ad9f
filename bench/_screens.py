"""The mobile screens of bench/screens.py: each screen's GraphQL document as the app asks it,
the real users who ask it (picked from the loaded data set), one request body per user, and
the check that a response carries real data and no errors.

Imported as `from _screens import …` (bench/ is first on sys.path for the bench scripts)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

S1 = """query CadreHome { myAssignedEnterprises(first: 20) { edges { node {
  enterprise { id name address } visitedInPeriod visitsInPeriod lastVisitAt } } } }"""

S2 = """query HandlerList { demands(
  filter: {assignedToMe: true, states: [DISPATCHED, IN_PROGRESS, SUSPENDED, PENDING_APPROVAL]},
  orderBy: DEADLINE_SOON, first: 20) {
  pageInfo { hasNextPage endCursor }
  edges { node { id title state urgency deadline remainingWorkingDays overdue
    enterprise { id name } category { id name } lastEvent { action at actorName } } } } }"""

S3 = """query DemandDetail($id: ID!) { demand(id: $id) {
  id title description state urgency source version deadline remainingWorkingDays overdue
  submittedAt enterprise { id name address } category { id name } department { id name }
  handler { id displayName }
  timeline { id action at fromState toState note data actorName actor { id displayName }
    attachments { id fileName url } }
  attachments { id fileName contentType size url } } }"""

S4 = """mutation SubmitDemand($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id state submittedAt } errors { code field message } } }"""

S5 = "query InboxCount { unreadNotificationCount }"

S6 = """query MyDemands { demands(first: 20) {
  pageInfo { hasNextPage endCursor }
  edges { node { id title state submittedAt category { name } lastEvent { action at } } } } }"""

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
  accessToken refreshToken errors { code message } } }"""
REFRESH = """mutation($t: String!) { refreshToken(input: {refreshToken: $t}) {
  accessToken refreshToken errors { code message } } }"""

# Each screen's operation name: the server's metrics count its requests under it
# (server.observe.SCREENS).
OPERATIONS = {
    "S1": "CadreHome",
    "S2": "HandlerList",
    "S3": "DemandDetail",
    "S4": "SubmitDemand",
    "S5": "InboxCount",
    "S6": "MyDemands",
}

S3_PER_HANDLER = 8  # demands of each handler the detail screen rotates through


def gid(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


def body(query: str, variables: dict[str, Any] | None = None) -> str:
    doc: dict[str, Any] = {"query": " ".join(query.split())}
    if variables:
        doc["variables"] = variables
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


@dataclass
class People:
    """The signed-in users per role and what their screens ask about."""

    cadres: list[str]
    handlers: list[str]
    contacts: list[str]  # they read their demands (S6)
    submitters: list[str]  # other contacts: they submit (S4), so S6 lists never see new rows
    handler_demands: dict[str, list[int]]  # username → demands they handle
    contact_enterprise: dict[str, int]  # username → their enterprise
    category: int  # the category an enterprise picks when it submits


async def pick_people(conn: asyncpg.Connection, per_role: int) -> People:
    """`per_role` synthetic accounts of each role, spread over the data set (a hash order)."""
    cadres = await conn.fetch(
        "SELECT u.username FROM app_user u WHERE u.username ~ '^cadre[0-9]{5}$' "
        "AND EXISTS (SELECT 1 FROM leader_assignment a WHERE a.leader_id = u.id) "
        "ORDER BY md5('bench' || u.username) LIMIT $1",
        per_role,
    )
    handlers = await conn.fetch(
        "SELECT id, username FROM app_user WHERE username ~ '^handler[0-9]{5}$' "
        "ORDER BY md5('bench' || username) LIMIT $1",
        per_role,
    )
    by_id = {r["id"]: r["username"] for r in handlers}
    handled: dict[str, list[int]] = {u: [] for u in by_id.values()}
    for r in await conn.fetch(
        "SELECT handler_id, id FROM (SELECT handler_id, id, row_number() OVER "
        "(PARTITION BY handler_id ORDER BY id DESC) AS n FROM demand "
        "WHERE handler_id = ANY($1::int[])) t WHERE n <= $2 ORDER BY handler_id, id",
        list(by_id),
        S3_PER_HANDLER,
    ):
        handled[by_id[r["handler_id"]]].append(r["id"])
    contacts = await conn.fetch(
        "SELECT u.username, c.enterprise_id FROM app_user u "
        "JOIN enterprise_contact c ON c.user_id = u.id WHERE u.username ~ '^qy[0-9]+$' "
        "AND EXISTS (SELECT 1 FROM demand d WHERE d.enterprise_id = c.enterprise_id) "
        "ORDER BY md5('bench' || u.username) LIMIT $1",
        2 * per_role,
    )
    category = await conn.fetchval(
        "SELECT id FROM demand_category WHERE code = 'POLICY' AND region_id IS NULL"
    )
    return People(
        cadres=[r["username"] for r in cadres],
        handlers=list(by_id.values()),
        contacts=[r["username"] for r in contacts[:per_role]],
        submitters=[r["username"] for r in contacts[per_role:]],
        handler_demands=handled,
        contact_enterprise={r["username"]: r["enterprise_id"] for r in contacts},
        category=int(category),
    )


def _edges(path: str) -> Callable[[dict[str, Any]], bool]:
    return lambda data: bool(data[path]["edges"])


@dataclass(frozen=True)
class Screen:
    key: str
    title: str
    writes: bool
    has_data: Callable[[dict[str, Any]], bool]
    yardstick_path: str | None = None  # served by bench/yardstick.py at this path


SCREENS = (
    Screen("S1", "cadre home (myAssignedEnterprises)", False, _edges("myAssignedEnterprises")),
    Screen("S2", "handler list (demands, 20)", False, _edges("demands"), "/s2"),
    Screen(
        "S3",
        "demand detail with timeline",
        False,
        lambda d: d["demand"] is not None and bool(d["demand"]["timeline"]),
        "/s3",
    ),
    Screen(
        "S4",
        "submitDemand",
        True,
        lambda d: not d["submitDemand"]["errors"] and d["submitDemand"]["demand"] is not None,
    ),
    Screen(
        "S5",
        "unreadNotificationCount",
        False,
        lambda d: isinstance(d["unreadNotificationCount"], int),
    ),
    Screen("S6", "enterprise's own demands (20)", False, _edges("demands")),
)


def requests_of(key: str, people: People) -> list[tuple[str, str]]:
    """(username, request body) for every user of the screen, one or more bodies each."""
    if key == "S1":
        return [(u, body(S1)) for u in people.cadres]
    if key == "S2":
        return [(u, body(S2)) for u in people.handlers]
    if key == "S3":
        return [
            (u, body(S3, {"id": gid("Demand", pk)}))
            for u in people.handlers
            for pk in people.handler_demands[u]
        ]
    if key == "S4":
        return [
            (
                u,
                body(
                    S4,
                    {
                        "input": {
                            "enterpriseId": gid("Enterprise", people.contact_enterprise[u]),
                            "title": "申请稳岗返还政策兑现",
                            "description": "我司今年未裁员，想了解稳岗返还的申请时间和所需材料。",
                            "categoryId": gid("DemandCategory", people.category),
                            "clientMutationId": "__CMID__",
                        }
                    },
                ),
            )
            for u in people.submitters
        ]
    if key == "S5":  # every role asks for its inbox count
        return [(u, body(S5)) for u in (*people.cadres, *people.handlers, *people.contacts)]
    if key == "S6":
        return [(u, body(S6)) for u in people.contacts]
    raise KeyError(key)
