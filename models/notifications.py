"""Notification events: what happened that people must be told about, written in the same
transaction as the change (or by the scheduler for time-driven reminders).

Delivery (the inbox rows per user and the push outbox per device) fans these out; a
`dedup_key` makes a time-driven event fire once however often the scheduler runs."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model


class NotificationEvent(Model):
    id = fields.IntField(primary_key=True)
    kind = fields.CharField(max_length=40)  # e.g. VISIT_TOMORROW
    # Users to tell, by id; resolved when the event is written.
    recipients: list = fields.JSONField(default=list)
    subject_type = fields.CharField(max_length=20)  # Visit, Demand, AgencyRequest
    subject_id = fields.IntField()
    # Template parameters, e.g. {"enterprise": "...", "plannedAt": "..."}.
    data: dict = fields.JSONField(default=dict)
    dedup_key = fields.CharField(max_length=120, null=True, unique=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    fanned_out_at = fields.DatetimeField(null=True, db_index=True)

    class Meta:
        table = "notification_event"
        indexes = (("subject_type", "subject_id"),)
