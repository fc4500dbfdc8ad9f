"""`node(id:)`: fetch any object by global id, with the same scope rules as its list."""

from __future__ import annotations

from strawberry.types import Info

from models.access import demand_scope, enterprise_scope, user_scope
from models.errors import DomainError
from models.ops.attachments import can_see_attachment
from models.ops.policy import CATEGORY_COLUMNS
from models.ops.support_policies import SUPPORT_POLICY_COLUMNS
from models.rules.actor import Actor
from models.rules.roles import Role
from models.tables.demands import Attachment as AttachmentModel
from models.tables.demands import Demand as DemandModel
from models.tables.demands import DemandEvent as EventModel
from models.tables.enterprises import Enterprise as EnterpriseModel
from models.tables.enterprises import EnterpriseContact as ContactModel
from models.tables.enterprises import LeaderAssignment as AssignmentModel
from models.tables.grants import RoleGrant as GrantModel
from models.tables.org import User as UserModel
from models.tables.policy import DemandCategory as CategoryModel
from models.tables.visits import SupportPolicy as SupportPolicyModel
from schema.loaders import ASSIGNMENT_COLUMNS, CONTACT_COLUMNS, GRANT_COLUMNS
from schema.relay import Node, from_global_id
from schema.types.demands import EVENT_COLUMNS, DemandCategory, DemandEvent
from schema.types.enterprises import (
    ENTERPRISE_COLUMNS,
    Enterprise,
    EnterpriseContact,
    LeaderAssignment,
)
from schema.types.files import ATTACHMENT_COLUMNS, Attachment
from schema.types.org import Department, Region
from schema.types.support_policies import SupportPolicy
from schema.types.users import RoleGrant, User


async def _visible_user(actor: Actor, pk: int) -> bool:
    if pk == actor.user_id:
        return True
    return actor.has_role(Role.ADMIN) and await UserModel.filter(user_scope(actor), id=pk).exists()


async def _visible_enterprise(actor: Actor, pk: int) -> bool:
    return await EnterpriseModel.filter(enterprise_scope(actor), id=pk).exists()


async def _demand_node(actor: Actor, pk: int) -> Node | None:
    from schema.demand_reads import get_demand

    return await get_demand(actor, pk)


async def _event_node(actor: Actor, pk: int) -> Node | None:
    rows = await EventModel.filter(id=pk).values(*EVENT_COLUMNS, "demand_id", "actor__display_name")
    if (
        not rows
        or not await DemandModel.filter(demand_scope(actor), id=rows[0]["demand_id"]).exists()
    ):
        return None
    return DemandEvent.from_row(rows[0], actor_name=rows[0]["actor__display_name"])


async def _category_node(actor: Actor, pk: int) -> Node | None:
    rows = await CategoryModel.filter(id=pk).values(*CATEGORY_COLUMNS)
    return DemandCategory.from_row(rows[0]) if rows else None


async def _support_policy_node(actor: Actor, pk: int) -> Node | None:
    """The catalog is public to everyone signed in; withdrawn ones too (old visits cite them)."""
    rows = await SupportPolicyModel.filter(id=pk).values(*SUPPORT_POLICY_COLUMNS)
    return SupportPolicy.from_row(rows[0]) if rows else None


async def _notification_node(actor: Actor, pk: int, locale: str) -> Node | None:
    from models.tables.notifications import Notification as NotificationModel
    from schema.types.notifications import NOTIFICATION_COLUMNS, Notification

    rows = await NotificationModel.filter(id=pk, user_id=actor.user_id).values(
        *NOTIFICATION_COLUMNS
    )
    return Notification.from_row(rows[0], locale) if rows else None


async def _service_point_node(actor: Actor, pk: int) -> Node | None:
    from schema.service_point_reads import get_service_point

    return await get_service_point(actor, pk)


async def _procedure_node(actor: Actor, pk: int) -> Node | None:
    from schema.service_point_reads import get_procedure

    node: Node | None = await get_procedure(actor, pk)
    return node


async def _appointment_node(actor: Actor, pk: int) -> Node | None:
    from schema.service_point_reads import get_appointment

    return await get_appointment(actor, pk)


async def _agency_request_node(actor: Actor, pk: int) -> Node | None:
    from schema.agency_queries import agency_request_node

    return await agency_request_node(actor, pk)


async def _agency_event_node(actor: Actor, pk: int) -> Node | None:
    from schema.agency_queries import agency_event_node

    return await agency_event_node(actor, pk)


async def _visit_node(actor: Actor, pk: int) -> Node | None:
    from schema.visit_reads import get_visit

    return await get_visit(actor, pk)


_DEMAND_NODES = {
    "Visit": _visit_node,
    "Demand": _demand_node,
    "DemandEvent": _event_node,
    "DemandCategory": _category_node,
    "SupportPolicy": _support_policy_node,
    "ServicePoint": _service_point_node,
    "Procedure": _procedure_node,
    "Appointment": _appointment_node,
    "AgencyRequest": _agency_request_node,
    "AgencyEvent": _agency_event_node,
}


async def resolve_node(info: Info, actor: Actor, gid: str) -> Node | None:
    try:
        type_name, pk = from_global_id(gid)
    except DomainError:
        return None  # a malformed id names nothing
    loaders = info.context.loaders
    if type_name == "Region":
        row = await loaders.region.load(pk)
        return Region.from_row(row) if row else None
    if type_name == "Department":
        row = await loaders.department.load(pk)
        return Department.from_row(row) if row else None
    if type_name == "User":
        # As the `users` list: an administrator of regions reads their regions' people only.
        if not await _visible_user(actor, pk):
            return None
        row = await loaders.user.load(pk)
        return User.from_row(row) if row else None
    if type_name == "RoleGrant":
        rows = await GrantModel.filter(id=pk).values(*GRANT_COLUMNS)
        if not rows or not await _visible_user(actor, rows[0]["user_id"]):
            return None
        return RoleGrant.from_row(rows[0])
    if type_name == "Enterprise":
        rows = await EnterpriseModel.filter(enterprise_scope(actor), id=pk).values(
            *ENTERPRISE_COLUMNS
        )
        return Enterprise.from_row(rows[0]) if rows else None
    if type_name == "EnterpriseContact":
        rows = await ContactModel.filter(id=pk).values(*CONTACT_COLUMNS)
        if rows and await _visible_enterprise(actor, rows[0]["enterprise_id"]):
            return EnterpriseContact.from_row(rows[0])
        return None
    if type_name == "Attachment":
        rows = await AttachmentModel.filter(id=pk).values(*ATTACHMENT_COLUMNS)
        if rows and await can_see_attachment(
            actor,
            rows[0]["uploaded_by_id"],
            rows[0]["demand_id"],
            rows[0]["visit_id"],
            rows[0]["agency_request_id"],
        ):
            return Attachment.from_row(rows[0])
        return None
    if type_name == "Notification":
        return await _notification_node(actor, pk, info.context.locale)
    if type_name in _DEMAND_NODES:
        return await _DEMAND_NODES[type_name](actor, pk)
    if type_name == "LeaderAssignment":
        rows = await AssignmentModel.filter(id=pk).values(*ASSIGNMENT_COLUMNS)
        if rows and await _visible_enterprise(actor, rows[0]["enterprise_id"]):
            return LeaderAssignment.from_row(rows[0])
        return None
    return None
