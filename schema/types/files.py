"""Files attached to demands and their timeline events, downloaded over GET /files/{id}."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from schema.relay import Node, to_global_id

# What a row needs for the type and for the visibility check (uploader, linked demand).
ATTACHMENT_COLUMNS = (
    "id",
    "file_name",
    "content_type",
    "size",
    "created_at",
    "uploaded_by_id",
    "demand_id",
    "event_id",
)


def file_url(gid: str) -> str:
    """The download path of an attachment (served with the bearer token, like /graphql)."""
    return f"/files/{gid}"


@strawberry.type(description="A file attached to a demand or to one of its timeline events.")
class Attachment(Node):
    pk: strawberry.Private[int]
    file_name: str = strawberry.field(description="The uploader's file name, made safe.")
    content_type: str = strawberry.field(description="The type found in the file's bytes.")
    size: int = strawberry.field(description="Size in bytes.")
    url: str = strawberry.field(
        description="Path of the file on this server: GET it with the bearer token."
    )
    created_at: datetime
    demand_pk: strawberry.Private[int | None]
    event_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Attachment:
        gid = to_global_id("Attachment", r["id"])
        return cls(
            id=gid,
            pk=r["id"],
            file_name=r["file_name"],
            content_type=r["content_type"],
            size=r["size"],
            url=file_url(gid),
            created_at=r["created_at"],
            demand_pk=r["demand_id"],
            event_pk=r["event_id"],
        )
