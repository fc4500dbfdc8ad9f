"""The rows of the exports (models.ops.export_columns says what each list holds), read from the
database in keyset batches so an export of any size holds one batch at a time.

Each batch is one statement of plain rows (`.values()`, the enterprise, region, department,
category and handler joined), ordered by id and continued after the last id seen. What the
rows share is loaded once per export: the regions' calendars and the departments' leaders.
Overdue and on time are derived with models.rules.demand_view, the rules the API uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from tortoise.expressions import Q, Subquery

from models.db.replica import read_connection
from models.ops.export_columns import (
    DEMANDS,
    DEPARTMENT_RANKING,
    PROBLEM_LIST,
    RECTIFICATION_LIST,
    RESPONSIBILITY_LIST,
    SUMMARY_CHARS,
    ListSpec,
)
from models.ops.stats_rankings import departments_ranked, ranking_row
from models.ops.stats_scope import StatsScope
from models.ops.work_calendar import load_calendar
from models.rules import clock
from models.rules.demand_states import BAD_RATINGS, DemandState, RectificationState
from models.rules.demand_view import (
    Clock,
    effective_deadline_now,
    is_overdue,
    overdue_span,
    rectified_on_time,
    replied_on_time,
)
from models.rules.roles import Role
from models.rules.workdays import WorkCalendar
from models.tables.demands import Demand
from models.tables.grants import RoleGrant
from models.tables.org import Region

BATCH_ROWS = 2000

Row = dict[str, Any]
Rows = Callable[[StatsScope], AsyncIterator[list[Row]]]

_COLUMNS = (
    "id",
    "number",
    "title",
    "source",
    "state",
    "urgency",
    "region_id",
    "department_id",
    "submitted_at",
    "dispatched_at",
    "deadline",
    "effective_deadline",
    "warning_date",
    "suspended_at",
    "extension_days",
    "suspended_days",
    "replied_at",
    "reply_outcome",
    "closed_at",
    "rating",
    "rating_comment",
    "rated_at",
    "rectification_state",
    "rectification_deadline",
    "rectified_at",
    "escalation_level",
    "enterprise__name",
    "enterprise__credit_code",
    "region__name",
    "department__name",
    "category__name",
    "handler__display_name",
)
_RENAMED = {
    "enterprise__name": "enterprise_name",
    "enterprise__credit_code": "credit_code",
    "region__name": "region_name",
    "department__name": "department_name",
    "category__name": "category_name",
    "handler__display_name": "handler_name",
}


async def scope_q(scope: StatsScope) -> Q:
    """The demands of a scope: submitted in the period, in its regions, matching the filter."""
    f = scope.filter
    q = Q(submitted_at__gte=scope.start_at, submitted_at__lt=scope.end_at)
    if scope.region_paths is not None:
        regions = Q(*(Q(path__startswith=p) for p in scope.region_paths), join_type=Q.OR)
        q &= Q(region_id__in=Subquery(Region.filter(regions).values("id")))
    if f.department_id is not None:
        q &= Q(department_id=f.department_id)
    if f.category_id is not None:
        q &= Q(category_id=f.category_id)
    if f.source is not None:
        q &= Q(source=f.source.value)
    return q


class _Derive:
    """Adds the clock's values to each row, with the calendars and leaders loaded once and the
    working-day counts (many rows share a deadline and today) counted once."""

    def __init__(self, today: date) -> None:
        self.today = today
        self.calendars: dict[int, WorkCalendar] = {}
        self.leaders: dict[int, str] | None = None
        self._counts: dict[tuple[int, date, date], int] = {}

    async def prepare(self, rows: list[Row], *, leaders: bool) -> None:
        for rid in {r["region_id"] for r in rows} - self.calendars.keys():
            self.calendars[rid] = await load_calendar(rid)
        if leaders and self.leaders is None:
            self.leaders = await department_leaders()

    def row(self, r: Row) -> Row:
        for old, new in _RENAMED.items():
            r[new] = r.pop(old)
        cal = self.calendars[r["region_id"]]
        c = Clock(
            state=DemandState(r["state"]),
            dispatched_at=r["dispatched_at"],
            effective_deadline=r["effective_deadline"],
            warning_date=r["warning_date"],
            suspended_at=r["suspended_at"],
            extension_days=r["extension_days"],
        )
        r["effective_deadline"] = effective_deadline_now(c, cal, self.today)
        r["overdue"] = is_overdue(c, self.today)
        r["on_time"] = replied_on_time(c, r["replied_at"], self.today)
        span = overdue_span(c, r["replied_at"], self.today)
        r["overdue_days"] = 0 if span is None else self._count(r["region_id"], cal, span)
        state = r["rectification_state"]
        r["rectified_on_time"] = rectified_on_time(
            RectificationState(state) if state else None,
            r["rectification_deadline"],
            r["rectified_at"],
            self.today,
        )
        if self.leaders is not None and r["department_id"] is not None:
            r["leader_names"] = self.leaders.get(r["department_id"])
        return r

    def _count(self, region_id: int, cal: WorkCalendar, span: tuple[date, date]) -> int:
        key = (region_id, *span)
        found = self._counts.get(key)
        if found is None:
            found = self._counts[key] = cal.working_days_between(*span)
        return found


async def department_leaders() -> dict[int, str]:
    """Each department's leaders (the lead HANDLER grants of active users), 、-joined."""
    rows = await (
        RoleGrant.filter(role=Role.HANDLER.value, lead=True, user__is_active=True)
        .using_db(read_connection())
        .exclude(department_id=None)
        .order_by("department_id", "user_id")
        .values("department_id", "user__display_name")
    )
    names: dict[int, list[str]] = {}
    for r in rows:
        names.setdefault(r["department_id"], []).append(r["user__display_name"])
    return {k: "、".join(v) for k, v in names.items()}


