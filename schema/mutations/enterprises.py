"""Keeping the enterprise register: enterprises, contacts and assigned leaders."""

from __future__ import annotations

from datetime import date
from typing import Any

import strawberry
from strawberry.types import Info

from models.ops import enterprises as ent_ops
from models.rules.audit import AuditAction
from schema.errors import UserError
from schema.loaders import ASSIGNMENT_COLUMNS, CONTACT_COLUMNS
from schema.mutations.audited import attempt_audited
from schema.mutations.common import DeletePayload, row
from schema.relay import id_of, pk_of, to_global_id
from schema.types.enterprises import (
    ENTERPRISE_COLUMNS,
    Enterprise,
    EnterpriseContact,
    LeaderAssignment,
)
from schema.types.enums import CoordinateSystem, EnterpriseScale


@strawberry.input
class ContactInput:
    name: str
    mobile: str = strawberry.field(description="Mainland China mobile number.")
    position: str = ""


@strawberry.input(description="Fields of an enterprise; on update, null leaves a field as it is.")
class EnterpriseFields:
    name: str | None = None
    credit_code: str | None = strawberry.field(
        default=None, description="18 characters, check digit validated (GB 32100)."
    )
    region_id: strawberry.ID | None = None
    legal_representative: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coordinate_system: CoordinateSystem | None = None
    industry_code: str | None = strawberry.field(default=None, description="GB/T 4754 code.")
    scale: EnterpriseScale | None = None
    above_scale_industry: bool | None = strawberry.field(default=None, description="规上工业")
    qualified_construction: bool | None = strawberry.field(default=None, description="资质内建筑业")
    above_limit_trade: bool | None = strawberry.field(default=None, description="限上批零住餐")
    above_scale_service: bool | None = strawberry.field(default=None, description="规上服务业")
    real_estate_development: bool | None = strawberry.field(default=None, description="房地产开发")
    contacts: list[ContactInput] | None = strawberry.field(
        default=None, description="On update, replaces the contact list (kept by mobile)."
    )


@strawberry.input
class CreateEnterpriseInput(EnterpriseFields):
    override_check_digit: bool = strawberry.field(
        default=False,
        description="Admins only: accept a credit code failing its check digit (legacy codes).",
    )


@strawberry.input
class UpdateEnterpriseInput(EnterpriseFields):
    id: strawberry.ID
    version: int | None = strawberry.field(
        default=None, description="The version you read; a concurrent change is refused."
    )
    override_check_digit: bool = False


@strawberry.type
class EnterprisePayload:
    enterprise: Enterprise | None
    errors: list[UserError]


@strawberry.input
class AddEnterpriseContactInput:
    enterprise_id: strawberry.ID
    name: str
    mobile: str
    position: str = ""
    user_id: strawberry.ID | None = strawberry.field(
        default=None, description="The contact's app account; it then sees this enterprise."
    )


@strawberry.type
class EnterpriseContactPayload:
    contact: EnterpriseContact | None
    errors: list[UserError]


@strawberry.input
class RemoveEnterpriseContactInput:
    id: strawberry.ID


@strawberry.input
class AssignLeaderInput:
    enterprise_id: strawberry.ID
    leader_id: strawberry.ID
    start_date: date
    end_date: date | None = None
    note: str = ""


@strawberry.input
class EndLeaderAssignmentInput:
    id: strawberry.ID
    end_date: date


@strawberry.type
class LeaderAssignmentPayload:
    assignment: LeaderAssignment | None
    errors: list[UserError]


def _data(i: EnterpriseFields) -> ent_ops.EnterpriseData:
    return ent_ops.EnterpriseData(
        name=i.name,
        credit_code=i.credit_code,
        region_id=pk_of(i.region_id, "Region"),
        legal_representative=i.legal_representative,
        address=i.address,
        latitude=i.latitude,
        longitude=i.longitude,
        coordinate_system=i.coordinate_system.value if i.coordinate_system else None,
        industry_code=i.industry_code,
        scale=i.scale.value if i.scale else None,
        above_scale_industry=i.above_scale_industry,
        qualified_construction=i.qualified_construction,
        above_limit_trade=i.above_limit_trade,
        above_scale_service=i.above_scale_service,
        real_estate_development=i.real_estate_development,
        contacts=None
        if i.contacts is None
        else [ent_ops.ContactData(c.name, c.mobile, c.position) for c in i.contacts],
    )


def _enterprise(e: object) -> Enterprise | None:
    return Enterprise.from_row(row(e, ENTERPRISE_COLUMNS)) if e else None


