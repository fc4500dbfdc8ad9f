"""The demand lifecycle matrix: every transition of docs/design.md section 5, on the real
database.

For each operation:
  (a) its role succeeds from each valid state, and the demand's state and last timeline event
      are what docs/design.md section 5 says;
  (b) every other actor of the world is refused: FORBIDDEN when it can see the demand,
      NOT_FOUND when it cannot (nobody learns a demand they may not see exists);
  (c) its role is refused in every wrong state with INVALID_STATE or the rule's specific code;
and a refusal writes nothing (timeline, requests, receipts and the demand's version unchanged).

The expectations below are written from docs/design.md section 5, not read from `RULES`, so the
rule table is checked rather than restated. The cases where the models once disagreed with the
design (found by this file, then fixed) are kept in DISAGREEMENTS with their own regression
test.

Speed: the world (argon2 password hashes) and a catalog of demands in every state are built
once for the module; refusals leave the catalog untouched (each test asserts it), and the
successful transitions run on fresh demands built by the test that needs them."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields
from datetime import date, timedelta
from typing import Any

import pytest

from models.access import system_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops.policy import invalidate_policy_cache, set_region_policy
from models.ops.work_calendar import invalidate_calendar_cache
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.rules.demand_flow import (
    RULES,
    Facts,
    Relation,
    action_state,
    action_states,
    allowed_actions,
    check_action,
)
from models.rules.demand_states import (
    DemandAction,
    DemandState,
    PendingKind,
    RectificationState,
    RequestDecision,
    Satisfaction,
)
from models.tables.demands import Demand, DemandEvent, DemandRequest, MutationReceipt
from tests.conftest import truncate_all
from tests.demand_world import ACTORS, DemandWorld, build_demand_world

S = DemandState
A = DemandAction
P = PendingKind

# Every transition happens at NOW (a Tuesday with a published calendar); the "late" demands
# were dispatched at LATE, so at NOW they are past their deadline and their return window.
NOW = shanghai(2025, 11, 4, 10)
LATE = shanghai(2025, 10, 9, 10)

HANDLERS = frozenset({"handler", "handler2", "lead"})  # the lead is a handler of the bureau too


# --------------------------------------------------------------------------- the catalog


@dataclass(frozen=True)
class Shape:
    """What a prepared demand looks like, as far as the rules of docs/design.md section 5 are
    concerned."""

    state: DemandState
    pending: PendingKind | None = None
    bad_rating: bool = False
    rating: Satisfaction | None = None
    appeal: RequestDecision | None = None
    late: bool = False  # past its deadline and its return window
    escalation: int = 0
    assisted: bool = False  # the other bureau assists (协办), so its handler sees it
    claimed: bool = False  # a handler has claimed it

    @property
    def dispatched(self) -> bool:
        """Has a lead department, whose handlers therefore see it."""
        return self.state not in {S.DRAFT, S.SUBMITTED, S.REJECTED, S.MERGED}


_BAD = Satisfaction.DISSATISFIED

# One demand per state and per variant the decisions need; all submitted by the contact.
CATALOG: dict[str, Shape] = {
    "draft": Shape(S.DRAFT),
    "submitted": Shape(S.SUBMITTED),
    "dispatched": Shape(S.DISPATCHED),
    "dispatched_return": Shape(S.DISPATCHED, pending=P.RETURN),
    "late_dispatched": Shape(S.DISPATCHED, late=True),
    "in_progress": Shape(S.IN_PROGRESS, claimed=True),
    "assisted": Shape(S.IN_PROGRESS, assisted=True, claimed=True),
    "ip_extension": Shape(S.IN_PROGRESS, pending=P.EXTENSION, claimed=True),
    "ip_suspension": Shape(S.IN_PROGRESS, pending=P.SUSPENSION, claimed=True),
    "ip_return": Shape(S.IN_PROGRESS, pending=P.RETURN, claimed=True),
    "late_in_progress": Shape(S.IN_PROGRESS, late=True, claimed=True),
    "pending_approval": Shape(S.PENDING_APPROVAL, claimed=True),
    "pending_review": Shape(S.PENDING_REVIEW, claimed=True),
    "pending_visit": Shape(S.PENDING_VISIT, claimed=True),
    "closed": Shape(S.CLOSED, rating=Satisfaction.SATISFIED, claimed=True),
    "rejected": Shape(S.REJECTED),
    "withdrawn": Shape(S.WITHDRAWN, claimed=True),  # withdrawn while in progress
    "merged": Shape(S.MERGED),
    "suspended": Shape(S.SUSPENDED, claimed=True),
    "reopened": Shape(S.IN_PROGRESS, bad_rating=True, rating=_BAD, claimed=True),
    "appealed": Shape(
        S.IN_PROGRESS, bad_rating=True, rating=_BAD, appeal=RequestDecision.PENDING, claimed=True
    ),
    "appeal_refused": Shape(
        S.IN_PROGRESS, bad_rating=True, rating=_BAD, appeal=RequestDecision.REFUSED, claimed=True
    ),
    "escalated_max": Shape(S.IN_PROGRESS, escalation=3, claimed=True),
}


class Maker:
    """Builds a demand of a given key (a CATALOG key or an extra one) through the operations."""

    def __init__(self, w: DemandWorld) -> None:
        self.w = w

    async def make(self, key: str) -> Demand:
        return await getattr(self, key)()

    # -- the enterprise's contact submits
    async def draft(self) -> Demand:
        return await self.w.submit(draft=True)

    async def submitted(self) -> Demand:
        return await self.w.submit()

    async def dispatched(self) -> Demand:
        d = await self.submitted()
        return await ops.dispatch_demand(
            self.w.dispatcher, d.id, department_id=self.w.bureau.id, limit_days=5
        )

    async def dispatched_return(self) -> Demand:
        d = await self.dispatched()
        return await ops.return_demand(self.w.handler, d.id, reason="不属于本部门职责")

    async def late_dispatched(self) -> Demand:
        with acting_at(LATE):
            return await self.dispatched()

    async def in_progress(self) -> Demand:
        d = await self.dispatched()
        return await ops.claim_demand(self.w.handler, d.id)

    async def assisted(self) -> Demand:
        d = await self.submitted()
        d = await ops.dispatch_demand(
            self.w.dispatcher,
            d.id,
            department_id=self.w.bureau.id,
            assisting_department_ids=[self.w.other_bureau.id],
            limit_days=5,
        )
        return await ops.claim_demand(self.w.handler, d.id)

    async def ip_extension(self) -> Demand:
        d = await self.in_progress()
        return await ops.request_extension(self.w.handler, d.id, days=3, reason="需要补充测绘")

    async def ip_suspension(self) -> Demand:
        d = await self.in_progress()
        return await ops.suspend_demand(self.w.handler, d.id, reason="等待企业补充材料")

    async def ip_return(self) -> Demand:
        d = await self.in_progress()
        return await ops.return_demand(self.w.handler, d.id, reason="不属于本部门职责")

    async def late_in_progress(self) -> Demand:
        with acting_at(LATE):
            return await self.in_progress()

    async def pending_approval(self) -> Demand:
        d = await self.in_progress()
        return await ops.reply_demand(
            self.w.handler, d.id, outcome="RESOLVED", text_="已完成用地审批。"
        )

    async def pending_review(self) -> Demand:
        d = await self.pending_approval()
        return await ops.approve_reply(self.w.lead, d.id, approve=True)

    async def pending_visit(self) -> Demand:
        d = await self.pending_review()
        return await ops.review_reply(self.w.dispatcher, d.id, passed=True)

    async def closed(self) -> Demand:
        d = await self.pending_visit()
        return await ops.rate_demand(self.w.contact, d.id, rating="SATISFIED")

    async def rejected(self) -> Demand:
        d = await self.submitted()
        return await ops.reject_demand(
            self.w.dispatcher, d.id, reason="NOT_IN_SCOPE", note="不属于受理范围"
        )

    async def withdrawn(self) -> Demand:
        d = await self.in_progress()
        return await ops.withdraw_demand(self.w.contact, d.id, reason="已自行解决")

    async def merged(self) -> Demand:
        target = await self.submitted()
        d = await self.submitted()
        return await ops.merge_demand(self.w.dispatcher, d.id, into_id=target.id, note="重复诉求")

    async def suspended(self) -> Demand:
        d = await self.ip_suspension()
        return await ops.decide_suspension(self.w.dispatcher, d.id, approve=True)

    async def reopened(self) -> Demand:
        d = await self.pending_visit()
        return await ops.rate_demand(self.w.contact, d.id, rating="DISSATISFIED", comment="没解决")

    async def appealed(self) -> Demand:
        d = await self.reopened()
        return await ops.appeal_rating(self.w.handler, d.id, reason="超出政策范围")

    async def appeal_refused(self) -> Demand:
        d = await self.appealed()
        return await ops.decide_appeal(self.w.supervisor, d.id, uphold=False, note="申诉不成立")

    async def escalated_max(self) -> Demand:
        d = await self.in_progress()
        return await ops.escalate_demand(self.w.supervisor, d.id, level=3, note="县领导督办")

    # -- raised by the cadre (during a visit): the cadre is the submitter, not a contact
    def _cadre_data(self, *, draft: bool) -> ops.DemandData:
        return ops.DemandData(
            enterprise_id=self.w.base.ent_a1.id,
            title="走访中企业反映用电增容难",
            description="企业需要增容到 800kVA，供电所未答复。",
            category_id=self.w.category.id,
            draft=draft,
        )

    async def cadre_draft(self) -> Demand:
        return await ops.submit_demand(self.w.cadre, self._cadre_data(draft=True))

    async def cadre_submitted(self) -> Demand:
        return await ops.submit_demand(self.w.cadre, self._cadre_data(draft=False))

    async def cadre_pending_visit(self) -> Demand:
        w = self.w
        d = await self.cadre_submitted()
        d = await ops.dispatch_demand(w.dispatcher, d.id, department_id=w.bureau.id, limit_days=5)
        d = await ops.claim_demand(w.handler, d.id)
        d = await ops.reply_demand(w.handler, d.id, outcome="RESOLVED", text_="已协调供电所。")
        d = await ops.approve_reply(w.lead, d.id, approve=True)
        return await ops.review_reply(w.dispatcher, d.id, passed=True)


@dataclass
class Env:
    w: DemandWorld
    maker: Maker
    ids: dict[str, int]

    def actor(self, name: str) -> Actor:
        return getattr(self.w, name)


@pytest.fixture(scope="module")
async def env(_database: str) -> Env:
    """One world and one demand per CATALOG entry for the whole module (read-only for tests)."""
    await truncate_all()
    invalidate_calendar_cache()
    invalidate_policy_cache()
    with acting_at(NOW):
        w = await build_demand_world()
        maker = Maker(w)
        ids = {key: (await maker.make(key)).id for key in CATALOG}
    return Env(w, maker, ids)


# --------------------------------------------------------------------------- visibility


def sees(actor: str, shape: Shape) -> bool:
    """docs/design.md section 2.2: staff see their region's demands, a department its own (and
    those it assists), an enterprise user only their enterprise's; a draft only its author (the
    contact, in this world)."""
    if shape.state is S.DRAFT:
        return actor == "contact"
    if actor in {"dispatcher", "supervisor", "cadre", "contact"}:
        return True  # county-wide grants, a town_a cadre, and the contact of ent_a1
    if actor in HANDLERS:
        return shape.dispatched
    if actor == "other_handler":
        return shape.assisted
    return False  # the outsider: contact of another enterprise


# --------------------------------------------------------------------------- expectations
# Each returns None when the operation's role may act on a demand of this shape, else the
# refusal code the table of docs/design.md section 5.2 implies.

Expect = Callable[[Shape], "str | None"]
_FINAL = {S.CLOSED, S.REJECTED, S.WITHDRAWN, S.MERGED}
_RATED = set(S) - {S.DRAFT, S.SUBMITTED, S.REJECTED, S.WITHDRAWN, S.MERGED}
_WITHDRAWABLE = {  # docs/design.md section 5.2: a draft or any open state
    S.DRAFT,
    S.SUBMITTED,
    S.DISPATCHED,
    S.IN_PROGRESS,
    S.PENDING_APPROVAL,
    S.PENDING_REVIEW,
    S.PENDING_VISIT,
    S.SUSPENDED,
}


def in_state(*states: DemandState) -> Expect:
    return lambda s: None if s.state in states else "INVALID_STATE"


def expect_claim(s: Shape) -> str | None:
    if s.state is S.DISPATCHED:
        return "PENDING_REQUEST" if s.pending else None
    if s.state is S.IN_PROGRESS and s.claimed:
        # A colleague claimed it first: the loser of that race is told CONFLICT (section 3:
        # "two people acting at once cannot both succeed ... the loser gets a clear error").
        return "CONFLICT"
    return "INVALID_STATE"


def expect_return(s: Shape) -> str | None:
    if s.state not in {S.DISPATCHED, S.IN_PROGRESS}:
        return "INVALID_STATE"
    if s.pending:
        return "PENDING_REQUEST"
    return "RETURN_WINDOW_CLOSED" if s.late else None


def decision_on(kind: PendingKind, *states: DemandState) -> Expect:
    def expect(s: Shape) -> str | None:
        if s.state not in states:
            return "INVALID_STATE"
        return None if s.pending is kind else "NO_PENDING_REQUEST"

    return expect


def expect_request_extension(s: Shape) -> str | None:
    if s.state is not S.IN_PROGRESS:
        return "INVALID_STATE"
    if s.pending:
        return "PENDING_REQUEST"
    return "EXTENSION_PAST_DEADLINE" if s.late else None


def in_progress_without_pending(s: Shape) -> str | None:
    if s.state is not S.IN_PROGRESS:
        return "INVALID_STATE"
    return "PENDING_REQUEST" if s.pending else None


def expect_escalate(s: Shape) -> str | None:
    # Escalation notifies the department's leader: not before a department has it.
    if s.state in _FINAL or s.state in (S.DRAFT, S.SUBMITTED):
        return "INVALID_STATE"
    return "ESCALATION_AT_MAXIMUM" if s.escalation >= 3 else None


def expect_withdraw(s: Shape) -> str | None:
    return None if s.state in _WITHDRAWABLE else "INVALID_STATE"


def expect_appeal(s: Shape) -> str | None:
    if s.state not in _RATED:
        return "INVALID_STATE"
    if not s.bad_rating:
        return "NO_BAD_RATING"
    return "ALREADY_APPEALED" if s.appeal is not None else None


def expect_decide_appeal(s: Shape) -> str | None:
    if s.state not in _RATED:
        return "INVALID_STATE"
    return None if s.appeal is RequestDecision.PENDING else "NO_PENDING_REQUEST"


# --------------------------------------------------------------------------- operations

Call = Callable[[Env, Actor, int], Awaitable[Demand]]
Check = Callable[[Demand, Actor, Env], bool]


@dataclass(frozen=True)
class Success:
    actor: str
    key: str  # the fresh demand it starts from (a Maker key)
    to_state: DemandState
    call: Call | None = None  # another variant of the call (refuse, fail, rate badly ...)
    check: Check | None = None  # more that must hold of the demand afterwards
    label: str = ""


@dataclass(frozen=True)
class Op:
    name: str
    action: DemandAction
    call: Call  # a valid call: used for the refusals and the default success
    allowed: frozenset[str]
    expect: Expect
    successes: tuple[Success, ...] = field(default_factory=tuple)


def _into(env: Env, demand_id: int | None = None) -> int:
    """An open demand in the same county (a valid merge target), never the demand itself."""
    target = env.ids["in_progress"]
    return env.ids["dispatched"] if demand_id == target else target


async def _reply_without_signoff(env: Env, actor: Actor, demand_id: int) -> Demand:
    """Where region policy needs no leader's sign-off the reply goes straight to review."""
    town = env.w.base.town_a.id
    await set_region_policy(system_actor(), town, {"require_reply_approval": False})
    try:
        return await ops.reply_demand(actor, demand_id, outcome="PARTIAL", text_="部分解决。")
    finally:
        await set_region_policy(system_actor(), town, {})


