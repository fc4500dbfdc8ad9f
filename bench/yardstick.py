"""The yardstick of bench/screens.py: the handler list (S2) and the demand detail (S3) served by
hand-written SQL on Starlette + asyncpg + orjson, returning the JSON the product answers to
the bench's GraphQL documents for the same user (same keys and values), so the ratio of
requests/s says how close the product comes to what this stack can do. Not part of the
product.

    YARDSTICK_DSN=postgresql://… SECRET_KEY=… .venv/bin/uvicorn yardstick:create_app --factory \\
        --app-dir bench --workers 2 --port 8100     # POST /s2, POST /s3 (the bench's bodies)

Per request: the body parsed, the product's access token decoded (pyjwt, the server's secret),
and one SQL statement for S2, two for S3 (the demand, then its timeline). The statements do
the product's per-user work: the account is active and has not ended its sessions since the
token, nor this session (its refresh-token family), the demand scope of docs/design.md section
2.2 (the handler's departments leading or assisting, regional staff's subtrees, an enterprise
contact's enterprises, one's own submissions), the working days left from the working-day index
the supervisor figures also join."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import jwt
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

TZ = ZoneInfo("Asia/Shanghai")
POOL_SIZE = 5  # as tortoise's default pool in each product worker

# The account and its grants, then the demand scope (models.access.demand_scope) and the
# working-day index for the days left (models.rules.demand_view.working_days_left).
_ME = """
me AS (
  SELECT u.id FROM app_user u
  WHERE u.id = $1 AND u.is_active
    AND u.session_version = $2
    AND NOT EXISTS (SELECT 1 FROM refresh_token rt
                    WHERE rt.family = $3 AND rt.revoked_at IS NOT NULL)
), grants AS (
  SELECT g.role, g.department_id, r.path FROM role_grant g
  JOIN me ON me.id = g.user_id
  LEFT JOIN region r ON r.id = g.region_id
), depts AS (
  SELECT department_id FROM grants WHERE role = 'HANDLER' AND department_id IS NOT NULL
)"""
_VISIBLE = """
  ((d.state <> 'DRAFT' AND (
      d.department_id IN (SELECT department_id FROM depts)
      OR d.id IN (SELECT a.demand_id FROM demand_assist a
                  WHERE a.department_id IN (SELECT department_id FROM depts))
      OR EXISTS (SELECT 1 FROM grants g WHERE g.role = 'ADMIN' AND g.path IS NULL)
      OR d.region_id IN (SELECT r.id FROM region r JOIN grants g
                         ON g.role IN ('CADRE', 'DISPATCHER', 'SUPERVISOR', 'ADMIN')
                         AND g.path IS NOT NULL AND r.path LIKE g.path || '%')
      OR d.enterprise_id IN (SELECT c.enterprise_id FROM enterprise_contact c
                             JOIN me ON me.id = c.user_id)))
   OR d.submitted_by_id = (SELECT id FROM me))"""
_DAYS_LEFT = """
  CASE WHEN d.state IN ('DISPATCHED', 'IN_PROGRESS', 'PENDING_APPROVAL', 'SUSPENDED')
       THEN (SELECT we.idx - wf.idx
             FROM work_day_index we, work_day_index wf
             WHERE we.scope_id = COALESCE(s.scope_id, 0) AND we.day = d.effective_deadline
               AND wf.scope_id = COALESCE(s.scope_id, 0)
               AND wf.day = CASE WHEN d.state = 'SUSPENDED' AND d.suspended_at IS NOT NULL
                                 THEN (d.suspended_at AT TIME ZONE 'Asia/Shanghai')::date
                                 ELSE $4::date END)
  END AS days_left,
  (d.state IN ('DISPATCHED', 'IN_PROGRESS', 'PENDING_APPROVAL')
   AND d.effective_deadline < $4::date) AS overdue"""

# S2: the handler's to-do list, deadline first: the claimed ones and those waiting in each of
# the handler's departments each picked in deadline order from their own index (the department
# ones per department, through LATERAL, so the index's order serves), merged, then joined.
S2_SQL = f"""
WITH {_ME}, picked AS (
  (SELECT d.id, d.effective_deadline FROM demand d
   WHERE d.handler_id = (SELECT id FROM me) AND d.state = ANY($5::text[])
     AND d.effective_deadline IS NOT NULL AND {_VISIBLE}
   ORDER BY d.effective_deadline, d.id LIMIT $6)
  UNION
  (SELECT x.id, x.effective_deadline FROM depts dp, LATERAL (
     SELECT d.id, d.effective_deadline FROM demand d
     WHERE d.department_id = dp.department_id AND d.state = 'DISPATCHED'
       AND 'DISPATCHED' = ANY($5::text[]) AND d.effective_deadline IS NOT NULL AND {_VISIBLE}
     ORDER BY d.effective_deadline, d.id LIMIT $6) x)
  ORDER BY 2, 1 LIMIT $6
)
SELECT d.id, d.title, d.state, d.urgency, d.deadline, d.effective_deadline,
       e.id AS e_id, e.name AS e_name, c.id AS c_id, c.name AS c_name,
       le.action AS le_action, le.at AS le_at, au.display_name AS le_actor, {_DAYS_LEFT}
