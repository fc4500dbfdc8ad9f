"""Agency requests (帮办代办) and their timeline, built from plain joined rows.

The list and the detail fetch one row per request with its enterprise, service point name and
last event joined in (schema/agency_reads.py); the clock, materials and allowed actions resolve
synchronously from that row and the request's `AgencyView`. The rarer relations (agent, who
submitted, the procedure, the service point, documents, the whole timeline) go through
per-request DataLoaders, one batched statement each whatever the page size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, cast

import strawberry
from strawberry.dataloader import DataLoader
from strawberry.scalars import JSON
from strawberry.types import Info

from models.rules.actor import Actor
from models.rules.agency_flow import (
    AgencyFacts,
    AgencyRelation,
    agency_action_states,
    allowed_agency_actions,
)
from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.agency_view import (
    AgencyClock,
    effective_deadline_now,
    facts_of,
    is_overdue,
    on_time,
    paused_days_now,
    working_days_left,
)
from models.rules.workdays import WorkCalendar
from models.tables.agency import AgencyEvent as AgencyEventModel
from models.tables.demands import Attachment as AttachmentModel
from schema.relay import Node, global_ids_in, to_global_id
from schema.service_point_loaders import point_loader, procedure_loader
from schema.types.actions import ActionState, shown_states
from schema.types.demands import NUMBER_DESCRIPTION, RectificationState, Satisfaction
from schema.types.enterprises import ENTERPRISE_COLUMNS, Enterprise
from schema.types.files import ATTACHMENT_COLUMNS, Attachment
from schema.types.service_points import Procedure, ServicePoint
from schema.types.users import User

strawberry.enum(AgencyState, description="Where an agency request (帮办代办) is.")
strawberry.enum(AgencyAction, description="A transition of an agency request.")

Row = dict[str, Any]

AGENCY_COLUMNS = (
    "id",
    "enterprise_id",
    "service_point_id",
    "region_id",
    "procedure_id",
    "procedure_name",
    "description",
    "state",
    "submitted_by_id",
    "submitted_at",
    "number",
    "agent_id",
    "accepted_at",
    "promised_days",
    "deadline",
    "paused_days",
    "paused_at",
    "effective_deadline",
    "deadline_confirmed",
    "missing_materials",
    "requested_materials",
    "paused_from",
    "handling_started_at",
    "completed_at",
    "result_text",
    "certificate_number",
    "reject_reason",
    "cancelled_at",
    "closed_at",
    "rating",
    "rating_comment",
    "rated_at",
    "rectification_state",
    "rectification_deadline",
    "rectified_at",
    "version",
)
AGENCY_EVENT_COLUMNS = (
    "id",
    "request_id",
    "action",
    "at",
    "from_state",
    "to_state",
    "note",
    "data",
    "actor_id",
)
# One row per request: its own columns and its to-one relations, joined.
AGENCY_ROW_COLUMNS = (
    *AGENCY_COLUMNS,
    *(f"enterprise__{c}" for c in ENTERPRISE_COLUMNS),
    "service_point__name",
    *(f"last_event__{c}" for c in AGENCY_EVENT_COLUMNS),
    "last_event__actor__display_name",
)


@dataclass
class AgencyView:
    """What every request of one response shares: who asks, today, the regions' calendars."""

    actor: Actor
    today: date
    calendars: dict[int, WorkCalendar] = field(default_factory=dict)
    contact_enterprises: frozenset[int] = frozenset()

    def relation(self, r: Row) -> AgencyRelation:
        return AgencyRelation(
            agent=r["service_point_id"] in self.actor.service_point_ids(),
            contact=r["enterprise_id"] in self.contact_enterprises,
        )


def _enum(kind: Any, value: Any) -> Any:
    return None if value is None else kind(value)


def _extra(info: Info, key: str, make: Callable[[], DataLoader]) -> DataLoader:
    extras = info.context.extras
    if key not in extras:
        extras[key] = make()
    return extras[key]


def _grouped(model: Any, key: str, columns: tuple[str, ...]) -> Callable[[], DataLoader]:
    def make() -> DataLoader:
        async def load(keys: list[int]) -> list[list[Row]]:
            groups: dict[int, list[Row]] = defaultdict(list)
            rows = await model.filter(**{f"{key}__in": keys}).order_by("id").values(*columns)
            for r in rows:
                groups[r[key]].append(r)
            return [groups.get(k, []) for k in keys]

        return DataLoader(load_fn=load)

    return make


