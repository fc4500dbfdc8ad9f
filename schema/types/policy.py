"""A region's effective policy, as the API shows and takes it."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from models.rules.policy import Policy
from schema.types.enums import PeriodKind


@strawberry.type(description="Every number a county sets for itself; inherited down the tree.")
class RegionPolicy:
    return_window_days: int = strawberry.field(description="退单 allowed within, working days.")
    extension_cap_days: int = strawberry.field(description="延期 total cap, working days.")
    warning_lead_days: int = strawberry.field(description="预警 before the deadline.")
    escalation_thresholds: list[int] = strawberry.field(
        description="督办 levels 1..3 when overdue by these many working days."
    )
    unreached_attempts: int = strawberry.field(description="Failed return visits before closing.")
    rectification_days: int = strawberry.field(description="整改 limit after a bad rating.")
    response_limit_days: int = strawberry.field(description="签收 within this counts as responded.")
    require_reply_approval: bool = strawberry.field(
        description="Replies need the department leader's sign-off."
    )
    ranking_weights: JSON = strawberry.field(description="Weights of the composite ranking score.")
    checkin_radius_m: int = strawberry.field(
        description="A visit check-in counts within this many metres (plus its accuracy)."
    )
    checkin_max_accuracy_m: int = strawberry.field(
        description="A check-in reporting a worse accuracy than this is doubtful."
    )
    visit_notes_edit_hours: int = strawberry.field(
        description="Hours the author may correct a logged visit's notes; then they lock."
    )
    visit_cadence: PeriodKind = strawberry.field(
        description="Leaders visit each assigned enterprise at least once per this period."
    )
    urgent_push_in_quiet_hours: bool = strawberry.field(
        description="Escalation and overdue pushes buzz even at night and on holidays."
    )
    work_order_prefix: str = strawberry.field(
        description="The letters the region's work-order numbers (工单号) start with, e.g. QH."
    )

    @classmethod
    def of(cls, p: Policy) -> RegionPolicy:
        return cls(
            return_window_days=p.return_window_days,
            extension_cap_days=p.extension_cap_days,
            warning_lead_days=p.warning_lead_days,
            escalation_thresholds=list(p.escalation_thresholds),
            unreached_attempts=p.unreached_attempts,
            rectification_days=p.rectification_days,
            response_limit_days=p.response_limit_days,
            require_reply_approval=p.require_reply_approval,
            ranking_weights=cast(JSON, dict(p.ranking_weights)),
            checkin_radius_m=p.checkin_radius_m,
            checkin_max_accuracy_m=p.checkin_max_accuracy_m,
            visit_notes_edit_hours=p.visit_notes_edit_hours,
            visit_cadence=PeriodKind(p.visit_cadence),
            urgent_push_in_quiet_hours=p.urgent_push_in_quiet_hours,
            work_order_prefix=p.work_order_prefix,
        )
