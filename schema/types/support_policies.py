"""A support policy (惠企政策) of the catalog cadres hand over on visits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.types import Info

from schema.relay import Node, to_global_id
from schema.types.org import Region, load_region


@strawberry.type(
    description="A support policy (惠企政策) in the catalog cadres hand over on visits; "
    "nationwide, or offered in its region and the regions below it."
)
class SupportPolicy(Node):
    pk: strawberry.Private[int]
    title: str
    issuer: str = strawberry.field(description="发文机关, e.g. 国务院办公厅.")
    document_number: str = strawberry.field(description="文号, e.g. 国办发〔2022〕30号.")
    url: str = strawberry.field(description="Where the full text is published; may be empty.")
    summary: str
    is_active: bool = strawberry.field(
        description="False: withdrawn from the catalog; visits that handed it over still show it."
    )
    created_at: datetime
    region_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> SupportPolicy:
        return cls(
            id=to_global_id("SupportPolicy", r["id"]),
            pk=r["id"],
            title=r["title"],
            issuer=r["issuer"],
            document_number=r["document_number"],
            url=r["url"],
            summary=r["summary"],
            is_active=r["is_active"],
            created_at=r["created_at"],
            region_pk=r["region_id"],
        )

    @strawberry.field(description="Null: a nationwide policy.")
    async def region(self, info: Info) -> Region | None:
        return await load_region(info, self.region_pk)