def demand_rows(where: Q | None = None, *, summary: bool = False, leaders: bool = False) -> Rows:
    """Batches of the scope's demands (restricted by `where`), oldest id first."""

    async def rows(scope: StatsScope) -> AsyncIterator[list[Row]]:
        q = await scope_q(scope)
        if where is not None:
            q &= where
        columns = (*_COLUMNS, "description") if summary else _COLUMNS
        derive = _Derive(clock.today())
        after = 0
        while True:
            batch: list[Row] = await (
                Demand.filter(q, id__gt=after)
                .using_db(read_connection())  # a replica when DATABASE_READ_URL is set
                .order_by("id")
                .limit(BATCH_ROWS)
                .values(*columns)
            )
            if not batch:
                return
            after = batch[-1]["id"]
            await derive.prepare(batch, leaders=leaders)
            for r in batch:
                derive.row(r)
                if summary:
                    r["summary"] = _summary(r.pop("description"))
            yield batch
            if len(batch) < BATCH_ROWS:
                return

    return rows


def _summary(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


@dataclass(frozen=True, slots=True)
class Export:
    spec: ListSpec
    rows: Rows


_NOT_TAKEN_ON = [DemandState.REJECTED.value, DemandState.WITHDRAWN.value, DemandState.MERGED.value]
_BAD = [r.value for r in BAD_RATINGS]


async def _department_ranking_rows(scope: StatsScope) -> AsyncIterator[list[Row]]:
    # A few dozen departments: the whole ranking is one batch.
    yield [ranking_row(g) for g in await departments_ranked(scope)]


# Every export by its URL name.
EXPORTS: dict[str, Export] = {
    e.spec.slug: e
    for e in (
        Export(DEMANDS, demand_rows()),
        Export(PROBLEM_LIST, demand_rows(~Q(state__in=_NOT_TAKEN_ON), summary=True)),
        Export(
            RECTIFICATION_LIST,
            demand_rows(Q(rating__in=_BAD) | Q(rectification_state__not_isnull=True)),
        ),
        Export(
            RESPONSIBILITY_LIST,
            demand_rows(Q(department_id__not_isnull=True), leaders=True),
        ),
        Export(DEPARTMENT_RANKING, _department_ranking_rows),
    )
}
