"""Regions and departments (people and their role grants: schema.types.users)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from schema.relay import Node, to_global_id
from schema.types.enums import RegionLevel


@strawberry.type(description="County → town/street → park.")
class Region(Node):
    pk: strawberry.Private[int]
    name: str
    code: str | None = strawberry.field(description="GB/T 2260 or township division code.")
    level: RegionLevel
    parent_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Region:
        return cls(
            id=to_global_id("Region", r["id"]),
            pk=r["id"],
            name=r["name"],
            code=r["code"],
            level=RegionLevel(r["level"]),
            parent_pk=r["parent_id"],
        )

    @strawberry.field
    async def parent(self, info: Info) -> Region | None:
        if self.parent_pk is None:
            return None
        row = await info.context.loaders.region.load(self.parent_pk)
        return Region.from_row(row) if row else None


async def load_region(info: Info, pk: int | None) -> Region | None:
    if pk is None:
        return None
    row = await info.context.loaders.region.load(pk)
    return Region.from_row(row) if row else None


@strawberry.type(description="A department that receives demands (部门).")
class Department(Node):
    pk: strawberry.Private[int]
    name: str
    code: str | None
    region_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Department:
        return cls(
            id=to_global_id("Department", r["id"]),
            pk=r["id"],
            name=r["name"],
            code=r["code"],
            region_pk=r["region_id"],
        )

    @strawberry.field
    async def region(self, info: Info) -> Region:
        region = await load_region(info, self.region_pk)
        assert region is not None
        return region
