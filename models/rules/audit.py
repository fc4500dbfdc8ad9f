"""The audit log's vocabulary (stable action codes, outcomes) and what its details may hold:
small JSON, never a password, a token or a device token."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from enum import Enum, StrEnum
from typing import Any


class AuditAction(StrEnum):
    # Signing in and out.
    LOGIN = "LOGIN"
    LOGOUT = "LOGOUT"
    LOGOUT_EVERYWHERE = "LOGOUT_EVERYWHERE"
    REFRESH_TOKEN_REUSED = "REFRESH_TOKEN_REUSED"  # noqa: S105 - an action code
    # The organisation.
    REGION_CREATE = "REGION_CREATE"
    REGION_UPDATE = "REGION_UPDATE"
    DEPARTMENT_CREATE = "DEPARTMENT_CREATE"
    DEPARTMENT_UPDATE = "DEPARTMENT_UPDATE"
    USER_CREATE = "USER_CREATE"
    USER_UPDATE = "USER_UPDATE"
    ROLE_GRANT = "ROLE_GRANT"
    ROLE_REVOKE = "ROLE_REVOKE"
    # Enterprises.
    ENTERPRISE_CREATE = "ENTERPRISE_CREATE"
    ENTERPRISE_UPDATE = "ENTERPRISE_UPDATE"
    ENTERPRISE_CONTACT_ADD = "ENTERPRISE_CONTACT_ADD"
    ENTERPRISE_CONTACT_REMOVE = "ENTERPRISE_CONTACT_REMOVE"
    LEADER_ASSIGN = "LEADER_ASSIGN"
    LEADER_ASSIGNMENT_END = "LEADER_ASSIGNMENT_END"
    # The calendar, region policy and catalogs.
    CALENDAR_YEAR_SET = "CALENDAR_YEAR_SET"
    CALENDAR_YEAR_CLEAR = "CALENDAR_YEAR_CLEAR"
    REGION_CALENDAR_DAYS_SET = "REGION_CALENDAR_DAYS_SET"
    REGION_CALENDAR_DAY_REMOVE = "REGION_CALENDAR_DAY_REMOVE"
    REGION_POLICY_SET = "REGION_POLICY_SET"
    DEMAND_CATEGORY_CREATE = "DEMAND_CATEGORY_CREATE"
    DEMAND_CATEGORY_UPDATE = "DEMAND_CATEGORY_UPDATE"
    SUPPORT_POLICY_CREATE = "SUPPORT_POLICY_CREATE"
    SUPPORT_POLICY_UPDATE = "SUPPORT_POLICY_UPDATE"
    SERVICE_POINT_CREATE = "SERVICE_POINT_CREATE"
    SERVICE_POINT_UPDATE = "SERVICE_POINT_UPDATE"
    PROCEDURE_CREATE = "PROCEDURE_CREATE"
    PROCEDURE_UPDATE = "PROCEDURE_UPDATE"
    # Push operations and exports.
    PUSH_RETRY = "PUSH_RETRY"
    EXPORT = "EXPORT"


class AuditOutcome(StrEnum):
    SUCCESS = "SUCCESS"
    REFUSED = "REFUSED"  # a domain refusal (details.code says which); nothing was changed


REDACTED = "[redacted]"
MAX_TEXT = 200  # characters of one string value kept
MAX_ITEMS = 20  # items of one list kept
MAX_DEPTH = 4
MAX_DETAILS_BYTES = 4000  # of the whole JSON; beyond it only the keys are kept
MAX_USERNAME = 64  # the column's width: a tried username is cut to it
# Keys whose values are secrets, in any spelling (password, newPassword, refresh_token,
# deviceToken, secret_key, apiKey...).
_SECRET_KEY = re.compile(r"pass(word|wd)?|token|secret|api_?key|credential", re.IGNORECASE)


def _value(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Enum):
        return _value(value.value, depth)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value if len(value) <= MAX_TEXT else value[:MAX_TEXT] + "…"
    if depth >= MAX_DEPTH:
        return "…"
    if isinstance(value, dict):
        return redact(value, depth + 1)
    if isinstance(value, list | tuple | set | frozenset):
        items = list(value)
        kept = [_value(v, depth + 1) for v in items[:MAX_ITEMS]]
        if len(items) > MAX_ITEMS:
            kept.append(f"… {len(items) - MAX_ITEMS} more")
        return kept
    return str(value)[:MAX_TEXT]  # anything else (a file, an object) by its text only


def redact(details: dict[str, Any], depth: int = 0) -> dict[str, Any]:
    """Details as stored: secrets replaced by a marker (that one was given is worth knowing),
    nulls left out, long strings and lists cut short."""
    out: dict[str, Any] = {}
    for key, value in details.items():
        if value is None:
            continue
        name = str(key)
        out[name] = REDACTED if _SECRET_KEY.search(name) else _value(value, depth)
    return out


def bounded(details: dict[str, Any]) -> dict[str, Any]:
    """`redact`, then only the keys if the JSON would still be large."""
    clean = redact(details)
    if len(json.dumps(clean, ensure_ascii=False, default=str)) <= MAX_DETAILS_BYTES:
        return clean
    return {"truncated": True, "keys": sorted(clean)[:MAX_ITEMS]}
