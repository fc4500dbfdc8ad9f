"""Admins set a region's policy and keep the demand categories."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models.ops import policy as policy_ops
from models.rules.audit import AuditAction
from schema.errors import UserError
from schema.mutations.audited import attempt_audited
from schema.mutations.common import row
from schema.relay import id_of, pk_of
from schema.types.demands import DemandCategory
from schema.types.enums import PeriodKind
from schema.types.policy import RegionPolicy


@strawberry.input(description="A region's overrides; a null field inherits from the region above.")
class SetRegionPolicyInput:
    region_id: strawberry.ID
    return_window_days: int | None = None
    extension_cap_days: int | None = None
    warning_lead_days: int | None = None
    escalation_thresholds: list[int] | None = None
    unreached_attempts: int | None = None
    rectification_days: int | None = None
    response_limit_days: int | None = None
    require_reply_approval: bool | None = None
    ranking_weights: JSON | None = strawberry.field(
        default=None, description='e.g. {"onTime": 0.4, "satisfaction": 0.3, ...}'
    )
    checkin_radius_m: int | None = None
    checkin_max_accuracy_m: int | None = None
    visit_notes_edit_hours: int | None = None
    visit_cadence: PeriodKind | None = None
    urgent_push_in_quiet_hours: bool | None = None
    work_order_prefix: str | None = strawberry.field(
        default=None,
        description="1-6 Latin letters (capitalised) starting the region's work-order numbers "
        "from the next submission on; numbers given keep theirs.",
    )


_POLICY_FIELDS = (
    "return_window_days",
    "extension_cap_days",
    "warning_lead_days",
    "escalation_thresholds",
    "unreached_attempts",
    "rectification_days",
    "response_limit_days",
    "require_reply_approval",
    "ranking_weights",
    "checkin_radius_m",
    "checkin_max_accuracy_m",
    "visit_notes_edit_hours",
    "visit_cadence",
    "urgent_push_in_quiet_hours",
    "work_order_prefix",
)


@strawberry.type
class RegionPolicyPayload:
    policy: RegionPolicy | None
    errors: list[UserError]


@strawberry.input
class CategoryLimits:
    limit_normal: int | None = None
    limit_urgent: int | None = None
    limit_critical: int | None = None


@strawberry.input
class CreateDemandCategoryInput(CategoryLimits):
    name: str
    code: str
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null: nationwide (system administrators)."
    )


@strawberry.input
class UpdateDemandCategoryInput(CategoryLimits):
    id: strawberry.ID
    name: str | None = None
    is_active: bool | None = None


@strawberry.type
class DemandCategoryPayload:
    category: DemandCategory | None
    errors: list[UserError]


def _limits(i: CategoryLimits) -> dict[str, int | None]:
    return {
        "limit_normal": i.limit_normal,
        "limit_urgent": i.limit_urgent,
        "limit_critical": i.limit_critical,
    }


def _category(c: Any) -> DemandCategory | None:
    return DemandCategory.from_row(row(c, policy_ops.CATEGORY_COLUMNS)) if c else None


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(description="Set a region's policy (administrators of the region).")
    async def set_region_policy(
        self, info: Info, input: SetRegionPolicyInput
    ) -> RegionPolicyPayload:
        ctx = info.context
        overrides = {k: getattr(input, k) for k in _POLICY_FIELDS}
        policy, errors = await attempt_audited(
            ctx,
            AuditAction.REGION_POLICY_SET,
            "Region",
            input,
            lambda: policy_ops.set_region_policy(
                ctx.require_actor(), id_of(input.region_id, "Region"), overrides
            ),
            key=lambda _: id_of(input.region_id, "Region"),
        )
        return RegionPolicyPayload(
            policy=RegionPolicy.of(policy) if policy else None, errors=errors
        )

    @strawberry.mutation
    async def create_demand_category(
        self, info: Info, input: CreateDemandCategoryInput
    ) -> DemandCategoryPayload:
        ctx = info.context
        cat, errors = await attempt_audited(
            ctx,
            AuditAction.DEMAND_CATEGORY_CREATE,
            "DemandCategory",
            input,
            lambda: policy_ops.create_category(
                ctx.require_actor(),
                name=input.name,
                code=input.code,
                region_id=pk_of(input.region_id, "Region"),
                limits=_limits(input),
            ),
        )
        return DemandCategoryPayload(category=_category(cat), errors=errors)

    @strawberry.mutation
    async def update_demand_category(
        self, info: Info, input: UpdateDemandCategoryInput
    ) -> DemandCategoryPayload:
        ctx = info.context
        cat, errors = await attempt_audited(
            ctx,
            AuditAction.DEMAND_CATEGORY_UPDATE,
            "DemandCategory",
            input,
            lambda: policy_ops.update_category(
                ctx.require_actor(),
                id_of(input.id, "DemandCategory"),
                name=input.name,
                is_active=input.is_active,
                limits=_limits(input),
            ),
        )
        return DemandCategoryPayload(category=_category(cat), errors=errors)
