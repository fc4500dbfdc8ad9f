"""Access-matrix probes of the queries beyond the demand reads and `me` (tests/access_matrix/
queries.md): the audit log, the calendar, categories and policies, visits, the inbox and
devices, service points and appointments, agency requests, the supervisor figures, `node`, and
the org and enterprise registers.

- A read of one object names the county's object of that kind ("in": 清河县's, "out": 东岭县's).
  Where the column's own scope holds other objects than the world's standing ones, "in" is one
  of the column's own: the agent's enterprise stands in the agent's park, a user's notifications
  and devices are that user's ("out": those of 东岭县's user of the same role).
- A list read sets `Call.target` to the object's id: `ok` when the list shows it, `empty` when
  not.
- A supervisor figure ("in") filters on the column user's own region (the cadre's town, the
  agent's park, the county for the others) and ("out") on 东岭县.
- The objects these probes need beyond the world's (a visit, an agency request, an appointment,
  notifications, devices, a dead push, a region's category and support policy, an enterprise in
  the park) are made once per county through the real operations or plain rows, and shared
  through `ctx.once`. Beyond making those once, no probe changes anything: all are reads.

`node(id:)` answers for the county's demand (its row in the table is `demand`'s); before that,
the probe asks `node(id:)` as the same user for the county's visit, agency request, enterprise,
appointment and a colleague's user account, and fails the test at once (an AssertionError naming
the type, object and column) where one of them differs from its own query's row in this table
(`visit`, `agencyRequest`, `enterprise`, `appointment`; for a user, `users`: `ok` where the
list shows it, else `null`). So the `node` rows cover six node types; the others (events,
contacts, assignments, attachments, notifications, grants, categories, policies, points,
procedures, regions, departments) are not probed here."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from models.ops import agency as agency_ops
from models.ops import appointments as appt_ops
from models.ops import visits as visit_ops
from models.rules import clock
from models.rules.notification_kinds import PushStatus
from models.tables.agency import AgencyRequest
from models.tables.audit import AuditEntry
from models.tables.enterprises import Enterprise
from models.tables.notifications import Device, Notification, PushMessage
from models.tables.org import Region, User
from models.tables.policy import DemandCategory
from models.tables.service_points import Appointment, AppointmentSlot
from models.tables.visits import SupportPolicy, Visit
from tests.access_world import (
    COLUMNS,
    AccessContext,
    Call,
    County,
    gid,
    notify_user,
    outcome,
    probe,
)
from tests.factories import make_enterprise

TABLE = Path(__file__).resolve().parent / "access_matrix" / "queries.md"
GR = "application/graphql-response+json"
STATS_FILTER = "query($f: StatsFilter!) {{ {op}(filter: $f{more}) {{ {selection} }} }}"


# --- what each column's "in" is ---------------------------------------------------------------


def _user_of(county: County, column: str) -> User:
    """The county's user of the column's role (the anonymous column borrows the admin's)."""
    return county.people.users["admin" if column == "anonymous" else column]


def _own_region(ctx: AccessContext, column: str, obj: str) -> Region:
    """The region a column's figures are asked for: its own grant's ("in"), or 东岭县."""
    if obj == "out":
        return ctx.away.county
    return {"cadre": ctx.home.town, "agent": ctx.home.park}.get(column, ctx.home.county)


def _colleague(column: str) -> str:
    """A user of the same county other than the column's own (their own account is `me`)."""
    return "dispatcher" if column == "supervisor" else "supervisor"


# --- objects made once per county ---------------------------------------------------------------


async def _visit(ctx: AccessContext, obj: str) -> Visit:
    """A visit the county's cadre planned to the county's enterprise, tomorrow."""
    county = ctx.county(obj)

    async def make() -> Visit:
        return await visit_ops.plan_visit(
            county.people["cadre"],
            county.enterprise.id,
            visit_ops.VisitPeople(),
            clock.now() + timedelta(days=1),
            purpose="了解扩建项目用地进展",
            client_id=str(uuid.uuid4()),
        )

    visit: Visit = await ctx.once(f"reads.visit.{obj}", make)
    return visit


async def _agency_request(ctx: AccessContext, obj: str) -> AgencyRequest:
    """A request of the county's enterprise at the county's service desk (SUBMITTED)."""
    county = ctx.county(obj)

    async def make() -> AgencyRequest:
        return await agency_ops.submit_agency_request(
            county.people["enterprise"],
            enterprise_id=county.enterprise.id,
            procedure_id=county.procedure.id,
            description="请帮办食品经营许可证变更",
        )

    req: AgencyRequest = await ctx.once(f"reads.agency.{obj}", make)
    return req


async def _appointment(ctx: AccessContext, obj: str) -> Appointment:
    """The county's enterprise booked at the county's desk, in the first open slot after today."""
    county = ctx.county(obj)

    async def make() -> Appointment:
        day = clock.today()
        for _ in range(14):
            day += timedelta(days=1)
            slots = await appt_ops.day_slots(county.desk, day)
            if slots:
                break
        else:
            raise AssertionError("the desk has no slot in two weeks")
        return await appt_ops.book_appointment(
            county.people["enterprise"],
            appt_ops.AppointmentData(
                service_point_id=county.desk.id,
                enterprise_id=county.enterprise.id,
                starts_at=slots[0][0],
                procedure_id=county.procedure.id,
            ),
        )

    appointment: Appointment = await ctx.once(f"reads.appointment.{obj}", make)
    return appointment


async def _enterprise(ctx: AccessContext, column: str, obj: str) -> Enterprise:
    """The county's enterprise; for an agent, whose grant is the park, one standing there."""
    county = ctx.county(obj)
    if column != "agent":
        return county.enterprise

    async def make() -> Enterprise:
        return await make_enterprise(county.park, f"{county.county.name[:2]}园区精工科技有限公司")

    park: Enterprise = await ctx.once(f"reads.park_enterprise.{obj}", make)
    return park


async def _notification(ctx: AccessContext, column: str, obj: str) -> Notification:
    """A notification about the county's demand in the inbox of the county's user of the role."""
    county = ctx.county(obj)
    user = _user_of(county, column)

    async def make() -> Notification:
        return await notify_user(user.id, county.demand, county.county)

    row: Notification = await ctx.once(f"reads.notification.{obj}.{user.username}", make)
    return row


async def _device(ctx: AccessContext, column: str, obj: str) -> Device:
    """A phone registered for push by the county's user of the role."""
    user = _user_of(ctx.county(obj), column)

    async def make() -> Device:
        return await Device.create(
            user_id=user.id,
            provider="log",
            platform="ANDROID",
            token=f"reads-matrix-{user.username}-{uuid.uuid4().hex}",
            app_version="2.3.0",
        )

    device: Device = await ctx.once(f"reads.device.{obj}.{user.username}", make)
    return device


async def _dead_push(ctx: AccessContext, obj: str) -> PushMessage:
    """A push to the county's admin given up on (DEAD), as the dispatcher leaves one."""
    county = ctx.county(obj)

    async def make() -> PushMessage:
        user = county.people.users["admin"]
        device = await Device.create(
            user_id=user.id,
            provider="log",
            platform="IOS",
            token=f"reads-matrix-dead-{user.username}-{uuid.uuid4().hex}",
        )
        note = await _notification(ctx, "admin", obj)
        now = clock.now()
        return await PushMessage.create(
            notification_id=note.id,
            device_id=device.id,
            provider="log",
            status=PushStatus.DEAD,
            due_at=now,
            attempts=8,
            last_error="HTTP 503",
            created_at=now,
            finished_at=now,
        )

    push: PushMessage = await ctx.once(f"reads.dead_push.{obj}", make)
    return push


async def _audit_entry(ctx: AccessContext, obj: str) -> AuditEntry:
    """The sign-in of the county's dispatcher in the audit log (东岭县's signs in for it)."""
    county = ctx.county(obj)
    user = county.people.users["dispatcher"]

    async def make() -> AuditEntry:
        if obj == "out":
            await ctx.sign_in(user.username)
        entry = await AuditEntry.filter(actor_id=user.id).order_by("-id").first()
        assert entry is not None, f"no audit row of {user.username}"
        return entry

    entry: AuditEntry = await ctx.once(f"reads.audit.{obj}", make)
    return entry


async def _category(ctx: AccessContext, obj: str) -> DemandCategory:
    """A category the county offers on top of the nationwide ones."""
    county = ctx.county(obj)

    async def make() -> DemandCategory:
        return await DemandCategory.create(
            name=f"{county.county.name[:2]}园区配套", code="PARK_SERVICES", region=county.county
        )

    category: DemandCategory = await ctx.once(f"reads.category.{obj}", make)
    return category


async def _support_policy(ctx: AccessContext, obj: str) -> SupportPolicy:
    """A support policy the county issued."""
    county = ctx.county(obj)

    async def make() -> SupportPolicy:
        return await SupportPolicy.create(
            title=f"{county.county.name}稳岗返还实施细则",
            issuer=f"{county.county.name}人力资源和社会保障局",
            document_number=f"{county.county.name[:2]}人社发〔2026〕12号",
            region=county.county,
        )

    policy: SupportPolicy = await ctx.once(f"reads.policy.{obj}", make)
    return policy


# --- the audit log, the calendar, categories and policies ---------------------------------------


@probe("auditLog")
async def audit_log(ctx: AccessContext, column: str, obj: str) -> Call:
    """The county dispatcher's rows (by `actorId`, so the other cells' rows cannot push the
    sign-in past the page)."""
    entry = await _audit_entry(ctx, obj)
    assert entry.actor_id is not None
    return Call(
        """query($f: AuditLogFilter) { auditLog(filter: $f, first: 100) {
             edges { node { id action actorUsername } } } }""",
        {"f": {"actorId": gid("User", entry.actor_id)}},
        target=gid("AuditEntry", entry.id),
    )


@probe("addWorkingDays")
async def add_working_days(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        'query($r: ID) { addWorkingDays(from: "2025-09-26", days: 5, regionId: $r) { date } }',
        {"r": gid("Region", ctx.county(obj).county.id)},
        target="2025-10-10",
    )


@probe("workingCalendar")
async def working_calendar(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "query($r: ID) { workingCalendar(year: 2025, regionId: $r) { year days { date } } }",
        {"r": gid("Region", ctx.county(obj).county.id)},
        target="2025-10-01",
    )


@probe("demandCategories")
async def demand_categories(ctx: AccessContext, column: str, obj: str) -> Call:
    category = await _category(ctx, obj)
    return Call(
        "query($r: ID) { demandCategories(regionId: $r) { id name } }",
        {"r": gid("Region", ctx.county(obj).county.id)},
        target=gid("DemandCategory", category.id),
    )


@probe("regionPolicy")
async def region_policy(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "query($r: ID!) { regionPolicy(regionId: $r) { returnWindowDays extensionCapDays } }",
        {"r": gid("Region", ctx.county(obj).county.id)},
    )


@probe("supportPolicies")
async def support_policies(ctx: AccessContext, column: str, obj: str) -> Call:
    policy = await _support_policy(ctx, obj)
    return Call(
        "{ supportPolicies(first: 100) { edges { node { id title } } } }",
        target=gid("SupportPolicy", policy.id),
    )


# --- visits ---------------------------------------------------------------------------------


@probe("visits")
async def visits(ctx: AccessContext, column: str, obj: str) -> Call:
    visit = await _visit(ctx, obj)
    return Call(
        "{ visits(first: 100) { edges { node { id status } } } }", target=gid("Visit", visit.id)
    )


@probe("visit")
async def visit(ctx: AccessContext, column: str, obj: str) -> Call:
    v = await _visit(ctx, obj)
    return Call("query($id: ID!) { visit(id: $id) { id status } }", {"id": gid("Visit", v.id)})


@probe("myAssignedEnterprises")
async def my_assigned_enterprises(ctx: AccessContext, column: str, obj: str) -> Call:
    """The enterprise assigned (包联) to the county's cadre: the home cadre's own to-do list
    shows it; nobody else's list does."""
    return Call(
        "{ myAssignedEnterprises(first: 100) { edges { node { enterprise { id } } } } }",
        target=gid("Enterprise", ctx.county(obj).assigned.id),
    )


@probe("visitCoverage")
async def visit_coverage(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "query($r: ID!) { visitCoverage(regionId: $r) { assigned visited byLeader { assigned } } }",
        {"r": gid("Region", _own_region(ctx, column, obj).id)},
    )


# --- the inbox and devices ------------------------------------------------------------------------


@probe("notifications")
async def notifications(ctx: AccessContext, column: str, obj: str) -> Call:
    note = await _notification(ctx, column, obj)
    return Call(
        "{ notifications(first: 100) { edges { node { id kind } } } }",
        target=gid("Notification", note.id),
    )


@probe("unreadNotificationCount")
async def unread_notification_count(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call("{ unreadNotificationCount }")


@probe("myDevices")
async def my_devices(ctx: AccessContext, column: str, obj: str) -> Call:
    device = await _device(ctx, column, obj)
    return Call("{ myDevices { id tokenTail } }", target=gid("Device", device.id))


@probe("notificationPreferences")
async def notification_preferences(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call("{ notificationPreferences { quietStart quietEnd language } }")


@probe("deadPushes")
async def dead_pushes(ctx: AccessContext, column: str, obj: str) -> Call:
    push = await _dead_push(ctx, obj)
    return Call(
        "{ deadPushes(first: 100) { edges { node { id lastError } } } }",
        target=gid("PushMessage", push.id),
    )


# --- service points and appointments ------------------------------------------------------------


@probe("servicePoints")
async def service_points(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "{ servicePoints(first: 100) { edges { node { id name } } } }",
        target=gid("ServicePoint", ctx.county(obj).desk.id),
    )


@probe("servicePoint")
async def service_point(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "query($id: ID!) { servicePoint(id: $id) { id name } }",
        {"id": gid("ServicePoint", ctx.county(obj).desk.id)},
    )


@probe("appointmentSlots")
async def appointment_slots(ctx: AccessContext, column: str, obj: str) -> Call:
    """The slots of the day the county's appointment is booked on: one shows the places taken
    in the appointment's slot."""
    appointment = await _appointment(ctx, obj)
    day = appointment.starts_at.astimezone(clock.TZ).date()
    slot = await AppointmentSlot.get(id=appointment.slot_id)  # type: ignore[attr-defined]
    return Call(
        "query($p: ID!, $d: Date!) { appointmentSlots(servicePointId: $p, date: $d) { booked } }",
        {"p": gid("ServicePoint", ctx.county(obj).desk.id), "d": day.isoformat()},
        target=f'{{"booked": {slot.booked}}}',
    )


@probe("appointments")
async def appointments(ctx: AccessContext, column: str, obj: str) -> Call:
    appointment = await _appointment(ctx, obj)
    return Call(
        "{ appointments(first: 100) { edges { node { id status } } } }",
        target=gid("Appointment", appointment.id),
    )


@probe("appointment")
async def appointment(ctx: AccessContext, column: str, obj: str) -> Call:
    a = await _appointment(ctx, obj)
    return Call(
        "query($id: ID!) { appointment(id: $id) { id status } }", {"id": gid("Appointment", a.id)}
    )


# --- agency requests --------------------------------------------------------------------------


@probe("agencyRequests")
async def agency_requests(ctx: AccessContext, column: str, obj: str) -> Call:
    req = await _agency_request(ctx, obj)
    return Call(
        "{ agencyRequests(first: 100) { edges { node { id state } } } }",
        target=gid("AgencyRequest", req.id),
    )


@probe("agencyRequest")
async def agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    req = await _agency_request(ctx, obj)
    return Call(
        "query($id: ID!) { agencyRequest(id: $id) { id state } }",
        {"id": gid("AgencyRequest", req.id)},
    )


# --- the supervisor figures -------------------------------------------------------------------


def _period() -> dict[str, str]:
    """The last 30 days: the world's demands were submitted today."""
    today = clock.today()
    return {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}


def _stats(
    ctx: AccessContext,
    column: str,
    obj: str,
    op: str,
    selection: str,
    target: str | None = None,
    more: str = "",
) -> Call:
    region = _own_region(ctx, column, obj)
    return Call(
        STATS_FILTER.format(op=op, more=more, selection=selection),
        {"f": {**_period(), "regionId": gid("Region", region.id)}},
        target=target,
    )


@probe("demandStats")
async def demand_stats(ctx: AccessContext, column: str, obj: str) -> Call:
    return _stats(ctx, column, obj, "demandStats", "submitted overdueNow")


@probe("departmentRanking")
async def department_ranking(ctx: AccessContext, column: str, obj: str) -> Call:
    """The county's bureau holds the county's demand: an allowed ranking lists it."""
    target = gid("Department", ctx.county(obj).bureau.id)
    return _stats(ctx, column, obj, "departmentRanking", "id name rank", target)


@probe("regionRanking")
async def region_ranking(ctx: AccessContext, column: str, obj: str) -> Call:
    """The county's demand stands in its town: an allowed ranking of the county lists it."""
    target = gid("Region", ctx.county(obj).town.id)
    return _stats(ctx, column, obj, "regionRanking", "id name rank", target)


@probe("demandTrend")
async def demand_trend(ctx: AccessContext, column: str, obj: str) -> Call:
    return _stats(ctx, column, obj, "demandTrend", "from to submitted", more=", interval: WEEK")


@probe("agencyStats")
async def agency_stats(ctx: AccessContext, column: str, obj: str) -> Call:
    return _stats(ctx, column, obj, "agencyStats", "today")


@probe("visitStats")
async def visit_stats(ctx: AccessContext, column: str, obj: str) -> Call:
    return _stats(ctx, column, obj, "visitStats", "cadence coverage { numerator denominator }")


# --- node -----------------------------------------------------------------------------------


@functools.cache
def _rows(operation: str) -> dict[str, dict[str, str]]:
    """This table's rows of an operation: object → column → answer."""
    found: dict[str, dict[str, str]] = {}
    for line in TABLE.read_text("utf-8").splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 + len(COLUMNS) and cells[0] == operation:
            found[cells[1]] = dict(zip(COLUMNS, cells[2:], strict=True))
    assert found, f"{TABLE.name} has no rows of {operation}"
    return found


async def _node_answers(ctx: AccessContext, column: str, ids: list[str]) -> list[str]:
    """`node(id:)` for each id as the column's user, in one request (one alias each), each
    answer read as `outcome` reads a cell's."""
    headers = {"Accept": GR}
    token = ctx.tokens[column]
    if token:
        headers["Authorization"] = f"Bearer {token}"
    fields = " ".join(f"n{i}: node(id: $id{i}) {{ id }}" for i in range(len(ids)))
    params = ", ".join(f"$id{i}: ID!" for i in range(len(ids)))
    resp = await ctx.http.post(
        "/graphql",
        json={
            "query": f"query({params}) {{ {fields} }}",
            "variables": {f"id{i}": v for i, v in enumerate(ids)},
        },
        headers=headers,
    )
    assert resp.status_code < 500, resp.text
    body: dict[str, Any] = resp.json()
    data = body.get("data") or {}
    answers = []
    for i in range(len(ids)):
        errors = [e for e in body.get("errors") or [] if (e.get("path") or [None])[0] == f"n{i}"]
        answers.append(outcome(f"n{i}", {"data": data, "errors": errors}, None))
    return answers


async def _node_disagreements(ctx: AccessContext, column: str, obj: str) -> list[str]:
    """Where `node(id:)` answers otherwise than the type's own query's row of this table."""
    visit_ = await _visit(ctx, obj)
    req = await _agency_request(ctx, obj)
    ent = await _enterprise(ctx, column, obj)
    appt = await _appointment(ctx, obj)
    colleague = ctx.county(obj).people.users[_colleague(column)]
    users_row = _rows("users")[obj][column]
    checks = [
        ("visit", gid("Visit", visit_.id), _rows("visit")[obj][column]),
        ("agencyRequest", gid("AgencyRequest", req.id), _rows("agencyRequest")[obj][column]),
        ("enterprise", gid("Enterprise", ent.id), _rows("enterprise")[obj][column]),
        ("appointment", gid("Appointment", appt.id), _rows("appointment")[obj][column]),
        (
            "users",
            gid("User", colleague.id),
            users_row if users_row in ("ok", "UNAUTHENTICATED") else "null",
        ),
    ]
    got = await _node_answers(ctx, column, [global_id for _, global_id, _ in checks])
    return [
        f"node({global_id}) [as {operation}'s row {obj}] want {want} got {answer}"
        for (operation, global_id, want), answer in zip(checks, got, strict=True)
        if answer != want
    ]


@probe("node")
async def node(ctx: AccessContext, column: str, obj: str) -> Call:
    """The county's demand; the other node types are checked on the way (see the module's
    docstring): a disagreement fails the test here, naming the cell."""
    wrong = await _node_disagreements(ctx, column, obj)
    assert not wrong, f"node as {column} ({obj}):\n  " + "\n  ".join(wrong)
    d = ctx.county(obj).demand
    return Call("query($id: ID!) { node(id: $id) { id } }", {"id": gid("Demand", d.id)})


# --- the org and enterprise registers --------------------------------------------------------


@probe("regions")
async def regions(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "{ regions(first: 100) { edges { node { id name } } } }",
        target=gid("Region", ctx.county(obj).county.id),
    )


@probe("departments")
async def departments(ctx: AccessContext, column: str, obj: str) -> Call:
    return Call(
        "{ departments(first: 100) { edges { node { id name } } } }",
        target=gid("Department", ctx.county(obj).bureau.id),
    )


@probe("enterprises")
async def enterprises(ctx: AccessContext, column: str, obj: str) -> Call:
    ent = await _enterprise(ctx, column, obj)
    return Call(
        "{ enterprises(first: 100) { edges { node { id name } } } }",
        target=gid("Enterprise", ent.id),
    )


@probe("enterprise")
async def enterprise(ctx: AccessContext, column: str, obj: str) -> Call:
    ent = await _enterprise(ctx, column, obj)
    return Call(
        "query($id: ID!) { enterprise(id: $id) { id name } }", {"id": gid("Enterprise", ent.id)}
    )


@probe("users")
async def users(ctx: AccessContext, column: str, obj: str) -> Call:
    """A colleague of the county (for 东岭县: its user of that role)."""
    colleague = ctx.county(obj).people.users[_colleague(column)]
    return Call(
        "{ users(first: 100) { edges { node { id username } } } }",
        target=gid("User", colleague.id),
    )
