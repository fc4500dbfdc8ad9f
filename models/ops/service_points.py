"""Keeping service points (服务点) and their procedure catalogs (事项): administrators of the
point's region create and correct them.

Points and procedures are never deleted (agency requests and appointments refer to them): an
outdated one is deactivated (`is_active=False`), which hides it from enterprises while its
history stays. A point's changes carry an optimistic `version` like an enterprise's; a procedure
has no version column, so its last save wins."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import require_admin_over
from models.errors import DomainError, Problems
from models.ops.support_policies import _is_web_address
from models.ops.validate import choice, text
from models.rules.actor import Actor
from models.rules.geo import valid_point
from models.rules.identifiers import IdentifierError, normalize_phone
from models.rules.opening_hours import WEEKDAYS, Schedule, ScheduleError, clean_schedule
from models.rules.roles import CoordinateSystem
from models.tables.org import Department, Region
from models.tables.service_points import Procedure, ServicePoint

SERVICE_POINT_COLUMNS = (
    "id",
    "name",
    "region_id",
    "address",
    "latitude",
    "longitude",
    "coordinate_system",
    "phone",
    "description",
    "opening_hours",
    "closed_on_holidays",
    "slot_minutes",
    "slot_capacity",
    "is_active",
    "version",
)
PROCEDURE_COLUMNS = (
    "id",
    "service_point_id",
    "name",
    "code",
    "department_id",
    "materials",
    "statutory_days",
    "promised_days",
    "fees",
    "online_url",
    "is_active",
)

MAX_NAME = 100
MAX_ADDRESS = 255
MAX_DESCRIPTION = 2000
SLOT_MINUTES = (10, 240)
SLOT_CAPACITY = (1, 50)
MAX_PROCEDURE_NAME = 200
MAX_CODE = 64
MAX_MATERIALS = 50
MAX_MATERIAL_NAME = 100
MAX_MATERIAL_NOTE = 255
DAYS = (1, 365)
MAX_FEES = 255
MAX_URL = 500


class Keep(enum.Enum):
    """Leave a nullable field as it is (None clears it)."""

    KEEP = "KEEP"


KEEP = Keep.KEEP
# A weekly schedule as given: {"MON": [["08:30", "12:00"]]} or [("MON", [["08:30", "12:00"]])].
RawSchedule = Mapping[str, Sequence[Sequence[str]]] | Sequence[tuple[str, Sequence[Sequence[str]]]]


@dataclass
class ServicePointData:
    """A point's fields; None leaves a field as it is on update (all but name and region are
    optional on create)."""

    name: str | None = None
    region_id: int | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coordinate_system: str | None = None
    phone: str | None = None
    description: str | None = None
    opening_hours: RawSchedule | None = None
    closed_on_holidays: bool | None = None
    slot_minutes: int | None = None
    slot_capacity: int | None = None
    is_active: bool | None = None


@dataclass
class MaterialData:
    name: str
    may_be_missing: bool = False  # 容缺: may be accepted now and supplied later
    note: str = ""


@dataclass
class ProcedureData:
    """A procedure's fields; None (KEEP for the nullable ones) leaves a field as it is."""

    name: str | None = None
    code: str | None = None
    department_id: int | Keep | None = KEEP
    materials: list[MaterialData] | None = None
    statutory_days: int | Keep | None = KEEP
    promised_days: int | None = None
    fees: str | None = None
    online_url: str | None = None
    is_active: bool | None = None


# --------------------------------------------------------------------------- validation


def schedule_json(schedule: Schedule) -> dict[str, list[list[str]]]:
    """A cleaned schedule as stored: HH:MM strings, "24:00" for an end at midnight."""
    return {
        day: [[s.strftime("%H:%M"), e.strftime("%H:%M") if e else "24:00"] for s, e in periods]
        for day, periods in schedule.items()
    }


_REASONS = {
    "unknown weekday": "UNKNOWN_WEEKDAY",
    "too many periods": "TOO_MANY_PERIODS",
    "a period is [start, end]": "BAD_PERIOD",
    "times are HH:MM": "BAD_TIME",
    "a period must start before it ends": "ENDS_BEFORE_START",
    "periods overlap": "OVERLAP",
}


