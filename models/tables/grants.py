"""Role grants: which role a user holds in which region, department or service point (section
2 of docs/design.md). Its own module because a grant points at every kind of place: regions and
departments (models.tables.org) and service points (models.tables.service_points)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.roles import Role
from models.tables.org import Department, Region, User
from models.tables.service_points import ServicePoint


class RoleGrant(Model):
    """One role of a user in a region (and department where it applies)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="grants", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(Role, max_length=16)
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="grants", null=True, on_delete=fields.RESTRICT
    )
    department: fields.ForeignKeyNullableRelation[Department] = fields.ForeignKeyField(
        "models.Department", related_name="grants", null=True, on_delete=fields.RESTRICT
    )
    lead = fields.BooleanField(default=False)
    # SERVICE_AGENT grants name the service point the agent works at.
    service_point: fields.ForeignKeyNullableRelation[ServicePoint] = fields.ForeignKeyField(
        "models.ServicePoint", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "role_grant"
        unique_together = (("user", "role", "region", "department"),)
