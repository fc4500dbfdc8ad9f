"""Giving work-order numbers (工单号, models.rules.work_orders): one per submission, drawn from
its counter in the submitting transaction; or every unnumbered row at once, in submission order
(migration 0018, the scale demo)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models.db.linked_insert import Drawn
from models.db.row_query import Params, connection, is_postgres
from models.ops.policy import load_policies
from models.ops.region_tree import region_path as path_of
from models.rules.work_orders import (
    AGENCY_MARK,
    DEFAULT_PREFIX,
    SEQUENCE_DIGITS,
    WorkOrderKind,
    stem,
    work_order_number,
)
from models.rules.workdays import local_date

# The next sequence of (kind, prefix, day): the upsert locks the counter row until the caller's
# transaction ends, so a concurrent submission waits for it and then takes the number after.
_DRAW = (
    "INSERT INTO work_order_counter (kind, prefix, day, last_seq) "
    "VALUES ({kind}, {prefix}, {day}, 1) ON CONFLICT (kind, prefix, day) "
    "DO UPDATE SET last_seq = work_order_counter.last_seq + 1 RETURNING {value}"
)
_TABLES = {WorkOrderKind.DEMAND: "demand", WorkOrderKind.AGENCY: "agency_request"}


async def region_prefix(region_id: int, region_path: str | None = None) -> str:
    """The prefix of a region's numbers (its policy's, cached per process); `region_path`: the
    region's, when the caller has it."""
    path = region_path if region_path is not None else await path_of(region_id)
    return (await load_policies({region_id: path}))[region_id].work_order_prefix


def _padded(expr: str, postgres: bool) -> str:
    """The sequence as the number writes it, in SQL (as `work_order_number` in Python)."""
    if postgres:
        text = f"({expr})::text"
        return f"lpad({text}, GREATEST({SEQUENCE_DIGITS}, length({text})), '0')"
    return f"printf('%0{SEQUENCE_DIGITS}d', {expr})"


async def next_number(
    kind: WorkOrderKind, prefix: str, at: datetime, conn: BaseDBAsyncClient | None = None
) -> str:
    """Draw the number of a submission at `at`, inside the caller's transaction."""
    day = local_date(at)
    conn = conn or connection()
    p = Params(is_postgres(conn))
    sql = _DRAW.format(kind=p(kind.value), prefix=p(prefix), day=p.day(day), value="last_seq")
    found = await conn.execute_query_dict(sql, p.values)
    return work_order_number(kind, prefix, day, int(found[0]["last_seq"]))


def drawn_number(kind: WorkOrderKind, prefix: str, at: datetime) -> Drawn:
    """`next_number` as a value drawn in the statement that writes the row (PostgreSQL,
    models.db.linked_insert)."""
    day = local_date(at)

    def sql(p: Params) -> str:
        number = f"{p(stem(kind, prefix, day))}::text || {_padded('last_seq', True)}"
        return _DRAW.format(
            kind=p(kind.value), prefix=p(prefix), day=p(day), value=f"{number} AS v"
        )

    return Drawn("work_order", sql)


def bulk_numbering(
    kind: WorkOrderKind, postgres: bool, prefixes: Mapping[int, str] | None = None
) -> list[tuple[str, list[Any]]]:
    """The statements (SQL and values) that number every submitted, unnumbered row of `kind`
    in one go, each day's in submission order after the numbers its counter gave already, and
    move the counters past them. `prefixes`: region id → prefix, DEFAULT_PREFIX for the rest.
    Run them in one transaction, in order, with the table's writers kept out."""
    table = _TABLES[kind]
    mark = AGENCY_MARK if kind is WorkOrderKind.AGENCY else ""
    if postgres:
        local = "(submitted_at AT TIME ZONE 'Asia/Shanghai')"
        day, ymd = f"{local}::date", f"to_char({local}, 'YYYYMMDD')"
    else:  # stored as UTC text; Asia/Shanghai has kept +08:00 since 1991
        day, ymd = "date(submitted_at, '+8 hours')", "strftime('%Y%m%d', submitted_at, '+8 hours')"

    def prefix_of(p: Params) -> str:
        # Cast: PostgreSQL cannot tell a parameter's type from a select list.
        cases = " ".join(
            f"WHEN {p(r)} THEN CAST({p(x)} AS TEXT)" for r, x in (prefixes or {}).items()
        )
        default = f"CAST({p(DEFAULT_PREFIX)} AS TEXT)"
        return f"CASE region_id {cases} ELSE {default} END" if cases else default

    fresh = (
        "SELECT id, submitted_at, {prefix} AS prefix, " + day + " AS day, " + ymd + " AS ymd "
        f"FROM {table} WHERE number IS NULL AND submitted_at IS NOT NULL"
    )
    count = Params(postgres)
    counters = (
        "INSERT INTO work_order_counter (kind, prefix, day, last_seq) "  # noqa: S608
        f"SELECT CAST({count(kind.value)} AS TEXT), prefix, day, COUNT(*) "
        f"FROM ({fresh.format(prefix=prefix_of(count))}) f GROUP BY prefix, day "
        "ON CONFLICT (kind, prefix, day) "
        "DO UPDATE SET last_seq = work_order_counter.last_seq + excluded.last_seq"
    )
    # The counters moved past this batch first: each row takes its place among the batch's
    # rows of its day after the numbers given before (last_seq - the batch's count).
    number = Params(postgres)
    ranked = (
        "SELECT id, prefix, day, prefix || ymd AS stem, "  # noqa: S608 - names, placeholders
        "ROW_NUMBER() OVER (PARTITION BY prefix, day ORDER BY submitted_at, id) AS n, "
        "COUNT(*) OVER (PARTITION BY prefix, day) AS total "
        f"FROM ({fresh.format(prefix=prefix_of(number))}) f"
    )
    kind_value = number(kind.value)
    seq = "c.last_seq - r.total + r.n"
    numbers = (
        f"UPDATE {table} SET number = x.number FROM (SELECT r.id, "  # noqa: S608
        f"r.stem || '{mark}' || {_padded(seq, postgres)} AS number FROM ({ranked}) r "
        f"JOIN work_order_counter c ON c.kind = {kind_value} AND c.prefix = r.prefix "
        f"AND c.day = r.day) x WHERE {table}.id = x.id"
    )
    return [(counters, count.values), (numbers, number.values)]


async def number_unnumbered(
    conn: BaseDBAsyncClient, kind: WorkOrderKind, prefixes: Mapping[int, str] | None = None
) -> None:
    """Run `bulk_numbering` on a tortoise connection (inside the caller's transaction)."""
    for sql, values in bulk_numbering(kind, is_postgres(conn), prefixes):
        await conn.execute_query(sql, values)
