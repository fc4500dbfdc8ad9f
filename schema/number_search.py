"""A list searched by a work-order number (工单号) shows the one row with that number first,
then the rows the search's text matches: the keyset order gets a first key, EXACT ("0" for that
row, "1" for the rest: text, whose type both databases can tell from a literal), which relay's
paging treats as one of the table's own columns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.expressions import Case, When
from tortoise.queryset import QuerySet

from models.db.row_query import RowSelect
from models.rules.work_orders import as_number

EXACT = "exact_number"


class ExactFirst(RowSelect):
    """`sel` ordered by EXACT first, for the number `number` bound as `placeholder` (the same
    parameter the search's condition uses, so the count's statement binds it too)."""

    def __init__(self, sel: RowSelect, placeholder: str, number: str) -> None:
        columns = sel.columns if "number" in sel.columns else (*sel.columns, "number")
        super().__init__(sel.model, columns, sel.nested)
        self._rank = f"(CASE WHEN t0.number = {placeholder} THEN '0' ELSE '1' END)"
        self._number = number

    def own(self, name: str) -> str:
        return self._rank if name == EXACT else super().own(name)

    async def fetch(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = await super().fetch(*args, **kwargs)
        for r in rows:  # the cursor's first key
            r[EXACT] = "0" if r["number"] == self._number else "1"
        return rows


def exact_first(
    qs: QuerySet[Any], search: str | None, order: Sequence[str]
) -> tuple[QuerySet[Any], tuple[str, ...]]:
    """`qs` and its keyset order, with EXACT first when `search` is a number."""
    number = as_number(search) if search else None
    if number is None:
        return qs, tuple(order)
    rank = Case(When(number=number, then="0"), default="1")
    return qs.annotate(**{EXACT: rank}), (EXACT, *order)


def exact_key(value: Any) -> str:
    """EXACT's value in a cursor, or ValueError (relay: INVALID_CURSOR)."""
    if value not in ("0", "1"):
        raise ValueError(EXACT)
    return str(value)