FROM picked p
JOIN demand d ON d.id = p.id
JOIN enterprise e ON e.id = d.enterprise_id
LEFT JOIN demand_category c ON c.id = d.category_id
LEFT JOIN demand_event le ON le.id = d.last_event_id
LEFT JOIN app_user au ON au.id = le.actor_id
LEFT JOIN region_calendar_scope s ON s.region_id = d.region_id
ORDER BY d.effective_deadline, d.id"""  # noqa: S608 - constant fragments, values are parameters

# S3: the demand with its to-one relations and files ...
S3_DEMAND_SQL = f"""
WITH {_ME}
SELECT d.id, d.title, d.description, d.state, d.urgency, d.source, d.version, d.deadline,
       d.submitted_at, e.id AS e_id, e.name AS e_name, e.address AS e_address,
       c.id AS c_id, c.name AS c_name, dp.id AS dp_id, dp.name AS dp_name,
       h.id AS h_id, h.display_name AS h_name, {_DAYS_LEFT},
       (SELECT COALESCE(json_agg(json_build_array(a.id, a.file_name, a.content_type, a.size)
                                 ORDER BY a.id), '[]')
        FROM attachment a WHERE a.demand_id = d.id) AS files
FROM demand d
JOIN enterprise e ON e.id = d.enterprise_id
LEFT JOIN demand_category c ON c.id = d.category_id
LEFT JOIN department dp ON dp.id = d.department_id
LEFT JOIN app_user h ON h.id = d.handler_id
LEFT JOIN region_calendar_scope s ON s.region_id = d.region_id
WHERE d.id = $5 AND {_VISIBLE}"""  # noqa: S608 - constant fragments

# ... then its whole timeline with each actor and each event's files.
S3_TIMELINE_SQL = """
SELECT ev.id, ev.action, ev.at, ev.from_state, ev.to_state, ev.note,
       COALESCE(ev.data::text, '{}') AS data, ev.actor_id, u.display_name,
       (SELECT COALESCE(json_agg(json_build_array(a.id, a.file_name) ORDER BY a.id), '[]')
        FROM attachment a WHERE a.event_id = ev.id) AS files