def _handler_is(d: Demand, actor: Actor, env: Env) -> bool:
    return d.handler_id == actor.user_id  # type: ignore[attr-defined]


def _pending(kind: PendingKind | None) -> Check:
    return lambda d, actor, env: d.pending is kind


def each(actors: frozenset[str], key: str, to_state: DemandState, **kw: Any) -> tuple[Success, ...]:
    return tuple(Success(a, key, to_state, **kw) for a in sorted(actors))


_DISPATCHER = frozenset({"dispatcher"})
_CONTACT = frozenset({"contact"})
_SUPERVISOR = frozenset({"supervisor"})

OPS: tuple[Op, ...] = (
    Op(
        "submit_draft",
        A.SUBMIT,
        lambda env, a, i: ops.submit_draft(a, i),
        _CONTACT,
        in_state(S.DRAFT),
        (
            Success("contact", "draft", S.SUBMITTED),
            # docs/design.md section 5.2: a draft is submitted by its author, a cadre too.
            Success("cadre", "cadre_draft", S.SUBMITTED, label="the cadre's own draft"),
        ),
    ),
    Op(
        "reject_demand",
        A.REJECT,
        lambda env, a, i: ops.reject_demand(a, i, reason="NOT_IN_SCOPE", note="不属于受理范围"),
        _DISPATCHER,
        in_state(S.SUBMITTED),
        (
            Success(
                "dispatcher",
                "submitted",
                S.REJECTED,
                check=lambda d, a, e: d.reject_reason == "NOT_IN_SCOPE",
            ),
        ),
    ),
    Op(
        "answer_directly",
        A.ANSWER_DIRECTLY,
        lambda env, a, i: ops.answer_directly(a, i, answer="该政策咨询已电话答复。"),
        _DISPATCHER,
        in_state(S.SUBMITTED),
        # A consultation answered by the office still goes to the enterprise's rating.
        (Success("dispatcher", "submitted", S.PENDING_VISIT),),
    ),
    Op(
        "merge_demand",
        A.MERGE,
        lambda env, a, i: ops.merge_demand(a, i, into_id=_into(env, i), note="重复诉求"),
        _DISPATCHER,
        in_state(S.SUBMITTED),
        (
            Success(
                "dispatcher",
                "submitted",
                S.MERGED,
                check=lambda d, a, e: d.merged_into_id == _into(e),  # type: ignore[attr-defined]
            ),
        ),
    ),
    Op(
        "dispatch_demand",
        A.DISPATCH,
        lambda env, a, i: ops.dispatch_demand(a, i, department_id=env.w.bureau.id, limit_days=5),
        _DISPATCHER,
        in_state(S.SUBMITTED),
        (
            Success(
                "dispatcher",
                "submitted",
                S.DISPATCHED,
                check=lambda d, a, e: (
                    d.department_id == e.w.bureau.id  # type: ignore[attr-defined]
                    and d.deadline is not None
                ),
            ),
        ),
    ),
    Op(
        "claim_demand",
        A.CLAIM,
        lambda env, a, i: ops.claim_demand(a, i),
        HANDLERS,
        expect_claim,
        (
            *each(HANDLERS, "dispatched", S.IN_PROGRESS, check=_handler_is),
            Success("handler", "late_dispatched", S.IN_PROGRESS, label="overdue"),
        ),
    ),
    Op(
        "return_demand",
        A.RETURN,
        lambda env, a, i: ops.return_demand(a, i, reason="不属于本部门职责"),
        HANDLERS,
        expect_return,
        (
            Success("handler", "dispatched", S.DISPATCHED, check=_pending(P.RETURN)),
            Success("lead", "dispatched", S.DISPATCHED, check=_pending(P.RETURN)),
            Success("handler2", "in_progress", S.IN_PROGRESS, check=_pending(P.RETURN)),
        ),
    ),
    Op(
        "decide_return",
        A.DECIDE_RETURN,
        lambda env, a, i: ops.decide_return(a, i, approve=True),
        _DISPATCHER,
        decision_on(P.RETURN, S.DISPATCHED, S.IN_PROGRESS),
        (
            # Approved: back to SUBMITTED for re-dispatch.
            Success(
                "dispatcher",
                "dispatched_return",
                S.SUBMITTED,
                check=lambda d, a, e: d.department_id is None and d.pending is None,  # type: ignore[attr-defined]
                label="approve",
            ),
            Success(
                "dispatcher",
                "ip_return",
                S.SUBMITTED,
                check=lambda d, a, e: d.return_count == 1,
                label="approve while in progress",
            ),
            # Refused: the department keeps it.
            Success(
                "dispatcher",
                "ip_return",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.decide_return(a, i, approve=False, note="属于本部门"),
                check=_pending(None),
                label="refuse",
            ),
        ),
    ),
    Op(
        "request_extension",
        A.REQUEST_EXTENSION,
        lambda env, a, i: ops.request_extension(a, i, days=3, reason="需要补充测绘"),
        HANDLERS,
        expect_request_extension,
        each(HANDLERS, "in_progress", S.IN_PROGRESS, check=_pending(P.EXTENSION)),
    ),
    Op(
        "decide_extension",
        A.DECIDE_EXTENSION,
        lambda env, a, i: ops.decide_extension(a, i, approve=True),
        _DISPATCHER,
        decision_on(P.EXTENSION, S.IN_PROGRESS),
        (
            Success(
                "dispatcher",
                "ip_extension",
                S.IN_PROGRESS,
                check=lambda d, a, e: d.pending is None and d.extension_days == 3,
                label="approve",
            ),
            Success(
                "dispatcher",
                "ip_extension",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.decide_extension(a, i, approve=False, note="不予延期"),
                check=lambda d, a, e: d.pending is None and d.extension_days == 0,
                label="refuse",
            ),
        ),
    ),
    Op(
        "suspend_demand",
        A.SUSPEND,
        lambda env, a, i: ops.suspend_demand(a, i, reason="等待企业补充材料"),
        HANDLERS,
        in_progress_without_pending,
        # The handler asks; the state changes only when the dispatcher approves.
        each(HANDLERS, "in_progress", S.IN_PROGRESS, check=_pending(P.SUSPENSION)),
    ),
    Op(
        "decide_suspension",
        A.DECIDE_SUSPENSION,
        lambda env, a, i: ops.decide_suspension(a, i, approve=True),
        _DISPATCHER,
        decision_on(P.SUSPENSION, S.IN_PROGRESS),
        (
            Success(
                "dispatcher",
                "ip_suspension",
                S.SUSPENDED,
                check=lambda d, a, e: d.pending is None and d.suspended_at is not None,
                label="approve",
            ),
            Success(
                "dispatcher",
                "ip_suspension",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.decide_suspension(a, i, approve=False, note="不予中止"),
                check=_pending(None),
                label="refuse",
            ),
        ),
    ),
    Op(
        "resume_demand",
        A.RESUME,
        lambda env, a, i: ops.resume_demand(a, i, note="材料已补齐"),
        HANDLERS | _CONTACT,  # docs/design.md section 5.2: the handler or the contact
        in_state(S.SUSPENDED),
        each(
            HANDLERS | _CONTACT,
            "suspended",
            S.IN_PROGRESS,
            check=lambda d, a, e: d.suspended_at is None,
        ),
    ),
    Op(
        "reply_demand",
        A.REPLY,
        lambda env, a, i: ops.reply_demand(a, i, outcome="RESOLVED", text_="已办结。"),
        HANDLERS,
        in_progress_without_pending,
        (
            *each(HANDLERS, "in_progress", S.PENDING_APPROVAL),
            Success(
                "handler",
                "in_progress",
                S.PENDING_REVIEW,
                call=_reply_without_signoff,
                label="policy without sign-off",
            ),
            Success(
                "handler",
                "reopened",
                S.PENDING_APPROVAL,
                check=lambda d, a, e: d.rectification_state is RectificationState.DONE,
                label="rectification after a bad rating",
            ),
        ),
    ),
    Op(
        "approve_reply",
        A.APPROVE_REPLY,
        lambda env, a, i: ops.approve_reply(a, i, approve=True),
        frozenset({"lead"}),
        in_state(S.PENDING_APPROVAL),
        (
            Success("lead", "pending_approval", S.PENDING_REVIEW, label="approve"),
            Success(
                "lead",
                "pending_approval",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.approve_reply(a, i, approve=False, note="证据不足"),
                label="send back",
            ),
        ),
    ),
    Op(
        "review_reply",
        A.REVIEW_REPLY,
        lambda env, a, i: ops.review_reply(a, i, passed=True),
        _DISPATCHER,
        in_state(S.PENDING_REVIEW),
        (
            Success("dispatcher", "pending_review", S.PENDING_VISIT, label="pass"),
            Success(
                "dispatcher",
                "pending_review",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.review_reply(a, i, passed=False, note="答复不实"),
                label="fail (重办)",
            ),
        ),
    ),
    Op(
        "record_return_visit",
        A.RECORD_RETURN_VISIT,
        lambda env, a, i: ops.record_return_visit(a, i, reached=True, rating="SATISFIED"),
        _DISPATCHER,
        in_state(S.PENDING_VISIT),
        (
            Success(
                "dispatcher",
                "pending_visit",
                S.CLOSED,
                check=lambda d, a, e: d.closure == "SATISFIED",
                label="satisfied",
            ),
            Success(
                "dispatcher",
                "pending_visit",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.record_return_visit(
                    a, i, reached=True, rating="VERY_DISSATISFIED"
                ),
                check=lambda d, a, e: d.reopen_count == 1,
                label="dissatisfied reopens",
            ),
            Success(
                "dispatcher",
                "pending_visit",
                S.PENDING_VISIT,
                call=lambda env, a, i: ops.record_return_visit(a, i, reached=False, note="未接通"),
                check=lambda d, a, e: d.contact_attempts == 1,
                label="unreached",
            ),
        ),
    ),
    Op(
        "rate_demand",
        A.RATE,
        lambda env, a, i: ops.rate_demand(a, i, rating="SATISFIED"),
        _CONTACT,
        in_state(S.PENDING_VISIT),
        (
            Success("contact", "pending_visit", S.CLOSED, label="satisfied"),
            Success("contact", "cadre_pending_visit", S.CLOSED, label="demand raised by a cadre"),
            Success(
                "contact",
                "pending_visit",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.rate_demand(a, i, rating="DISSATISFIED"),
                check=lambda d, a, e: (
                    d.reopen_count == 1 and d.rectification_state is RectificationState.OPEN
                ),
                label="bad rating reopens",
            ),
        ),
    ),
    Op(
        "escalate_demand",
        A.ESCALATE,
        lambda env, a, i: ops.escalate_demand(a, i, note="请加快办理"),
        _SUPERVISOR,
        expect_escalate,
        tuple(
            Success(
                "supervisor",
                key,
                CATALOG[key].state,
                check=lambda d, a, e: d.escalation_level == 1,
            )
            for key in (
                "dispatched",
                "in_progress",
                "pending_approval",
                "pending_review",
                "pending_visit",
                "suspended",
            )
        ),
    ),
    Op(
        "withdraw_demand",
        A.WITHDRAW,
        lambda env, a, i: ops.withdraw_demand(a, i, reason="已自行解决"),
        _CONTACT,
        expect_withdraw,
        tuple(
            Success("contact", key, S.WITHDRAWN, check=_pending(None))
            for key in (
                "draft",
                "submitted",
                "dispatched",
                "in_progress",
                "ip_extension",
                "pending_approval",
                "pending_review",
                "suspended",
            )
        ),
    ),
    Op(
        "appeal_rating",
        A.APPEAL_RATING,
        lambda env, a, i: ops.appeal_rating(a, i, reason="超出政策范围"),
        HANDLERS,
        expect_appeal,
        each(
            HANDLERS,
            "reopened",
            S.IN_PROGRESS,
            check=lambda d, a, e: d.appeal is RequestDecision.PENDING,
        ),
    ),
    Op(
        "decide_appeal",
        A.DECIDE_APPEAL,
        lambda env, a, i: ops.decide_appeal(a, i, uphold=True, note="申诉成立"),
        _SUPERVISOR,
        expect_decide_appeal,
        (
            Success(
                "supervisor",
                "appealed",
                S.CLOSED,  # the redo the unfair rating forced is moot
                check=lambda d, a, e: (
                    d.appeal is RequestDecision.APPROVED
                    and d.rating_excluded
                    and d.rectification_state is RectificationState.WAIVED
                ),
                label="uphold",
            ),
            Success(
                "supervisor",
                "appealed",
                S.IN_PROGRESS,
                call=lambda env, a, i: ops.decide_appeal(a, i, uphold=False, note="申诉不成立"),
                check=lambda d, a, e: d.appeal is RequestDecision.REFUSED and not d.rating_excluded,
                label="refuse",
            ),
        ),
    ),
)
OPS_BY_NAME = {op.name: op for op in OPS}


