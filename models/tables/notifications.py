"""Notifications (docs/design.md section 9): what happened, who was told, and the push outbox.

An event (what happened) is written in the same transaction as the change that caused it, with
one inbox row per person it concerns and one outbox row per device of theirs that should buzz;
a `dedup_key` makes a time-driven event fire once however often the scheduler runs. The inbox
is the truth, push is delivery."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.rules.notification_kinds import PushStatus
from models.tables.org import User


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


class Notification(Model):
    """One inbox row per user and event: the truth of what the user was told. Texts are
    rendered from `kind` and `data` in the language of the reader (models.messages.notifications)."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    event: fields.ForeignKeyRelation[NotificationEvent] = fields.ForeignKeyField(
        "models.NotificationEvent", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=40)
    subject_type = fields.CharField(max_length=20)
    subject_id = fields.IntField()
    data: dict = fields.JSONField(default=dict)
    created_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notification"
        unique_together = (("user", "event"),)
        indexes = (("user_id", "read_at"),)


class Device(Model):
    """A push registration of a phone. The token is a secret: never logged, never returned whole."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    provider = fields.CharField(max_length=16)  # jpush, fcm, huawei, gorush, webhook, log
    platform = fields.CharField(max_length=10)  # ANDROID, IOS, HARMONY
    token = fields.CharField(max_length=512, unique=True)
    app_version = fields.CharField(max_length=32, default="")
    created_at = fields.DatetimeField(auto_now_add=True)
    last_seen_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "device"
        indexes = (("user_id",),)


class PushMessage(Model):
    """The outbox: one row per notification and device, drained by the dispatcher. A row ends
    DELIVERED (with the gateway's id) or DEAD (with the last error), never silently dropped."""

    id = fields.IntField(primary_key=True)
    notification: fields.ForeignKeyRelation[Notification] = fields.ForeignKeyField(
        "models.Notification", related_name=False, on_delete=fields.CASCADE
    )
    # Null once the device is gone (a dead token): the row keeps its outcome for the record.
    device: fields.ForeignKeyNullableRelation[Device] = fields.ForeignKeyField(
        "models.Device", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    provider = fields.CharField(max_length=16)
    status = fields.CharEnumField(PushStatus, max_length=10, default=PushStatus.PENDING)
    due_at = fields.DatetimeField()  # not before (quiet hours, backoff)
    attempts = fields.IntField(default=0)
    # A claimed row is the claimer's until this moment; after it (a crashed process) it is due
    # again, so a crash between sending and recording may send once more, never lose it. The
    # claimer renews it while the row is in flight, and records its result only while the row
    # still carries its `claim_token` (a round that lost its claim overwrites nothing).
    claimed_until = fields.DatetimeField(null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    gateway_id = fields.CharField(max_length=200, null=True)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField()
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "push_message"
        indexes = (("status", "due_at"), ("notification_id",), ("provider", "status"))


class PushGateway(Model):
    """What every dispatching process must know of a gateway (notifications.dispatcher): its
    circuit breaker open until `open_until` (then one trial call, taken by whoever sets
    `probe_until` first) after `failures` failed calls in a row from any process, and no calls
    until `hold_until` (its call quota is spent)."""

    name = fields.CharField(max_length=16, primary_key=True)
    failures = fields.IntField(default=0)
    open_until = fields.DatetimeField(null=True)
    probe_until = fields.DatetimeField(null=True)
    hold_until = fields.DatetimeField(null=True)

    class Meta:
        table = "push_gateway"


class NotificationPreference(Model):
    """What a user wants pushed and when (the inbox always gets everything)."""

    id = fields.IntField(primary_key=True)
    user: fields.OneToOneRelation[User] = fields.OneToOneField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    muted_kinds: list = fields.JSONField(default=list)  # kinds not pushed
    # Minutes after midnight, Asia/Shanghai wall clock; null: the default 22:00 and 08:00.
    quiet_start = fields.IntField(null=True)
    quiet_end = fields.IntField(null=True)
    quiet_on_holidays = fields.BooleanField(default=True)
    language = fields.CharField(max_length=5, default="zh")  # of push texts
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "notification_preference"
