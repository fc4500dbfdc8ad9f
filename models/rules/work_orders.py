"""Work-order numbers (工单号): what a handler reads out on the phone, e.g. QH2026120700012.

    demand          <prefix><YYYYMMDD><sequence>      QH2026120700012
    agency request  <prefix><YYYYMMDD>B<sequence>     QH20261207B00003

- prefix: 1-6 Latin capitals set by region policy (`work_order_prefix`, inherited down the tree;
  the county's initials, 清河县 → QH), GD (工单) where none is set;
- the China-local (Asia/Shanghai) date of submission;
- the sequence: per prefix, kind and day, from 1, five digits (more only past 99,999 a day).

The agency mark B (帮办) stands after the date, not after the prefix: prefixes are any letters a
county chooses, so a mark right after one could merge into another county's prefix (QH + B =
QHB), while the date's eight digits always end the prefix. So a number has one reading, demands
and agency requests never share one, and within a prefix and kind numbers sort as they were
given."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from enum import Enum

DEFAULT_PREFIX = "GD"
MAX_PREFIX_LENGTH = 6
SEQUENCE_DIGITS = 5
AGENCY_MARK = "B"
MAX_NUMBER_LENGTH = 32  # the column's: 6 + 8 + 1 + up to 17 sequence digits

_PREFIX = re.compile(rf"[A-Z]{{1,{MAX_PREFIX_LENGTH}}}")
_NUMBER = re.compile(
    rf"[A-Z]{{1,{MAX_PREFIX_LENGTH}}}\d{{8}}{AGENCY_MARK}?\d{{{SEQUENCE_DIGITS},}}"
)


class WorkOrderKind(Enum):
    """Which counter a number is drawn from (the counter table's `kind`)."""

    DEMAND = "DEMAND"
    AGENCY = "AGENCY"


def clean_prefix(value: object) -> str | None:
    """A prefix as stored (capitals), or None when it is not 1-6 Latin letters."""
    if not isinstance(value, str):
        return None
    cleaned = value.strip().upper()
    return cleaned if _PREFIX.fullmatch(cleaned) else None


def stem(kind: WorkOrderKind, prefix: str, day: date) -> str:
    """The number without its sequence: QH20261207, QH20261207B."""
    mark = AGENCY_MARK if kind is WorkOrderKind.AGENCY else ""
    return f"{prefix}{day:%Y%m%d}{mark}"


def work_order_number(kind: WorkOrderKind, prefix: str, day: date, sequence: int) -> str:
    return f"{stem(kind, prefix, day)}{sequence:0{SEQUENCE_DIGITS}d}"


def as_number(term: str) -> str | None:
    """What someone typed, as a number when it has a number's shape: spaces dropped, capitals,
    full-width letters and digits (an IME's ＱＨ２０２６…) made ASCII; else None."""
    cleaned = "".join(unicodedata.normalize("NFKC", term).split()).upper()
    return cleaned if len(cleaned) <= MAX_NUMBER_LENGTH and _NUMBER.fullmatch(cleaned) else None
