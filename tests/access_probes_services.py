"""Access-matrix probes of the mutations of uploads, visits, the inbox and devices, service
points and their catalogs, appointments and agency requests (tests/access_matrix/services.md).

- "in" is 清河县's object of the operation, in the state where the role that may act can: the
  town cadre's planned (or logged) visit of 恒达机械, the park desk's agency request in the state
  the transition starts from, an appointment of 恒达机械 at that desk, the column user's own
  notification or device. "out" is the same in 东岭县 (for a user's own things: the things of
  东岭县's user of the same role; anonymous cells use the admin's).
- Refused cells share one object per row (`ctx.reusable`); the cell that succeeds uses it up and
  the next cell gets a fresh one. Objects are made through the real operations (models.ops.*) as
  the county's own people, or as plain ORM rows where no operation makes them (a dead push).
- Personal mutations that answer for other people's things without an error (marking someone
  else's notification read, unregistering someone else's phone) set `Call.target` to what the
  answer says when it did something: `ok` when it did, `empty` when it left the thing alone."""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from models.ops import agency as agency_ops
from models.ops import appointments as appointment_ops
from models.ops import attachments as attachment_ops
from models.ops import visits as visit_ops
from models.rules import clock
from models.rules.agency_states import AgencyState, AppointmentStatus
from models.rules.demand_states import RectificationState, Satisfaction
from models.rules.notification_kinds import PushStatus
from models.rules.roles import Role
from models.rules.visit_states import VisitStatus
from models.tables.agency import AgencyRequest
from models.tables.demands import Attachment
from models.tables.grants import RoleGrant
from models.tables.notifications import Device, Notification, NotificationPreference, PushMessage
from models.tables.org import User
from models.tables.service_points import Appointment, Procedure, ServicePoint
from models.tables.visits import Visit
from tests.access_world import WEEKDAYS, AccessContext, Call, County, gid, notify_user, probe
from tests.factories import make_user

ERRORS = "errors { code field message }"


def _new_id() -> str:
    return str(uuid.uuid4())


def _owner(ctx: AccessContext, column: str, obj: str) -> User:
    """Whose personal thing a row's object is: the column's user ("in") or the user of the same
    role in 东岭县 ("out"); the admin's for the anonymous column."""
    role = "admin" if column == "anonymous" else column
    return ctx.county(obj).people.users[role]


# --- uploads -------------------------------------------------------------------------------


async def _temporary_storage() -> Path:
    """The test server keeps files under ./var/files unless told otherwise: the matrix's
    uploads go to a folder of its own, removed when the test process ends."""
    root = Path(tempfile.mkdtemp(prefix="access-matrix-files-"))
    attachment_ops.configure_storage(root)
    atexit.register(shutil.rmtree, root, True)
    return root


@probe("uploadAttachment")
async def upload_attachment(ctx: AccessContext, column: str, obj: str) -> Call:
    await ctx.once("services:storage", _temporary_storage)
    name = f"visit-note-{uuid.uuid4().hex[:12]}.txt"
    user = ctx.home.people.users.get(column)

    async def stored() -> None:
        row = await Attachment.get_or_none(file_name=name)
        assert row is not None, "no attachment"
        assert user is not None and row.uploaded_by_id == user.id  # type: ignore[attr-defined]
        assert attachment_ops.storage_path(row.storage_key).is_file(), "no file"

    return Call(
        """mutation($input: UploadAttachmentInput!) { uploadAttachment(input: $input) {
             attachment { id fileName } errors { code field message } } }""",
        {"input": {"file": None}},
        files={"variables.input.file": (name, "企业走访情况说明".encode(), "text/plain")},
        verify=stored,
    )


# --- visits --------------------------------------------------------------------------------

VISIT = "visit { id status } " + ERRORS


