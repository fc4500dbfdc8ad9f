"""Access-matrix probes of the demand loop's mutations (docs/design.md section 5),
dispatchDemand aside (tests/access_probes_core.py).

Each cell sends one mutation on a demand of its county ("in": 清河县, "out": 东岭县) in the
state where the operation is valid for the role that may do it, so that every other column's
refusal is about role and scope, not state. Such a demand is built through the real operations
(models.ops.demands) by the county's own people, as tests/test_demand_matrix.py's `Maker` does;
the refused cells share one (`AccessContext.reusable`), and a cell that changed it (its version
moved) makes the next cell build another.

None of these cells needs a demand past its deadline or its return window: every demand is
dispatched now with 5 working days, so the return window (2 working days from dispatch) and
the deadline are still ahead whatever day the matrix runs.

`verify` of a cell answered `ok` checks that the demand moved one version, is in the state
the table of docs/design.md section 5.2 names, that its last timeline event is this action by
the column's user, and the columns the action sets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from models.ops import demands as ops
from models.rules.actor import Actor
from models.rules.demand_states import (
    DemandAction,
    DemandState,
    PendingKind,
    RequestDecision,
    Satisfaction,
)
from models.tables.demands import Demand, DemandEvent
from tests.access_world import AccessContext, Call, gid, probe

A = DemandAction
S = DemandState

Maker = Callable[[AccessContext, str], Awaitable[Demand]]
Verify = Callable[[], Awaitable[None]]

# The columns that may raise a demand for the county's enterprise: its contact, the cadre of
# its town and the county's dispatcher (a 12345 hotline call).
AUTHORS = ("enterprise", "cadre", "dispatcher")


# --- demands in each state, made by the county's own people ---------------------------------


def _actor(ctx: AccessContext, obj: str, column: str) -> Actor:
    return ctx.county(obj).people[column]


async def _submitted(ctx: AccessContext, obj: str) -> Demand:
    return await ctx.fresh_demand(obj)


async def _dispatched(ctx: AccessContext, obj: str) -> Demand:
    return await ctx.dispatched_demand(obj)


async def _in_progress(ctx: AccessContext, obj: str) -> Demand:
    return await ctx.claimed_demand(obj)


async def _return_asked(ctx: AccessContext, obj: str) -> Demand:
    d = await ctx.dispatched_demand(obj)
    return await ops.return_demand(_actor(ctx, obj, "handler"), d.id, reason="不属于本部门职责")


async def _extension_asked(ctx: AccessContext, obj: str) -> Demand:
    d = await ctx.claimed_demand(obj)
    return await ops.request_extension(
        _actor(ctx, obj, "handler"), d.id, days=3, reason="需要补充测绘"
    )


async def _suspension_asked(ctx: AccessContext, obj: str) -> Demand:
    d = await ctx.claimed_demand(obj)
    return await ops.suspend_demand(_actor(ctx, obj, "handler"), d.id, reason="等待企业补充材料")


async def _suspended(ctx: AccessContext, obj: str) -> Demand:
    d = await _suspension_asked(ctx, obj)
    return await ops.decide_suspension(_actor(ctx, obj, "dispatcher"), d.id, approve=True)


async def _replied(ctx: AccessContext, obj: str) -> Demand:
    """PENDING_APPROVAL: the default region policy asks for the leader's sign-off."""
    d = await ctx.claimed_demand(obj)
    return await ops.reply_demand(
        _actor(ctx, obj, "handler"), d.id, outcome="RESOLVED", text_="已完成用地审批。"
    )


async def _approved(ctx: AccessContext, obj: str) -> Demand:
    d = await _replied(ctx, obj)
    return await ops.approve_reply(_actor(ctx, obj, "lead"), d.id, approve=True)


async def _reviewed(ctx: AccessContext, obj: str) -> Demand:
    d = await _approved(ctx, obj)
    return await ops.review_reply(_actor(ctx, obj, "dispatcher"), d.id, passed=True)


async def _reopened(ctx: AccessContext, obj: str) -> Demand:
    """Rated DISSATISFIED by the enterprise: back IN_PROGRESS with a rectification."""
    d = await _reviewed(ctx, obj)
    return await ops.rate_demand(
        _actor(ctx, obj, "enterprise"), d.id, rating="DISSATISFIED", comment="问题没有解决"
    )


