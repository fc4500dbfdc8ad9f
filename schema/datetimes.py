"""The API's one rule for moments: every DateTime it returns is written in Asia/Shanghai
(+08:00), whatever zone the value was stored or computed in; every DateTime it is sent may
carry any offset, none meaning Asia/Shanghai, and reaches the operations as UTC.

Why +08:00 and not UTC: every day the product counts is an Asia/Shanghai day (deadlines and
other `Date` fields, working days, opening hours, appointment slots, the stats periods, the
exports' times), so with +08:00 the date part of a moment is the day those rules speak of and
a screen shows the time as read, without a zone library. It is still ISO 8601 with its offset:
a client that parses it gets the same instant as from UTC. The database keeps UTC (models.db.config);
only the answer's wording changes, here, for the strawberry and the compiled path alike (both
complete a DateTime with this scalar's serializer).

Inputs in UTC: SQLite compares stored moments as text, so a filter bound written with +08:00
(as the answers now are, and as the README's examples write them) compared wrongly with the
UTC text stored; a moment without an offset could not be compared with the clock at all."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from typing import Any

from strawberry.schema.types.scalar import DEFAULT_SCALAR_REGISTRY
from strawberry.types.scalar import ScalarDefinition

from models.rules.clock import TZ

DATETIME_DESCRIPTION = (
    "A moment, ISO 8601 with its offset. Answers are always in Asia/Shanghai (+08:00), e.g. "
    "2026-11-26T10:02:00+08:00, so the date part is the day deadlines and working days count. "
    "Inputs may use any offset; one without an offset is Asia/Shanghai time."
)


def shanghai_iso(value: Any) -> str:
    """A moment as the API writes it: ISO 8601 in Asia/Shanghai. A value without a zone is
    UTC, as the database keeps moments."""
    if not isinstance(value, datetime):
        return str(value.isoformat())  # a date given for a DateTime: as strawberry wrote it
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(TZ).isoformat()


def parse_moment(value: Any) -> datetime:
    """A DateTime sent by a client, as strawberry parses it (its refusal kept), in UTC; a time
    without an offset is Asia/Shanghai's. A moment UTC cannot hold (year 1 at +08:00) stays as
    sent: the input edges refuse it as out of range (schema.input_edges)."""
    parsed = _scalar(datetime).parse_value(value)  # type: ignore[misc]
    assert isinstance(parsed, datetime)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=TZ)
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        return parsed


def _scalar(kind: type) -> ScalarDefinition:
    found = DEFAULT_SCALAR_REGISTRY[kind]
    assert isinstance(found, ScalarDefinition)
    return found


# build_schema passes them as overrides of strawberry's DateTime and Date.
DATETIME_SCALAR = dataclasses.replace(
    _scalar(datetime),
    serialize=shanghai_iso,
    parse_value=parse_moment,
    description=DATETIME_DESCRIPTION,
)
DATE_SCALAR = dataclasses.replace(
    _scalar(date), description="A calendar day in Asia/Shanghai, YYYY-MM-DD."
)