async def _planned_visit(ctx: AccessContext, obj: str) -> Visit:
    """A visit the county's town cadre planned to the county's enterprise, as its lead."""
    county = ctx.county(obj)
    return await visit_ops.plan_visit(
        county.people["cadre"],
        county.enterprise.id,
        visit_ops.VisitPeople(),
        clock.now() + timedelta(days=3),
        purpose="了解扩建用地审批进展",
        client_id=_new_id(),
    )


async def _logged_visit(ctx: AccessContext, obj: str) -> Visit:
    """A visit the county's town cadre logged (its author, notes not yet locked)."""
    county = ctx.county(obj)
    return await visit_ops.log_visit(
        county.people["cadre"],
        county.enterprise.id,
        visit_ops.VisitPeople(),
        visit_ops.VisitReport(mode="PHONE", notes="电话了解生产经营情况。"),
        client_id=_new_id(),
    )


async def _still_planned(visit: Visit) -> bool:
    return await Visit.filter(id=visit.id, status=VisitStatus.PLANNED).exists()


def _visit_now(
    visit_id: int, status: VisitStatus, **columns: object
) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        row = await Visit.get(id=visit_id)
        assert row.status == status, f"status {row.status}"
        for name, value in columns.items():
            assert getattr(row, name) == value, f"{name} {getattr(row, name)!r}"

    return check