# --------------------------------------------------------------------------- disagreements


@dataclass(frozen=True)
class Disagreement:
    """A case where the models once did not do what docs/design.md section 5 says (now fixed)."""

    op: str
    actor: str
    key: str  # a Maker key: the test builds a fresh demand, so a wrong success harms nothing
    design: str | None  # what docs/design.md implies: None = allowed, else the refusal code
    why: str


_CLAIM_CONFLICT = (
    "a refused CLAIM on a demand that has a handler is reported as CONFLICT "
    "(demand_runner._stale) even in states no race explains; docs/design.md section 5.7: "
    "a refusal names its cause, CONFLICT only for a lost race (INVALID_STATE here)"
)

DISAGREEMENTS: tuple[Disagreement, ...] = (
    Disagreement(
        "resume_demand",
        "dispatcher",
        "suspended",
        "FORBIDDEN",
        "docs/design.md section 5.2: resumed by the handler or the enterprise's contact; "
        "RULES[RESUME] also lets the dispatcher resume",
    ),
    Disagreement(
        "withdraw_demand",
        "contact",
        "pending_visit",
        None,
        "docs/design.md section 5.2: withdrawn by the enterprise from any open state; "
        "PENDING_VISIT is open "
        "(OPEN_STATES) but RULES[WITHDRAW] refuses it with INVALID_STATE",
    ),
    Disagreement(
        "withdraw_demand",
        "cadre",
        "cadre_submitted",
        "FORBIDDEN",
        "docs/design.md section 5.2: withdrawn by the enterprise's contact alone; "
        "RULES[WITHDRAW] lets any submitter "
        "(a cadre who raised it during a visit) withdraw",
    ),
    Disagreement(
        "rate_demand",
        "cadre",
        "cadre_pending_visit",
        "FORBIDDEN",
        "docs/design.md section 5.2: rated by the enterprise's contact or on the office's "
        "return visit; "
        "RULES[RATE] lets any submitter (a cadre) rate the result",
    ),
    *(
        Disagreement("claim_demand", "handler", key, "INVALID_STATE", _CLAIM_CONFLICT)
        for key in (
            "pending_approval",
            "pending_review",
            "pending_visit",
            "closed",
            "withdrawn",
            "suspended",
        )
    ),
)