FROM demand_event ev
LEFT JOIN app_user u ON u.id = ev.actor_id
WHERE ev.demand_id = $1
ORDER BY ev.id"""

S2_STATES = ["DISPATCHED", "IN_PROGRESS", "SUSPENDED", "PENDING_APPROVAL"]
PAGE = 20


def gid(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode()


def pk_of(global_id: str, kind: str) -> int | None:
    try:
        name, _, raw = base64.urlsafe_b64decode(global_id.encode()).decode().partition(":")
        pk = int(raw)
    except ValueError:
        return None
    return pk if name == kind and 0 < pk < 2**31 else None


def cursor(deadline: date, pk: int) -> str:
    # schema.relay.encode_cursor: json.dumps([...], ensure_ascii=False, default=str)
    return base64.urlsafe_b64encode(f'["{deadline.isoformat()}", {pk}]'.encode()).decode()


class Yardstick:
    def __init__(self, dsn: str, secret: str) -> None:
        self.dsn = dsn
        self.secret = secret
        self.pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        # Generic plans, as the product's screen reads use (models.db.screen): each statement
        # is prepared once per connection and planned once, not on every execution.
        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=POOL_SIZE,
            server_settings={"plan_cache_mode": "force_generic_plan"},
        )

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    def claims(self, request: Request) -> tuple[int, int, str] | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return None
        try:
            c = jwt.decode(
                token.strip(),
                self.secret,
                algorithms=["HS256"],
                leeway=30,
                options={"require": ["sub", "exp", "iat", "typ", "sv"]},
            )
            return int(c["sub"]), int(c["sv"]), str(c.get("fam", ""))
        except (jwt.PyJWTError, KeyError, ValueError):
            return None

    async def s2(self, request: Request) -> Response:
        orjson.loads(await request.body())  # parsed as the product parses its document
        who = self.claims(request)
        if who is None:
            return Response(b'{"errors":[{"message":"unauthenticated"}]}', 401)
        today = datetime.now(TZ).date()
        assert self.pool is not None
        rows = await self.pool.fetch(S2_SQL, *who, today, S2_STATES, PAGE + 1)
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        edges = [
            {
                "node": {
                    "id": gid("Demand", r["id"]),
                    "title": r["title"],
                    "state": r["state"],
                    "urgency": r["urgency"],
                    "deadline": r["deadline"],
                    "remainingWorkingDays": r["days_left"],
                    "overdue": r["overdue"],
                    "enterprise": {"id": gid("Enterprise", r["e_id"]), "name": r["e_name"]},
                    "category": None
                    if r["c_id"] is None
                    else {"id": gid("DemandCategory", r["c_id"]), "name": r["c_name"]},
                    "lastEvent": None
                    if r["le_action"] is None
                    else {"action": r["le_action"], "at": r["le_at"], "actorName": r["le_actor"]},
                }
            }
            for r in rows
        ]
        last = rows[-1] if rows else None
        page = {
            "hasNextPage": more,
            "endCursor": cursor(last["effective_deadline"], last["id"]) if last else None,
        }
        body = {"data": {"demands": {"pageInfo": page, "edges": edges}}}
        return Response(orjson.dumps(body), media_type="application/json")

    async def s3(self, request: Request) -> Response:
        document = orjson.loads(await request.body())
        who = self.claims(request)
        if who is None:
            return Response(b'{"errors":[{"message":"unauthenticated"}]}', 401)
        pk = pk_of(str(document.get("variables", {}).get("id", "")), "Demand")
        today = datetime.now(TZ).date()
        assert self.pool is not None
        async with self.pool.acquire() as conn:
            r = None if pk is None else await conn.fetchrow(S3_DEMAND_SQL, *who, today, pk)
            events = [] if r is None else await conn.fetch(S3_TIMELINE_SQL, pk)
        if r is None:
            return Response(b'{"data":{"demand":null}}', media_type="application/json")
        demand = {
            "id": gid("Demand", r["id"]),
            "title": r["title"],
            "description": r["description"],
            "state": r["state"],
            "urgency": r["urgency"],
            "source": r["source"],
            "version": r["version"],
            "deadline": r["deadline"],
            "remainingWorkingDays": r["days_left"],
            "overdue": r["overdue"],
            "submittedAt": r["submitted_at"],
            "enterprise": {
                "id": gid("Enterprise", r["e_id"]),
                "name": r["e_name"],
                "address": r["e_address"],
            },
            "category": None
            if r["c_id"] is None
            else {"id": gid("DemandCategory", r["c_id"]), "name": r["c_name"]},
            "department": None
            if r["dp_id"] is None
            else {"id": gid("Department", r["dp_id"]), "name": r["dp_name"]},
            "handler": None
            if r["h_id"] is None
            else {"id": gid("User", r["h_id"]), "displayName": r["h_name"]},
            "timeline": [_event(e) for e in events],
            "attachments": [
                {
                    "id": gid("Attachment", a[0]),
                    "fileName": a[1],
                    "contentType": a[2],
                    "size": a[3],
                    "url": f"/files/{gid('Attachment', a[0])}",
                }
                for a in orjson.loads(r["files"])
            ],
        }
        return Response(orjson.dumps({"data": {"demand": demand}}), media_type="application/json")


def _event(e: Any) -> dict[str, Any]:
    actor = e["actor_id"]
    return {
        "id": gid("DemandEvent", e["id"]),
        "action": e["action"],
        "at": e["at"],
        "fromState": e["from_state"],
        "toState": e["to_state"],
        "note": e["note"],
        "data": orjson.Fragment(e["data"]),
        "actorName": e["display_name"],
        "actor": None
        if actor is None
        else {"id": gid("User", actor), "displayName": e["display_name"]},
        "attachments": [
            {
                "id": gid("Attachment", a[0]),
                "fileName": a[1],
                "url": f"/files/{gid('Attachment', a[0])}",
            }
            for a in orjson.loads(e["files"])
        ],
    }


def create_app() -> Starlette:
    """uvicorn's factory (`yardstick:create_app --factory`)."""
    yardstick = Yardstick(os.environ["YARDSTICK_DSN"], os.environ["SECRET_KEY"])

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await yardstick.start()
        try:
            yield
        finally:
            await yardstick.stop()

    return Starlette(
        routes=[
            Route("/s2", yardstick.s2, methods=["POST"]),
            Route("/s3", yardstick.s3, methods=["POST"]),
        ],
        lifespan=lifespan,
    )