@probe("planVisit")
async def plan_visit(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    client_id = _new_id()

    async def planned() -> None:
        row = await Visit.get_or_none(client_id=client_id)
        assert row is not None, "no visit"
        assert row.status == VisitStatus.PLANNED, f"status {row.status}"
        assert row.enterprise_id == county.enterprise.id  # type: ignore[attr-defined]

    return Call(
        f"mutation($input: PlanVisitInput!) {{ planVisit(input: $input) {{ {VISIT} }} }}",
        {
            "input": {
                "clientId": client_id,
                "enterpriseId": gid("Enterprise", county.enterprise.id),
                "plannedAt": (clock.now() + timedelta(days=3)).isoformat(),
                "purpose": "了解扩建用地审批进展",
            }
        },
        verify=planned,
    )


@probe("logVisit")
async def log_visit(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    client_id = _new_id()

    async def logged() -> None:
        row = await Visit.get_or_none(client_id=client_id)
        assert row is not None, "no visit"
        assert row.status == VisitStatus.COMPLETED, f"status {row.status}"
        assert row.enterprise_id == county.enterprise.id  # type: ignore[attr-defined]

    return Call(
        f"mutation($input: LogVisitInput!) {{ logVisit(input: $input) {{ {VISIT} }} }}",
        {
            "input": {
                "clientId": client_id,
                "enterpriseId": gid("Enterprise", county.enterprise.id),
                "mode": "PHONE",
                "notes": "电话了解生产经营情况，企业反映用工紧张。",
            }
        },
        verify=logged,
    )


@probe("completeVisit")
async def complete_visit(ctx: AccessContext, column: str, obj: str) -> Call:
    visit = await ctx.reusable(
        f"services:planned visit {obj}", lambda: _planned_visit(ctx, obj), _still_planned
    )
    return Call(
        f"mutation($input: CompleteVisitInput!) {{ completeVisit(input: $input) {{ {VISIT} }} }}",
        {
            "input": {
                "visitId": gid("Visit", visit.id),
                "clientId": _new_id(),
                "mode": "PHONE",
                "notes": "已电话走访，企业生产正常。",
            }
        },
        verify=_visit_now(visit.id, VisitStatus.COMPLETED),
    )


@probe("cancelVisit")
async def cancel_visit(ctx: AccessContext, column: str, obj: str) -> Call:
    visit = await ctx.reusable(
        f"services:planned visit {obj}", lambda: _planned_visit(ctx, obj), _still_planned
    )
    return Call(
        f"mutation($input: CancelVisitInput!) {{ cancelVisit(input: $input) {{ {VISIT} }} }}",
        {"input": {"visitId": gid("Visit", visit.id), "reason": "企业负责人外出"}},
        verify=_visit_now(visit.id, VisitStatus.CANCELLED),
    )


@probe("updateVisitNotes")
async def update_visit_notes(ctx: AccessContext, column: str, obj: str) -> Call:
    visit = await ctx.once(f"services:logged visit {obj}", lambda: _logged_visit(ctx, obj))
    notes = f"补记（{column}）：企业反映用工紧张，{uuid.uuid4().hex[:6]}。"
    return Call(
        """mutation($input: UpdateVisitNotesInput!) { updateVisitNotes(input: $input) { """
        + VISIT
        + " } }",
        {"input": {"visitId": gid("Visit", visit.id), "notes": notes}},
        verify=_visit_now(visit.id, VisitStatus.COMPLETED, notes=notes),
    )


# --- the inbox and devices -----------------------------------------------------------------


async def _notification(user: User, county: County) -> Notification:
    """An unread notification of `user` about the county's demand."""
    return await notify_user(user.id, county.demand, county.county)


async def _device(user: User) -> Device:
    return await Device.create(
        user_id=user.id,
        provider="jpush",
        platform="ANDROID",
        token=f"170976fa8a{uuid.uuid4().hex}",
        app_version="2.3.1",
    )


@probe("markNotificationsRead")
async def mark_notifications_read(ctx: AccessContext, column: str, obj: str) -> Call:
    user = _owner(ctx, column, obj)

    async def unread(n: Notification) -> bool:
        return await Notification.filter(id=n.id, read_at=None).exists()

    note = await ctx.reusable(
        f"services:notification {column} {obj}",
        lambda: _notification(user, ctx.county(obj)),
        unread,
    )

    async def read() -> None:
        assert not await unread(note), "still unread"

    return Call(
        """mutation($input: MarkNotificationsReadInput!) { markNotificationsRead(input: $input) {
             marked unreadCount errors { code field message } } }""",
        {"input": {"ids": [gid("Notification", note.id)]}},
        target='"marked": 1',
        verify=read,
    )


@probe("registerDevice")
async def register_device(ctx: AccessContext, column: str, obj: str) -> Call:
    """A new phone token of the column's user ("in"), or one that 东岭县's user of the same role
    registered ("out": the same phone signed in by someone else; the token moves, by design)."""
    me = ctx.home.people.users.get(column)
    if obj == "out":
        owner = _owner(ctx, column, obj)

        async def theirs(d: Device) -> bool:
            return await Device.filter(id=d.id, user_id=owner.id).exists()

        token = (
            await ctx.reusable(f"services:moving device {column}", lambda: _device(owner), theirs)
        ).token
    else:
        token = f"1a0018970a{uuid.uuid4().hex}"

    async def registered() -> None:
        row = await Device.get_or_none(token=token)
        assert row is not None, "no device"
        assert me is not None and row.user_id == me.id, "not the caller's"  # type: ignore[attr-defined]

    return Call(
        """mutation($input: RegisterDeviceInput!) { registerDevice(input: $input) {
             device { id tokenTail } errors { code field message } } }""",
        {"input": {"provider": "jpush", "platform": "ANDROID", "token": token}},
        verify=registered,
    )


@probe("unregisterDevice")
async def unregister_device(ctx: AccessContext, column: str, obj: str) -> Call:
    owner = _owner(ctx, column, obj)

    async def there(d: Device) -> bool:
        return await Device.filter(id=d.id, user_id=owner.id).exists()

    device = await ctx.reusable(f"services:device {column} {obj}", lambda: _device(owner), there)

    async def removed() -> None:
        assert not await there(device), "device still there"

    return Call(
        """mutation($input: UnregisterDeviceInput!) { unregisterDevice(input: $input) {
             removed errors { code field message } } }""",
        {"input": {"token": device.token}},
        target='"removed": true',
        verify=removed,
    )


@probe("setNotificationPreferences")
async def set_notification_preferences(ctx: AccessContext, column: str, obj: str) -> Call:
    user = ctx.home.people.users.get(column)

    async def saved() -> None:
        assert user is not None
        pref = await NotificationPreference.get_or_none(user_id=user.id)
        assert pref is not None, "no preferences"
        assert (pref.quiet_start, pref.quiet_end) == (21 * 60 + 30, 7 * 60 + 30), "not saved"

    return Call(
        """mutation($input: SetNotificationPreferencesInput!) {
             setNotificationPreferences(input: $input) {
               preferences { quietStart quietEnd } errors { code field message } } }""",
        {"input": {"quietStart": "21:30:00", "quietEnd": "07:30:00"}},
        verify=saved,
    )


async def _dead_push(county: County) -> PushMessage:
    """A push to the county's enterprise user given up on (a permanent gateway error)."""
    user = county.people.users["enterprise"]
    note = await _notification(user, county)
    device = await _device(user)
    now = clock.now()
    return await PushMessage.create(
        notification_id=note.id,
        device_id=device.id,
        provider=device.provider,
        status=PushStatus.DEAD,
        due_at=now,
        attempts=1,
        last_error="HTTP 400: invalid registration id",
        created_at=now,
        finished_at=now,
    )


@probe("retryPush")
async def retry_push(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    push = await ctx.once(f"services:dead push {obj}", lambda: _dead_push(county))

    async def queued() -> None:
        row = await PushMessage.get(id=push.id)
        assert row.status == PushStatus.PENDING, f"status {row.status}"

    return Call(
        """mutation($input: RetryPushInput!) { retryPush(input: $input) {
             queued errors { code field message } } }""",
        {"input": {"ids": [gid("PushMessage", push.id)]}},
        verify=queued,
    )


# --- service points and their catalogs -----------------------------------------------------


def _unique(label: str) -> str:
    return f"{label}{uuid.uuid4().hex[:6]}"


@probe("createServicePoint")
async def create_service_point(ctx: AccessContext, column: str, obj: str) -> Call:
    park = ctx.county(obj).park
    name = _unique(f"{park.name[:2]}企业服务驿站")

    async def created() -> None:
        assert await ServicePoint.filter(name=name, region_id=park.id).exists(), "no point"

    return Call(
        """mutation($input: CreateServicePointInput!) { createServicePoint(input: $input) {
             servicePoint { id name } errors { code field message } } }""",
        {"input": {"name": name, "regionId": gid("Region", park.id), "phone": "0571-88881234"}},
        verify=created,
    )


async def _point(county: County) -> ServicePoint:
    return await ServicePoint.create(
        name=f"{county.park.name[:2]}企业开办专窗", region=county.park, opening_hours=WEEKDAYS
    )


@probe("updateServicePoint")
async def update_service_point(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    point = await ctx.once(f"services:point {obj}", lambda: _point(county))
    description = _unique("办理企业开办、变更登记，")

    async def updated() -> None:
        row = await ServicePoint.get(id=point.id)
        assert row.description == description, "not saved"

    return Call(
        """mutation($input: UpdateServicePointInput!) { updateServicePoint(input: $input) {
             servicePoint { id description } errors { code field message } } }""",
        {"input": {"id": gid("ServicePoint", point.id), "description": description}},
        verify=updated,
    )


@probe("createProcedure")
async def create_procedure(ctx: AccessContext, column: str, obj: str) -> Call:
    desk = ctx.county(obj).desk
    name = _unique("公共场所卫生许可")

    async def created() -> None:
        assert await Procedure.filter(name=name, service_point_id=desk.id).exists(), "none"

    return Call(
        """mutation($input: CreateProcedureInput!) { createProcedure(input: $input) {
             procedure { id name } errors { code field message } } }""",
        {
            "input": {
                "servicePointId": gid("ServicePoint", desk.id),
                "name": name,
                "promisedDays": 5,
            }
        },
        verify=created,
    )


async def _procedure(county: County) -> Procedure:
    return await Procedure.create(
        service_point=county.desk, name="企业名称变更登记", promised_days=3, materials=[]
    )


@probe("updateProcedure")
async def update_procedure(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    proc = await ctx.once(f"services:procedure {obj}", lambda: _procedure(county))
    fees = _unique("不收费；")

    async def updated() -> None:
        row = await Procedure.get(id=proc.id)
        assert row.fees == fees, "not saved"

    return Call(
        """mutation($input: UpdateProcedureInput!) { updateProcedure(input: $input) {
             procedure { id fees } errors { code field message } } }""",
        {"input": {"id": gid("Procedure", proc.id), "fees": fees}},
        verify=updated,
    )


# --- appointments --------------------------------------------------------------------------


async def _next_slot(ctx: AccessContext, obj: str) -> datetime:
    """A slot of the county's desk in the coming two weeks that this probe module has not
    handed out yet and the county's enterprise holds no place in (other modules book the
    first ones): taken from the far end."""
    county = ctx.county(obj)

    async def slots() -> list[datetime]:
        now = clock.now()
        starts: list[datetime] = []
        for ahead in range(1, 15):
            day = (now + timedelta(days=ahead)).astimezone(clock.TZ).date()
            starts += [s for s, _ in await appointment_ops.day_slots(county.desk, day)]
        return starts

    free: list[datetime] = await ctx.once(f"services:slots {obj}", slots)
    while True:
        start = free.pop()
        if not await Appointment.filter(
            enterprise_id=county.enterprise.id,
            starts_at=start.astimezone(UTC),
            status=AppointmentStatus.BOOKED,
        ).exists():
            return start


async def _appointment(ctx: AccessContext, obj: str) -> Appointment:
    county = ctx.county(obj)
    data = appointment_ops.AppointmentData(
        service_point_id=county.desk.id,
        enterprise_id=county.enterprise.id,
        starts_at=await _next_slot(ctx, obj),
        procedure_id=county.procedure.id,
    )
    return await appointment_ops.book_appointment(county.people["enterprise"], data)


@probe("bookAppointment")
async def book_appointment(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    starts_at = await _next_slot(ctx, obj)

    async def booked() -> None:
        assert await Appointment.filter(
            enterprise_id=county.enterprise.id,
            starts_at=starts_at.astimezone(UTC),
            status=AppointmentStatus.BOOKED,
        ).exists(), "not booked"

    return Call(
        """mutation($input: BookAppointmentInput!) { bookAppointment(input: $input) {
             appointment { id status } errors { code field message } } }""",
        {
            "input": {
                "servicePointId": gid("ServicePoint", county.desk.id),
                "enterpriseId": gid("Enterprise", county.enterprise.id),
                "startsAt": starts_at.isoformat(),
                "procedureId": gid("Procedure", county.procedure.id),
            }
        },
        verify=booked,
    )


@probe("cancelAppointment")
async def cancel_appointment(ctx: AccessContext, column: str, obj: str) -> Call:
    async def booked(a: Appointment) -> bool:
        return await Appointment.filter(id=a.id, status=AppointmentStatus.BOOKED).exists()

    appt = await ctx.reusable(f"services:appointment {obj}", lambda: _appointment(ctx, obj), booked)

    async def cancelled() -> None:
        row = await Appointment.get(id=appt.id)
        assert row.status == AppointmentStatus.CANCELLED, f"status {row.status}"

    return Call(
        """mutation($input: CancelAppointmentInput!) { cancelAppointment(input: $input) {
             appointment { id status } errors { code field message } } }""",
        {"input": {"id": gid("Appointment", appt.id), "reason": "行程有变"}},
        verify=cancelled,
    )


# --- agency requests -----------------------------------------------------------------------

AGENCY = "agencyRequest { id state } " + ERRORS
S = AgencyState
# The states a probe asks for: an agency state, or a bad rating's open rectification.
RECTIFYING = "RECTIFYING"


async def _agency_request(ctx: AccessContext, obj: str, state: str) -> AgencyRequest:
    """A new request of the county's enterprise at the park desk, taken to `state` by the
    enterprise's contact and the desk's agent."""
    county = ctx.county(obj)
    contact, agent = county.people["enterprise"], county.people["agent"]
    r = await agency_ops.submit_agency_request(
        contact,
        enterprise_id=county.enterprise.id,
        procedure_id=county.procedure.id,
        description="请帮办食品经营许可证变更（经营项目增加热食类食品制售）。",
    )
    if state == S.SUBMITTED:
        return r
    r = await agency_ops.accept_agency_request(agent, r.id)
    if state == S.MATERIALS_REQUESTED:
        asked = [agency_ops.RequestedMaterial("营业执照副本", "加盖公章")]
        return await agency_ops.request_materials(agent, r.id, materials=asked, note="请补正")
    if state in (S.IN_HANDLING, S.COMPLETED, RECTIFYING):
        r = await agency_ops.start_handling(agent, r.id)
    if state in (S.COMPLETED, RECTIFYING):
        r = await agency_ops.complete_agency_request(
            agent, r.id, result_text="已办结", certificate_number="JY13305990012345"
        )
    if state == RECTIFYING:
        r = await agency_ops.rate_agency_request(
            contact, r.id, rating=Satisfaction.DISSATISFIED.value, comment="办理太慢"
        )
    return r


async def _shared_request(
    ctx: AccessContext,
    obj: str,
    state: str,
    also: Callable[[AgencyRequest], bool] | None = None,
    key: str = "",
) -> AgencyRequest:
    """The row's request in `state` (and what `also` asks), made again once a cell moved it."""

    async def usable(r: AgencyRequest) -> bool:
        row = await AgencyRequest.get(id=r.id)
        if state == RECTIFYING:
            ok = row.rectification_state == RectificationState.OPEN
        elif state == S.COMPLETED:
            ok = row.state == S.COMPLETED and row.rating is None
        else:
            ok = row.state == state
        return ok and (also is None or also(row))

    return await ctx.reusable(
        f"services:agency {state}{key} {obj}", lambda: _agency_request(ctx, obj, state), usable
    )


def _agency_call(
    operation: str,
    input_type: str,
    r: AgencyRequest,
    fields: dict[str, object],
    check: Callable[[AgencyRequest], str | None],
) -> Call:
    """The call of one transition; `check` says what is wrong with the row afterwards."""

    async def changed() -> None:
        problem = check(await AgencyRequest.get(id=r.id))
        assert problem is None, problem

    return Call(
        f"mutation($input: {input_type}!) {{ {operation}(input: $input) {{ {AGENCY} }} }}",
        {"input": {"agencyRequestId": gid("AgencyRequest", r.id), **fields}},
        verify=changed,
    )


def _in_state(state: AgencyState) -> Callable[[AgencyRequest], str | None]:
    return lambda row: None if row.state == state else f"state {row.state}"


@probe("submitAgencyRequest")
async def submit_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    description = _unique("请帮办食品经营许可证变更，")

    async def submitted() -> None:
        row = await AgencyRequest.get_or_none(description=description)
        assert row is not None, "no request"
        assert row.state == S.SUBMITTED and row.enterprise_id == county.enterprise.id  # type: ignore[attr-defined]

    return Call(
        f"""mutation($input: SubmitAgencyRequestInput!) {{
             submitAgencyRequest(input: $input) {{ {AGENCY} }} }}""",
        {
            "input": {
                "enterpriseId": gid("Enterprise", county.enterprise.id),
                "procedureId": gid("Procedure", county.procedure.id),
                "description": description,
            }
        },
        verify=submitted,
    )


@probe("acceptAgencyRequest")
async def accept_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.SUBMITTED)
    return _agency_call(
        "acceptAgencyRequest", "AcceptAgencyRequestInput", r, {}, _in_state(S.ACCEPTED)
    )


@probe("requestMaterials")
async def request_materials(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.ACCEPTED)
    fields = {"materials": [{"name": "营业执照副本", "note": "加盖公章"}], "note": "请补正材料"}
    return _agency_call(
        "requestMaterials", "RequestMaterialsInput", r, fields, _in_state(S.MATERIALS_REQUESTED)
    )


@probe("supplyMaterials")
async def supply_materials(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.MATERIALS_REQUESTED)
    fields = {"note": "已补交营业执照副本（加盖公章）"}
    return _agency_call("supplyMaterials", "SupplyMaterialsInput", r, fields, _in_state(S.ACCEPTED))


@probe("startHandling")
async def start_handling(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.ACCEPTED)
    fields = {"note": "材料已报送市场监管局"}
    return _agency_call("startHandling", "AgencyNoteInput", r, fields, _in_state(S.IN_HANDLING))


@probe("completeAgencyRequest")
async def complete_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.IN_HANDLING)
    fields = {"resultText": "已办结，新证已寄出", "certificateNumber": "JY13305990054321"}
    return _agency_call(
        "completeAgencyRequest", "CompleteAgencyRequestInput", r, fields, _in_state(S.COMPLETED)
    )


@probe("rejectAgencyRequest")
async def reject_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.SUBMITTED)
    fields = {"reason": "经营场所不符合食品经营条件"}
    return _agency_call(
        "rejectAgencyRequest", "AgencyReasonInput", r, fields, _in_state(S.REJECTED)
    )


@probe("cancelAgencyRequest")
async def cancel_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.SUBMITTED)
    fields = {"reason": "已自行办理"}
    return _agency_call(
        "cancelAgencyRequest", "AgencyReasonInput", r, fields, _in_state(S.CANCELLED)
    )


@probe("rateAgencyRequest")
async def rate_agency_request(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, S.COMPLETED)
    fields = {"rating": "SATISFIED", "comment": "办理及时"}
    return _agency_call(
        "rateAgencyRequest",
        "RateAgencyRequestInput",
        r,
        fields,
        lambda row: None if row.rating == Satisfaction.SATISFIED else f"rating {row.rating}",
    )


def _agent_of(row: AgencyRequest) -> int | None:
    agent_id: int | None = row.agent_id  # type: ignore[attr-defined]
    return agent_id


async def _second_agent(county: County, obj: str) -> User:
    """Another agent of the county's desk, to hand requests to."""
    user = await make_user(f"mx_services_agent2_{obj}", None, None)
    await RoleGrant.create(
        user=user, role=Role.SERVICE_AGENT, region=county.park, service_point=county.desk
    )
    return user


@probe("assignAgent")
async def assign_agent(ctx: AccessContext, column: str, obj: str) -> Call:
    county = ctx.county(obj)
    other: User = await ctx.once(f"services:second agent {obj}", lambda: _second_agent(county, obj))
    unassigned = await _shared_request(
        ctx, obj, S.SUBMITTED, lambda row: _agent_of(row) != other.id, key=" unassigned"
    )
    return _agency_call(
        "assignAgent",
        "AssignAgentInput",
        unassigned,
        {"agentId": gid("User", other.id), "note": "由王敏负责跟进"},
        lambda row: None if _agent_of(row) == other.id else "not assigned",
    )


@probe("recordAgencyRectification")
async def record_agency_rectification(ctx: AccessContext, column: str, obj: str) -> Call:
    r = await _shared_request(ctx, obj, RECTIFYING)
    fields = {"note": "已约谈经办人，承诺时限内办结"}
    return _agency_call(
        "recordAgencyRectification",
        "AgencyNoteInput",
        r,
        fields,
        lambda row: (
            None
            if row.rectification_state == RectificationState.DONE
            else f"rectification {row.rectification_state}"
        ),
    )