async def _appealed(ctx: AccessContext, obj: str) -> Demand:
    d = await _reopened(ctx, obj)
    return await ops.appeal_rating(_actor(ctx, obj, "handler"), d.id, reason="诉求超出政策范围")


SHAPES: dict[str, Maker] = {
    "submitted": _submitted,
    "dispatched": _dispatched,
    "in progress": _in_progress,
    "return asked": _return_asked,
    "extension asked": _extension_asked,
    "suspension asked": _suspension_asked,
    "suspended": _suspended,
    "pending approval": _replied,
    "pending review": _approved,
    "pending visit": _reviewed,
    "reopened": _reopened,
    "appealed": _appealed,
}


async def _unchanged(d: Demand) -> bool:
    return await Demand.filter(id=d.id, version=d.version).exists()


async def _demand(ctx: AccessContext, shape: str, obj: str) -> Demand:
    """A demand of this shape in the row's county, shared until a cell changes it."""
    return await ctx.reusable(
        f"demand loop: {shape} ({obj})", lambda: SHAPES[shape](ctx, obj), _unchanged
    )


# --- calls and checks -----------------------------------------------------------------------


def _user_id(ctx: AccessContext, column: str) -> int | None:
    user = ctx.home.people.users.get(column)
    return user.id if user else None


def _changed(
    ctx: AccessContext,
    column: str,
    d: Demand,
    action: DemandAction,
    state: DemandState,
    **columns: Any,
) -> Verify:
    """The demand moved one version to `state` by this column's `action`, with `columns`."""

    async def verify() -> None:
        row = await Demand.get(id=d.id)
        assert row.version == d.version + 1, f"version {d.version} → {row.version}"
        assert row.state == state, f"state {row.state}, want {state}"
        event = await DemandEvent.get(id=row.last_event_id)  # type: ignore[attr-defined]
        assert event.action == action, f"last event {event.action}"
        actor_id = event.actor_id  # type: ignore[attr-defined]
        assert actor_id == _user_id(ctx, column), f"event by user {actor_id}"
        for name, want in columns.items():
            got = getattr(row, name)
            assert got == want, f"{name} {got!r}, want {want!r}"

    return verify


def _transition(
    operation: str, input_type: str, d: Demand, fields: dict[str, Any], verify: Verify
) -> Call:
    return Call(
        f"""mutation($input: {input_type}!) {{ {operation}(input: $input) {{
             demand {{ id state }} errors {{ code field message }} }} }}""",
        {"input": {"demandId": gid("Demand", d.id), **fields}},
        verify=verify,
    )


# --- submission -----------------------------------------------------------------------------


@probe("submitDemand")
async def submit_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """For the county's enterprise ("out": a competitor of the `enterprise` user)."""
    enterprise = ctx.county(obj).enterprise
    title = f"厂区道路破损影响货车通行（{column}，{obj}）"

    async def submitted() -> None:
        row = await Demand.get_or_none(title=title, enterprise_id=enterprise.id)
        assert row is not None, "no demand"
        assert row.state == S.SUBMITTED, f"state {row.state}"
        author = row.submitted_by_id  # type: ignore[attr-defined]
        assert author == _user_id(ctx, column), f"submitted by user {author}"

    return Call(
        """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
             demand { id state } errors { code field message } } }""",
        {
            "input": {
                "enterpriseId": gid("Enterprise", enterprise.id),
                "title": title,
                "description": "厂区门前道路破损，请协调修复。",
                "categoryId": gid("DemandCategory", ctx.category.id),
            }
        },
        verify=submitted,
    )


async def _draft(ctx: AccessContext, obj: str, author: str) -> Demand:
    county = ctx.county(obj)
    data = ops.DemandData(
        enterprise_id=county.enterprise.id,
        title="走访中企业反映用电增容难",
        description="企业需要增容到 800kVA，供电所未答复。",
        category_id=ctx.category.id,
        draft=True,
    )
    return await ops.submit_demand(county.people[author], data)


