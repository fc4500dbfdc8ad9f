"""Small field validators shared by the operations; they collect problems, never raise early."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from models.errors import Problems

E = TypeVar("E", bound=Enum)


def text(problems: Problems, value: str | None, field: str, *, max_len: int, required: bool) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        problems.add("REQUIRED", field)
    elif len(cleaned) > max_len:
        problems.add("TOO_LONG", field, max=max_len)
    return cleaned


def choice(problems: Problems, enum: type[E], value: str | None, field: str) -> E | None:
    if value is None or value == "":
        return None
    try:
        return enum(value)
    except ValueError:
        problems.add("INVALID_CHOICE", field, value=value)
        return None