def disagrees(op: Op, actor: str, key: str) -> bool:
    """Is this case one of DISAGREEMENTS (then the matrix leaves it to that test)? A
    disagreement about the operation's role in a state covers every actor of that role."""
    for d in DISAGREEMENTS:
        if d.op != op.name or d.key != key:
            continue
        if d.actor == actor or (d.actor in op.allowed and actor in op.allowed):
            return True
    return False


# --------------------------------------------------------------------------- helpers


async def footprint(demand_id: int) -> tuple[Any, ...]:
    """Everything a transition writes: timeline, requests, receipts and the demand's row."""
    row = await Demand.get(id=demand_id).values("version", "state", "pending", "last_event_id")
    return (
        await DemandEvent.all().count(),
        await DemandRequest.all().count(),
        await MutationReceipt.all().count(),
        row,
    )


async def attempt(call: Call, env: Env, actor: Actor, demand_id: int) -> str | None:
    """The refusal code, or None when the call went through."""
    try:
        await call(env, actor, demand_id)
    except DomainError as err:
        return err.code
    return None


async def refused_cleanly(
    op: Op, env: Env, actor_name: str, key: str, expected: str, problems: list[str]
) -> None:
    demand_id = env.ids[key]
    before = await footprint(demand_id)
    got = await attempt(op.call, env, env.actor(actor_name), demand_id)
    after = await footprint(demand_id)
    where = f"{op.name} by {actor_name} on {key} ({CATALOG[key].state.value})"
    if got != expected:
        problems.append(f"{where}: expected {expected}, got {got or 'success'}")
    if after != before:
        problems.append(f"{where}: a refusal wrote something: {before} -> {after}")
        # Replace the spoilt demand so the failure stays with this operation's test.
        env.ids[key] = (await env.maker.make(key)).id


