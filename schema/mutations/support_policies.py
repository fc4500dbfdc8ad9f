"""Administrators keep the catalog of support policies (惠企政策)."""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.types import Info

from models.ops import support_policies as sp_ops
from models.rules.audit import AuditAction
from schema.errors import UserError
from schema.mutations.audited import attempt_audited
from schema.mutations.common import row
from schema.relay import id_of, pk_of
from schema.types.support_policies import SupportPolicy


@strawberry.input
class CreateSupportPolicyInput:
    title: str
    issuer: str | None = None
    document_number: str | None = strawberry.field(default=None, description="文号.")
    url: str | None = strawberry.field(default=None, description="http(s) address of the text.")
    summary: str | None = None
    region_id: strawberry.ID | None = strawberry.field(
        default=None, description="Null: nationwide (system administrators)."
    )


@strawberry.input(description="Null fields stay as they are; an empty string clears one.")
class UpdateSupportPolicyInput:
    id: strawberry.ID
    title: str | None = None
    issuer: str | None = None
    document_number: str | None = None
    url: str | None = None
    summary: str | None = None
    is_active: bool | None = strawberry.field(
        default=None, description="False withdraws it from the catalog (never deleted)."
    )


@strawberry.type
class SupportPolicyPayload:
    support_policy: SupportPolicy | None
    errors: list[UserError]


def _policy(p: Any) -> SupportPolicy | None:
    return SupportPolicy.from_row(row(p, sp_ops.SUPPORT_POLICY_COLUMNS)) if p else None


@strawberry.type
class SupportPolicyMutations:
    @strawberry.mutation(
        description="Add a policy to the catalog (administrators of its region; nationwide: "
        "system administrators)."
    )
    async def create_support_policy(
        self, info: Info, input: CreateSupportPolicyInput
    ) -> SupportPolicyPayload:
        ctx = info.context
        policy, errors = await attempt_audited(
            ctx,
            AuditAction.SUPPORT_POLICY_CREATE,
            "SupportPolicy",
            input,
            lambda: sp_ops.create_support_policy(
                ctx.require_actor(),
                sp_ops.SupportPolicyData(
                    title=input.title,
                    issuer=input.issuer,
                    document_number=input.document_number,
                    url=input.url,
                    summary=input.summary,
                    region_id=pk_of(input.region_id, "Region"),
                ),
            ),
        )
        return SupportPolicyPayload(support_policy=_policy(policy), errors=errors)

    @strawberry.mutation(
        description="Correct a catalog policy or withdraw it (isActive: false); its region "
        "stays (administrators of its region)."
    )
    async def update_support_policy(
        self, info: Info, input: UpdateSupportPolicyInput
    ) -> SupportPolicyPayload:
        ctx = info.context
        policy, errors = await attempt_audited(
            ctx,
            AuditAction.SUPPORT_POLICY_UPDATE,
            "SupportPolicy",
            input,
            lambda: sp_ops.update_support_policy(
                ctx.require_actor(),
                id_of(input.id, "SupportPolicy"),
                sp_ops.SupportPolicyChanges(
                    title=input.title,
                    issuer=input.issuer,
                    document_number=input.document_number,
                    url=input.url,
                    summary=input.summary,
                    is_active=input.is_active,
                ),
            ),
        )
        return SupportPolicyPayload(support_policy=_policy(policy), errors=errors)
