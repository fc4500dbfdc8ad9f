"""The service-point read path: points as plain rows (with their region's path joined), their
procedures, agents and calendars batched per request; appointments joined with their
enterprise's name and who booked them in one statement, points and procedures batched.

`servicePoints(near:)` orders by true great-circle distance: the query point and every stored
point are converted to WGS-84 first (GCJ-02 is offset ~500 m from WGS-84 in China, so comparing
raw numbers of mixed systems misorders points a few hundred metres apart). Service points are a
small table per county (tens, not thousands), so the filtered rows are fetched as plain values
and measured in Python; the keyset cursor is (distance, id), which is stable."""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any

from tortoise.expressions import Q, Subquery

from models.errors import DomainError
from models.ops.appointments import appointment_scope, day_bounds, point_visible_q
from models.ops.region_tree import region_subtree
from models.ops.service_points import PROCEDURE_COLUMNS
from models.rules.actor import Actor
from models.rules.geo import distance_m, to_wgs84, valid_point
from models.rules.roles import CoordinateSystem, Role
from models.tables.service_points import Appointment as AppointmentModel
from models.tables.service_points import Procedure as ProcedureModel
from models.tables.service_points import ServicePoint as ServicePointModel
from schema.relay import (
    Connection,
    Edge,
    PageInfo,
    cursor_values,
    encode_cursor,
    page_size,
    paginate,
)
from schema.service_point_loaders import POINT_ROW_COLUMNS, Row
from schema.types.service_points import Appointment, ServicePoint

APPOINTMENT_ROW_COLUMNS = (
    "id",
    "slot_id",
    "service_point_id",
    "enterprise_id",
    "procedure_id",
    "booked_by_id",
    "starts_at",
    "ends_at",
    "status",
    "note",
    "cancelled_at",
    "created_at",
    "enterprise__name",
    "booked_by__display_name",
)


# --------------------------------------------------------------------------- points


async def _points_qs(actor: Actor, region_id: int | None, procedure_search: str | None) -> Any:
    qs = ServicePointModel.filter(point_visible_q(actor))
    if region_id is not None:
        qs = qs.filter(region_id__in=await region_subtree(region_id))
    if procedure_search and procedure_search.strip():
        offering = ProcedureModel.filter(
            is_active=True, name__icontains=procedure_search.strip()
        ).values("service_point_id")
        qs = qs.filter(id__in=Subquery(offering))
    return qs


def _distance(r: Row, origin: tuple[float, float]) -> float | None:
    if r["latitude"] is None or r["longitude"] is None:
        return None
    lat, lng = to_wgs84(r["latitude"], r["longitude"], CoordinateSystem(r["coordinate_system"]))
    return distance_m(origin[0], origin[1], lat, lng)


def _near_key(distance: float | None, pk: int) -> tuple[bool, float, int]:
    # Points without a position come last, by id.
    return (distance is None, distance or 0.0, pk)


def _cursor_distance(value: Any) -> float | None:
    """A distance cursor's metres (null for points without a position), or ValueError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(value)
    return float(value)


async def _by_distance(
    qs: Any, origin: tuple[float, float], first: int | None, after: str | None
) -> Connection[ServicePoint]:
    size = page_size(first)
    rows = await qs.values(*POINT_ROW_COLUMNS)
    measured = sorted(
        ((r, _distance(r, origin)) for r in rows), key=lambda x: _near_key(x[1], x[0]["id"])
    )
    total = len(measured)
    if after:
        distance, pk = cursor_values(after, ("distance", "id"), {"distance": _cursor_distance})
        mark = _near_key(distance, pk)
        measured = [m for m in measured if _near_key(m[1], m[0]["id"]) > mark]
    page = measured[:size]
    edges = [Edge(key=[d, r["id"]], node=ServicePoint.from_row(r, d)) for r, d in page]

    async def count() -> int:
        return total

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(measured) > size,
            has_previous_page=bool(after),
            start_cursor=encode_cursor(edges[0].key) if edges else None,
            end_cursor=encode_cursor(edges[-1].key) if edges else None,
        ),
        _count=count,
    )


async def list_service_points(
    actor: Actor,
    *,
    near: tuple[float, float, CoordinateSystem] | None,
    region_id: int | None,
    procedure_search: str | None,
    first: int | None,
    after: str | None,
) -> Connection[ServicePoint]:
    qs = await _points_qs(actor, region_id, procedure_search)
    if near is not None:
        lat, lng, system = near
        if not valid_point(lat, lng):
            raise DomainError("INVALID_COORDINATES", "near")
        return await _by_distance(qs, to_wgs84(lat, lng, system), first, after)
    return await paginate(
        qs,
        first=first,
        after=after,
        order=("name", "id"),
        columns=POINT_ROW_COLUMNS,
        build=ServicePoint.from_row,
    )


async def get_service_point(actor: Actor, pk: int) -> ServicePoint | None:
    rows = await ServicePointModel.filter(point_visible_q(actor), id=pk).values(*POINT_ROW_COLUMNS)
    return ServicePoint.from_row(rows[0]) if rows else None


async def get_procedure(actor: Actor, pk: int) -> Any:
    """A procedure of a point the actor may see; withdrawn ones only to the point's admins."""
    from schema.types.service_points import Procedure

    rows = await ProcedureModel.filter(
        id=pk,
        service_point_id__in=Subquery(
            ServicePointModel.filter(point_visible_q(actor)).values("id")
        ),
    ).values(*PROCEDURE_COLUMNS, "service_point__region__path")
    if not rows:
        return None
    r = rows[0]
    if not r["is_active"] and not actor.covers(r["service_point__region__path"], (Role.ADMIN,)):
        return None
    return Procedure.from_row(r)


# --------------------------------------------------------------------------- appointments


def _cursor_time(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


async def list_appointments(
    actor: Actor,
    *,
    service_point_id: int | None,
    on: date | None,
    enterprise_id: int | None,
    status: str | None,
    first: int | None,
    after: str | None,
) -> Connection[Appointment]:
    qs = AppointmentModel.filter(appointment_scope(actor))
    if service_point_id is not None:
        qs = qs.filter(service_point_id=service_point_id)
    if enterprise_id is not None:
        qs = qs.filter(enterprise_id=enterprise_id)
    if on is not None:
        start, end = day_bounds(on)
        qs = qs.filter(Q(starts_at__gte=start) & Q(starts_at__lt=end))
    if status is not None:
        qs = qs.filter(status=status)
    return await paginate(
        qs,
        first=first,
        after=after,
        order=("starts_at", "id"),
        columns=APPOINTMENT_ROW_COLUMNS,
        build=Appointment.from_row,
        cursor_types={"starts_at": _cursor_time},
    )


async def get_appointment(actor: Actor, pk: int) -> Appointment | None:
    rows = await AppointmentModel.filter(appointment_scope(actor), id=pk).values(
        *APPOINTMENT_ROW_COLUMNS
    )
    return Appointment.from_row(rows[0]) if rows else None
