"""Per-request DataLoaders of the service-point types, on plain rows: points, procedures, a
point's procedures and agents, a region's calendar. Below the types (schema.types.service_points,
schema.types.users, schema.types.agency), which resolve their fields through them, and below the
read path (schema.service_point_reads), which builds those types."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from strawberry.dataloader import DataLoader
from strawberry.types import Info

from models.ops.service_points import PROCEDURE_COLUMNS, SERVICE_POINT_COLUMNS
from models.ops.work_calendar import load_calendar
from models.rules.roles import Role
from models.rules.workdays import WorkCalendar
from models.tables.grants import RoleGrant
from models.tables.service_points import Procedure as ProcedureModel
from models.tables.service_points import ServicePoint as ServicePointModel

Row = dict[str, Any]
POINT_ROW_COLUMNS = (*SERVICE_POINT_COLUMNS, "region__path")


def _extra(info: Info, key: str, make: Callable[[], DataLoader]) -> DataLoader:
    """A per-request loader kept in the context, made on first use."""
    extras = info.context.extras
    if key not in extras:
        extras[key] = make()
    return extras[key]


def point_loader(info: Info) -> DataLoader[int, Row | None]:
    async def load(ids: list[int]) -> list[Row | None]:
        rows = {
            r["id"]: r
            for r in await ServicePointModel.filter(id__in=ids).values(*POINT_ROW_COLUMNS)
        }
        return [rows.get(i) for i in ids]

    return _extra(info, "service_point_by_id", lambda: DataLoader(load_fn=load))


def procedure_loader(info: Info) -> DataLoader[int, Row | None]:
    async def load(ids: list[int]) -> list[Row | None]:
        rows = {
            r["id"]: r for r in await ProcedureModel.filter(id__in=ids).values(*PROCEDURE_COLUMNS)
        }
        return [rows.get(i) for i in ids]

    return _extra(info, "procedure_by_id", lambda: DataLoader(load_fn=load))


def procedures_loader(info: Info) -> DataLoader[int, list[Row]]:
    """Every procedure of the points, by name (the type drops inactive ones as needed)."""

    async def load(point_ids: list[int]) -> list[list[Row]]:
        groups: dict[int, list[Row]] = defaultdict(list)
        rows = (
            await ProcedureModel.filter(service_point_id__in=point_ids)
            .order_by("name", "id")
            .values(*PROCEDURE_COLUMNS)
        )
        for r in rows:
            groups[r["service_point_id"]].append(r)
        return [groups.get(i, []) for i in point_ids]

    return _extra(info, "procedures_by_point", lambda: DataLoader(load_fn=load))


def agents_loader(info: Info) -> DataLoader[int, list[Row]]:
    """The active users holding a SERVICE_AGENT grant on each point, by name."""

    async def load(point_ids: list[int]) -> list[list[Row]]:
        groups: dict[int, dict[int, Row]] = defaultdict(dict)
        rows = (
            await RoleGrant.filter(
                role=Role.SERVICE_AGENT, service_point_id__in=point_ids, user__is_active=True
            )
            .order_by("user__display_name", "user_id")
            .values("service_point_id", "user_id", "user__display_name")
        )
        for r in rows:
            groups[r["service_point_id"]].setdefault(
                r["user_id"], {"user_id": r["user_id"], "name": r["user__display_name"]}
            )
        return [list(groups[i].values()) if i in groups else [] for i in point_ids]

    return _extra(info, "agents_by_point", lambda: DataLoader(load_fn=load))


async def calendar_of(info: Info, region_id: int) -> WorkCalendar:
    """The region's calendar, loaded once per region per request."""

    async def load(region_ids: list[int]) -> list[WorkCalendar]:
        return [await load_calendar(r) for r in region_ids]

    return await _extra(info, "calendar_by_region", lambda: DataLoader(load_fn=load)).load(
        region_id
    )
