"""The domain's enumerations, registered as GraphQL enums (strawberry.enum marks the class
itself, so the API and the models share one definition)."""

from __future__ import annotations

import strawberry

from models.rules.roles import CoordinateSystem, EnterpriseScale, Rank, RegionLevel, Role

strawberry.enum(Role, description="A role a user holds in a region.")
strawberry.enum(Rank, description="A cadre's rank.")
strawberry.enum(RegionLevel)
strawberry.enum(EnterpriseScale)
strawberry.enum(
    CoordinateSystem, description="GPS WGS-84, Chinese map SDKs' GCJ-02, or Baidu BD-09."
)

__all__ = ["CoordinateSystem", "EnterpriseScale", "Rank", "RegionLevel", "Role"]