@probe("submitDraftDemand")
async def submit_draft_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """A draft is its author's own: "in" is the column user's own draft where the user may
    raise a demand for the enterprise (AUTHORS), else the enterprise contact's; "out" is the
    draft of 东岭县's enterprise contact."""
    author = column if obj == "in" and column in AUTHORS else "enterprise"
    d = await ctx.reusable(
        f"demand loop: {author}'s draft ({obj})", lambda: _draft(ctx, obj, author), _unchanged
    )
    verify = _changed(ctx, column, d, A.SUBMIT, S.SUBMITTED)
    return _transition("submitDraftDemand", "TransitionInput", d, {}, verify)


# --- the dispatcher's acceptance ------------------------------------------------------------


@probe("rejectDemand")
async def reject_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "submitted", obj)
    verify = _changed(ctx, column, d, A.REJECT, S.REJECTED, reject_reason="NOT_IN_SCOPE")
    fields = {"reason": "NOT_IN_SCOPE", "note": "不属于受理范围"}
    return _transition("rejectDemand", "RejectDemandInput", d, fields, verify)


@probe("answerDemandDirectly")
async def answer_demand_directly(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "submitted", obj)
    answer = "该政策咨询已电话答复。"
    verify = _changed(ctx, column, d, A.ANSWER_DIRECTLY, S.PENDING_VISIT, reply_text=answer)
    return _transition(
        "answerDemandDirectly", "AnswerDemandDirectlyInput", d, {"answer": answer}, verify
    )


@probe("mergeDemand")
async def merge_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """Into another open demand of the same county, made for this probe."""
    d = await _demand(ctx, "submitted", obj)
    into = await ctx.once(f"demand loop: merge target ({obj})", lambda: ctx.fresh_demand(obj))
    verify = _changed(ctx, column, d, A.MERGE, S.MERGED, merged_into_id=into.id)
    fields = {"intoId": gid("Demand", into.id), "note": "重复诉求"}
    return _transition("mergeDemand", "MergeDemandInput", d, fields, verify)


# --- the department's handling --------------------------------------------------------------


@probe("claimDemand")
async def claim_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "dispatched", obj)
    verify = _changed(ctx, column, d, A.CLAIM, S.IN_PROGRESS, handler_id=_user_id(ctx, column))
    return _transition("claimDemand", "TransitionInput", d, {}, verify)


@probe("returnDemand")
async def return_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """Dispatched today: inside the return window."""
    d = await _demand(ctx, "dispatched", obj)
    verify = _changed(ctx, column, d, A.RETURN, S.DISPATCHED, pending=PendingKind.RETURN)
    return _transition("returnDemand", "ReasonInput", d, {"reason": "不属于本部门职责"}, verify)


@probe("decideReturn")
async def decide_return(ctx: AccessContext, column: str, obj: str) -> Call:
    """Approved: back to SUBMITTED for re-dispatch."""
    d = await _demand(ctx, "return asked", obj)
    verify = _changed(
        ctx, column, d, A.DECIDE_RETURN, S.SUBMITTED, pending=None, department_id=None
    )
    return _transition("decideReturn", "DecisionInput", d, {"approve": True}, verify)


@probe("requestExtension")
async def request_extension(ctx: AccessContext, column: str, obj: str) -> Call:
    """Claimed today with 5 working days: before the deadline, under the cap."""
    d = await _demand(ctx, "in progress", obj)
    verify = _changed(
        ctx, column, d, A.REQUEST_EXTENSION, S.IN_PROGRESS, pending=PendingKind.EXTENSION
    )
    fields = {"days": 3, "reason": "需要补充测绘"}
    return _transition("requestExtension", "RequestExtensionInput", d, fields, verify)


@probe("decideExtension")
async def decide_extension(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "extension asked", obj)
    verify = _changed(
        ctx, column, d, A.DECIDE_EXTENSION, S.IN_PROGRESS, pending=None, extension_days=3
    )
    return _transition("decideExtension", "DecisionInput", d, {"approve": True}, verify)


@probe("suspendDemand")
async def suspend_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "in progress", obj)
    verify = _changed(ctx, column, d, A.SUSPEND, S.IN_PROGRESS, pending=PendingKind.SUSPENSION)
    return _transition("suspendDemand", "ReasonInput", d, {"reason": "等待企业补充材料"}, verify)


