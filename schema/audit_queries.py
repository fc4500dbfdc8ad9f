"""`auditLog`: the append-only audit log (models.tables.audit), for administrators, newest first."""

from __future__ import annotations

import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models.errors import DomainError
from models.ops.audit import audit_scope
from models.rules.audit import AuditAction, AuditOutcome
from models.rules.clock import TZ
from models.tables.audit import AuditEntry as AuditEntryModel
from schema.guards import actor_of, guarded
from schema.input_edges import text_equal
from schema.relay import Connection, from_global_id, paginate, pk_of, to_global_id
from schema.types.users import User

# Marks the models' enumerations themselves (as schema.types.enums does).
strawberry.enum(AuditAction, description="What was done: a stable code.")
strawberry.enum(
    AuditOutcome, description="SUCCESS, or REFUSED (details.code says why; nothing changed)."
)

AUDIT_COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_username",
    "action",
    "object_type",
    "object_id",
    "details",
    "address",
    "outcome",
)
# Object types whose key is not a database id with a global id (a calendar year is a year).
_PLAIN_KEYS = frozenset({"CalendarYear"})


def _object_id(object_type: str | None, key: str | None) -> str | None:
    if object_type is None or key is None or object_type in _PLAIN_KEYS or not key.isdigit():
        return key
    return to_global_id(object_type, int(key))


@strawberry.type(description="One row of the audit log: who did what, when, from where.")
class AuditEntry:
    id: strawberry.ID
    at: datetime.datetime
    actor_pk: strawberry.Private[int | None]
    actor_username: str = strawberry.field(
        description="The username at the time; for a failed sign-in, the username tried."
    )
    action: AuditAction
    object_type: str | None = strawberry.field(description="e.g. User, RoleGrant, Region.")
    object_id: str | None = strawberry.field(
        description="The object's global id (node(id:)); a calendar year is the year."
    )
    details: JSON = strawberry.field(
        description="The input or what changed; never a password or a token."
    )
    address: str = strawberry.field(description="The client address the request came from.")
    outcome: AuditOutcome

    @classmethod
    def from_row(cls, r: dict[str, Any]) -> AuditEntry:
        return cls(
            id=to_global_id("AuditEntry", r["id"]),
            at=r["at"],
            actor_pk=r["actor_id"],
            actor_username=r["actor_username"],
            action=AuditAction(r["action"]),
            object_type=r["object_type"],
            object_id=_object_id(r["object_type"], r["object_id"]),
            details=r["details"],
            address=r["address"],
            outcome=AuditOutcome(r["outcome"]),
        )

    @strawberry.field(description="Who acted; null for a sign-in with an unknown username.")
    async def actor(self, info: Info) -> User | None:
        if self.actor_pk is None:
            return None
        row = await info.context.loaders.user.load(self.actor_pk)
        return User.from_row(row) if row else None


@strawberry.input
class AuditLogFilter:
    from_: datetime.datetime | None = strawberry.field(
        default=None, name="from", description="At or after this moment."
    )
    to: datetime.datetime | None = strawberry.field(default=None, description="Before this moment.")
    actor_id: strawberry.ID | None = strawberry.field(default=None, description="A User's id.")
    actor_username: str | None = strawberry.field(
        default=None, description="Exactly this username (also failed sign-ins' tried names)."
    )
    action: AuditAction | None = None
    object_type: str | None = None
    object_id: strawberry.ID | None = strawberry.field(
        default=None, description="One object's rows, by its global id."
    )
    outcome: AuditOutcome | None = None


def _aware(moment: datetime.datetime) -> datetime.datetime:
    # A time without a zone is the government's (Asia/Shanghai).
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=TZ)


def _cursor_time(value: Any) -> datetime.datetime:
    return datetime.datetime.fromisoformat(str(value))


def _filtered(qs: Any, f: AuditLogFilter) -> Any:
    if f.from_ is not None and f.to is not None and _aware(f.from_) > _aware(f.to):
        raise DomainError("INVALID_DATE_RANGE", "to")
    if f.from_ is not None:
        qs = qs.filter(at__gte=_aware(f.from_))
    if f.to is not None:
        qs = qs.filter(at__lt=_aware(f.to))
    if f.actor_id is not None:
        qs = qs.filter(actor_id=pk_of(f.actor_id, "User"))
    if f.actor_username is not None:
        qs = text_equal(qs, "actor_username", f.actor_username.strip())
    if f.action is not None:
        qs = qs.filter(action=f.action.value)
    if f.object_type is not None:
        qs = text_equal(qs, "object_type", f.object_type.strip())
    if f.object_id is not None:
        type_name, pk = from_global_id(f.object_id)
        qs = text_equal(qs, "object_type", type_name).filter(object_id=str(pk))
    if f.outcome is not None:
        qs = qs.filter(outcome=f.outcome.value)
    return qs


@strawberry.type
class AuditQueries:
    @strawberry.field(
        description="The audit log, newest first (administrators: a system administrator "
        "reads every row, an administrator of regions the rows of people with a role there)."
    )
    async def audit_log(
        self,
        info: Info,
        filter: AuditLogFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[AuditEntry]:
        actor = actor_of(info)

        async def run() -> Connection[AuditEntry]:
            qs = AuditEntryModel.filter(audit_scope(actor))
            if filter is not None:
                qs = _filtered(qs, filter)
            return await paginate(
                qs,
                first=first,
                after=after,
                order=("-at", "-id"),
                columns=AUDIT_COLUMNS,
                build=AuditEntry.from_row,
                cursor_types={"at": _cursor_time},
            )

        return await guarded(info, run)
