"""The audit log: one append-only row per admin change, sign-in, sign-out and export.

The database refuses UPDATE and DELETE on the table (triggers made by migration 0013), and the
API offers no way to change a row. `actor_id` is a plain column, not a foreign key: the log
outlives its users and never holds up a change to them."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.audit import AuditOutcome


class AuditEntry(Model):
    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    # Who: the user's id and username at the time (a failed sign-in: the username tried,
    # with the id only when such a user exists).
    actor_id = fields.IntField(null=True)
    actor_username = fields.CharField(max_length=64, default="")
    # What: a stable code (models.rules.audit.AuditAction), the object's type and key.
    action = fields.CharField(max_length=48)
    object_type = fields.CharField(max_length=32, null=True)
    object_id = fields.CharField(max_length=64, null=True)
    details: dict = fields.JSONField(default=dict)
    # From where: the client address the server derives (server.auth.client_address).
    address = fields.CharField(max_length=64, default="")
    outcome = fields.CharEnumField(AuditOutcome, max_length=16)

    class Meta:
        table = "audit_log"
        indexes = (("actor_id", "at"), ("action", "at"), ("object_type", "object_id"))