# --------------------------------------------------------------------------- the matrix

OP_PARAMS = [pytest.param(op, id=op.name) for op in OPS]


async def test_catalog_has_the_shapes_it_claims(env: Env) -> None:
    """The prepared demands are what the matrix assumes they are."""
    problems = []
    for key, shape in CATALOG.items():
        d = await Demand.get(id=env.ids[key])
        seen = (d.state, d.pending, d.rating, d.appeal, d.escalation_level)
        want = (shape.state, shape.pending, shape.rating, shape.appeal, shape.escalation)
        if seen != want:
            problems.append(f"{key}: {seen} != {want}")
        if shape.dispatched != (d.department_id is not None):  # type: ignore[attr-defined]
            problems.append(f"{key}: department {d.department_id}")  # type: ignore[attr-defined]
        if shape.claimed != (d.handler_id is not None):  # type: ignore[attr-defined]
            problems.append(f"{key}: handler {d.handler_id}")  # type: ignore[attr-defined]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", OP_PARAMS)
async def test_allowed_role_succeeds(env: Env, op: Op) -> None:
    """(a) From each valid state the role's call goes through, writes exactly one timeline
    event (action, actor, from → to) and leaves the demand in the state docs/design.md section
    5.2 names."""
    assert op.successes, op.name
    problems: list[str] = []
    with acting_at(NOW):
        for case in op.successes:
            actor = env.actor(case.actor)
            d = await env.maker.make(case.key)
            before_events = await DemandEvent.filter(demand_id=d.id).count()
            where = f"{op.name} by {case.actor} from {case.key}" + (
                f" [{case.label}]" if case.label else ""
            )
            try:
                await (case.call or op.call)(env, actor, d.id)
            except DomainError as err:
                problems.append(f"{where}: refused with {err.code} {err.problems}")
                continue
            after = await Demand.get(id=d.id)
            events = await DemandEvent.filter(demand_id=d.id).order_by("id")
            last = events[-1]
            if after.state is not case.to_state:
                problems.append(f"{where}: state {after.state}, expected {case.to_state}")
            if len(events) != before_events + 1:
                problems.append(f"{where}: {len(events) - before_events} events written")
            if after.last_event_id != last.id:  # type: ignore[attr-defined]
                problems.append(f"{where}: last_event_id is not the new event")
            got = (last.action, last.actor_id, last.from_state, last.to_state)  # type: ignore[attr-defined]
            want = (op.action, actor.user_id, d.state, case.to_state)
            if got != want:
                problems.append(f"{where}: event {got}, expected {want}")
            if after.version != d.version + 1:
                problems.append(f"{where}: version {d.version} -> {after.version}")
            if case.check is not None and not case.check(after, actor, env):
                problems.append(f"{where}: the demand afterwards is not as expected")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", OP_PARAMS)
