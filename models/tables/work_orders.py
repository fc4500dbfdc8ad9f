"""The counters work-order numbers (工单号, models.rules.work_orders) are drawn from."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.work_orders import MAX_PREFIX_LENGTH


class WorkOrderCounter(Model):
    """The last sequence given for one kind, prefix and day.

    Drawn with one upsert in the transaction that submits (models.ops.work_orders): the row stays locked until that commits,
    so concurrent submissions, in any process, take the next numbers in turn, and a submission
    that rolls back gives its number back. Never deleted, so no number is given twice."""

    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=8)  # WorkOrderKind
    prefix = fields.CharField(max_length=MAX_PREFIX_LENGTH)
    day = fields.DateField()  # Asia/Shanghai
    last_seq = fields.IntField()

    class Meta:
        table = "work_order_counter"
        unique_together = (("kind", "prefix", "day"),)
