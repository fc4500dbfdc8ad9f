"""Who may perform which transition on a demand, in which state (docs/design.md section 5.2).

Pure: `action_state` judges one action for one viewer (allowed, or the refusal with its code,
field and the day or amount that matters). The operations refuse a transition with exactly
what it returns (`refusal`, `check_action`), and the API's `allowedActions` and `actions` show
it, so the app's buttons and the server's refusals can never disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from models.errors import DomainError, Problem
from models.rules.action_state import (
    NO_MOMENTS,
    ActionState,
    Check,
    Moments,
    first_of,
    judged,
    unless,
)
from models.rules.demand_states import (
    BAD_RATINGS,
    OPEN_STATES,
    DemandAction,
    DemandState,
    PendingKind,
    RequestDecision,
    Satisfaction,
)
from models.rules.policy import Policy

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
    """What the rules read of a demand, and the days its time-based rules compare with today
    (models.rules.demand_view.facts_of). The defaults leave every window open."""

    state: DemandState
    pending: PendingKind | None = None
    rating: Satisfaction | None = None
    appeal: RequestDecision | None = None
    escalation_level: int = 0
    today: date = date.min
    return_until: date | None = date.max  # the 退单 window's last day; None: never dispatched
    deadline: date | None = date.max  # the effective deadline as it stands today
    extension_left: int = Policy.extension_cap_days  # working days still under the cap
    extension_cap: int = Policy.extension_cap_days


@dataclass(frozen=True, slots=True)
class Rule:
    who: Callable[[Relation], bool]
    states: frozenset[DemandState]
    # Refuses a live action (role and state right) by the facts; None: allowed.
    check: Check[Facts] | None = None
    # The day or amount that matters to the action while its state allows it.
    moments: Callable[[Facts], Moments] | None = None


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


# Each cause of a refusal has its own code and the demand field that shows it.
_NO_PENDING: Check[Facts] = unless(lambda f: f.pending is None, "PENDING_REQUEST", "pendingRequest")


def _pending(kind: PendingKind) -> Check[Facts]:
    return unless(lambda f: f.pending is kind, "NO_PENDING_REQUEST")


def _return_window(f: Facts) -> Problem | None:
    if f.return_until is not None and f.today <= f.return_until:
        return None
    return Problem("RETURN_WINDOW_CLOSED", "dispatchedAt", {"until": f.return_until})


def _before_deadline(f: Facts) -> Problem | None:
    if f.deadline is not None and f.today <= f.deadline:
        return None
    return Problem("EXTENSION_PAST_DEADLINE", "effectiveDeadline", {"until": f.deadline})


def _under_cap(f: Facts) -> Problem | None:
    if f.extension_left > 0:
        return None
    return Problem("EXTENSION_CAP_USED_UP", "extensionDays", {"cap": f.extension_cap})


def _appealable(f: Facts) -> Problem | None:
    if f.rating not in BAD_RATINGS:
        return Problem("NO_BAD_RATING", "rating")
    if f.appeal is not None:
        return Problem("ALREADY_APPEALED", "appeal")
    return None


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
    A.CLAIM: Rule(_handler, frozenset({S.DISPATCHED}), _NO_PENDING),
    A.RETURN: Rule(
        _handler,
        _HANDLING,
        first_of(_NO_PENDING, _return_window),
        lambda f: Moments(until=f.return_until),
    ),
    A.DECIDE_RETURN: Rule(_dispatcher, _HANDLING, _pending(PendingKind.RETURN)),
    A.REQUEST_EXTENSION: Rule(
        _handler,
        frozenset({S.IN_PROGRESS}),
        first_of(_NO_PENDING, _before_deadline, _under_cap),
        lambda f: Moments(until=f.deadline, remaining=max(f.extension_left, 0)),
    ),
    A.DECIDE_EXTENSION: Rule(
        _dispatcher, frozenset({S.IN_PROGRESS}), _pending(PendingKind.EXTENSION)
    ),
    A.SUSPEND: Rule(_handler, frozenset({S.IN_PROGRESS}), _NO_PENDING),
    A.DECIDE_SUSPENSION: Rule(
        _dispatcher, frozenset({S.IN_PROGRESS}), _pending(PendingKind.SUSPENSION)
    ),
    A.RESUME: Rule(lambda r: r.handler or r.contact, frozenset({S.SUSPENDED})),
    # Due by the effective deadline (after a bad rating: the rectification's).
    A.REPLY: Rule(
        _handler, frozenset({S.IN_PROGRESS}), _NO_PENDING, lambda f: Moments(due_on=f.deadline)
    ),
    A.APPROVE_REPLY: Rule(_lead, frozenset({S.PENDING_APPROVAL})),
    A.REVIEW_REPLY: Rule(_dispatcher, frozenset({S.PENDING_REVIEW})),
    A.RECORD_RETURN_VISIT: Rule(_dispatcher, frozenset({S.PENDING_VISIT})),
    A.RATE: Rule(_contact, frozenset({S.PENDING_VISIT})),
    A.ESCALATE: Rule(
        _supervisor,
        OPEN_STATES - {S.SUBMITTED},  # escalation goes to the department's leader
        unless(lambda f: f.escalation_level < MAX_ESCALATION_LEVEL, "ESCALATION_AT_MAXIMUM"),
    ),
    A.WITHDRAW: Rule(_contact, _WITHDRAWABLE),
    A.APPEAL_RATING: Rule(lambda r: r.handler, _RATED_STATES, _appealable),
    A.DECIDE_APPEAL: Rule(
        _supervisor,
        _RATED_STATES,
        unless(lambda f: f.appeal is RequestDecision.PENDING, "NO_PENDING_REQUEST"),
    ),
}


def action_state(action: DemandAction, facts: Facts, rel: Relation) -> ActionState:
    """`action` for this viewer now: allowed, or the refusal a call gets, with the day or
    amount that matters. Role first: someone without the role never learns more than
    FORBIDDEN."""
    rule = RULES[action]
    params = {"action": action.value}
    if not rule.who(rel):
        return ActionState(action, Problem("FORBIDDEN"))
    if facts.state not in rule.states:
        wrong = Problem("INVALID_STATE", None, {"state": facts.state.value})
        return judged(action, params, wrong, NO_MOMENTS)
    refused = rule.check(facts) if rule.check is not None else None
    moments = rule.moments(facts) if rule.moments is not None else NO_MOMENTS
    return judged(action, params, refused, moments)


def refusal(action: DemandAction, facts: Facts, rel: Relation) -> DomainError | None:
    """Why `action` is refused now, or None when it is allowed: `action_state`'s refusal."""
    return action_state(action, facts, rel).error()


def check_action(action: DemandAction, facts: Facts, rel: Relation) -> None:
    err = refusal(action, facts, rel)
    if err is not None:
        raise err


def allowed_actions(facts: Facts, rel: Relation) -> list[DemandAction]:
    return [a for a in RULES if action_state(a, facts, rel).allowed]


def action_states(facts: Facts, rel: Relation) -> list[ActionState]:
    """Every action the viewer's role on this demand could take, allowed or not."""
    return [action_state(a, facts, rel) for a, rule in RULES.items() if rule.who(rel)]