async def request_attachments(info: Info, request_pk: int) -> list[Row]:
    """The request's documents. No scope check here: whoever resolved the request sees them."""
    loader = _extra(
        info,
        "agency_attachments",
        _grouped(AttachmentModel, "agency_request_id", ATTACHMENT_COLUMNS),
    )
    return list(await loader.load(request_pk))


async def request_events(info: Info, request_pk: int) -> list[Row]:
    loader = _extra(
        info,
        "agency_events",
        _grouped(AgencyEventModel, "request_id", (*AGENCY_EVENT_COLUMNS, "actor__display_name")),
    )
    return list(await loader.load(request_pk))


@strawberry.type(description="A material accepted missing (容缺受理) and when it is promised.")
class AgencyMissingMaterial:
    name: str
    promised_by: date | None
    supplied_at: datetime | None = strawberry.field(description="Null while still owed.")


@strawberry.type(description="A material the agent asked for (补正), and what is needed.")
class AgencyRequestedMaterial:
    name: str
    note: str


def _datetime(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _date(value: Any) -> date | None:
    return date.fromisoformat(value) if isinstance(value, str) and value else None


# Keys of an agency event's data that hold row ids, and the type of each (models.ops.agency).
EVENT_DATA_IDS = {"agentId": "User", "attachmentIds": "Attachment"}


@strawberry.type(description="One transition in an agency request's timeline.")
class AgencyEvent(Node):
    pk: strawberry.Private[int]
    request_pk: strawberry.Private[int]
    attachment_pks: strawberry.Private[list[int]]
    action: AgencyAction
    at: datetime
    from_state: AgencyState | None
    to_state: AgencyState
    note: str
    data: JSON = strawberry.field(
        description='Details, e.g. {"pausedDays": 4}, {"missingMaterials": [...]}, '
        '{"attachmentIds": [...]} (the documents this step brought); ids in it (agentId, '
        "attachmentIds) are global ids, as everywhere in the API."
    )
    actor_name: str | None = strawberry.field(description="The actor's display name.")
    actor_pk: strawberry.Private[int | None]

    @classmethod
    def from_row(cls, r: Row, prefix: str = "", actor_name: str | None = None) -> AgencyEvent:
        data = r[f"{prefix}data"] or {}
        return cls(
            id=to_global_id("AgencyEvent", r[f"{prefix}id"]),
            pk=r[f"{prefix}id"],
            request_pk=r[f"{prefix}request_id"],
            action=AgencyAction(r[f"{prefix}action"]),
            at=r[f"{prefix}at"],
            from_state=_enum(AgencyState, r[f"{prefix}from_state"]),
            to_state=AgencyState(r[f"{prefix}to_state"]),
            note=r[f"{prefix}note"],
            data=cast(JSON, global_ids_in(data, EVENT_DATA_IDS)),
            attachment_pks=list(data.get("attachmentIds") or []),
            actor_name=actor_name,
            actor_pk=r[f"{prefix}actor_id"],
        )

    @strawberry.field
    async def actor(self, info: Info) -> User | None:
        if self.actor_pk is None:
            return None
        row = await info.context.loaders.user.load(self.actor_pk)
        return User.from_row(row) if row else None

    @strawberry.field(description="The documents this step brought.")
    async def attachments(self, info: Info) -> list[Attachment]:
        ids = self.attachment_pks
        if not ids:
            return []
        rows = await request_attachments(info, self.request_pk)
        return [Attachment.from_row(r) for r in rows if r["id"] in ids]


@strawberry.type(description="A transition of an agency request as the viewer's button shows it.")
class AgencyActionState(ActionState):
    action: AgencyAction = strawberry.field(
        description="The transition, as allowedActions names it."
    )


@strawberry.type(
    description="An agency request (帮办代办): an enterprise asks a service point to handle a "
    "procedure for it."
)
class AgencyRequest(Node):
    pk: strawberry.Private[int]
    row: strawberry.Private[Row]
    view: strawberry.Private[AgencyView]
    state: AgencyState
    procedure_name: str = strawberry.field(description="The procedure as named when submitted.")
    description: str
    version: int = strawberry.field(description="Pass back on a transition to detect races.")

    @classmethod
    def from_row(cls, r: Row, view: AgencyView) -> AgencyRequest:
        return cls(
            id=to_global_id("AgencyRequest", r["id"]),
            pk=r["id"],
            row=r,
            view=view,
            state=AgencyState(r["state"]),
            procedure_name=r["procedure_name"],
            description=r["description"],
            version=r["version"],
        )

    @strawberry.field(description=NUMBER_DESCRIPTION)
    def number(self) -> str:
        return self.row["number"]

    # --- the clock

    def _clock(self) -> AgencyClock:
        r = self.row
        return AgencyClock(
            state=self.state,
            effective_deadline=r["effective_deadline"],
            paused_at=r["paused_at"],
            completed_at=r["completed_at"],
            paused_days=int(r["paused_days"]),
        )

    def _calendar(self) -> WorkCalendar:
        return self.view.calendars[self.row["region_id"]]

    @strawberry.field(description="承诺时限 copied from the procedure at acceptance.")
    def promised_days(self) -> int | None:
        return self.row["promised_days"]

    @strawberry.field(
        description="Acceptance date + the promised working days (Asia/Shanghai), counted from "
        "the day after acceptance."
    )
    def deadline(self) -> date | None:
        return self.row["deadline"]

    @strawberry.field(
        description="The deadline with the working days paused for materials (补正) added; "
        "while paused it moves on with each working day."
    )
    def effective_deadline(self) -> date | None:
        return effective_deadline_now(self._clock(), self._calendar(), self.view.today)

    @strawberry.field(
        description="False when the deadline was counted into a year whose holiday arrangement "
        "is not yet published (weekends only there)."
    )
    def deadline_confirmed(self) -> bool:
        return bool(self.row["deadline_confirmed"])

    @strawberry.field(
        description="Working days paused for materials (补正): the finished pauses and, while "
        "paused, the working days of the current pause so far; the effective deadline is "
        "pushed back by as many."
    )
    def paused_days(self) -> int:
        return paused_days_now(self._clock(), self._calendar(), self.view.today)

    @strawberry.field(description="When the current 补正 pause began; null when not paused.")
    def paused_at(self) -> datetime | None:
        return self.row["paused_at"] if self.state is AgencyState.MATERIALS_REQUESTED else None

    @strawberry.field(description="Accepted, the clock running, past the effective deadline.")
    def overdue(self) -> bool:
        return is_overdue(self._clock(), self.view.today)

    @strawberry.field(
        description="Working days from today to the effective deadline; negative when overdue, "
        "frozen while paused, null before acceptance and once closed."
    )
    def remaining_working_days(self) -> int | None:
        return working_days_left(self._clock(), self._calendar(), self.view.today)

    @strawberry.field(
        description="Completed on or before the effective deadline; null unless completed."
    )
    def on_time(self) -> bool | None:
        return on_time(self._clock())

    # --- what this viewer may do now

    def _facts(self) -> AgencyFacts:
        r = self.row
        return facts_of(
            self.state,
            rating=_enum(Satisfaction, r["rating"]),
            rectification=_enum(RectificationState, r["rectification_state"]),
            missing_materials=r["missing_materials"] or [],
            deadline=effective_deadline_now(self._clock(), self._calendar(), self.view.today),
            rectification_deadline=r["rectification_deadline"],
        )

    @strawberry.field(description="The transitions the signed-in user may perform now.")
    def allowed_actions(self) -> list[AgencyAction]:
        return allowed_agency_actions(self._facts(), self.view.relation(self.row))

    @strawberry.field(
        description="Every transition the signed-in user's role on this request could take, "
        "allowed now or not: why not (the error the mutation would return) and the day that "
        "matters (completion due, rectification due, materials promised by). Read from the "
        "request's own row, like allowedActions."
    )
    def actions(self, info: Info) -> list[AgencyActionState]:
        judged = agency_action_states(self._facts(), self.view.relation(self.row))
        return shown_states(info, judged, "AGENCY", AgencyActionState)

    # --- materials

    @strawberry.field(description="容缺受理: materials accepted missing, with their promises.")
    def missing_materials(self) -> list[AgencyMissingMaterial]:
        return [
            AgencyMissingMaterial(
                name=str(m.get("name", "")),
                promised_by=_date(m.get("promisedBy")),
                supplied_at=_datetime(m.get("suppliedAt")),
            )
            for m in self.row["missing_materials"] or []
        ]

    @strawberry.field(description="补正: what the agent asked for last.")
    def requested_materials(self) -> list[AgencyRequestedMaterial]:
        return [
            AgencyRequestedMaterial(name=str(m.get("name", "")), note=str(m.get("note", "")))
            for m in self.row["requested_materials"] or []
        ]

    # --- relations from the joined row

    @strawberry.field
    def enterprise(self) -> Enterprise:
        r = self.row
        return Enterprise.from_row({c: r[f"enterprise__{c}"] for c in ENTERPRISE_COLUMNS})

    @strawberry.field
    def service_point_id(self) -> strawberry.ID:
        return to_global_id("ServicePoint", self.row["service_point_id"])

    @strawberry.field
    def service_point_name(self) -> str:
        return str(self.row["service_point__name"])

    @strawberry.field(description="The latest timeline event.")
    def last_event(self) -> AgencyEvent | None:
        r = self.row
        if r["last_event__id"] is None:
            return None
        return AgencyEvent.from_row(r, "last_event__", r["last_event__actor__display_name"])

    # --- dates and outcomes

    @strawberry.field
    def submitted_at(self) -> datetime:
        return cast(datetime, self.row["submitted_at"])

    @strawberry.field(description="受理")
    def accepted_at(self) -> datetime | None:
        return self.row["accepted_at"]

    @strawberry.field
    def handling_started_at(self) -> datetime | None:
        return self.row["handling_started_at"]

    @strawberry.field
    def completed_at(self) -> datetime | None:
        return self.row["completed_at"]

    @strawberry.field(description="Completed, rejected or cancelled.")
    def closed_at(self) -> datetime | None:
        return self.row["closed_at"]

    @strawberry.field
    def cancelled_at(self) -> datetime | None:
        return self.row["cancelled_at"]

    @strawberry.field
    def result_text(self) -> str | None:
        return self.row["result_text"]

    @strawberry.field(description="E.g. the new licence's number.")
    def certificate_number(self) -> str | None:
        return self.row["certificate_number"]

    @strawberry.field
    def reject_reason(self) -> str | None:
        return self.row["reject_reason"]

    @strawberry.field
    def rating(self) -> Satisfaction | None:
        return _enum(Satisfaction, self.row["rating"])

    @strawberry.field
    def rating_comment(self) -> str | None:
        return self.row["rating_comment"]

    @strawberry.field
    def rated_at(self) -> datetime | None:
        return self.row["rated_at"]

    @strawberry.field(description="整改 after a bad rating.")
    def rectification_state(self) -> RectificationState | None:
        return _enum(RectificationState, self.row["rectification_state"])

    @strawberry.field
    def rectification_deadline(self) -> date | None:
        return self.row["rectification_deadline"]

    @strawberry.field
    def rectified_at(self) -> datetime | None:
        return self.row["rectified_at"]

    # --- rarer relations, batched per request

    @strawberry.field(description="The procedure (事项) as the catalog has it now.")
    async def procedure(self, info: Info) -> Procedure | None:
        row = await procedure_loader(info).load(self.row["procedure_id"])
        return Procedure.from_row(row) if row else None

    @strawberry.field
    async def service_point(self, info: Info) -> ServicePoint | None:
        row = await point_loader(info).load(self.row["service_point_id"])
        return ServicePoint.from_row(row) if row else None

    @strawberry.field(description="The agent (帮办员) handling it.")
    async def agent(self, info: Info) -> User | None:
        if self.row["agent_id"] is None:
            return None
        row = await info.context.loaders.user.load(self.row["agent_id"])
        return User.from_row(row) if row else None

    @strawberry.field
    async def submitted_by(self, info: Info) -> User | None:
        row = await info.context.loaders.user.load(self.row["submitted_by_id"])
        return User.from_row(row) if row else None

    @strawberry.field(description="Every document: the enterprise's, the agent's, the result.")
    async def attachments(self, info: Info) -> list[Attachment]:
        return [Attachment.from_row(r) for r in await request_attachments(info, self.pk)]

    @strawberry.field(description="The whole timeline, oldest first: the audit trail.")
    async def timeline(self, info: Info) -> list[AgencyEvent]:
        rows = await request_events(info, self.pk)
        return [AgencyEvent.from_row(r, actor_name=r["actor__display_name"]) for r in rows]
