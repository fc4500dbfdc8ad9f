"""Read operations. Every list is scoped on the server by the caller's grants."""

from __future__ import annotations

import strawberry
from strawberry.types import Info
from tortoise.expressions import Q, Subquery

from models.access import enterprise_scope, user_scope
from models.errors import DomainError
from models.ops.region_tree import region_subtree
from models.rules.clock import today
from models.rules.roles import Role as RoleValue
from models.tables.enterprises import Enterprise as EnterpriseModel
from models.tables.enterprises import LeaderAssignment as AssignmentModel
from models.tables.grants import RoleGrant as GrantModel
from models.tables.org import Department as DepartmentModel
from models.tables.org import Region as RegionModel
from models.tables.org import User as UserModel
from schema.agency_queries import AgencyQueries
from schema.audit_queries import AuditQueries
from schema.demand_queries import DemandQueries
from schema.guards import actor_of, guarded
from schema.loaders import DEPARTMENT_COLUMNS, REGION_COLUMNS, USER_COLUMNS
from schema.node import resolve_node
from schema.notification_api import NotificationQueries, PushOperatorQueries
from schema.relay import Connection, Node, paginate, pk_of
from schema.service_point_queries import ServicePointQueries
from schema.stats_queries import StatsQueries
from schema.support_policy_queries import SupportPolicyQueries
from schema.types.calendar import CalendarQueries
from schema.types.enterprises import ENTERPRISE_COLUMNS, Enterprise
from schema.types.enums import RegionLevel, Role
from schema.types.org import Department, Region
from schema.types.users import User
from schema.visit_queries import VisitQueries


@strawberry.input
class RegionFilter:
    parent_id: strawberry.ID | None = None
    level: RegionLevel | None = None
    search: str | None = None


@strawberry.input
class DepartmentFilter:
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="Departments of this region and the regions below it."
    )
    search: str | None = None


@strawberry.input
class EnterpriseFilter:
    search: str | None = strawberry.field(
        default=None, description="Part of the name, or the start of the credit code."
    )
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="This region and the regions below it."
    )
    industry: str | None = strawberry.field(
        default=None, description="GB/T 4754 code or its prefix, e.g. C or C33."
    )
    assigned_to_me: bool = strawberry.field(
        default=False, description="Only enterprises assigned to me now (包联)."
    )


@strawberry.input
class UserFilter:
    search: str | None = None
    role: Role | None = None


async def _subtree(region_gid: strawberry.ID) -> Subquery:
    return await region_subtree(pk_of(region_gid, "Region"))


@strawberry.type
class Query(
    AuditQueries,
    CalendarQueries,
    DemandQueries,
    SupportPolicyQueries,
    VisitQueries,
    NotificationQueries,
    PushOperatorQueries,
    ServicePointQueries,
    AgencyQueries,
    StatsQueries,
):
    @strawberry.field(description="The signed-in user with their role grants; null if signed out.")
    async def me(self, info: Info) -> User | None:
        actor = info.context.actor
        if actor is None:
            return None
        row = await info.context.loaders.user.load(actor.user_id)
        return User.from_row(row) if row else None

    @strawberry.field
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        actor = actor_of(info)
        return await guarded(info, lambda: resolve_node(info, actor, id))

    @strawberry.field(description="The region tree, sorted by name.")
    async def regions(
        self,
        info: Info,
        filter: RegionFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Region]:
        actor_of(info)

        async def run() -> Connection[Region]:
            qs = RegionModel.all()
            if filter is not None:
                if filter.parent_id is not None:
                    qs = qs.filter(parent_id=pk_of(filter.parent_id, "Region"))
                if filter.level is not None:
                    qs = qs.filter(level=filter.level.value)
                if filter.search:
                    qs = qs.filter(name__icontains=filter.search.strip())
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("name", "id"),
                columns=REGION_COLUMNS,
                build=Region.from_row,
            )

        return await guarded(info, run)

    @strawberry.field(description="Departments, sorted by name.")
    async def departments(
        self,
        info: Info,
        filter: DepartmentFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Department]:
        actor_of(info)

        async def run() -> Connection[Department]:
            qs = DepartmentModel.all()
            if filter is not None:
                if filter.region_id is not None:
                    qs = qs.filter(region_id__in=await _subtree(filter.region_id))
                if filter.search:
                    qs = qs.filter(name__icontains=filter.search.strip())
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("name", "id"),
                columns=DEPARTMENT_COLUMNS,
                build=Department.from_row,
            )

        return await guarded(info, run)

    @strawberry.field(description="Enterprises the caller may see, sorted by name.")
    async def enterprises(
        self,
        info: Info,
        filter: EnterpriseFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Enterprise]:
        actor = actor_of(info)

        async def run() -> Connection[Enterprise]:
            qs = EnterpriseModel.filter(enterprise_scope(actor))
            if filter is not None:
                if filter.search and filter.search.strip():
                    term = filter.search.strip()
                    qs = qs.filter(
                        Q(name__icontains=term) | Q(credit_code__startswith=term.upper())
                    )
                if filter.region_id is not None:
                    qs = qs.filter(region_id__in=await _subtree(filter.region_id))
                if filter.industry:
                    qs = qs.filter(industry_code__startswith=filter.industry.strip().upper())
                if filter.assigned_to_me:
                    mine = AssignmentModel.filter(
                        Q(leader_id=actor.user_id),
                        Q(end_date=None) | Q(end_date__gte=today()),
                        start_date__lte=today(),
                    ).values("enterprise_id")
                    qs = qs.filter(id__in=Subquery(mine))
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("name", "id"),
                columns=ENTERPRISE_COLUMNS,
                build=Enterprise.from_row,
            )

        return await guarded(info, run)

    @strawberry.field(description="One enterprise, or null when it does not exist or is not yours.")
    async def enterprise(self, info: Info, id: strawberry.ID) -> Enterprise | None:
        actor = actor_of(info)

        async def run() -> Enterprise | None:
            try:
                pk = pk_of(id, "Enterprise")
            except DomainError:
                return None
            rows = await EnterpriseModel.filter(enterprise_scope(actor), id=pk).values(
                *ENTERPRISE_COLUMNS
            )
            return Enterprise.from_row(rows[0]) if rows else None

        return await guarded(info, run)

    @strawberry.field(description="Users (administrators only), sorted by username.")
    async def users(
        self,
        info: Info,
        filter: UserFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[User]:
        actor = actor_of(info)

        async def run() -> Connection[User]:
            if not actor.has_role(RoleValue.ADMIN):
                raise DomainError("FORBIDDEN")
            qs = UserModel.filter(user_scope(actor))
            if filter is not None:
                if filter.search and filter.search.strip():
                    term = filter.search.strip()
                    qs = qs.filter(Q(username__icontains=term) | Q(display_name__icontains=term))
                if filter.role is not None:
                    with_role = GrantModel.filter(role=filter.role.value).values("user_id")
                    qs = qs.filter(id__in=Subquery(with_role))
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("username", "id"),
                columns=USER_COLUMNS,
                build=User.from_row,
            )

        return await guarded(info, run)
