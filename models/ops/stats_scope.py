"""What a supervisor's figures cover: the period, the filter and the regions the asker may see,
checked once, plus a small builder for the raw SQL the figures are computed with.

Every figure (models.ops.stats_*) is one or a few SQL aggregates over the demands of this
scope: never rows loaded into Python. A supervisor, dispatcher or admin sees the regions their
grants cover; asking for a region outside them is REGION_OUT_OF_SCOPE."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar, cast

from tortoise.expressions import Q

from models.access import require_role
from models.db.replica import read_connection, read_transaction
from models.errors import DomainError
from models.rules.actor import Actor
from models.rules.clock import day_start
from models.rules.demand_states import DemandSource
from models.rules.roles import Role
from models.tables.org import Region

T = TypeVar("T")

STATS_ROLES = (Role.SUPERVISOR, Role.DISPATCHER, Role.ADMIN)
STATS_WORK_MEM = "64MB"  # per sort of a statistics statement (PostgreSQL's default is 4MB)
SQLITE_MAX_LISTED = 500  # more regions than this: matched by path in a subquery
MAX_PERIOD_DAYS = 3700  # ten years and a little


@dataclass(frozen=True, slots=True)
class StatsFilter:
    """The period is whole days in Asia/Shanghai, both ends included."""

    start: date
    end: date
    region_id: int | None = None
    department_id: int | None = None
    category_id: int | None = None
    source: DemandSource | None = None
    service_point_id: int | None = None


@dataclass(frozen=True, slots=True)
class StatsScope:
    filter: StatsFilter
    # Region paths the figures cover ("/1/4/" covers its subtree); None: every region.
    region_paths: tuple[str, ...] | None
    start_at: datetime  # the first moment of the period
    end_at: datetime  # the first moment after it
    # The ids of those regions and every region below them (None: every region).
    region_ids: tuple[int, ...] | None = None


def _outermost(paths: list[str]) -> tuple[str, ...]:
    """Drop paths inside another one, so each region is counted once."""
    kept: list[str] = []
    for p in sorted(set(paths), key=len):
        if not any(p.startswith(k) for k in kept):
            kept.append(p)
    return tuple(kept)


async def stats_scope(actor: Actor | None, flt: StatsFilter) -> StatsScope:
    actor = require_role(actor, *STATS_ROLES)
    if flt.end < flt.start:
        raise DomainError("PERIOD_INVALID", "to")
    if (flt.end - flt.start).days > MAX_PERIOD_DAYS:
        raise DomainError("PERIOD_TOO_LONG", "from", days=MAX_PERIOD_DAYS)
    paths: tuple[str, ...] | None
    if flt.region_id is not None:
        region = await Region.get_or_none(id=flt.region_id).values("path")
        if region is None:
            raise DomainError("NOT_FOUND", "regionId")
        if not actor.covers(region["path"], STATS_ROLES):
            raise DomainError("REGION_OUT_OF_SCOPE", "regionId")
        paths = (region["path"],)
    elif actor.is_global(*STATS_ROLES):
        paths = None
    else:
        paths = _outermost(actor.region_paths(STATS_ROLES))
    ids: tuple[int, ...] | None = None
    if paths is not None:
        q = Q(*(Q(path__startswith=p) for p in paths), join_type=Q.OR) if paths else Q(id=-1)
        rows = cast(list[int], await Region.filter(q).values_list("id", flat=True))
        ids = tuple(sorted(rows))
    return StatsScope(
        filter=flt,
        region_paths=paths,
        start_at=day_start(flt.start),
        end_at=day_start(flt.end + timedelta(days=1)),
        region_ids=ids,
    )


async def side_by_side(*fetches: Awaitable[T]) -> list[T]:
    """Await the statements' fetches: on PostgreSQL together, each on its own pooled connection
    so that the database works on them side by side; on SQLite (one connection) in turn."""
    if is_postgres():
        return list(await asyncio.gather(*fetches))
    return [await f for f in fetches]


def is_postgres() -> bool:
    # Of the connection the figures read through (models.db.replica: a replica, or "default").
    return read_connection().capabilities.dialect == "postgres"


@dataclass
class Sql:
    """Collects parameters for a raw statement in the connection's placeholder style ($n on
    PostgreSQL, ? on SQLite): `sql.p(value)` returns the placeholder to write."""

    postgres: bool = field(default_factory=is_postgres)
    params: list[Any] = field(default_factory=list)

    def p(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.postgres else "?"

    def region_clause(self, scope: StatsScope, region_column: str) -> str:
        """`region_column IN (regions of the scope)`, or TRUE for every region. The ids are
        written out (an array on PostgreSQL) rather than matched by path in a subquery: the
        planner then knows how many demands they hold (a path LIKE is estimated at one region,
        which turned a whole-county year into one index scan per town, 7x the reads)."""
        if scope.region_paths is None:
            return "1=1"
        ids = scope.region_ids or ()
        # Column names come from our code, values only through placeholders.
        if self.postgres:
            return f"{region_column} = ANY({self.p(list(ids))})"
        if len(ids) <= SQLITE_MAX_LISTED:
            return f"{region_column} IN ({', '.join(self.p(i) for i in ids) or 'NULL'})"
        likes = " OR ".join(f"path LIKE {self.p(p + '%')}" for p in scope.region_paths)
        return f"{region_column} IN (SELECT id FROM region WHERE {likes})"  # noqa: S608

    async def fetch(self, statement: str) -> list[dict[str, Any]]:
        if not self.postgres:
            return list(await read_connection().execute_query_dict(statement, self.params))
        async with read_transaction() as tx:
            # A cohort scan is one pass over up to millions of rows: JIT compiling it cost
            # about a second here and gained less; sorts for the percentiles stay in memory.
            await tx.execute_query(
                "SELECT set_config('jit', 'off', true), set_config('work_mem', $1, true)",
                [STATS_WORK_MEM],
            )
            return list(await tx.execute_query_dict(statement, self.params))
