"""Who may act on an agency request in which state: docs/design.md section 7.3 as a table.

Pure, like the demand rules: `agency_action_state` judges one action for one viewer; the
operations refuse with exactly what it returns (`agency_refusal`) and `allowedActions` and
`actions` show it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from models.errors import DomainError, Problem
from models.rules.action_state import NO_MOMENTS, ActionState, Check, Moments, judged, unless
from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.demand_states import RectificationState, Satisfaction

S = AgencyState
A = AgencyAction


@dataclass(frozen=True, slots=True)
class AgencyRelation:
    agent: bool = False  # a SERVICE_AGENT of the request's service point
    contact: bool = False  # a contact person of the request's enterprise


@dataclass(frozen=True, slots=True)
class AgencyFacts:
    state: AgencyState
    rating: Satisfaction | None = None
    rectification: RectificationState | None = None
    missing_materials: bool = False  # 容缺: named materials still owed
    promised_by: date | None = None  # the earliest promise of the materials still owed
    deadline: date | None = None  # the effective deadline as it stands today
    rectification_deadline: date | None = None


@dataclass(frozen=True, slots=True)
class AgencyRule:
    who: Callable[[AgencyRelation], bool]
    states: frozenset[AgencyState]
    # Refuses a live action (role and state right) by the facts; None: allowed.
    check: Check[AgencyFacts] | None = None
    # The day that matters to the action while its state allows it.
    moments: Callable[[AgencyFacts], Moments] | None = None


def _agent(r: AgencyRelation) -> bool:
    return r.agent


def _contact(r: AgencyRelation) -> bool:
    return r.contact


_ACCEPTED = frozenset({S.ACCEPTED, S.IN_HANDLING})

AGENCY_RULES: dict[AgencyAction, AgencyRule] = {
    A.ACCEPT: AgencyRule(_agent, frozenset({S.SUBMITTED})),
    A.REJECT: AgencyRule(_agent, frozenset({S.SUBMITTED, S.ACCEPTED, S.MATERIALS_REQUESTED})),
    A.REQUEST_MATERIALS: AgencyRule(_agent, _ACCEPTED),
    # Supplying resumes a paused request, or hands over what 容缺受理 left owing.
    A.SUPPLY_MATERIALS: AgencyRule(
        _contact,
        frozenset({S.MATERIALS_REQUESTED}) | _ACCEPTED,
        unless(
            lambda f: f.state is S.MATERIALS_REQUESTED or f.missing_materials,
            "NOTHING_TO_SUPPLY",
        ),
        lambda f: Moments(due_on=f.promised_by),
    ),
    A.START_HANDLING: AgencyRule(_agent, frozenset({S.ACCEPTED})),
    A.COMPLETE: AgencyRule(_agent, _ACCEPTED, moments=lambda f: Moments(due_on=f.deadline)),
    A.CANCEL: AgencyRule(_contact, frozenset({S.SUBMITTED, S.MATERIALS_REQUESTED}) | _ACCEPTED),
    A.RATE: AgencyRule(
        _contact, frozenset({S.COMPLETED}), unless(lambda f: f.rating is None, "ALREADY_RATED")
    ),
    A.ASSIGN_AGENT: AgencyRule(_agent, frozenset({S.SUBMITTED, S.MATERIALS_REQUESTED}) | _ACCEPTED),
    A.RECORD_RECTIFICATION: AgencyRule(
        _agent,
        frozenset({S.COMPLETED}),
        unless(lambda f: f.rectification is RectificationState.OPEN, "NO_OPEN_RECTIFICATION"),
        lambda f: Moments(due_on=f.rectification_deadline),
    ),
}


def agency_action_state(
    action: AgencyAction, facts: AgencyFacts, rel: AgencyRelation
) -> ActionState:
    """`action` for this viewer now: allowed, or the refusal a call gets, with the day that
    matters. Role first: outsiders only learn FORBIDDEN."""
    rule = AGENCY_RULES[action]
    # subject: worded for an agency request, with its own state and action names.
    params = {"action": action.value, "subject": "AGENCY"}
    if not rule.who(rel):
        return ActionState(action, Problem("FORBIDDEN"))
    if facts.state not in rule.states:
        wrong = Problem("INVALID_STATE", None, {"state": facts.state.value})
        return judged(action, params, wrong, NO_MOMENTS)
    refused = rule.check(facts) if rule.check is not None else None
    moments = rule.moments(facts) if rule.moments is not None else NO_MOMENTS
    return judged(action, params, refused, moments)


def agency_refusal(
    action: AgencyAction, facts: AgencyFacts, rel: AgencyRelation
) -> DomainError | None:
    """Why `action` is refused now, or None: `agency_action_state`'s refusal."""
    return agency_action_state(action, facts, rel).error()


def check_agency_action(action: AgencyAction, facts: AgencyFacts, rel: AgencyRelation) -> None:
    err = agency_refusal(action, facts, rel)
    if err is not None:
        raise err


def allowed_agency_actions(facts: AgencyFacts, rel: AgencyRelation) -> list[AgencyAction]:
    return [a for a in AGENCY_RULES if agency_action_state(a, facts, rel).allowed]


def agency_action_states(facts: AgencyFacts, rel: AgencyRelation) -> list[ActionState]:
    """Every action the viewer's role on this request could take, allowed or not."""
    return [agency_action_state(a, facts, rel) for a, r in AGENCY_RULES.items() if r.who(rel)]
