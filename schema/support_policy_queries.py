"""Reading the catalog of support policies (惠企政策)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.errors import DomainError
from models.ops.region_tree import region_chain
from models.ops.support_policies import SUPPORT_POLICY_COLUMNS, offered_in_q, search_q
from models.rules.roles import Role
from models.tables.visits import SupportPolicy as SupportPolicyModel
from schema.guards import actor_of, guarded
from schema.relay import Connection, paginate, pk_of
from schema.types.support_policies import SupportPolicy


@strawberry.type
class SupportPolicyQueries:
    @strawberry.field(
        description="The catalog of support policies, newest first. Policies are public "
        "documents: every signed-in user (staff and enterprise contacts) may read it. With "
        "`regionId`, the policies offered there: nationwide ones plus those of the region and "
        "the regions above it. `search` matches the title, issuer or document number. "
        "Withdrawn policies are listed only with `includeInactive`, which needs an "
        "administrator (others get FORBIDDEN)."
    )
    async def support_policies(
        self,
        info: Info,
        region_id: strawberry.ID | None = None,
        search: str | None = None,
        include_inactive: bool = False,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[SupportPolicy]:
        actor = actor_of(info)

        async def run() -> Connection[SupportPolicy]:
            if include_inactive and not actor.has_role(Role.ADMIN):
                raise DomainError("FORBIDDEN", "includeInactive")
            qs = SupportPolicyModel.all()
            if not include_inactive:
                qs = qs.filter(is_active=True)
            if region_id is not None:
                chain = await region_chain(pk_of(region_id, "Region"))
                if not chain:
                    raise DomainError("NOT_FOUND", "regionId")
                qs = qs.filter(offered_in_q(chain))
            if search and search.strip():
                qs = qs.filter(search_q(search.strip()))
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("-id",),
                columns=SUPPORT_POLICY_COLUMNS,
                build=SupportPolicy.from_row,
            )

        return await guarded(info, run)
