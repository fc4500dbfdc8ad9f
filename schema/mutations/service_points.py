"""Administrators keep service points and their procedure catalogs; enterprises book and
cancel appointments."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models.ops import appointments as appt_ops
from models.ops import service_points as sp_ops
from models.rules.audit import AuditAction
from models.rules.roles import CoordinateSystem
from models.tables.service_points import Appointment as AppointmentModel
from models.tables.service_points import Procedure as ProcedureModel
from models.tables.service_points import ServicePoint as ServicePointModel
from schema.errors import UserError, attempt
from schema.mutations.audited import attempt_audited
from schema.relay import id_of, pk_of
from schema.service_point_reads import APPOINTMENT_ROW_COLUMNS, POINT_ROW_COLUMNS
from schema.types.service_points import Appointment, Procedure, ServicePoint, Weekday


@strawberry.input(description="An opening period, HH:MM (end may be 24:00).")
class OpeningPeriodInput:
    start: str
    end: str


@strawberry.input(description="The periods of one weekday; weekdays left out are closed.")
class OpeningDayInput:
    weekday: Weekday
    periods: list[OpeningPeriodInput]


@strawberry.input
class CreateServicePointInput:
    name: str
    region_id: strawberry.ID
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coordinate_system: CoordinateSystem | None = strawberry.field(
        default=None, description="The system latitude/longitude are in (default GCJ02)."
    )
    phone: str | None = strawberry.field(
        default=None, description="A mainland mobile, or a landline with its area code."
    )
    description: str | None = None
    opening_hours: list[OpeningDayInput] | None = None
    closed_on_holidays: bool | None = strawberry.field(default=None, description="Default true.")
    slot_minutes: int | None = strawberry.field(default=None, description="10..240, default 30.")
    slot_capacity: int | None = strawberry.field(default=None, description="1..50, default 2.")


@strawberry.input(description="Null fields stay as they are.")
class UpdateServicePointInput:
    id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="The version read; a stale one is VERSION_CONFLICT."
    )
    name: str | None = None
    region_id: strawberry.ID | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coordinate_system: CoordinateSystem | None = None
    phone: str | None = strawberry.field(default=None, description="Empty string clears it.")
    description: str | None = None
    opening_hours: list[OpeningDayInput] | None = strawberry.field(
        default=None, description="Replaces the whole weekly schedule."
    )
    closed_on_holidays: bool | None = None
    slot_minutes: int | None = None
    slot_capacity: int | None = None
    is_active: bool | None = strawberry.field(
        default=None, description="False withdraws the point (never deleted)."
    )


@strawberry.type
class ServicePointPayload:
    service_point: ServicePoint | None
    errors: list[UserError]


@strawberry.input
class MaterialInput:
    name: str
    may_be_missing: bool = strawberry.field(
        default=False, description="容缺: may be accepted missing and supplied later."
    )
    note: str = ""


@strawberry.input
class CreateProcedureInput:
    service_point_id: strawberry.ID
    name: str
    promised_days: int = strawberry.field(description="承诺时限, 1..365 working days.")
    code: str | None = None
    department_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="The responsible department: of the point's region, above or below it.",
    )
    materials: list[MaterialInput] | None = None
    statutory_days: int | None = strawberry.field(
        default=None, description="法定时限, working days; not less than promisedDays."
    )
    fees: str | None = None
    online_url: str | None = strawberry.field(default=None, description="An http(s) address.")


@strawberry.input(
    description="Fields left out stay as they are; departmentId and statutoryDays: null clears."
)
class UpdateProcedureInput:
    id: strawberry.ID
    name: str | None = None
    code: str | None = None
    department_id: strawberry.ID | None = strawberry.UNSET
    materials: list[MaterialInput] | None = strawberry.field(
        default=None, description="Replaces the whole list."
    )
    statutory_days: int | None = strawberry.UNSET
    promised_days: int | None = None
    fees: str | None = None
    online_url: str | None = None
    is_active: bool | None = strawberry.field(
        default=None, description="False withdraws it from the catalog."
    )


@strawberry.type
class ProcedurePayload:
    procedure: Procedure | None
    errors: list[UserError]


@strawberry.input
class BookAppointmentInput:
    service_point_id: strawberry.ID
    enterprise_id: strawberry.ID
    starts_at: datetime = strawberry.field(description="The start of one of the day's slots.")
    procedure_id: strawberry.ID | None = None
    note: str | None = None
    client_mutation_id: str | None = strawberry.field(
        default=None, description="A retry with the same id returns the first appointment."
    )


@strawberry.input
class CancelAppointmentInput:
    id: strawberry.ID
    reason: str | None = None
    client_mutation_id: str | None = None


@strawberry.type
class AppointmentPayload:
    appointment: Appointment | None
    errors: list[UserError]


def _schedule(days: list[OpeningDayInput] | None) -> list[tuple[str, list[list[str]]]] | None:
    if days is None:
        return None
    return [(d.weekday.value, [[p.start, p.end] for p in d.periods]) for d in days]


def _point_data(i: CreateServicePointInput | UpdateServicePointInput) -> sp_ops.ServicePointData:
    return sp_ops.ServicePointData(
        name=i.name,
        region_id=pk_of(i.region_id, "Region"),
        address=i.address,
        latitude=i.latitude,
        longitude=i.longitude,
        coordinate_system=i.coordinate_system.value if i.coordinate_system else None,
        phone=i.phone,
        description=i.description,
        opening_hours=_schedule(i.opening_hours),
        closed_on_holidays=i.closed_on_holidays,
        slot_minutes=i.slot_minutes,
        slot_capacity=i.slot_capacity,
        is_active=getattr(i, "is_active", None),
    )


def _materials(items: list[MaterialInput] | None) -> list[sp_ops.MaterialData] | None:
    if items is None:
        return None
    return [sp_ops.MaterialData(m.name, m.may_be_missing, m.note) for m in items]


def _given(value: Any, convert: Any = None) -> Any:
    """strawberry.UNSET (left out) keeps the field; null clears it."""
    if value is strawberry.UNSET:
        return sp_ops.KEEP
    return convert(value) if convert is not None and value is not None else value


async def _point(p: Any) -> ServicePoint | None:
    if p is None:
        return None
    rows = await ServicePointModel.filter(id=p.id).values(*POINT_ROW_COLUMNS)
    return ServicePoint.from_row(rows[0])


async def _procedure(p: Any) -> Procedure | None:
    if p is None:
        return None
    rows = await ProcedureModel.filter(id=p.id).values(*sp_ops.PROCEDURE_COLUMNS)
    return Procedure.from_row(rows[0])


async def _appointment(a: Any) -> Appointment | None:
    if a is None:
        return None
    rows = await AppointmentModel.filter(id=a.id).values(*APPOINTMENT_ROW_COLUMNS)
    return Appointment.from_row(rows[0])


@strawberry.type
class ServicePointMutations:
    @strawberry.mutation(description="Add a service point (administrators of its region).")
    async def create_service_point(
        self, info: Info, input: CreateServicePointInput
    ) -> ServicePointPayload:
        ctx = info.context
        point, errors = await attempt_audited(
            ctx,
            AuditAction.SERVICE_POINT_CREATE,
            "ServicePoint",
            input,
            lambda: sp_ops.create_service_point(ctx.require_actor(), _point_data(input)),
        )
        return ServicePointPayload(service_point=await _point(point), errors=errors)

    @strawberry.mutation(
        description="Correct, move or withdraw a service point (administrators of its region)."
    )
    async def update_service_point(
        self, info: Info, input: UpdateServicePointInput
    ) -> ServicePointPayload:
        ctx = info.context
        point, errors = await attempt_audited(
            ctx,
            AuditAction.SERVICE_POINT_UPDATE,
            "ServicePoint",
            input,
            lambda: sp_ops.update_service_point(
                ctx.require_actor(),
                id_of(input.id, "ServicePoint"),
                _point_data(input),
                expected_version=input.version,
            ),
        )
        return ServicePointPayload(service_point=await _point(point), errors=errors)

    @strawberry.mutation(
        description="Add a procedure to a point's catalog (administrators of its region)."
    )
    async def create_procedure(self, info: Info, input: CreateProcedureInput) -> ProcedurePayload:
        ctx = info.context
        proc, errors = await attempt_audited(
            ctx,
            AuditAction.PROCEDURE_CREATE,
            "Procedure",
            input,
            lambda: sp_ops.create_procedure(
                ctx.require_actor(),
                id_of(input.service_point_id, "ServicePoint"),
                sp_ops.ProcedureData(
                    name=input.name,
                    code=input.code,
                    department_id=pk_of(input.department_id, "Department"),
                    materials=_materials(input.materials),
                    statutory_days=input.statutory_days,
                    promised_days=input.promised_days,
                    fees=input.fees,
                    online_url=input.online_url,
                ),
            ),
        )
        return ProcedurePayload(procedure=await _procedure(proc), errors=errors)

    @strawberry.mutation(
        description="Correct or withdraw a procedure (administrators of its point's region)."
    )
    async def update_procedure(self, info: Info, input: UpdateProcedureInput) -> ProcedurePayload:
        ctx = info.context
        proc, errors = await attempt_audited(
            ctx,
            AuditAction.PROCEDURE_UPDATE,
            "Procedure",
            input,
            lambda: sp_ops.update_procedure(
                ctx.require_actor(),
                id_of(input.id, "Procedure"),
                sp_ops.ProcedureData(
                    name=input.name,
                    code=input.code,
                    department_id=_given(input.department_id, lambda g: id_of(g, "Department")),
                    materials=_materials(input.materials),
                    statutory_days=_given(input.statutory_days),
                    promised_days=input.promised_days,
                    fees=input.fees,
                    online_url=input.online_url,
                    is_active=input.is_active,
                ),
            ),
        )
        return ProcedurePayload(procedure=await _procedure(proc), errors=errors)

    @strawberry.mutation(
        description="Book a place in a slot for an enterprise the caller is a contact of."
    )
    async def book_appointment(self, info: Info, input: BookAppointmentInput) -> AppointmentPayload:
        ctx = info.context
        appt, errors = await attempt(
            ctx.locale,
            lambda: appt_ops.book_appointment(
                ctx.require_actor(),
                appt_ops.AppointmentData(
                    service_point_id=id_of(input.service_point_id, "ServicePoint"),
                    enterprise_id=id_of(input.enterprise_id, "Enterprise"),
                    starts_at=input.starts_at,
                    procedure_id=pk_of(input.procedure_id, "Procedure"),
                    note=input.note,
                ),
                client_id=input.client_mutation_id,
            ),
        )
        return AppointmentPayload(appointment=await _appointment(appt), errors=errors)

    @strawberry.mutation(
        description="Cancel before it starts (a contact of the enterprise or an agent of the "
        "point); the place is freed."
    )
    async def cancel_appointment(
        self, info: Info, input: CancelAppointmentInput
    ) -> AppointmentPayload:
        ctx = info.context
        appt, errors = await attempt(
            ctx.locale,
            lambda: appt_ops.cancel_appointment(
                ctx.require_actor(),
                id_of(input.id, "Appointment"),
                input.reason,
                client_id=input.client_mutation_id,
            ),
        )
        return AppointmentPayload(appointment=await _appointment(appt), errors=errors)
