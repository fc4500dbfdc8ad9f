"""Per-request DataLoaders over plain rows, for the rarer relations of list screens."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from strawberry.dataloader import DataLoader

from models.db.row_query import Params, is_postgres, row_select
from models.rules.clock import today
from models.rules.visit_states import VisitStatus
from models.tables.demands import Attachment, DemandAssist, DemandEvent
from models.tables.enterprises import Enterprise, EnterpriseContact, LeaderAssignment
from models.tables.grants import RoleGrant
from models.tables.org import Department, Region, User
from models.tables.visits import Visit, VisitParticipant
from schema.types.enterprises import ENTERPRISE_COLUMNS
from schema.types.files import ATTACHMENT_COLUMNS

REGION_COLUMNS = ("id", "name", "code", "level", "parent_id", "path")
DEPARTMENT_COLUMNS = ("id", "name", "code", "region_id")
USER_COLUMNS = ("id", "username", "display_name", "mobile", "rank", "is_active")
GRANT_COLUMNS = ("id", "user_id", "role", "region_id", "department_id", "lead", "service_point_id")
CONTACT_COLUMNS = ("id", "enterprise_id", "name", "mobile", "position", "user_id")
ASSIGNMENT_COLUMNS = ("id", "enterprise_id", "leader_id", "start_date", "end_date", "note")

# A timeline event row (schema.types.demands.EVENT_COLUMNS plus the key it is grouped by).
EVENT_ROW_COLUMNS = (
    "id",
    "demand_id",
    "action",
    "at",
    "from_state",
    "to_state",
    "note",
    "data",
    "actor_id",
)
# A timeline's rows: each event with its actor's user row joined.
TIMELINE_COLUMNS = (*EVENT_ROW_COLUMNS, *(f"actor__{c}" for c in USER_COLUMNS))

Row = dict[str, Any]


def _assisting_departments() -> DataLoader[int, list[Row]]:
    async def load(demand_ids: list[int]) -> list[list[Row]]:
        groups: dict[int, list[Row]] = defaultdict(list)
        rows = (
            await DemandAssist.filter(demand_id__in=demand_ids)
            .order_by("id")
            .values(
                "demand_id",
                "department_id",
                "department__name",
                "department__code",
                "department__region_id",
            )
        )
        for r in rows:
            groups[r["demand_id"]].append(
                {
                    "id": r["department_id"],
                    "name": r["department__name"],
                    "code": r["department__code"],
                    "region_id": r["department__region_id"],
                }
            )
        return [groups.get(i, []) for i in demand_ids]

    return DataLoader(load_fn=load)


def _participants() -> DataLoader[int, list[Row]]:
    async def load(visit_ids: list[int]) -> list[list[Row]]:
        groups: dict[int, list[Row]] = defaultdict(list)
        rows = (
            await VisitParticipant.filter(visit_id__in=visit_ids)
            .order_by("-is_lead", "id")
            .values("visit_id", "is_lead", *(f"user__{c}" for c in USER_COLUMNS))
        )
        for r in rows:
            groups[r["visit_id"]].append(r)
        return [groups.get(i, []) for i in visit_ids]

    return DataLoader(load_fn=load)


def _last_visit() -> DataLoader[int, Any]:
    """The latest logged visit time per enterprise (any mode or trust)."""

    async def load(enterprise_ids: list[int]) -> list[Any]:
        from tortoise.functions import Max

        rows = (
            await Visit.filter(enterprise_id__in=enterprise_ids, status=VisitStatus.COMPLETED)
            .annotate(last=Max("visited_at"))
            .group_by("enterprise_id")
            .values("enterprise_id", "last")
        )
        found = {r["enterprise_id"]: r["last"] for r in rows}
        return [found.get(i) for i in enterprise_ids]

    return DataLoader(load_fn=load)


def _by_id(model: Any, columns: Sequence[str]) -> DataLoader[int, Row | None]:
    select = row_select(model, tuple(columns))

    async def load(ids: list[int]) -> list[Row | None]:
        p = Params(is_postgres())
        found = await select.fetch(f"t0.id IN ({p.many(ids)})", p, generic=True)
        rows = {r["id"]: r for r in found}
        return [rows.get(i) for i in ids]

    return DataLoader(load_fn=load)


def _grouped(
    model: Any, key: str, columns: Sequence[str], where: Callable[[Params], str] | None = None
) -> DataLoader[int, list[Row]]:
    """Rows by `key`, oldest first; `where` adds a condition over the table's alias t0."""
    select = row_select(model, tuple(columns))

    async def load(keys: list[int]) -> list[list[Row]]:
        p = Params(is_postgres())
        condition = f"{select.own(key)} IN ({p.many(keys)})"
        if where is not None:
            condition = f"{condition} AND {where(p)}"
        groups: dict[int, list[Row]] = defaultdict(list)
        for r in await select.fetch(condition, p, order="t0.id", generic=True):
            groups[r[key]].append(r)
        return [groups.get(k, []) for k in keys]

    return DataLoader(load_fn=load)


