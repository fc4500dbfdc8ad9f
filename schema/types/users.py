"""People who sign in and their role grants. Above schema.types.service_points: a grant of a
service agent names the point the agent works at."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models.rules.roles import STAFF_ROLES
from schema.relay import Node, to_global_id
from schema.service_point_loaders import point_loader
from schema.types.enums import Rank, Role
from schema.types.org import Department, Region, load_region
from schema.types.service_points import ServicePoint


@strawberry.type(description="One role of a user in a region (and department where it applies).")
class RoleGrant(Node):
    pk: strawberry.Private[int]
    role: Role
    lead: bool = strawberry.field(description="The department's leader (部门负责人).")
    region_pk: strawberry.Private[int | None]
    department_pk: strawberry.Private[int | None]
    service_point_pk: strawberry.Private[int | None] = None

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> RoleGrant:
        return cls(
            id=to_global_id("RoleGrant", r["id"]),
            pk=r["id"],
            role=Role(r["role"]),
            lead=r["lead"],
            region_pk=r["region_id"],
            department_pk=r["department_id"],
            service_point_pk=r.get("service_point_id"),
        )

    @strawberry.field(description="Null for a system administrator or an enterprise contact.")
    async def region(self, info: Info) -> Region | None:
        return await load_region(info, self.region_pk)

    @strawberry.field
    async def department(self, info: Info) -> Department | None:
        if self.department_pk is None:
            return None
        row = await info.context.loaders.department.load(self.department_pk)
        return Department.from_row(row) if row else None

    @strawberry.field(description="SERVICE_AGENT grants: the service point the agent works at.")
    async def service_point(
        self, info: Info
    ) -> ServicePoint | None:
        if self.service_point_pk is None:
            return None
        row = await point_loader(info).load(self.service_point_pk)
        return ServicePoint.from_row(row) if row else None


@strawberry.type(description="A person who signs in. Password hashes and tokens never leave.")
class User(Node):
    pk: strawberry.Private[int]
    username: str
    display_name: str
    rank: Rank | None
    is_active: bool
    mobile_raw: strawberry.Private[str | None]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> User:
        return cls(
            id=to_global_id("User", r["id"]),
            pk=r["id"],
            username=r["username"],
            display_name=r["display_name"],
            rank=Rank(r["rank"]) if r["rank"] else None,
            is_active=r["is_active"],
            mobile_raw=r["mobile"],
        )

    @strawberry.field(description="Shown to the user and to government staff only.")
    def mobile(self, info: Info) -> str | None:
        actor = info.context.actor
        if actor and (actor.user_id == self.pk or actor.has_role(*STAFF_ROLES)):
            return self.mobile_raw
        return None

    @strawberry.field
    async def grants(self, info: Info) -> list[RoleGrant]:
        actor = info.context.actor
        # Grants show who may do what: only the user and administrators read them.
        if actor is None or (actor.user_id != self.pk and not actor.has_role(Role.ADMIN)):
            return []
        rows = await info.context.loaders.grants_by_user.load(self.pk)
        return [RoleGrant.from_row(r) for r in rows]
