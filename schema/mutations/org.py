"""Administering regions, departments, users and role grants."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models.ops import org as org_ops
from models.rules.audit import AuditAction
from schema.errors import UserError
from schema.loaders import DEPARTMENT_COLUMNS, GRANT_COLUMNS, REGION_COLUMNS, USER_COLUMNS
from schema.mutations.audited import attempt_audited
from schema.mutations.common import DeletePayload, row
from schema.relay import id_of, pk_of, to_global_id
from schema.types.enums import Rank, RegionLevel, Role
from schema.types.org import Department, Region
from schema.types.users import RoleGrant, User


@strawberry.input
class CreateRegionInput:
    name: str
    level: RegionLevel
    parent_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null creates a top-level region (system administrators only)."
    )
    code: str | None = strawberry.field(default=None, description="6, 9 or 12 digits.")


@strawberry.input
class UpdateRegionInput:
    id: strawberry.ID
    name: str | None = None
    code: str | None = strawberry.field(default=None, description="Empty string clears it.")


@strawberry.type
class RegionPayload:
    region: Region | None
    errors: list[UserError]


@strawberry.input
class CreateDepartmentInput:
    name: str
    region_id: strawberry.ID
    code: str | None = None


@strawberry.input
class UpdateDepartmentInput:
    id: strawberry.ID
    name: str | None = None
    code: str | None = None


@strawberry.type
class DepartmentPayload:
    department: Department | None
    errors: list[UserError]


@strawberry.input
class CreateUserInput:
    username: str
    display_name: str
    password: str
    mobile: str | None = None
    rank: Rank | None = None


@strawberry.input
class UpdateUserInput:
    id: strawberry.ID
    display_name: str | None = None
    mobile: str | None = strawberry.field(default=None, description="Empty string clears it.")
    rank: Rank | None = None
    password: str | None = strawberry.field(
        default=None, description="Setting a new password ends the user's sessions."
    )
    is_active: bool | None = strawberry.field(
        default=None, description="false disables the account and ends its sessions."
    )


@strawberry.type
class UserPayload:
    user: User | None
    errors: list[UserError]


@strawberry.input
class GrantRoleInput:
    user_id: strawberry.ID
    role: Role
    region_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required but for ENTERPRISE; null on ADMIN means system administrator.",
    )
    department_id: strawberry.ID | None = strawberry.field(
        default=None, description="Required for HANDLER."
    )
    lead: bool = strawberry.field(
        default=False, description="HANDLER only: the department's leader (部门负责人)."
    )
    service_point_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Required for SERVICE_AGENT (only): the point the agent works at. Without "
        "regionId the grant takes the point's region; a given region must contain the point.",
    )


@strawberry.type
class RoleGrantPayload:
    grant: RoleGrant | None
    errors: list[UserError]


@strawberry.input
class RevokeRoleInput:
    id: strawberry.ID


def _user_fields(i: CreateUserInput | UpdateUserInput) -> org_ops.UserFields:
    return org_ops.UserFields(
        display_name=i.display_name,
        mobile=i.mobile,
        rank=i.rank.value if i.rank else None,
        password=i.password,
        is_active=getattr(i, "is_active", None),
    )


def _region(r: object) -> Region | None:
    return Region.from_row(row(r, REGION_COLUMNS)) if r else None


def _department(d: object) -> Department | None:
    return Department.from_row(row(d, DEPARTMENT_COLUMNS)) if d else None


def _user(u: object) -> User | None:
    return User.from_row(row(u, USER_COLUMNS)) if u else None


def _gid(type_name: str, pk: int | None) -> str | None:
    return to_global_id(type_name, pk) if pk else None


def _revoked(g: Any) -> dict[str, Any]:
    """What the revoked grant held (the row is gone)."""
    return {
        "userId": _gid("User", g.user_id),
        "role": g.role,
        "regionId": _gid("Region", g.region_id),
        "departmentId": _gid("Department", g.department_id),
        "servicePointId": _gid("ServicePoint", g.service_point_id),
    }


@strawberry.type
class OrgMutations:
    @strawberry.mutation
    async def create_region(self, info: Info, input: CreateRegionInput) -> RegionPayload:
        ctx = info.context
        region, errors = await attempt_audited(
            ctx,
            AuditAction.REGION_CREATE,
            "Region",
            input,
            lambda: org_ops.create_region(
                ctx.require_actor(),
                name=input.name,
                level=input.level.value,
                parent_id=pk_of(input.parent_id, "Region"),
                code=input.code,
            ),
        )
        return RegionPayload(region=_region(region), errors=errors)

    @strawberry.mutation
    async def update_region(self, info: Info, input: UpdateRegionInput) -> RegionPayload:
        ctx = info.context
        region, errors = await attempt_audited(
            ctx,
            AuditAction.REGION_UPDATE,
            "Region",
            input,
            lambda: org_ops.update_region(
                ctx.require_actor(), id_of(input.id, "Region"), name=input.name, code=input.code
            ),
        )
        return RegionPayload(region=_region(region), errors=errors)

    @strawberry.mutation
    async def create_department(
        self, info: Info, input: CreateDepartmentInput
    ) -> DepartmentPayload:
        ctx = info.context
        dept, errors = await attempt_audited(
            ctx,
            AuditAction.DEPARTMENT_CREATE,
            "Department",
            input,
            lambda: org_ops.create_department(
                ctx.require_actor(),
                name=input.name,
                region_id=id_of(input.region_id, "Region"),
                code=input.code,
            ),
        )
        return DepartmentPayload(department=_department(dept), errors=errors)

    @strawberry.mutation
    async def update_department(
        self, info: Info, input: UpdateDepartmentInput
    ) -> DepartmentPayload:
        ctx = info.context
        dept, errors = await attempt_audited(
            ctx,
            AuditAction.DEPARTMENT_UPDATE,
            "Department",
            input,
            lambda: org_ops.update_department(
                ctx.require_actor(),
                id_of(input.id, "Department"),
                name=input.name,
                code=input.code,
            ),
        )
        return DepartmentPayload(department=_department(dept), errors=errors)

    @strawberry.mutation
    async def create_user(self, info: Info, input: CreateUserInput) -> UserPayload:
        ctx = info.context
        user, errors = await attempt_audited(
            ctx,
            AuditAction.USER_CREATE,
            "User",
            input,
            lambda: org_ops.create_user(
                ctx.require_actor(), username=input.username, fields=_user_fields(input)
            ),
        )
        return UserPayload(user=_user(user), errors=errors)

    @strawberry.mutation
    async def update_user(self, info: Info, input: UpdateUserInput) -> UserPayload:
        ctx = info.context
        user, errors = await attempt_audited(
            ctx,
            AuditAction.USER_UPDATE,
            "User",
            input,
            lambda: org_ops.update_user(
                ctx.require_actor(), id_of(input.id, "User"), _user_fields(input)
            ),
        )
        return UserPayload(user=_user(user), errors=errors)

    @strawberry.mutation
    async def grant_role(self, info: Info, input: GrantRoleInput) -> RoleGrantPayload:
        ctx = info.context
        grant, errors = await attempt_audited(
            ctx,
            AuditAction.ROLE_GRANT,
            "RoleGrant",
            input,
            lambda: org_ops.grant_role(
                ctx.require_actor(),
                user_id=id_of(input.user_id, "User"),
                role=input.role.value,
                region_id=pk_of(input.region_id, "Region"),
                department_id=pk_of(input.department_id, "Department"),
                lead=input.lead,
                service_point_id=pk_of(input.service_point_id, "ServicePoint"),
            ),
        )
        return RoleGrantPayload(
            grant=RoleGrant.from_row(row(grant, GRANT_COLUMNS)) if grant else None, errors=errors
        )

    @strawberry.mutation
    async def revoke_role(self, info: Info, input: RevokeRoleInput) -> DeletePayload:
        ctx = info.context
        grant, errors = await attempt_audited(
            ctx,
            AuditAction.ROLE_REVOKE,
            "RoleGrant",
            input,
            lambda: org_ops.revoke_role(ctx.require_actor(), id_of(input.id, "RoleGrant")),
            more=_revoked,
        )
        return DeletePayload(deleted_id=input.id if grant else None, errors=errors)
