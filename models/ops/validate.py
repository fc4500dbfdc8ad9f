"""Small field validators shared by the operations; they collect problems, never raise early."""

from __future__ import annotations

import re
from enum import Enum
from typing import TypeVar

from models.errors import Problems

E = TypeVar("E", bound=Enum)

# What no text field holds: C0 and C1 controls other than tab, line feed and carriage return
# (NUL among them; PostgreSQL cannot store it), and the bidi embeddings and overrides that
# make a name display as something else ("evil\u202egnp.exe").
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def text(problems: Problems, value: str | None, field: str, *, max_len: int, required: bool) -> str:
    cleaned = (value or "").strip()
    if required and not cleaned:
        problems.add("REQUIRED", field)
    elif len(cleaned) > max_len:
        problems.add("TOO_LONG", field, max=max_len)
    elif _CONTROLS.search(cleaned):
        problems.add("CONTROL_CHARACTERS", field)
    return cleaned


def choice(problems: Problems, enum: type[E], value: str | None, field: str) -> E | None:
    if value is None or value == "":
        return None
    try:
        return enum(value)
    except ValueError:
        problems.add("INVALID_CHOICE", field, value=value)
        return None
