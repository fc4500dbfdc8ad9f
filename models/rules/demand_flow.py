"""Who may perform which transition on a demand, in which state (docs/design.md section 5.2).

Pure: the operations check a transition with `check_action` before writing, and the API's
`allowedActions` lists exactly the transitions that check would let through, so the app's
buttons and the server's refusals can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.errors import DomainError
from models.rules.demand_states import (
    BAD_RATINGS,
    OPEN_STATES,
    DemandAction,
    DemandState,
    PendingKind,
    RequestDecision,
    Satisfaction,
)

MAX_ESCALATION_LEVEL = 3

S = DemandState
A = DemandAction


@dataclass(frozen=True, slots=True)
class Relation:
    """How the acting user stands to one demand (each from a role grant or a link)."""

    dispatcher: bool = False  # DISPATCHER grant covering the demand's region
    handler: bool = False  # HANDLER of the lead department
    department_lead: bool = False  # the lead department's leader (lead HANDLER grant)
    supervisor: bool = False  # SUPERVISOR grant covering the demand's region
    contact: bool = False  # a contact person of the demand's enterprise
    submitter: bool = False  # the user who submitted it


@dataclass(frozen=True, slots=True)
class Facts:
    """What the rules read of a demand, plus the time-based checks computed by the caller."""

    state: DemandState
    pending: PendingKind | None = None
    rating: Satisfaction | None = None
    appeal: RequestDecision | None = None
    escalation_level: int = 0
    return_window_open: bool = True
    extension_allowed: bool = True  # before the deadline and under the cap


@dataclass(frozen=True, slots=True)
class Rule:
    who: Callable[[Relation], bool]
    states: frozenset[DemandState]
    # Extra condition and the code refusing it when false.
    condition: Callable[[Facts], bool] | None = None
    refusal_code: str = "INVALID_STATE"


def _dispatcher(r: Relation) -> bool:
    return r.dispatcher


def _handler(r: Relation) -> bool:
    return r.handler


def _lead(r: Relation) -> bool:
    return r.department_lead


def _supervisor(r: Relation) -> bool:
    return r.supervisor


def _contact(r: Relation) -> bool:
    return r.contact


def _submitter(r: Relation) -> bool:
    return r.submitter


def _no_pending(f: Facts) -> bool:
    return f.pending is None


def _pending(kind: PendingKind) -> Callable[[Facts], bool]:
    return lambda f: f.pending is kind


def _all(*checks: Callable[[Facts], bool]) -> Callable[[Facts], bool]:
    return lambda f: all(c(f) for c in checks)


_HANDLING = frozenset({S.DISPATCHED, S.IN_PROGRESS})
_WITHDRAWABLE = frozenset(
    {
        S.DRAFT,
        S.SUBMITTED,
        S.DISPATCHED,
        S.IN_PROGRESS,
        S.PENDING_APPROVAL,
        S.PENDING_REVIEW,
        S.PENDING_VISIT,
        S.SUSPENDED,
    }
)
_RATED_STATES = frozenset(S) - {S.DRAFT, S.SUBMITTED, S.REJECTED, S.WITHDRAWN, S.MERGED}

RULES: dict[DemandAction, Rule] = {
    A.SUBMIT: Rule(_submitter, frozenset({S.DRAFT})),
    A.REJECT: Rule(_dispatcher, frozenset({S.SUBMITTED})),
    A.ANSWER_DIRECTLY: Rule(_dispatcher, frozenset({S.SUBMITTED})),
    A.MERGE: Rule(_dispatcher, frozenset({S.SUBMITTED})),
    A.DISPATCH: Rule(_dispatcher, frozenset({S.SUBMITTED})),
    A.CLAIM: Rule(_handler, frozenset({S.DISPATCHED}), _no_pending, "PENDING_REQUEST"),
    A.RETURN: Rule(
        _handler,
        _HANDLING,
        _all(_no_pending, lambda f: f.return_window_open),
        "RETURN_NOT_ALLOWED",
    ),
    A.DECIDE_RETURN: Rule(
        _dispatcher, _HANDLING, _pending(PendingKind.RETURN), "NO_PENDING_REQUEST"
    ),
    A.REQUEST_EXTENSION: Rule(
        _handler,
        frozenset({S.IN_PROGRESS}),
        _all(_no_pending, lambda f: f.extension_allowed),
        "EXTENSION_NOT_ALLOWED",
    ),
    A.DECIDE_EXTENSION: Rule(
        _dispatcher,
        frozenset({S.IN_PROGRESS}),
        _pending(PendingKind.EXTENSION),
        "NO_PENDING_REQUEST",
    ),
    A.SUSPEND: Rule(_handler, frozenset({S.IN_PROGRESS}), _no_pending, "PENDING_REQUEST"),
    A.DECIDE_SUSPENSION: Rule(
        _dispatcher,
        frozenset({S.IN_PROGRESS}),
        _pending(PendingKind.SUSPENSION),
        "NO_PENDING_REQUEST",
    ),
    A.RESUME: Rule(lambda r: r.handler or r.contact, frozenset({S.SUSPENDED})),
    A.REPLY: Rule(_handler, frozenset({S.IN_PROGRESS}), _no_pending, "PENDING_REQUEST"),
    A.APPROVE_REPLY: Rule(_lead, frozenset({S.PENDING_APPROVAL})),
    A.REVIEW_REPLY: Rule(_dispatcher, frozenset({S.PENDING_REVIEW})),
    A.RECORD_RETURN_VISIT: Rule(_dispatcher, frozenset({S.PENDING_VISIT})),
    A.RATE: Rule(_contact, frozenset({S.PENDING_VISIT})),
    A.ESCALATE: Rule(
        _supervisor,
        OPEN_STATES - {S.SUBMITTED},  # escalation goes to the department's leader
        lambda f: f.escalation_level < MAX_ESCALATION_LEVEL,
        "ESCALATION_AT_MAXIMUM",
    ),
    A.WITHDRAW: Rule(_contact, _WITHDRAWABLE),
    A.APPEAL_RATING: Rule(
        lambda r: r.handler,
        _RATED_STATES,
        lambda f: f.rating in BAD_RATINGS and f.appeal is None,
        "APPEAL_NOT_ALLOWED",
    ),
    A.DECIDE_APPEAL: Rule(
        _supervisor,
        _RATED_STATES,
        lambda f: f.appeal is RequestDecision.PENDING,
        "NO_PENDING_REQUEST",
    ),
}


def refusal(action: DemandAction, facts: Facts, rel: Relation) -> DomainError | None:
    """Why `action` is refused now, or None when it is allowed. Role first: someone without
    the role never learns more than FORBIDDEN."""
    rule = RULES[action]
    if not rule.who(rel):
        return DomainError("FORBIDDEN")
    if facts.state not in rule.states:
        return DomainError("INVALID_STATE", state=facts.state.value, action=action.value)
    if rule.condition is not None and not rule.condition(facts):
        return DomainError(rule.refusal_code, action=action.value)
    return None


def check_action(action: DemandAction, facts: Facts, rel: Relation) -> None:
    err = refusal(action, facts, rel)
    if err is not None:
        raise err


def allowed_actions(facts: Facts, rel: Relation) -> list[DemandAction]:
    return [a for a in RULES if refusal(a, facts, rel) is None]
