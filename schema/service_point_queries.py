"""Service point queries: finding points (nearest first), one point, a day's appointment slots,
and appointments (an agent's day list, an enterprise's bookings, a region's)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.errors import DomainError
from models.ops import appointments as appt_ops
from models.rules import clock
from models.rules.agency_states import AppointmentStatus
from models.rules.appointment_slots import BOOKING_HORIZON_DAYS
from models.rules.roles import CoordinateSystem
from schema.guards import actor_of, guarded
from schema.relay import Connection, pk_of
from schema.service_point_reads import (
    get_appointment,
    get_service_point,
    list_appointments,
    list_service_points,
)
from schema.types.service_points import Appointment, AppointmentSlot, ServicePoint


@strawberry.input(description="Where the user is, in the coordinate system their map SDK reports.")
class NearInput:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem = strawberry.field(
        default=CoordinateSystem.GCJ02, description="Amap/Tencent report GCJ-02 (the default)."
    )


def _pk(gid: strawberry.ID | None, kind: str) -> int | None:
    return pk_of(gid, kind)


@strawberry.type
class ServicePointQueries:
    @strawberry.field(
        description="Service points: every signed-in user sees the active ones (administrators "
        "also their regions' inactive ones). With `near`, nearest first by true distance "
        "(both ends converted to WGS-84), each with `distanceM`; otherwise by name. "
        "`regionId`: that region and the regions below it. `procedureSearch`: points offering "
        "an active procedure whose name contains the text."
    )
    async def service_points(
        self,
        info: Info,
        near: NearInput | None = None,
        region_id: strawberry.ID | None = None,
        procedure_search: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ServicePoint]:
        actor = actor_of(info)
        return await guarded(
            info,
            lambda: list_service_points(
                actor,
                near=(near.latitude, near.longitude, near.coordinate_system) if near else None,
                region_id=_pk(region_id, "Region"),
                procedure_search=procedure_search,
                first=first,
                after=after,
            ),
        )

    @strawberry.field(description="One service point, or null when it does not exist or is hidden.")
    async def service_point(self, info: Info, id: strawberry.ID) -> ServicePoint | None:
        actor = actor_of(info)
        try:
            pk = pk_of(id, "ServicePoint")
        except DomainError:
            return None
        assert pk is not None
        return await guarded(info, lambda: get_service_point(actor, pk))

    @strawberry.field(
        description="A day's appointment slots of a point (none on a holiday; Monday's hours on "
        "a make-up workday), with the places taken."
    )
    async def appointment_slots(
        self, info: Info, service_point_id: strawberry.ID, date: date
    ) -> list[AppointmentSlot]:
        actor = actor_of(info)

        async def run() -> list[AppointmentSlot]:
            pk = pk_of(service_point_id, "ServicePoint")
            assert pk is not None
            slots = await appt_ops.appointment_slots(actor, pk, date)
            now = clock.now()
            horizon = now + timedelta(days=BOOKING_HORIZON_DAYS)
            return [
                AppointmentSlot(
                    starts_at=s.starts_at,
                    ends_at=s.ends_at,
                    capacity=s.capacity,
                    booked=s.booked,
                    available=s.available,
                    bookable=s.available > 0 and now < s.starts_at <= horizon,
                )
                for s in slots
            ]

        return await guarded(info, run)

    @strawberry.field(
        description="Appointments by start time: agents see their points', enterprise contacts "
        "their enterprises', supervisors and administrators those of their regions' points. "
        "An agent's day list: `servicePointId` and `date`."
    )
    async def appointments(
        self,
        info: Info,
        service_point_id: strawberry.ID | None = None,
        date: Annotated[
            date | None, strawberry.argument(description="A day, Asia/Shanghai.")
        ] = None,
        enterprise_id: strawberry.ID | None = None,
        status: AppointmentStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Appointment]:
        actor = actor_of(info)
        return await guarded(
            info,
            lambda: list_appointments(
                actor,
                service_point_id=_pk(service_point_id, "ServicePoint"),
                on=date,
                enterprise_id=_pk(enterprise_id, "Enterprise"),
                status=status.value if status else None,
                first=first,
                after=after,
            ),
        )

    @strawberry.field(
        description="One appointment, or null when it does not exist or is not yours."
    )
    async def appointment(self, info: Info, id: strawberry.ID) -> Appointment | None:
        actor = actor_of(info)
        try:
            pk = pk_of(id, "Appointment")
        except DomainError:
            return None
        assert pk is not None
        return await guarded(info, lambda: get_appointment(actor, pk))
