"""Appointments at a service point (预约): an enterprise's contact books a slot of the point's
opening hours, a contact or an agent of the point cancels it before it starts.

A slot's capacity is held by one `AppointmentSlot` row per (point, start), made on the first
booking. A booking increments its `booked` with a guarded UPDATE (`booked < capacity`) in the
transaction that writes the appointment and the client's receipt: two enterprises racing for
the last place cannot both get it, whatever the database. A cancel decrements it the same way.
No inbox notice goes to the point's agents yet: there is no notification kind for appointments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from tortoise.expressions import F, Q, Subquery
from tortoise.transactions import in_transaction

from models.access import region_ids_subquery, require_role
from models.errors import DomainError, Problems
from models.ops import receipts
from models.ops.demand_context import is_contact_of
from models.ops.validate import text
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.actor import Actor
from models.rules.agency_states import AppointmentStatus
from models.rules.appointment_slots import BOOKING_HORIZON_DAYS, slots_on
from models.rules.clock import TZ, day_start
from models.rules.opening_hours import clean_schedule
from models.rules.roles import Role
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.service_points import Appointment, AppointmentSlot, Procedure, ServicePoint

MAX_NOTE = 500
# Who reads every appointment of the points in the regions their grants cover.
APPOINTMENT_REGION_ROLES = (Role.SUPERVISOR, Role.ADMIN)


@dataclass(frozen=True)
class SlotView:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int

    @property
    def available(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass
class AppointmentData:
    service_point_id: int
    enterprise_id: int
    starts_at: datetime
    procedure_id: int | None = None
    note: str | None = None


# --------------------------------------------------------------------------- reading


def point_visible_q(actor: Actor) -> Q:
    """Points an actor may read: every active one (enterprises look for them), and inactive
    ones in the regions the actor administers."""
    if actor.is_global(Role.ADMIN):
        return Q()
    q = Q(is_active=True)
    sub = region_ids_subquery(actor, (Role.ADMIN,))
    if actor.has_role(Role.ADMIN) and sub is not None:
        q |= Q(region_id__in=sub)
    return q


async def day_slots(point: ServicePoint, d: date) -> list[tuple[datetime, datetime]]:
    calendar = await load_calendar(point.region_id)  # type: ignore[attr-defined]
    return slots_on(
        clean_schedule(point.opening_hours or {}),
        d,
        is_workday=calendar.is_workday,
        closed_on_holidays=point.closed_on_holidays,
        minutes=point.slot_minutes,
    )


async def appointment_slots(actor: Actor, point_id: int, d: date) -> list[SlotView]:
    """The day's slots of a point with their places taken (any signed-in user who may see it)."""
    point = await ServicePoint.filter(point_visible_q(actor), id=point_id).first()
    if point is None:
        raise DomainError("NOT_FOUND", "servicePointId")
    slots = await day_slots(point, d)
    if not slots:
        return []
    rows = await AppointmentSlot.filter(
        service_point_id=point.id,
        starts_at__gte=slots[0][0].astimezone(UTC),
        starts_at__lte=slots[-1][0].astimezone(UTC),
    ).values("starts_at", "capacity", "booked")
    taken = {r["starts_at"].astimezone(TZ): r for r in rows}
    out = []
    for start, end in slots:
        r = taken.get(start)
        capacity = r["capacity"] if r else point.slot_capacity
        out.append(SlotView(start, end, capacity, r["booked"] if r else 0))
    return out


