"""Agency request queries: the list and one request with its timeline and materials."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.access import agency_scope
from models.errors import DomainError
from models.rules.actor import Actor
from models.tables.agency import AgencyEvent as AgencyEventModel
from models.tables.agency import AgencyRequest as AgencyModel
from schema.agency_reads import AgencyRequestFilter, get_agency_request, list_agency_requests
from schema.guards import actor_of, guarded
from schema.relay import Connection, Node, Page, pk_of
from schema.types.agency import AGENCY_EVENT_COLUMNS, AgencyEvent, AgencyRequest


@strawberry.type
class AgencyQueries:
    @strawberry.field(
        description="Agency requests (帮办代办) the caller may see, newest first: agents their "
        "service points', enterprise contacts their enterprises', regional staff their regions'. "
        "Pages both ways: `first`/`after` down the list, `last`/`before` up from the top row "
        "shown."
    )
    async def agency_requests(
        self,
        info: Info,
        filter: AgencyRequestFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[AgencyRequest]:
        actor = actor_of(info)
        page = Page(first, after, last, before)
        return await guarded(info, lambda: list_agency_requests(actor, filter, page))

    @strawberry.field(description="One agency request, or null when it is not visible to you.")
    async def agency_request(self, info: Info, id: strawberry.ID) -> AgencyRequest | None:
        actor = actor_of(info)
        try:
            pk = pk_of(id, "AgencyRequest")
        except DomainError:
            return None
        assert pk is not None
        return await guarded(info, lambda: get_agency_request(actor, pk))


async def agency_request_node(actor: Actor, pk: int) -> Node | None:
    return await get_agency_request(actor, pk)


async def agency_event_node(actor: Actor, pk: int) -> Node | None:
    rows = await AgencyEventModel.filter(id=pk).values(*AGENCY_EVENT_COLUMNS, "actor__display_name")
    if (
        not rows
        or not await AgencyModel.filter(agency_scope(actor), id=rows[0]["request_id"]).exists()
    ):
        return None
    return AgencyEvent.from_row(rows[0], actor_name=rows[0]["actor__display_name"])