async def test_other_actors_are_refused(env: Env, op: Op) -> None:
    """(b) In every state where the role may act, everyone else is refused: FORBIDDEN when
    they can see the demand, NOT_FOUND when they cannot; nothing is written."""
    problems: list[str] = []
    valid = [k for k, shape in CATALOG.items() if op.expect(shape) is None]
    assert valid, f"{op.name}: no catalog demand in a valid state"
    with acting_at(NOW):
        for key in valid:
            for name in ACTORS:
                if name in op.allowed or disagrees(op, name, key):
                    continue
                code = "FORBIDDEN" if sees(name, CATALOG[key]) else "NOT_FOUND"
                await refused_cleanly(op, env, name, key, code, problems)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("op", OP_PARAMS)
async def test_wrong_states_are_refused(env: Env, op: Op) -> None:
    """(c) The role itself, in every other state, gets INVALID_STATE or the rule's own code
    (NOT_FOUND where it cannot see the demand at all); nothing is written."""
    problems: list[str] = []
    wrong = {k: op.expect(shape) for k, shape in CATALOG.items() if op.expect(shape) is not None}
    assert wrong, f"{op.name}: no catalog demand in a wrong state"
    with acting_at(NOW):
        for key, code in wrong.items():
            for name in sorted(op.allowed):
                if disagrees(op, name, key):
                    continue
                expected = code if sees(name, CATALOG[key]) else "NOT_FOUND"
                await refused_cleanly(op, env, name, key, expected, problems)
    assert not problems, "\n".join(problems)


