"""The domain's enumerations as GraphQL enums."""

from __future__ import annotations

import strawberry

from models.rules import roles

Role = strawberry.enum(roles.Role, description="A role a user holds in a region.")
Rank = strawberry.enum(roles.Rank, description="A cadre's rank.")
RegionLevel = strawberry.enum(roles.RegionLevel)
EnterpriseScale = strawberry.enum(roles.EnterpriseScale)
CoordinateSystem = strawberry.enum(
    roles.CoordinateSystem, description="GPS WGS-84, Chinese map SDKs' GCJ-02, or Baidu BD-09."
)