@probe("decideSuspension")
async def decide_suspension(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "suspension asked", obj)
    verify = _changed(ctx, column, d, A.DECIDE_SUSPENSION, S.SUSPENDED, pending=None)
    return _transition("decideSuspension", "DecisionInput", d, {"approve": True}, verify)


@probe("resumeDemand")
async def resume_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "suspended", obj)
    verify = _changed(ctx, column, d, A.RESUME, S.IN_PROGRESS, suspended_at=None)
    return _transition("resumeDemand", "NoteInput", d, {"note": "材料已补齐"}, verify)


@probe("replyDemand")
async def reply_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """To the leader's sign-off (the default region policy)."""
    d = await _demand(ctx, "in progress", obj)
    text = "已协调完成道路修复。"
    verify = _changed(ctx, column, d, A.REPLY, S.PENDING_APPROVAL, reply_text=text)
    fields = {"outcome": "RESOLVED", "text": text}
    return _transition("replyDemand", "ReplyDemandInput", d, fields, verify)


@probe("approveReply")
async def approve_reply(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "pending approval", obj)
    verify = _changed(ctx, column, d, A.APPROVE_REPLY, S.PENDING_REVIEW)
    return _transition("approveReply", "DecisionInput", d, {"approve": True}, verify)


# --- review, return visit and rating --------------------------------------------------------


@probe("reviewReply")
async def review_reply(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "pending review", obj)
    verify = _changed(ctx, column, d, A.REVIEW_REPLY, S.PENDING_VISIT)
    return _transition("reviewReply", "ReviewReplyInput", d, {"passed": True}, verify)


@probe("recordReturnVisit")
async def record_return_visit(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "pending visit", obj)
    verify = _changed(
        ctx, column, d, A.RECORD_RETURN_VISIT, S.CLOSED, rating=Satisfaction.SATISFIED
    )
    fields = {"reached": True, "rating": "SATISFIED", "note": "电话回访，企业满意"}
    return _transition("recordReturnVisit", "RecordReturnVisitInput", d, fields, verify)


@probe("rateDemand")
async def rate_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "pending visit", obj)
    verify = _changed(ctx, column, d, A.RATE, S.CLOSED, rating=Satisfaction.VERY_SATISFIED)
    return _transition("rateDemand", "RateDemandInput", d, {"rating": "VERY_SATISFIED"}, verify)


# --- supervision, withdrawal and appeals ----------------------------------------------------


@probe("escalateDemand")
async def escalate_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """An IN_PROGRESS demand (not overdue: a supervisor may escalate any open one)."""
    d = await _demand(ctx, "in progress", obj)
    verify = _changed(ctx, column, d, A.ESCALATE, S.IN_PROGRESS, escalation_level=1)
    return _transition("escalateDemand", "EscalateDemandInput", d, {"note": "请加快办理"}, verify)


@probe("withdrawDemand")
async def withdraw_demand(ctx: AccessContext, column: str, obj: str) -> Call:
    """A dispatched one: open, and seen by its department's handlers too."""
    d = await _demand(ctx, "dispatched", obj)
    verify = _changed(ctx, column, d, A.WITHDRAW, S.WITHDRAWN)
    return _transition("withdrawDemand", "WithdrawDemandInput", d, {"reason": "已自行解决"}, verify)


@probe("appealRating")
async def appeal_rating(ctx: AccessContext, column: str, obj: str) -> Call:
    d = await _demand(ctx, "reopened", obj)
    verify = _changed(
        ctx, column, d, A.APPEAL_RATING, S.IN_PROGRESS, appeal=RequestDecision.PENDING
    )
    return _transition("appealRating", "ReasonInput", d, {"reason": "诉求超出政策范围"}, verify)


@probe("decideAppeal")
async def decide_appeal(ctx: AccessContext, column: str, obj: str) -> Call:
    """Upheld: the rating leaves the rankings and the reopened demand closes again."""
    d = await _demand(ctx, "appealed", obj)
    verify = _changed(
        ctx,
        column,
        d,
        A.DECIDE_APPEAL,
        S.CLOSED,
        appeal=RequestDecision.APPROVED,
        rating_excluded=True,
    )
    fields = {"uphold": True, "note": "诉求确属政策范围外"}
    return _transition("decideAppeal", "DecideAppealInput", d, fields, verify)
