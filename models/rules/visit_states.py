"""Visit status and mode (docs/design.md section 6.1: PLANNED → COMPLETED | CANCELLED)."""

from __future__ import annotations

from enum import StrEnum


class VisitStatus(StrEnum):
    PLANNED = "PLANNED"
    COMPLETED = "COMPLETED"
    CANCELLED = "CANCELLED"


class VisitMode(StrEnum):
    ON_SITE = "ON_SITE"
    VIDEO = "VIDEO"
    PHONE = "PHONE"


class PeriodKind(StrEnum):
    """Calendar periods a leader's visit cadence is counted in."""

    MONTH = "MONTH"
    QUARTER = "QUARTER"
    HALF_YEAR = "HALF_YEAR"
    YEAR = "YEAR"
