"""Agency request mutations (帮办代办): each parses its input, calls one operation of
models.ops.agency, and maps the result or the refusal to `{agencyRequest errors}`. Every input
takes a client-made `clientMutationId` (a retry is applied once) and, for transitions, the
`version` the client read (a lost race is a CONFLICT)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import TypedDict

import strawberry
from strawberry.types import Info

from models.ops import agency as ops
from models.rules.actor import Actor
from models.tables.agency import AgencyRequest as AgencyModel
from schema.agency_reads import get_agency_request
from schema.errors import UserError, attempt
from schema.relay import id_of
from schema.types.agency import AgencyRequest
from schema.types.demands import Satisfaction

CLIENT_ID = "A client-made id (UUID): a retry with the same id is applied once."


@strawberry.type
class AgencyRequestPayload:
    agency_request: AgencyRequest | None
    errors: list[UserError]


async def _run(info: Info, op: Callable[[Actor], Awaitable[AgencyModel]]) -> AgencyRequestPayload:
    ctx = info.context

    async def run() -> AgencyRequest | None:
        actor = ctx.require_actor()
        changed = await op(actor)
        return await get_agency_request(actor, changed.id)

    found, errors = await attempt(ctx.locale, run)
    return AgencyRequestPayload(agency_request=found, errors=errors)


def _files(ids: list[strawberry.ID] | None) -> list[int]:
    return [id_of(i, "Attachment") for i in ids or []]


@strawberry.input
class SubmitAgencyRequestInput:
    enterprise_id: strawberry.ID
    procedure_id: strawberry.ID = strawberry.field(description="A procedure (事项) of a point.")
    description: str = ""
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Documents uploaded first (委托书, licence scans …)."
    )
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_ID)


@strawberry.input
class AgencyTransitionInput:
    agency_request_id: strawberry.ID
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_ID)
    version: int | None = strawberry.field(
        default=None, description="The request's version you read; if it changed: CONFLICT."
    )


@strawberry.input
class AgencyNoteInput(AgencyTransitionInput):
    note: str = ""


@strawberry.input
class MissingMaterialInput:
    name: str = strawberry.field(description="A material the procedure marks mayBeMissing.")
    promised_by: date | None = strawberry.field(
        default=None, description="Required: the day the enterprise promises it by."
    )


@strawberry.input
class AcceptAgencyRequestInput(AgencyTransitionInput):
    missing_materials: list[MissingMaterialInput] | None = strawberry.field(
        default=None, description="容缺受理: materials accepted missing."
    )
    note: str = ""


@strawberry.input
class RequestedMaterialInput:
    name: str
    note: str = strawberry.field(default="", description="What is wrong or needed.")


@strawberry.input
class RequestMaterialsInput(AgencyTransitionInput):
    materials: list[RequestedMaterialInput]
    note: str = strawberry.field(description="Required: what the enterprise reads.")


@strawberry.input
class SupplyMaterialsInput(AgencyTransitionInput):
    attachment_ids: list[strawberry.ID] | None = None
    note: str = ""
    materials: list[str] | None = strawberry.field(
        default=None, description="Names of 容缺 materials handed over with this."
    )


@strawberry.input
class CompleteAgencyRequestInput(AgencyTransitionInput):
    result_text: str
    certificate_number: str | None = strawberry.field(
        default=None, description="E.g. the new licence's number."
    )
    attachment_ids: list[strawberry.ID] | None = None


@strawberry.input
class AgencyReasonInput(AgencyTransitionInput):
    reason: str = strawberry.field(default="", description="Required when rejecting.")


@strawberry.input
class RateAgencyRequestInput(AgencyTransitionInput):
    rating: Satisfaction
    comment: str = ""


@strawberry.input
class AssignAgentInput(AgencyTransitionInput):
    agent_id: strawberry.ID = strawberry.field(description="A SERVICE_AGENT of the point.")
    note: str = ""


class _Common(TypedDict):
    client_mutation_id: str | None
    version: int | None


def _v(i: AgencyTransitionInput) -> _Common:
    return {"client_mutation_id": i.client_mutation_id, "version": i.version}


def _pk(i: AgencyTransitionInput) -> int:
    return id_of(i.agency_request_id, "AgencyRequest")


@strawberry.type
class AgencyMutations:
    @strawberry.mutation(description="An enterprise asks a service point to handle a procedure.")
    async def submit_agency_request(
        self, info: Info, input: SubmitAgencyRequestInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.submit_agency_request(
                a,
                enterprise_id=id_of(input.enterprise_id, "Enterprise"),
                procedure_id=id_of(input.procedure_id, "Procedure"),
                description=input.description,
                attachment_ids=_files(input.attachment_ids),
                client_mutation_id=input.client_mutation_id,
            ),
        )

    @strawberry.mutation(description="受理 (agent), or 容缺受理 with missing materials.")
    async def accept_agency_request(
        self, info: Info, input: AcceptAgencyRequestInput
    ) -> AgencyRequestPayload:
        missing = [
            ops.MissingMaterial(m.name, m.promised_by) for m in input.missing_materials or []
        ]
        return await _run(
            info,
            lambda a: ops.accept_agency_request(
                a, _pk(input), missing_materials=missing, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="补正 (agent): ask for materials; the clock stops.")
    async def request_materials(
        self, info: Info, input: RequestMaterialsInput
    ) -> AgencyRequestPayload:
        asked = [ops.RequestedMaterial(m.name, m.note) for m in input.materials]
        return await _run(
            info,
            lambda a: ops.request_materials(
                a, _pk(input), materials=asked, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(
        description="The enterprise supplies materials: resumes a 补正 pause, or hands over "
        "owed 容缺 materials."
    )
    async def supply_materials(
        self, info: Info, input: SupplyMaterialsInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.supply_materials(
                a,
                _pk(input),
                attachment_ids=_files(input.attachment_ids),
                note=input.note,
                materials=input.materials or [],
                **_v(input),
            ),
        )

    @strawberry.mutation(description="办理中 (agent): the file goes to the department.")
    async def start_handling(self, info: Info, input: AgencyNoteInput) -> AgencyRequestPayload:
        return await _run(
            info, lambda a: ops.start_handling(a, _pk(input), note=input.note, **_v(input))
        )

    @strawberry.mutation(description="办结 (agent) with the result, certificate and documents.")
    async def complete_agency_request(
        self, info: Info, input: CompleteAgencyRequestInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.complete_agency_request(
                a,
                _pk(input),
                result_text=input.result_text,
                certificate_number=input.certificate_number,
                attachment_ids=_files(input.attachment_ids),
                **_v(input),
            ),
        )

    @strawberry.mutation(description="不予受理 (agent), with the reason.")
    async def reject_agency_request(
        self, info: Info, input: AgencyReasonInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.reject_agency_request(a, _pk(input), reason=input.reason, **_v(input)),
        )

    @strawberry.mutation(description="撤销 (enterprise) before completion.")
    async def cancel_agency_request(
        self, info: Info, input: AgencyReasonInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.cancel_agency_request(a, _pk(input), reason=input.reason, **_v(input)),
        )

    @strawberry.mutation(description="好差评 (enterprise), once; a bad rating opens 整改.")
    async def rate_agency_request(
        self, info: Info, input: RateAgencyRequestInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.rate_agency_request(
                a, _pk(input), rating=input.rating.value, comment=input.comment, **_v(input)
            ),
        )

    @strawberry.mutation(description="Hand the request to another agent of the point.")
    async def assign_agent(self, info: Info, input: AssignAgentInput) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.assign_agent(
                a,
                _pk(input),
                agent_id=id_of(input.agent_id, "User"),
                note=input.note,
                **_v(input),
            ),
        )

    @strawberry.mutation(description="整改 (agent): record what was put right after a bad rating.")
    async def record_agency_rectification(
        self, info: Info, input: AgencyNoteInput
    ) -> AgencyRequestPayload:
        return await _run(
            info,
            lambda a: ops.record_agency_rectification(a, _pk(input), note=input.note, **_v(input)),
        )
