"""Enterprises (一企一档), their contact people and the leaders assigned to them (包联)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.roles import CoordinateSystem, EnterpriseScale
from models.tables.org import Region, User


class Enterprise(Model):
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=200, db_index=True)
    credit_code = fields.CharField(max_length=18, unique=True)
    # Set when an admin accepted a code that fails its check digit (legacy pilot codes).
    credit_code_override = fields.BooleanField(default=False)
    legal_representative = fields.CharField(max_length=64, default="")
    address = fields.CharField(max_length=255, default="")
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    coordinate_system = fields.CharEnumField(
        CoordinateSystem, max_length=8, default=CoordinateSystem.GCJ02
    )
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name="enterprises", on_delete=fields.RESTRICT
    )
    industry_code = fields.CharField(max_length=8, null=True, db_index=True)
    scale = fields.CharEnumField(EnterpriseScale, max_length=8, null=True)
    # The "above-scale" groups, one flag each because counties define 四上/五上 differently.
    above_scale_industry = fields.BooleanField(default=False)  # 规上工业
    qualified_construction = fields.BooleanField(default=False)  # 资质内建筑业
    above_limit_trade = fields.BooleanField(default=False)  # 限上批零住餐
    above_scale_service = fields.BooleanField(default=False)  # 规上服务业
    real_estate_development = fields.BooleanField(default=False)  # 房地产开发
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "enterprise"


class EnterpriseContact(Model):
    id = fields.IntField(primary_key=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="contacts", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=64)
    mobile = fields.CharField(max_length=11)
    position = fields.CharField(max_length=64, default="")
    # The app account of this contact; it sees exactly the enterprises it is linked to.
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="enterprise_contacts", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "enterprise_contact"
        unique_together = (("enterprise", "mobile"),)
        indexes = (("user_id",),)  # an account's enterprises, on every request it makes


class LeaderAssignment(Model):
    """A leader or cadre assigned to look after an enterprise (包联), for a period."""

    id = fields.IntField(primary_key=True)
    enterprise: fields.ForeignKeyRelation[Enterprise] = fields.ForeignKeyField(
        "models.Enterprise", related_name="leader_assignments", on_delete=fields.CASCADE
    )
    leader: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="assignments", on_delete=fields.RESTRICT
    )
    start_date = fields.DateField()
    end_date = fields.DateField(null=True)
    note = fields.CharField(max_length=255, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "leader_assignment"
        indexes = (("leader_id", "end_date"),)
