"""Service points (服务点), their procedure catalogs (事项) and appointments (预约), built from
plain rows (schema/service_point_reads.py); a list's procedures, agents, regions and calendars
are batched per request, never fetched per point."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.types import Info

from models.rules import clock
from models.rules.agency_states import AppointmentStatus
from models.rules.geo import convert
from models.rules.opening_hours import WEEKDAYS, clean_schedule, is_open, next_opening
from models.rules.roles import CoordinateSystem, Role
from schema.relay import Node, to_global_id
from schema.service_point_loaders import (
    agents_loader,
    calendar_of,
    point_loader,
    procedure_loader,
    procedures_loader,
)
from schema.types.org import Department, Region, load_region

Row = dict[str, Any]

strawberry.enum(AppointmentStatus, description="BOOKED → CANCELLED.")


@strawberry.enum(description="A day of the week.")
class Weekday(Enum):
    MON = "MON"
    TUE = "TUE"
    WED = "WED"
    THU = "THU"
    FRI = "FRI"
    SAT = "SAT"
    SUN = "SUN"


@strawberry.type(
    description="An opening period of a day, HH:MM in Asia/Shanghai (end 24:00: midnight)."
)
class OpeningPeriod:
    start: str
    end: str


@strawberry.type(description="The opening periods of one weekday; days not listed are closed.")
class OpeningDay:
    weekday: Weekday
    periods: list[OpeningPeriod]


@strawberry.type(description="A position in the asked coordinate system.")
class Location:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem


@strawberry.type(description="A person by name only (no mobile numbers): agents, who booked.")
class PersonName:
    id: strawberry.ID = strawberry.field(description="The user's global id.")
    display_name: str


@strawberry.type(
    description="A document a procedure needs; 容缺: may be supplied after acceptance."
)
class Material:
    name: str
    may_be_missing: bool
    note: str


@strawberry.type(description="A procedure (事项) a service point handles for enterprises.")
class Procedure(Node):
    pk: strawberry.Private[int]
    name: str
    code: str
    statutory_days: int | None = strawberry.field(description="法定时限, working days.")
    promised_days: int = strawberry.field(description="承诺时限, working days.")
    fees: str
    online_url: str = strawberry.field(description="Where it can be done online; may be empty.")
    is_active: bool
    materials: list[Material]
    department_pk: strawberry.Private[int | None]
    service_point_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: Row) -> Procedure:
        return cls(
            id=to_global_id("Procedure", r["id"]),
            pk=r["id"],
            name=r["name"],
            code=r["code"],
            statutory_days=r["statutory_days"],
            promised_days=r["promised_days"],
            fees=r["fees"],
            online_url=r["online_url"],
            is_active=r["is_active"],
            materials=[
                Material(
                    name=m.get("name", ""),
                    may_be_missing=bool(m.get("mayBeMissing")),
                    note=m.get("note", ""),
                )
                for m in r["materials"] or []
            ],
            department_pk=r["department_id"],
            service_point_pk=r["service_point_id"],
        )

    @strawberry.field(description="The responsible department (责任部门).")
    async def department(self, info: Info) -> Department | None:
        if self.department_pk is None:
            return None
        row = await info.context.loaders.department.load(self.department_pk)
        return Department.from_row(row) if row else None


@strawberry.type(description="A service point (服务点) where agents help enterprises (帮办代办).")
class ServicePoint(Node):
    pk: strawberry.Private[int]
    row: strawberry.Private[Row]
    name: str
    address: str
    latitude: float | None = strawberry.field(description="As entered, in coordinateSystem.")
    longitude: float | None
    coordinate_system: CoordinateSystem
    phone: str
    description: str
    closed_on_holidays: bool = strawberry.field(
        description="Closed on the region calendar's holidays; open on make-up workdays (调休) "
        "with Monday's hours."
    )
    slot_minutes: int = strawberry.field(description="Length of an appointment slot.")
    slot_capacity: int = strawberry.field(description="Appointments one slot takes.")
    is_active: bool
    version: int = strawberry.field(description="Pass back on an update to detect races.")
    distance_m: float | None = strawberry.field(
        description="Metres from `near` (both ends in WGS-84); null without `near`."
    )

    @classmethod
    def from_row(cls, r: Row, distance: float | None = None) -> ServicePoint:
        return cls(
            id=to_global_id("ServicePoint", r["id"]),
            pk=r["id"],
            row=r,
            name=r["name"],
            address=r["address"],
            latitude=r["latitude"],
            longitude=r["longitude"],
            coordinate_system=CoordinateSystem(r["coordinate_system"]),
            phone=r["phone"],
            description=r["description"],
            closed_on_holidays=r["closed_on_holidays"],
            slot_minutes=r["slot_minutes"],
            slot_capacity=r["slot_capacity"],
            is_active=r["is_active"],
            version=r["version"],
            distance_m=None if distance is None else round(distance, 1),
        )

    @strawberry.field
    async def region(self, info: Info) -> Region:
        region = await load_region(info, self.row["region_id"])
        assert region is not None
        return region

    @strawberry.field(description="The position converted into the asked coordinate system.")
    def location(
        self, coordinate_system: CoordinateSystem = CoordinateSystem.GCJ02
    ) -> Location | None:
        if self.latitude is None or self.longitude is None:
            return None
        lat, lng = convert(self.latitude, self.longitude, self.coordinate_system, coordinate_system)
        return Location(latitude=lat, longitude=lng, coordinate_system=coordinate_system)

    @strawberry.field(description="The weekly schedule, Monday first.")
    def opening_hours(self) -> list[OpeningDay]:
        hours = self.row["opening_hours"] or {}
        return [
            OpeningDay(
                weekday=Weekday(day),
                periods=[OpeningPeriod(start=p[0], end=p[1]) for p in hours[day]],
            )
            for day in WEEKDAYS
            if hours.get(day)
        ]

    @strawberry.field(description="Open at this moment (its region's calendar: holidays, 调休).")
    async def open_now(self, info: Info) -> bool:
        calendar = await calendar_of(info, self.row["region_id"])
        return is_open(
            clean_schedule(self.row["opening_hours"] or {}),
            clock.now(),
            is_workday=calendar.is_workday,
            closed_on_holidays=self.closed_on_holidays,
        )

    @strawberry.field(description="When it next opens (now if open); null if not within a month.")
    async def next_opening_at(self, info: Info) -> datetime | None:
        calendar = await calendar_of(info, self.row["region_id"])
        return next_opening(
            clean_schedule(self.row["opening_hours"] or {}),
            clock.now(),
            is_workday=calendar.is_workday,
            closed_on_holidays=self.closed_on_holidays,
        )

    @strawberry.field(description="The point's agents (帮办员), by name.")
    async def agents(self, info: Info) -> list[PersonName]:
        rows = await agents_loader(info).load(self.pk)
        return [
            PersonName(id=to_global_id("User", r["user_id"]), display_name=r["name"]) for r in rows
        ]

    @strawberry.field(
        description="The procedure catalog, by name. `includeInactive` lists withdrawn ones "
        "too, for administrators of the point's region (ignored for others)."
    )
    async def procedures(self, info: Info, include_inactive: bool = False) -> list[Procedure]:
        actor = info.context.actor
        show_all = (
            include_inactive
            and actor is not None
            and actor.covers(self.row["region__path"], (Role.ADMIN,))
        )
        rows = await procedures_loader(info).load(self.pk)
        return [Procedure.from_row(r) for r in rows if show_all or r["is_active"]]


@strawberry.type(description="One appointment slot of a day.")
class AppointmentSlot:
    starts_at: datetime
    ends_at: datetime
    capacity: int
    booked: int
    available: int = strawberry.field(description="Places left.")
    bookable: bool = strawberry.field(
        description="Places left, not yet started and within the booking horizon (30 days)."
    )


@strawberry.type(description="The enterprise an appointment is for.")
class AppointmentEnterprise:
    id: strawberry.ID
    name: str


@strawberry.type(description="An enterprise's appointment at a service point (预约).")
class Appointment(Node):
    pk: strawberry.Private[int]
    row: strawberry.Private[Row]
    starts_at: datetime
    ends_at: datetime
    status: AppointmentStatus
    note: str
    cancelled_at: datetime | None
    created_at: datetime

    @classmethod
    def from_row(cls, r: Row) -> Appointment:
        return cls(
            id=to_global_id("Appointment", r["id"]),
            pk=r["id"],
            row=r,
            starts_at=r["starts_at"],
            ends_at=r["ends_at"],
            status=AppointmentStatus(r["status"]),
            note=r["note"],
            cancelled_at=r["cancelled_at"],
            created_at=r["created_at"],
        )

    @strawberry.field
    def enterprise(self) -> AppointmentEnterprise:
        return AppointmentEnterprise(
            id=to_global_id("Enterprise", self.row["enterprise_id"]),
            name=self.row["enterprise__name"],
        )

    @strawberry.field
    def booked_by(self) -> PersonName:
        return PersonName(
            id=to_global_id("User", self.row["booked_by_id"]),
            display_name=self.row["booked_by__display_name"],
        )

    @strawberry.field
    async def service_point(self, info: Info) -> ServicePoint:
        row = await point_loader(info).load(self.row["service_point_id"])
        assert row is not None
        return ServicePoint.from_row(row)

    @strawberry.field
    async def procedure(self, info: Info) -> Procedure | None:
        pk = self.row["procedure_id"]
        if pk is None:
            return None
        row = await procedure_loader(info).load(pk)
        return Procedure.from_row(row) if row else None