def check_schedule(problems: Problems, raw: RawSchedule) -> dict[str, list[list[str]]] | None:
    """Validate a weekly schedule; a fault names its weekday (INVALID_OPENING_HOURS)."""
    pairs = list(raw.items()) if isinstance(raw, Mapping) else list(raw)
    merged: dict[str, Sequence[Sequence[str]]] = {}
    for day, periods in pairs:
        if day in merged:
            problems.add(
                "INVALID_OPENING_HOURS", "openingHours", weekday=day, reason="DUPLICATE_WEEKDAY"
            )
            return None
        merged[day] = periods
    try:
        return schedule_json(clean_schedule(merged))
    except ScheduleError as e:
        problems.add(
            "INVALID_OPENING_HOURS",
            "openingHours",
            weekday=e.day if e.day in WEEKDAYS else str(e.day),
            reason=_REASONS.get(e.reason, e.reason),
        )
        return None


def _in_range(problems: Problems, value: int, field: str, bounds: tuple[int, int]) -> int:
    if not bounds[0] <= value <= bounds[1]:
        problems.add("OUT_OF_RANGE", field, min=bounds[0], max=bounds[1])
    return value


def _clean_point(problems: Problems, f: ServicePointData, *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or f.name is not None:
        out["name"] = text(problems, f.name, "name", max_len=MAX_NAME, required=True)
    if creating and f.region_id is None:
        problems.add("REQUIRED", "regionId")
    elif f.region_id is not None:
        out["region_id"] = f.region_id
    if f.address is not None:
        out["address"] = text(problems, f.address, "address", max_len=MAX_ADDRESS, required=False)
    if f.latitude is not None or f.longitude is not None:
        if f.latitude is None or f.longitude is None or not valid_point(f.latitude, f.longitude):
            problems.add("INVALID_COORDINATES", "latitude")
        else:
            out["latitude"], out["longitude"] = f.latitude, f.longitude
    if f.coordinate_system is not None:
        out["coordinate_system"] = choice(
            problems, CoordinateSystem, f.coordinate_system, "coordinateSystem"
        )
    if f.phone is not None:
        try:
            out["phone"] = normalize_phone(f.phone) if f.phone.strip() else ""
        except IdentifierError as e:
            problems.add(e.code, "phone")
    if f.description is not None:
        out["description"] = text(
            problems, f.description, "description", max_len=MAX_DESCRIPTION, required=False
        )
    if f.opening_hours is not None:
        out["opening_hours"] = check_schedule(problems, f.opening_hours)
    if f.closed_on_holidays is not None:
        out["closed_on_holidays"] = bool(f.closed_on_holidays)
    if f.slot_minutes is not None:
        out["slot_minutes"] = _in_range(problems, f.slot_minutes, "slotMinutes", SLOT_MINUTES)
    if f.slot_capacity is not None:
        out["slot_capacity"] = _in_range(problems, f.slot_capacity, "slotCapacity", SLOT_CAPACITY)
    if f.is_active is not None:
        out["is_active"] = bool(f.is_active)
    return out


def _clean_materials(problems: Problems, materials: list[MaterialData]) -> list[dict[str, Any]]:
    if len(materials) > MAX_MATERIALS:
        problems.add("TOO_MANY_IDS", "materials", max=MAX_MATERIALS)
        return []
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, m in enumerate(materials):
        name = text(
            problems, m.name, f"materials.{i}.name", max_len=MAX_MATERIAL_NAME, required=True
        )
        note = text(
            problems, m.note, f"materials.{i}.note", max_len=MAX_MATERIAL_NOTE, required=False
        )
        if name and name in seen:
            problems.add("DUPLICATE_MATERIAL", f"materials.{i}.name", value=name)
        seen.add(name)
        out.append({"name": name, "mayBeMissing": bool(m.may_be_missing), "note": note})
    return out


def _clean_procedure(problems: Problems, f: ProcedureData, *, creating: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if creating or f.name is not None:
        out["name"] = text(problems, f.name, "name", max_len=MAX_PROCEDURE_NAME, required=True)
    if f.code is not None:
        out["code"] = text(problems, f.code, "code", max_len=MAX_CODE, required=False)
    if not isinstance(f.department_id, Keep):
        out["department_id"] = f.department_id
    if f.materials is not None:
        out["materials"] = _clean_materials(problems, f.materials)
    if not isinstance(f.statutory_days, Keep):
        if f.statutory_days is not None:
            _in_range(problems, f.statutory_days, "statutoryDays", DAYS)
        out["statutory_days"] = f.statutory_days
    if creating and f.promised_days is None:
        problems.add("REQUIRED", "promisedDays")
    elif f.promised_days is not None:
        out["promised_days"] = _in_range(problems, f.promised_days, "promisedDays", DAYS)
    if f.fees is not None:
        out["fees"] = text(problems, f.fees, "fees", max_len=MAX_FEES, required=False)
    if f.online_url is not None:
        url = text(problems, f.online_url, "onlineUrl", max_len=MAX_URL, required=False)
        if url and len(url) <= MAX_URL and not _is_web_address(url):
            problems.add("INVALID_URL", "onlineUrl")
        out["online_url"] = url
    if f.is_active is not None:
        out["is_active"] = bool(f.is_active)
    return out


def _check_limits(problems: Problems, promised: int | None, statutory: int | None) -> None:
    if promised is not None and statutory is not None and promised > statutory:
        problems.add(
            "PROMISED_OVER_STATUTORY", "promisedDays", promised=promised, statutory=statutory
        )


# --------------------------------------------------------------------------- service points


async def _region_of_point(actor: Actor, region_id: int) -> Region:
    region = await require_admin_over(actor, region_id)
    assert region is not None
    return region


async def create_service_point(actor: Actor, data: ServicePointData) -> ServicePoint:
    """A new point in a region the actor administers."""
    problems = Problems()
    values = _clean_point(problems, data, creating=True)
    problems.raise_if_any()
    await _region_of_point(actor, values["region_id"])
    try:
        return await ServicePoint.create(**values)
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None


async def get_point_for_admin(actor: Actor, point_id: int) -> ServicePoint:
    """The point, if the actor administers its region. Points are public, so someone else's
    is not hidden: another county's administrator gets REGION_OUT_OF_SCOPE, like a support
    policy of another region."""
    point = await ServicePoint.get_or_none(id=point_id).select_related("region")
    if point is None:
        raise DomainError("NOT_FOUND", "id")
    await require_admin_over(actor, point.region_id)  # type: ignore[attr-defined]
    return point


async def update_service_point(
    actor: Actor,
    point_id: int,
    data: ServicePointData,
    *,
    expected_version: int | None = None,
) -> ServicePoint:
    """Correct a point, move it to another region the actor administers, or (de)activate it."""
    problems = Problems()
    values = _clean_point(problems, data, creating=False)
    problems.raise_if_any()
    point = await get_point_for_admin(actor, point_id)
    if "region_id" in values:
        await _region_of_point(actor, values["region_id"])
    version = point.version if expected_version is None else expected_version
    try:
        async with in_transaction():
            # Optimistic lock, as for enterprises: two admins saving at once cannot both win.
            changed = await ServicePoint.filter(id=point.id, version=version).update(
                **values, version=version + 1
            )
            if changed != 1:
                raise DomainError("VERSION_CONFLICT", "version")
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None
    return await ServicePoint.get(id=point.id)


# --------------------------------------------------------------------------- procedures


async def _check_department(
    problems: Problems, department_id: int | None, point_region: Region
) -> None:
    """The responsible department sits in the point's region, above it (the county's bureau
    handles a park's licences) or below it."""
    if department_id is None:
        return
    dept = await Department.get_or_none(id=department_id).values("region_id", "region__path")
    if dept is None:
        problems.add("NOT_FOUND", "departmentId")
        return
    above = dept["region_id"] in [int(p) for p in point_region.path.strip("/").split("/") if p]
    below = str(dept["region__path"]).startswith(point_region.path)
    if not (above or below):
        problems.add("DEPARTMENT_NOT_SERVING", "departmentId")


async def create_procedure(actor: Actor, point_id: int, data: ProcedureData) -> Procedure:
    """Add a procedure to a point's catalog (administrators of the point's region)."""
    problems = Problems()
    values = _clean_procedure(problems, data, creating=True)
    point = await get_point_for_admin(actor, point_id)
    await _check_department(problems, values.get("department_id"), point.region)
    _check_limits(problems, values.get("promised_days"), values.get("statutory_days"))
    problems.raise_if_any()
    try:
        return await Procedure.create(service_point_id=point.id, **values)
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None


async def update_procedure(actor: Actor, procedure_id: int, data: ProcedureData) -> Procedure:
    """Correct a procedure or (de)activate it; it stays with its point."""
    proc = await Procedure.get_or_none(id=procedure_id)
    if proc is None:
        raise DomainError("NOT_FOUND", "id")
    point = await get_point_for_admin(actor, proc.service_point_id)  # type: ignore[attr-defined]
    problems = Problems()
    values = _clean_procedure(problems, data, creating=False)
    if "department_id" in values:
        await _check_department(problems, values["department_id"], point.region)
    _check_limits(
        problems,
        values.get("promised_days", proc.promised_days),
        values.get("statutory_days", proc.statutory_days),
    )
    problems.raise_if_any()
    for key, value in values.items():
        setattr(proc, key, value)
    try:
        await proc.save(update_fields=list(values) or None)
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None
    return proc