def _assignment(a: object) -> LeaderAssignment | None:
    return LeaderAssignment.from_row(row(a, ASSIGNMENT_COLUMNS)) if a else None


def _removed_contact(contact: Any) -> dict[str, Any]:
    """Whom the removed row named (it is gone)."""
    return {
        "enterpriseId": to_global_id("Enterprise", contact.enterprise_id),
        "name": contact.name,
    }


@strawberry.type
class EnterpriseMutations:
    @strawberry.mutation(description="Register an enterprise (administrators of its region).")
    async def create_enterprise(
        self, info: Info, input: CreateEnterpriseInput
    ) -> EnterprisePayload:
        ctx = info.context
        ent, errors = await attempt_audited(
            ctx,
            AuditAction.ENTERPRISE_CREATE,
            "Enterprise",
            input,
            lambda: ent_ops.create_enterprise(
                ctx.require_actor(), _data(input), override_check_digit=input.override_check_digit
            ),
        )
        return EnterprisePayload(enterprise=_enterprise(ent), errors=errors)

    @strawberry.mutation
    async def update_enterprise(
        self, info: Info, input: UpdateEnterpriseInput
    ) -> EnterprisePayload:
        ctx = info.context
        ent, errors = await attempt_audited(
            ctx,
            AuditAction.ENTERPRISE_UPDATE,
            "Enterprise",
            input,
            lambda: ent_ops.update_enterprise(
                ctx.require_actor(),
                id_of(input.id, "Enterprise"),
                _data(input),
                override_check_digit=input.override_check_digit,
                expected_version=input.version,
            ),
        )
        return EnterprisePayload(enterprise=_enterprise(ent), errors=errors)

    @strawberry.mutation
    async def add_enterprise_contact(
        self, info: Info, input: AddEnterpriseContactInput
    ) -> EnterpriseContactPayload:
        ctx = info.context
        contact, errors = await attempt_audited(
            ctx,
            AuditAction.ENTERPRISE_CONTACT_ADD,
            "EnterpriseContact",
            input,
            lambda: ent_ops.add_contact(
                ctx.require_actor(),
                id_of(input.enterprise_id, "Enterprise"),
                ent_ops.ContactData(input.name, input.mobile, input.position),
                user_id=pk_of(input.user_id, "User"),
            ),
        )
        return EnterpriseContactPayload(
            contact=EnterpriseContact.from_row(row(contact, CONTACT_COLUMNS)) if contact else None,
            errors=errors,
        )

    @strawberry.mutation
    async def remove_enterprise_contact(
        self, info: Info, input: RemoveEnterpriseContactInput
    ) -> DeletePayload:
        ctx = info.context
        contact, errors = await attempt_audited(
            ctx,
            AuditAction.ENTERPRISE_CONTACT_REMOVE,
            "EnterpriseContact",
            input,
            lambda: ent_ops.remove_contact(
                ctx.require_actor(), id_of(input.id, "EnterpriseContact")
            ),
            more=_removed_contact,
        )
        return DeletePayload(deleted_id=input.id if contact else None, errors=errors)

    @strawberry.mutation(description="Assign a leader to look after an enterprise (包联).")
    async def assign_leader(self, info: Info, input: AssignLeaderInput) -> LeaderAssignmentPayload:
        ctx = info.context
        a, errors = await attempt_audited(
            ctx,
            AuditAction.LEADER_ASSIGN,
            "LeaderAssignment",
            input,
            lambda: ent_ops.assign_leader(
                ctx.require_actor(),
                enterprise_id=id_of(input.enterprise_id, "Enterprise"),
                leader_id=id_of(input.leader_id, "User"),
                start_date=input.start_date,
                end_date=input.end_date,
                note=input.note,
            ),
        )
        return LeaderAssignmentPayload(assignment=_assignment(a), errors=errors)

    @strawberry.mutation
    async def end_leader_assignment(
        self, info: Info, input: EndLeaderAssignmentInput
    ) -> LeaderAssignmentPayload:
        ctx = info.context
        a, errors = await attempt_audited(
            ctx,
            AuditAction.LEADER_ASSIGNMENT_END,
            "LeaderAssignment",
            input,
            lambda: ent_ops.end_leader_assignment(
                ctx.require_actor(), id_of(input.id, "LeaderAssignment"), input.end_date
            ),
        )
        return LeaderAssignmentPayload(assignment=_assignment(a), errors=errors)
