"""Who may act on an agency request in which state: docs/design.md section 7.3 as a table.

Pure, like the demand rules: operations check with `check_agency_action` before writing and
`allowedActions` lists what that check lets through."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from models.errors import DomainError
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


@dataclass(frozen=True, slots=True)
class AgencyRule:
    who: Callable[[AgencyRelation], bool]
    states: frozenset[AgencyState]
    condition: Callable[[AgencyFacts], bool] | None = None
    refusal_code: str = "INVALID_STATE"


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
        lambda f: f.state is S.MATERIALS_REQUESTED or f.missing_materials,
        "NOTHING_TO_SUPPLY",
    ),
    A.START_HANDLING: AgencyRule(_agent, frozenset({S.ACCEPTED})),
    A.COMPLETE: AgencyRule(_agent, _ACCEPTED),
    A.CANCEL: AgencyRule(_contact, frozenset({S.SUBMITTED, S.MATERIALS_REQUESTED}) | _ACCEPTED),
    A.RATE: AgencyRule(
        _contact, frozenset({S.COMPLETED}), lambda f: f.rating is None, "ALREADY_RATED"
    ),
    A.ASSIGN_AGENT: AgencyRule(_agent, frozenset({S.SUBMITTED, S.MATERIALS_REQUESTED}) | _ACCEPTED),
    A.RECORD_RECTIFICATION: AgencyRule(
        _agent,
        frozenset({S.COMPLETED}),
        lambda f: f.rectification is RectificationState.OPEN,
        "NO_OPEN_RECTIFICATION",
    ),
}


def agency_refusal(
    action: AgencyAction, facts: AgencyFacts, rel: AgencyRelation
) -> DomainError | None:
    """Why `action` is refused now, or None. Role first: outsiders only learn FORBIDDEN."""
    rule = AGENCY_RULES[action]
    if not rule.who(rel):
        return DomainError("FORBIDDEN")
    if facts.state not in rule.states:
        # subject: worded for an agency request, with its own state and action names.
        return DomainError(
            "INVALID_STATE", state=facts.state.value, action=action.value, subject="AGENCY"
        )
    if rule.condition is not None and not rule.condition(facts):
        return DomainError(rule.refusal_code, action=action.value)
    return None


def check_agency_action(action: AgencyAction, facts: AgencyFacts, rel: AgencyRelation) -> None:
    err = agency_refusal(action, facts, rel)
    if err is not None:
        raise err


def allowed_agency_actions(facts: AgencyFacts, rel: AgencyRelation) -> list[AgencyAction]:
    return [a for a in AGENCY_RULES if agency_refusal(a, facts, rel) is None]