def test_every_action_has_an_operation_and_a_rule() -> None:
    assert {op.action for op in OPS} == set(DemandAction) == set(RULES)
    assert len(OPS) == len(DemandAction)


# --------------------------------------------------------------------------- disagreements


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            d,
            id=f"{d.op}-{d.actor}-{d.key}",
        )
        for d in DISAGREEMENTS
    ],
)
async def test_design_disagreement(env: Env, case: Disagreement) -> None:
    """What docs/design.md section 5 says, where the models once did otherwise (see
    DISAGREEMENTS)."""
    op = OPS_BY_NAME[case.op]
    with acting_at(NOW):
        d = await env.maker.make(case.key)
        before = await footprint(d.id)
        got = await attempt(op.call, env, env.actor(case.actor), d.id)
        after = await footprint(d.id)
    assert got == case.design, f"expected {case.design or 'success'}, got {got or 'success'}"
    if case.design is not None:
        assert after == before, "a refusal wrote something"


# --------------------------------------------------------------------------- pure rules


def _relations() -> list[Relation]:
    return [
        Relation(*flags) for flags in itertools.product((False, True), repeat=len(fields(Relation)))
    ]


WINDOW_END = date(2025, 12, 9)  # a return window's or a deadline's last day


def _facts(state: DemandState) -> list[Facts]:
    """The facts that change a rule's answer, alone and in the combinations that occur."""
    bad = Satisfaction.DISSATISFIED
    variants = [
        Facts(state),
        *(Facts(state, pending=kind) for kind in PendingKind),
        Facts(state, rating=Satisfaction.SATISFIED),
        Facts(state, rating=bad),
        Facts(state, rating=bad, appeal=RequestDecision.PENDING),
        Facts(state, rating=bad, appeal=RequestDecision.REFUSED),
        Facts(state, rating=bad, appeal=RequestDecision.APPROVED),
        Facts(state, escalation_level=2),
        Facts(state, escalation_level=3),
        Facts(state, return_until=None),
        Facts(state, today=WINDOW_END + timedelta(days=1), return_until=WINDOW_END),
        Facts(state, today=WINDOW_END, return_until=WINDOW_END, deadline=WINDOW_END),
        Facts(state, today=WINDOW_END + timedelta(days=1), deadline=WINDOW_END),
        Facts(state, deadline=None),
        Facts(state, extension_left=0),
        Facts(state, pending=PendingKind.RETURN, return_until=None),
        Facts(state, return_until=None, deadline=None, extension_left=0, escalation_level=3),
    ]
    return variants


