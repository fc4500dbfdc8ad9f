"""Enterprises with their contacts and assigned leaders (包联)."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from schema.relay import Connection, Node, Page, to_global_id
from schema.types.enums import CoordinateSystem, EnterpriseScale
from schema.types.org import Region, load_region
from schema.types.users import User

if TYPE_CHECKING:
    from schema.types.agency import AgencyRequest
    from schema.types.visits import Visit

ENTERPRISE_COLUMNS = (
    "id",
    "name",
    "credit_code",
    "credit_code_override",
    "legal_representative",
    "address",
    "latitude",
    "longitude",
    "coordinate_system",
    "region_id",
    "industry_code",
    "scale",
    "above_scale_industry",
    "qualified_construction",
    "above_limit_trade",
    "above_scale_service",
    "real_estate_development",
    "version",
)


@strawberry.type(description="A contact person of an enterprise.")
class EnterpriseContact(Node):
    pk: strawberry.Private[int]
    name: str
    mobile: str
    position: str
    has_app_account: bool

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> EnterpriseContact:
        return cls(
            id=to_global_id("EnterpriseContact", r["id"]),
            pk=r["id"],
            name=r["name"],
            mobile=r["mobile"],
            position=r["position"],
            has_app_account=r["user_id"] is not None,
        )


@strawberry.type(description="A leader assigned to look after an enterprise (包联), for a period.")
class LeaderAssignment(Node):
    pk: strawberry.Private[int]
    start_date: date
    end_date: date | None
    note: str
    leader_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> LeaderAssignment:
        return cls(
            id=to_global_id("LeaderAssignment", r["id"]),
            pk=r["id"],
            start_date=r["start_date"],
            end_date=r["end_date"],
            note=r["note"],
            leader_pk=r["leader_id"],
        )

    @strawberry.field
    async def leader(self, info: Info) -> User:
        row = await info.context.loaders.user.load(self.leader_pk)
        return User.from_row(row)


@strawberry.type(description="An enterprise (企业), its file in one place (一企一档).")
class Enterprise(Node):
    pk: strawberry.Private[int]
    name: str
    credit_code: str = strawberry.field(description="Unified social credit code (GB 32100).")
    credit_code_override: bool = strawberry.field(
        description="True when an admin accepted a code failing its check digit (legacy)."
    )
    legal_representative: str
    address: str
    latitude: float | None
    longitude: float | None
    coordinate_system: CoordinateSystem
    industry_code: str | None = strawberry.field(description="GB/T 4754 industry code.")
    scale: EnterpriseScale | None
    above_scale_industry: bool = strawberry.field(description="规上工业")
    qualified_construction: bool = strawberry.field(description="资质内建筑业")
    above_limit_trade: bool = strawberry.field(description="限上批零住餐")
    above_scale_service: bool = strawberry.field(description="规上服务业")
    real_estate_development: bool = strawberry.field(description="房地产开发")
    version: int = strawberry.field(description="Pass back on update to detect concurrent edits.")
    region_pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> Enterprise:
        return cls(
            id=to_global_id("Enterprise", r["id"]),
            pk=r["id"],
            name=r["name"],
            credit_code=r["credit_code"],
            credit_code_override=r["credit_code_override"],
            legal_representative=r["legal_representative"],
            address=r["address"],
            latitude=r["latitude"],
            longitude=r["longitude"],
            coordinate_system=CoordinateSystem(r["coordinate_system"]),
            industry_code=r["industry_code"],
            scale=EnterpriseScale(r["scale"]) if r["scale"] else None,
            above_scale_industry=r["above_scale_industry"],
            qualified_construction=r["qualified_construction"],
            above_limit_trade=r["above_limit_trade"],
            above_scale_service=r["above_scale_service"],
            real_estate_development=r["real_estate_development"],
            version=r["version"],
            region_pk=r["region_id"],
        )

    @strawberry.field
    async def region(self, info: Info) -> Region:
        region = await load_region(info, self.region_pk)
        assert region is not None
        return region

    @strawberry.field
    async def contacts(self, info: Info) -> list[EnterpriseContact]:
        rows = await info.context.loaders.contacts_by_enterprise.load(self.pk)
        return [EnterpriseContact.from_row(r) for r in rows]

    @strawberry.field(description="Leaders assigned now (包联领导), open-ended or not yet ended.")
    async def assigned_leaders(self, info: Info) -> list[LeaderAssignment]:
        rows = await info.context.loaders.assignments_by_enterprise.load(self.pk)
        return [LeaderAssignment.from_row(r) for r in rows]

    @strawberry.field(description="When it was last visited (a logged visit, any mode or trust).")
    async def last_visit_at(self, info: Info) -> datetime | None:
        value: datetime | None = await info.context.loaders.last_visit_by_enterprise.load(self.pk)
        return value

    @strawberry.field(description="Its visits you may see, newest first.")
    async def visits(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[Visit, strawberry.lazy("schema.types.visits")]]:
        from schema.guards import actor_of, guarded
        from schema.visit_reads import VisitOrder, list_visits

        actor = actor_of(info)
        return await guarded(
            info,
            lambda: list_visits(
                actor, None, VisitOrder.NEWEST, Page(first, after), enterprise_id=self.pk
            ),
        )

    @strawberry.field(description="Its agency requests (帮办代办) you may see, newest first.")
    async def agency_requests(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Annotated[AgencyRequest, strawberry.lazy("schema.types.agency")]]:
        from schema.agency_reads import list_agency_requests
        from schema.guards import actor_of, guarded

        actor = actor_of(info)
        page = Page(first, after)
        return await guarded(
            info, lambda: list_agency_requests(actor, None, page, enterprise_id=self.pk)
        )
