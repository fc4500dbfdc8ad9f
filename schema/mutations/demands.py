"""Demand mutations: each parses its input, calls one operation, and maps the result or the
refusal to `{demand errors}`. Every input takes a client-made `clientMutationId`, so a retried
call is applied once, and the `version` the client read, so a lost race is a CONFLICT."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypedDict

import strawberry
from strawberry.types import Info

from models.ops import demands as ops
from models.rules.actor import Actor
from models.tables.demands import Demand as DemandModel
from schema.demand_reads import get_demand
from schema.errors import UserError, attempt
from schema.relay import id_of, pk_of
from schema.types.demands import (
    Demand,
    DemandSource,
    RejectReason,
    ReplyOutcome,
    Satisfaction,
    Urgency,
)


@strawberry.type
class DemandPayload:
    demand: Demand | None
    errors: list[UserError]


async def _run(info: Info, op: Callable[[Actor], Awaitable[DemandModel]]) -> DemandPayload:
    ctx = info.context

    async def run() -> Demand | None:
        actor = ctx.require_actor()
        changed = await op(actor)
        return await get_demand(actor, changed.id)

    demand, errors = await attempt(ctx.locale, run)
    return DemandPayload(demand=demand, errors=errors)


def _files(ids: list[strawberry.ID] | None) -> list[int]:
    return [id_of(i, "Attachment") for i in ids or []]


CLIENT_ID = "A client-made id (UUID): a retry with the same id is applied once."


@strawberry.input
class TransitionInput:
    demand_id: strawberry.ID
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_ID)
    version: int | None = strawberry.field(
        default=None, description="The demand's version you read; if it changed: CONFLICT."
    )


@strawberry.input
class NoteInput(TransitionInput):
    note: str = ""


@strawberry.input
class DecisionInput(TransitionInput):
    approve: bool
    note: str = strawberry.field(default="", description="Required when refusing.")


@strawberry.input
class SubmitDemandInput:
    enterprise_id: strawberry.ID
    title: str
    description: str
    category_id: strawberry.ID | None = None
    urgency: Urgency | None = None
    source: DemandSource | None = strawberry.field(
        default=None, description="Defaults by role: APP, VISIT, HOTLINE_12345, SERVICE_POINT."
    )
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Files uploaded with POST /uploads."
    )
    draft: bool = strawberry.field(default=False, description="Keep as a DRAFT, not submitted.")
    client_mutation_id: str | None = strawberry.field(default=None, description=CLIENT_ID)


@strawberry.input
class RejectDemandInput(TransitionInput):
    reason: RejectReason
    note: str = strawberry.field(default="", description="Required for reason OTHER.")


@strawberry.input
class AnswerDemandDirectlyInput(TransitionInput):
    answer: str
    attachment_ids: list[strawberry.ID] | None = None


@strawberry.input
class MergeDemandInput(TransitionInput):
    into_id: strawberry.ID = strawberry.field(description="The demand this one duplicates.")
    note: str = ""


@strawberry.input
class DispatchDemandInput(TransitionInput):
    department_id: strawberry.ID = strawberry.field(description="The lead department (主办).")
    assisting_department_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Assisting departments (协办)."
    )
    category_id: strawberry.ID | None = None
    urgency: Urgency | None = None
    limit_days: int | None = strawberry.field(
        default=None, description="Working days; default from the category and urgency."
    )
    note: str = ""


@strawberry.input
class ReasonInput(TransitionInput):
    reason: str


@strawberry.input
class RequestExtensionInput(TransitionInput):
    days: int = strawberry.field(description="Working days asked for.")
    reason: str


@strawberry.input
class ReplyDemandInput(TransitionInput):
    outcome: ReplyOutcome
    text: str
    attachment_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Evidence files uploaded with POST /uploads."
    )


@strawberry.input
class ReviewReplyInput(TransitionInput):
    passed: bool = strawberry.field(description="False sends it back to the department (重办).")
    note: str = ""


@strawberry.input
class RecordReturnVisitInput(TransitionInput):
    reached: bool = strawberry.field(description="Was the enterprise reached?")
    rating: Satisfaction | None = strawberry.field(
        default=None, description="The enterprise's rating, when reached."
    )
    note: str = ""


@strawberry.input
class RateDemandInput(TransitionInput):
    rating: Satisfaction
    comment: str = ""


@strawberry.input
class EscalateDemandInput(TransitionInput):
    level: int | None = strawberry.field(default=None, description="1..3; default one up.")
    note: str


@strawberry.input
class WithdrawDemandInput(TransitionInput):
    reason: str = ""


@strawberry.input
class DecideAppealInput(TransitionInput):
    uphold: bool
    note: str


def _pk(i: TransitionInput) -> int:
    return id_of(i.demand_id, "Demand")


class _Common(TypedDict):
    client_id: str | None
    version: int | None


def _v(i: TransitionInput) -> _Common:
    return {"client_id": i.client_mutation_id, "version": i.version}


@strawberry.type
class DemandMutations:
    @strawberry.mutation(description="Raise a demand for an enterprise (诉求提交).")
    async def submit_demand(self, info: Info, input: SubmitDemandInput) -> DemandPayload:
        async def run() -> Demand | None:
            actor = info.context.require_actor()
            done = await ops.submit(
                actor,
                ops.DemandData(
                    enterprise_id=id_of(input.enterprise_id, "Enterprise"),
                    title=input.title,
                    description=input.description,
                    category_id=pk_of(input.category_id, "DemandCategory"),
                    urgency=input.urgency.value if input.urgency else None,
                    source=input.source.value if input.source else None,
                    attachment_ids=_files(input.attachment_ids),
                    draft=input.draft,
                ),
                client_id=input.client_mutation_id,
            )
            # The submit knows whether the actor is the enterprise's contact: not asked again.
            return await get_demand(actor, done.demand.id, contact_of=done.contact_of)

        demand, errors = await attempt(info.context.locale, run)
        return DemandPayload(demand=demand, errors=errors)

    @strawberry.mutation(description="Submit a DRAFT.")
    async def submit_draft_demand(self, info: Info, input: TransitionInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.submit_draft(a, _pk(input), client_id=input.client_mutation_id)
        )

    @strawberry.mutation(description="不予受理 (dispatcher), with a reason from the list.")
    async def reject_demand(self, info: Info, input: RejectDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.reject_demand(
                a, _pk(input), reason=input.reason.value, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="直接办结: a consultation the office answers (dispatcher).")
    async def answer_demand_directly(
        self, info: Info, input: AnswerDemandDirectlyInput
    ) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.answer_directly(
                a,
                _pk(input),
                answer=input.answer,
                attachment_ids=_files(input.attachment_ids),
                **_v(input),
            ),
        )

    @strawberry.mutation(description="Merge a duplicate into another open demand (dispatcher).")
    async def merge_demand(self, info: Info, input: MergeDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.merge_demand(
                a, _pk(input), into_id=id_of(input.into_id, "Demand"), note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="派单 to a lead department and optional assisting ones.")
    async def dispatch_demand(self, info: Info, input: DispatchDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.dispatch_demand(
                a,
                _pk(input),
                department_id=id_of(input.department_id, "Department"),
                assisting_department_ids=[
                    id_of(d, "Department") for d in input.assisting_department_ids or []
                ],
                category_id=pk_of(input.category_id, "DemandCategory"),
                urgency=input.urgency.value if input.urgency else None,
                limit_days=input.limit_days,
                note=input.note,
                **_v(input),
            ),
        )

    @strawberry.mutation(description="签收 (a handler of the lead department).")
    async def claim_demand(self, info: Info, input: TransitionInput) -> DemandPayload:
        return await _run(info, lambda a: ops.claim_demand(a, _pk(input), **_v(input)))

    @strawberry.mutation(description="退单: within the region's return window, with a reason.")
    async def return_demand(self, info: Info, input: ReasonInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.return_demand(a, _pk(input), reason=input.reason, **_v(input))
        )

    @strawberry.mutation(description="Approve (back for re-dispatch) or refuse a return.")
    async def decide_return(self, info: Info, input: DecisionInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.decide_return(
                a, _pk(input), approve=input.approve, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="延期: before the deadline, within the region's cap.")
    async def request_extension(self, info: Info, input: RequestExtensionInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.request_extension(
                a, _pk(input), days=input.days, reason=input.reason, **_v(input)
            ),
        )

    @strawberry.mutation(description="Approve or refuse an extension (dispatcher).")
    async def decide_extension(self, info: Info, input: DecisionInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.decide_extension(
                a, _pk(input), approve=input.approve, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="中止: the handler asks to stop the clock.")
    async def suspend_demand(self, info: Info, input: ReasonInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.suspend_demand(a, _pk(input), reason=input.reason, **_v(input))
        )

    @strawberry.mutation(description="Approve or refuse a suspension (dispatcher).")
    async def decide_suspension(self, info: Info, input: DecisionInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.decide_suspension(
                a, _pk(input), approve=input.approve, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="Restart the clock (the handler or the enterprise).")
    async def resume_demand(self, info: Info, input: NoteInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.resume_demand(a, _pk(input), note=input.note, **_v(input))
        )

    @strawberry.mutation(description="答复 with the outcome, text and evidence.")
    async def reply_demand(self, info: Info, input: ReplyDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.reply_demand(
                a,
                _pk(input),
                outcome=input.outcome.value,
                text_=input.text,
                attachment_ids=_files(input.attachment_ids),
                **_v(input),
            ),
        )

    @strawberry.mutation(description="The department leader signs the reply off or sends it back.")
    async def approve_reply(self, info: Info, input: DecisionInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.approve_reply(
                a, _pk(input), approve=input.approve, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="The office's check: pass to return visit, or redo (重办).")
    async def review_reply(self, info: Info, input: ReviewReplyInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.review_reply(
                a, _pk(input), passed=input.passed, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="回访: record a call to the enterprise (dispatcher).")
    async def record_return_visit(self, info: Info, input: RecordReturnVisitInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.record_return_visit(
                a,
                _pk(input),
                reached=input.reached,
                rating=input.rating.value if input.rating else None,
                note=input.note,
                **_v(input),
            ),
        )

    @strawberry.mutation(description="好差评: the enterprise rates the result in the app.")
    async def rate_demand(self, info: Info, input: RateDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.rate_demand(
                a, _pk(input), rating=input.rating.value, comment=input.comment, **_v(input)
            ),
        )

    @strawberry.mutation(description="督办 (supervisor), level 1 to 3.")
    async def escalate_demand(self, info: Info, input: EscalateDemandInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.escalate_demand(
                a, _pk(input), level=input.level, note=input.note, **_v(input)
            ),
        )

    @strawberry.mutation(description="撤回 by the enterprise while the demand is open.")
    async def withdraw_demand(self, info: Info, input: WithdrawDemandInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.withdraw_demand(a, _pk(input), reason=input.reason, **_v(input))
        )

    @strawberry.mutation(description="申诉 of a bad rating by the department; once.")
    async def appeal_rating(self, info: Info, input: ReasonInput) -> DemandPayload:
        return await _run(
            info, lambda a: ops.appeal_rating(a, _pk(input), reason=input.reason, **_v(input))
        )

    @strawberry.mutation(description="Uphold or refuse an appeal (supervisor).")
    async def decide_appeal(self, info: Info, input: DecideAppealInput) -> DemandPayload:
        return await _run(
            info,
            lambda a: ops.decide_appeal(
                a, _pk(input), uphold=input.uphold, note=input.note, **_v(input)
            ),
        )
