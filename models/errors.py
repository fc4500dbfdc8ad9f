"""Domain refusals. Operations raise these; the API maps them to `errors { code field message }`."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any


@dataclass(frozen=True)
class Problem:
    code: str
    field: str | None = None
    params: dict[str, Any] = dataclass_field(default_factory=dict)


class DomainError(Exception):
    """One or more refusals; nothing the operation started has been written."""

    def __init__(self, code: str, field: str | None = None, **params: Any) -> None:
        self.problems: list[Problem] = [Problem(code, field, params)]
        super().__init__(code)

    @classmethod
    def of(cls, problems: list[Problem]) -> DomainError:
        err = cls(problems[0].code, problems[0].field, **problems[0].params)
        err.problems = list(problems)
        return err

    @property
    def code(self) -> str:
        return self.problems[0].code


class Problems:
    """Collects field problems during validation, then raises them all at once."""

    def __init__(self) -> None:
        self.items: list[Problem] = []

    def add(self, code: str, field: str | None = None, **params: Any) -> None:
        self.items.append(Problem(code, field, params))

    def raise_if_any(self) -> None:
        if self.items:
            raise DomainError.of(self.items)
