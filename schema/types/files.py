"""Files attached to demands, their timeline events and visits, downloaded over GET /files/{id}."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry

from schema.relay import Node, to_global_id

# What a row needs for the type and for the visibility check (uploader, linked demand, visit
# or agency request).
ATTACHMENT_COLUMNS = (
    "id",
    "file_name",
    "content_type",
    "size",
    "created_at",
    "uploaded_by_id",
    "demand_id",
    "event_id",
    "visit_id",
    "agency_request_id",
    "meta",
)


def file_url(gid: str) -> str:
    """The download path of an attachment (served with the bearer token, like /graphql)."""
    return f"/files/{gid}"


@strawberry.type(
    description="Where and when a photo says it was taken (its EXIF block, written by the "
    "phone): a hint, not proof."
)
class PhotoLocation:
    latitude: float = strawberry.field(description="WGS-84 (GPS) latitude, decimal degrees.")
    longitude: float = strawberry.field(description="WGS-84 (GPS) longitude, decimal degrees.")
    altitude: float | None = strawberry.field(
        description="Metres above sea level (negative below), when the photo records it."
    )
    taken_at: str | None = strawberry.field(
        description="When it was taken by the camera's clock, ISO 8601: with the UTC offset "
        "when the photo records one (2026-03-05T10:20:30+08:00), else local time without one."
    )

    @classmethod
    def from_meta(cls, meta: Any) -> PhotoLocation | None:
        if isinstance(meta, str):  # a driver that hands JSON over undecoded
            try:
                meta = json.loads(meta)
            except ValueError:
                return None
        gps = meta.get("gps") if isinstance(meta, dict) else None
        if not isinstance(gps, dict):
            return None
        lat, lng, alt = gps.get("latitude"), gps.get("longitude"), gps.get("altitude")
        if not isinstance(lat, int | float) or not isinstance(lng, int | float):
            return None
        taken_at = meta.get("takenAt")
        return cls(
            latitude=float(lat),
            longitude=float(lng),
            altitude=float(alt) if isinstance(alt, int | float) else None,
            taken_at=taken_at if isinstance(taken_at, str) else None,
        )


@strawberry.type(
    description="A file attached to a demand, to one of its timeline events, or to a visit."
)
class Attachment(Node):
    pk: strawberry.Private[int]
    file_name: str = strawberry.field(description="The uploader's file name, made safe.")
    content_type: str = strawberry.field(description="The type found in the file's bytes.")
    size: int = strawberry.field(description="Size in bytes.")
    url: str = strawberry.field(
        description="Path of the file on this server: GET it with the bearer token."
    )
    created_at: datetime
    # No check of its own: an Attachment is only ever reached through an object the caller
    # may see (its demand, event or visit, node(id:) checking can_see_attachment, or the
    # upload payload of the uploader), so its photo's position is theirs to read too.
    photo_location: PhotoLocation | None = strawberry.field(
        description="A photo's GPS position and time taken, from its EXIF; null without GPS."
    )
    demand_pk: strawberry.Private[int | None]
    event_pk: strawberry.Private[int | None]
    visit_pk: strawberry.Private[int | None]

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
            photo_location=PhotoLocation.from_meta(r.get("meta")),
            demand_pk=r["demand_id"],
            event_pk=r["event_id"],
            visit_pk=r.get("visit_id"),
        )
