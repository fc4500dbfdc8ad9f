"""Per-region policy rows and demand categories with their time limits."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.tables.org import Region


class RegionPolicy(Model):
    """One row per region holding only what it overrides (see models.rules.policy)."""

    id = fields.IntField(primary_key=True)
    region: fields.OneToOneRelation[Region] = fields.OneToOneField(
        "models.Region", related_name=False, on_delete=fields.CASCADE
    )
    overrides: dict = fields.JSONField(default=dict)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "region_policy"


class DemandCategory(Model):
    """A kind of demand (政策咨询, 用地用房 …) and its limit in working days per urgency.
    A category without a region is offered everywhere; with one, in that region and below."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    code = fields.CharField(max_length=32)
    region: fields.ForeignKeyNullableRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, null=True, on_delete=fields.RESTRICT
    )
    limit_normal = fields.IntField(default=10)
    limit_urgent = fields.IntField(default=5)
    limit_critical = fields.IntField(default=2)
    is_active = fields.BooleanField(default=True)
    sort_order = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "demand_category"
        unique_together = (("region", "code"),)