@pytest.mark.parametrize("state", list(DemandState), ids=lambda s: s.value)
def test_allowed_actions_agree_with_check_action(state: DemandState) -> None:
    """The app's buttons (allowedActions) and the server's refusals never disagree."""
    for facts in _facts(state):
        for rel in _relations():
            listed = allowed_actions(facts, rel)
            assert len(listed) == len(set(listed)), (facts, rel, listed)
            for action in DemandAction:
                try:
                    check_action(action, facts, rel)
                    ok = True
                except DomainError:
                    ok = False
                assert ok == (action in listed), (action, facts, rel, listed)


@pytest.mark.parametrize("state", list(DemandState), ids=lambda s: s.value)
def test_the_action_states_are_the_refusals_of_check_action(state: DemandState) -> None:
    """`actions` lists every action of the viewer's roles, and each one's reason is the very
    error (code, field, parameters) the operation raises when called anyway."""
    for facts in _facts(state):
        for rel in _relations():
            states = action_states(facts, rel)
            assert [s.action for s in states] == [a.value for a in RULES if RULES[a].who(rel)]
            for action in DemandAction:
                judged = action_state(action, facts, rel)
                try:
                    check_action(action, facts, rel)
                    raised = None
                except DomainError as err:
                    raised = err.problems
                shown = None if judged.error() is None else judged.error().problems  # type: ignore[union-attr]
                assert shown == raised, (action, facts, rel)
                assert judged.allowed == (raised is None)
