"""An action as the viewer's button shows it (`Demand.actions`, `AgencyRequest.actions`): allowed
or why not, with the day or the amount that matters. Built from models.rules.action_state, which
the same rule function made that refuses the mutation, so `reason` is exactly the error a call
would return now (the same code, field and message)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TypeVar

import strawberry
from strawberry.types import Info

from models.messages import action_hint
from models.rules.action_state import ActionState as Judged
from schema.errors import UserError, user_errors


@strawberry.interface(
    description="An action the signed-in user's role could take: allowed now or not, why not, "
    "and the day or amount that matters. Days are Asia/Shanghai calendar days."
)
class ActionState:
    judged: strawberry.Private[Judged]
    locale: strawberry.Private[str]
    subject: strawberry.Private[str | None]

    @strawberry.field(description="Whether the mutation would go through now.")
    def allowed(self) -> bool:
        return self.judged.allowed

    @strawberry.field(
        description="Why not, when not allowed: the code, field and message the mutation "
        "returns in `errors` if called now (e.g. RETURN_WINDOW_CLOSED on dispatchedAt, "
        "EXTENSION_PAST_DEADLINE on effectiveDeadline, EXTENSION_CAP_USED_UP on extensionDays, "
        "PENDING_REQUEST on pendingRequest, INVALID_STATE). `field` names the field of the "
        "demand or request that shows the cause. Null when allowed."
    )
    def reason(self) -> UserError | None:
        err = self.judged.error()
        return None if err is None else user_errors(err, self.locale)[0]

    @strawberry.field(
        description="The last day the action can be taken, allowed or not; refused after it. "
        "退单 RETURN: the return window's last day; 申请延期 REQUEST_EXTENSION: the effective "
        "deadline. Null where no such limit applies."
    )
    def until(self) -> date | None:
        return self.judged.moments.until

    @strawberry.field(
        description="The day the action is due; later is still allowed but counts as late. "
        "答复 REPLY, 办结 COMPLETE: the effective deadline (after a bad rating, the "
        "rectification's); 整改反馈 RECORD_RECTIFICATION: the rectification deadline; 补交材料 "
        "SUPPLY_MATERIALS: the earliest promised date of the materials still owed."
    )
    def due_on(self) -> date | None:
        return self.judged.moments.due_on

    @strawberry.field(
        description="What is left of an amount, in working days. 申请延期 REQUEST_EXTENSION: "
        "the days that may still be requested under the region's cap (0: used up)."
    )
    def remaining(self) -> int | None:
        return self.judged.moments.remaining

    @strawberry.field(
        description="A line to show beside an allowed action, in the request's language, "
        "e.g. 还可延期 3 个工作日; null when refused or there is nothing to say."
    )
    def hint(self) -> str | None:
        j = self.judged
        if not j.allowed:
            return None
        return action_hint(j.action, self.locale, self.subject, **j.hint_params())


T = TypeVar("T", bound=ActionState)


def shown_states(
    info: Info, judged: list[Judged], subject: str | None, make: Callable[..., T]
) -> list[T]:
    """The judged actions as the API shows them, worded in the request's language."""
    locale = info.context.locale
    return [make(judged=j, locale=locale, subject=subject, action=j.action) for j in judged]
