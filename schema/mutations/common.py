"""Small helpers shared by the mutation modules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import strawberry

from schema.errors import UserError


def row(instance: Any, columns: Sequence[str]) -> dict[str, Any]:
    """A model instance as the plain row the read path builds types from."""
    return {c: getattr(instance, c) for c in columns}


@strawberry.type
class DeletePayload:
    deleted_id: strawberry.ID | None
    errors: list[UserError]
