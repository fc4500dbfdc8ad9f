"""One action as the viewer's button shows it: allowed, or the refusal a call would get now,
with the day or the amount that matters. Made by the same rule function that refuses the
call (models.rules.demand_flow.action_state, agency_flow.agency_action_state), so the greyed
button and the mutation's answer cannot disagree. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

from models.errors import DomainError, Problem

F = TypeVar("F")
# A rule's extra condition: the refusal the facts bring about, or None.
Check = Callable[[F], Problem | None]


@dataclass(frozen=True, slots=True)
class Moments:
    """What matters to a live action (its role and state allow it), whether allowed or not."""

    until: date | None = None  # the last day it can be taken; refused after it
    due_on: date | None = None  # the day it is due; later is allowed but late
    remaining: int | None = None  # working days left of an amount (延期 under the cap)


NO_MOMENTS = Moments()


@dataclass(frozen=True, slots=True)
class ActionState:
    action: str  # the flow's action (a DemandAction or an AgencyAction)
    refusal: Problem | None = None
    moments: Moments = NO_MOMENTS

    @property
    def allowed(self) -> bool:
        return self.refusal is None

    def error(self) -> DomainError | None:
        """What a call of the action is refused with now; None when it would go through."""
        return None if self.refusal is None else DomainError.of([self.refusal])

    def hint_params(self) -> dict[str, Any]:
        """The moments as the catalogue's hints name them."""
        m = self.moments
        return {"until": m.until, "due": m.due_on, "remaining": m.remaining}


def unless(ok: Callable[[F], bool], code: str, field: str | None = None) -> Check[F]:
    """A check refusing with `code` (about `field`) when `ok` is false."""
    return lambda f: None if ok(f) else Problem(code, field)


def first_of(*checks: Check[F]) -> Check[F]:
    """The first refusal of several checks, in order."""

    def check(f: F) -> Problem | None:
        for c in checks:
            problem = c(f)
            if problem is not None:
                return problem
        return None

    return check


def judged(
    action: str,
    params: dict[str, Any],
    refusal: Problem | None,
    moments: Moments,
) -> ActionState:
    """The state of a live action: its refusal, if any, naming the action (for the message)."""
    if refusal is not None:
        refusal = Problem(refusal.code, refusal.field, {**params, **refusal.params})
    return ActionState(action, refusal, moments)