def appointment_scope(actor: Actor) -> Q:
    """Appointments an actor may read: agents their points', contacts their enterprises',
    regional supervisors and administrators those of the points in their regions."""
    q = Q(id=-1)
    points = actor.service_point_ids()
    if points:
        q |= Q(service_point_id__in=points)
    if actor.has_role(Role.ENTERPRISE):
        own = Subquery(EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id"))
        q |= Q(enterprise_id__in=own)
    if actor.has_role(*APPOINTMENT_REGION_ROLES):
        sub = region_ids_subquery(actor, APPOINTMENT_REGION_ROLES)
        if sub is None:
            return Q()
        q |= Q(service_point_id__in=Subquery(ServicePoint.filter(region_id__in=sub).values("id")))
    return q


# --------------------------------------------------------------------------- booking


async def _load(pk: int) -> Appointment:
    return await Appointment.get(id=pk)


async def _check_booking(
    actor: Actor, data: AppointmentData, now: datetime
) -> tuple[ServicePoint, datetime, datetime, str]:
    """Who books for which enterprise, at which slot: refusals before anything is written."""
    require_role(actor, Role.ENTERPRISE)
    point = await ServicePoint.get_or_none(id=data.service_point_id, is_active=True)
    if point is None:
        raise DomainError("NOT_FOUND", "servicePointId")
    if not await Enterprise.filter(id=data.enterprise_id).exists() or not await is_contact_of(
        actor, data.enterprise_id
    ):
        raise DomainError("NOT_FOUND", "enterpriseId")
    problems = Problems()
    note = text(problems, data.note, "note", max_len=MAX_NOTE, required=False)
    if (
        data.procedure_id is not None
        and not await Procedure.filter(
            id=data.procedure_id, service_point_id=point.id, is_active=True
        ).exists()
    ):
        problems.add("NOT_FOUND", "procedureId")
    problems.raise_if_any()
    starts_at = data.starts_at
    if starts_at.tzinfo is None:
        raise DomainError("INVALID_SLOT", "startsAt")
    if starts_at <= now:
        raise DomainError("SLOT_IN_PAST", "startsAt")
    if starts_at > now + timedelta(days=BOOKING_HORIZON_DAYS):
        raise DomainError("SLOT_TOO_FAR", "startsAt", days=BOOKING_HORIZON_DAYS)
    local = starts_at.astimezone(TZ)
    ends = dict(await day_slots(point, local.date()))
    if local not in ends:
        raise DomainError("INVALID_SLOT", "startsAt")
    # Stored in UTC like every moment here: SQLite compares the text, offsets included.
    return point, local.astimezone(UTC), ends[local].astimezone(UTC), note


async def _slot_row(point: ServicePoint, starts_at: datetime, ends_at: datetime) -> int:
    """The slot's row id, made if this is its first booking. INSERT ... ON CONFLICT DO NOTHING
    (INSERT OR IGNORE on SQLite) so a concurrent first booking of the same slot neither fails
    nor aborts the caller's transaction; either way the row is there to lock and count."""
    await AppointmentSlot.bulk_create(
        [
            AppointmentSlot(
                service_point_id=point.id,
                starts_at=starts_at,
                ends_at=ends_at,
                capacity=point.slot_capacity,
            )
        ],
        ignore_conflicts=True,
    )
    return (await AppointmentSlot.get(service_point_id=point.id, starts_at=starts_at)).id


async def _already_booked(slot_id: int, enterprise_id: int) -> bool:
    return await Appointment.filter(
        slot_id=slot_id, enterprise_id=enterprise_id, status=AppointmentStatus.BOOKED
    ).exists()


async def book_appointment(
    actor: Actor, data: AppointmentData, *, client_id: str | None = None
) -> Appointment:
    """An enterprise contact books a place in one of the point's slots for their enterprise:
    in the future, within BOOKING_HORIZON_DAYS, while places are left, once per enterprise and
    slot. A retry with the same client id returns the first appointment."""
    args: dict[str, Any] = {
        "point": data.service_point_id,
        "enterprise": data.enterprise_id,
        # The instant, whatever offset the app wrote it with.
        "startsAt": (
            data.starts_at.astimezone(UTC) if data.starts_at.tzinfo else data.starts_at
        ).isoformat(),
        "procedure": data.procedure_id,
        "note": data.note,
    }
    receipt = receipts.receipt_for(client_id, "BOOK_APPOINTMENT", args)

    async def run() -> Appointment:
        now = clock.now()
        point, starts_at, ends_at, note = await _check_booking(actor, data, now)
        async with in_transaction():
            slot_id = await _slot_row(point, starts_at, ends_at)
            if await _already_booked(slot_id, data.enterprise_id):
                raise DomainError("ALREADY_BOOKED", "startsAt")
            # The guarded increment: on PostgreSQL it row-locks the slot, so a second booker
            # waits here for this transaction and then sees its count.
            taken = await AppointmentSlot.filter(id=slot_id, booked__lt=F("capacity")).update(
                booked=F("booked") + 1
            )
            if taken != 1:
                raise DomainError("SLOT_FULL", "startsAt")
            # Checked again under the slot's lock: the same enterprise booking twice at once.
            if await _already_booked(slot_id, data.enterprise_id):
                raise DomainError("ALREADY_BOOKED", "startsAt")
            appointment = await Appointment.create(
                slot_id=slot_id,
                service_point_id=point.id,
                enterprise_id=data.enterprise_id,
                procedure_id=data.procedure_id,
                booked_by_id=actor.user_id,
                starts_at=starts_at,
                ends_at=ends_at,
                note=note,
            )
            await receipts.write_receipt(actor, receipt, appointment.id)
        return appointment

    return await receipts.idempotent(actor, receipt, run, _load)


# --------------------------------------------------------------------------- cancelling


async def _appointment_for_cancel(actor: Actor, appointment_id: int) -> Appointment:
    """The appointment, if the actor may cancel it: a contact of its enterprise or an agent of
    its point. Supervisors and administrators who may read it get FORBIDDEN, others NOT_FOUND."""
    appt = await Appointment.get_or_none(id=appointment_id)
    if appt is None:
        raise DomainError("NOT_FOUND", "id")
    point_id: int = appt.service_point_id  # type: ignore[attr-defined]
    if point_id in actor.service_point_ids() or await is_contact_of(
        actor,
        appt.enterprise_id,  # type: ignore[attr-defined]
    ):
        return appt
    point = await ServicePoint.get(id=point_id).select_related("region")
    if actor.covers(point.region.path, APPOINTMENT_REGION_ROLES):
        raise DomainError("FORBIDDEN")
    raise DomainError("NOT_FOUND", "id")


async def cancel_appointment(
    actor: Actor, appointment_id: int, reason: str | None = None, *, client_id: str | None = None
) -> Appointment:
    """Cancel before the slot starts; the place is freed in the same transaction. The reason
    is appended to the appointment's note (there is no column of its own)."""
    receipt = receipts.receipt_for(
        client_id, "CANCEL_APPOINTMENT", {"appointment": appointment_id, "reason": reason}
    )

    async def run() -> Appointment:
        appt = await _appointment_for_cancel(actor, appointment_id)
        problems = Problems()
        cleaned = text(problems, reason, "reason", max_len=200, required=False)
        problems.raise_if_any()
        if appt.status is not AppointmentStatus.BOOKED:
            raise DomainError("APPOINTMENT_NOT_BOOKED", "id")
        now = clock.now()
        if appt.starts_at <= now:
            raise DomainError("APPOINTMENT_STARTED", "id")
        note = appt.note
        if cleaned:
            note = (f"{note}\n" if note else "") + f"取消原因：{cleaned}"
        async with in_transaction():
            changed = await Appointment.filter(id=appt.id, status=AppointmentStatus.BOOKED).update(
                status=AppointmentStatus.CANCELLED, cancelled_at=now, note=note[-MAX_NOTE:]
            )
            if changed != 1:  # cancelled by someone else meanwhile
                raise DomainError("APPOINTMENT_NOT_BOOKED", "id")
            await AppointmentSlot.filter(
                id=appt.slot_id,  # type: ignore[attr-defined]
                booked__gt=0,
            ).update(booked=F("booked") - 1)
            await receipts.write_receipt(actor, receipt, appt.id)
        return await Appointment.get(id=appt.id)

    return await receipts.idempotent(actor, receipt, run, _load)


def day_bounds(d: date) -> tuple[datetime, datetime]:
    """[start, end) of a calendar day in Asia/Shanghai, as UTC moments."""
    return day_start(d).astimezone(UTC), day_start(d + timedelta(days=1)).astimezone(UTC)