def _current(p: Params) -> str:
    """A leader assignment that has not ended."""
    return f"(t0.end_date IS NULL OR t0.end_date >= {p.day(today())})"


def prime_users(loader: DataLoader[int, Row | None], rows: Iterable[Row], prefix: str) -> None:
    """Seed the user loader with user rows joined into other rows (`prefix` + USER_COLUMNS)."""
    for r in rows:
        pk = r[f"{prefix}id"]
        if pk is not None:
            loader.prime(pk, {c: r[f"{prefix}{c}"] for c in USER_COLUMNS})


def prime_event_files(
    loader: DataLoader[int, list[Row]], events: Iterable[Row], files: Iterable[Row]
) -> None:
    """Seed the files-by-event loader from a demand's files (every file linked to an event is
    linked to the event's demand too: models.ops.attachments.attach_files), so a timeline's
    files cost no statement of their own."""
    by_event: dict[int, list[Row]] = defaultdict(list)
    for f in files:
        if f["event_id"] is not None:
            by_event[f["event_id"]].append(f)
    for e in events:
        loader.prime(e["id"], by_event.get(e["id"], []))


class Loaders:
    """Created per request, so nothing is cached across users."""

    def __init__(self) -> None:
        self.region = _by_id(Region, REGION_COLUMNS)
        self.department = _by_id(Department, DEPARTMENT_COLUMNS)
        self.user = _by_id(User, USER_COLUMNS)
        # No scope check here: the caller resolved which enterprises (e.g. visitCoverage's).
        self.enterprise = _by_id(Enterprise, ENTERPRISE_COLUMNS)
        self.grants_by_user = _grouped(RoleGrant, "user_id", GRANT_COLUMNS)
        self.contacts_by_enterprise = _grouped(EnterpriseContact, "enterprise_id", CONTACT_COLUMNS)
        self.assignments_by_enterprise = _grouped(
            LeaderAssignment,
            "enterprise_id",
            ASSIGNMENT_COLUMNS,
            _current,
        )
        # No scope check here: whoever resolved the demand or event may see its files.
        self.attachments_by_event = _grouped(Attachment, "event_id", ATTACHMENT_COLUMNS)
        self.attachments_by_demand = _grouped(Attachment, "demand_id", ATTACHMENT_COLUMNS)
        # With each actor's user row joined, which primes `user` (the timeline's actors then
        # cost no statement of their own).
        self.events_by_demand = _grouped(DemandEvent, "demand_id", TIMELINE_COLUMNS)
        self.assists_by_demand = _assisting_departments()
        # No scope check here either: whoever resolved the visit may see who went and photos.
        self.participants_by_visit = _participants()
        self.attachments_by_visit = _grouped(Attachment, "visit_id", ATTACHMENT_COLUMNS)
        self.last_visit_by_enterprise = _last_visit()
