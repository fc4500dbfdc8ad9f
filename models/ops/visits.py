"""Visit operations: plan, log, complete, cancel, and correct notes (docs/design.md section 6).

Each runs in one transaction: the visit row, its participants, the photos linked to it, the
demands raised during it (VISIT-source demands with their SUBMIT events) and the client's
receipt. The app works offline, so every create carries a client-made UUID; a retry with the
same content returns the first visit, the same UUID with other content is CLIENT_ID_REUSED."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models.access import enterprise_scope
from models.errors import DomainError, Problems
from models.ops import receipts
from models.ops.attachments import UNLINKED
from models.ops.demands import DemandData, check_demand_fields, create_demand
from models.ops.policy import categories_for_region_q, load_policy
from models.ops.region_tree import chain_of_path
from models.ops.region_tree import region_path as path_of
from models.ops.validate import choice, text
from models.rules import clock
from models.rules.actor import Actor
from models.rules.demand_states import DemandSource
from models.rules.device_clock import OnServerClock, TimeFlag, clock_offset_minutes
from models.rules.geo import Assessment, CheckIn, Place, assess_checkin, valid_point
from models.rules.policy import Policy
from models.rules.roles import CoordinateSystem, Role
from models.rules.visit_states import VisitMode, VisitStatus
from models.tables.demands import Attachment
from models.tables.enterprises import Enterprise
from models.tables.grants import RoleGrant
from models.tables.org import User
from models.tables.policy import DemandCategory
from models.tables.visits import SupportPolicy, Visit, VisitParticipant

MAX_PARTICIPANTS = 20
MAX_NOTES = 5000
MAX_PURPOSE = 500
MAX_POLICIES = 30
MAX_POLICY_TITLE = 200
MAX_PHOTOS = 20
MAX_DEMANDS = 10
MAX_ACCURACY_M = 100_000.0
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/heic", "image/heif", "image/webp"})


# --------------------------------------------------------------------------- input


@dataclass
class CheckInData:
    latitude: float
    longitude: float
    system: str
    accuracy_m: float | None = None
    mock_location: bool = False
    device_time: datetime | None = None


@dataclass
class PolicyGiven:
    """A policy handed over: one from the catalog (`policy_id`) or typed in (`title`)."""

    policy_id: int | None = None
    title: str | None = None


@dataclass
class RaisedDemand:
    title: str
    description: str
    category_id: int | None = None
    urgency: str | None = None
    attachment_ids: list[int] = field(default_factory=list)


@dataclass
class VisitReport:
    """What logging a visit records: how it went, where the phone was, what came of it."""

    mode: str | None = None
    visited_at: datetime | None = None
    ended_at: datetime | None = None
    notes: str = ""
    policies: list[PolicyGiven] = field(default_factory=list)
    check_in: CheckInData | None = None
    photo_ids: list[int] = field(default_factory=list)
    demands: list[RaisedDemand] = field(default_factory=list)


@dataclass
class VisitPeople:
    """Who goes: the lead visitor (default: the caller) and the accompanying cadres."""

    lead_id: int | None = None
    participant_ids: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- checks


async def _enterprise_for_cadre(actor: Actor, enterprise_id: int) -> tuple[Enterprise, str]:
    """The enterprise and its region path, if the actor is a cadre of its region."""
    enterprise = await Enterprise.get_or_none(id=enterprise_id)
    if enterprise is None:
        raise DomainError("NOT_FOUND", "enterpriseId")
    region_path = await path_of(enterprise.region_id)  # type: ignore[attr-defined]
    if not actor.covers(region_path, (Role.CADRE,)):
        # Whoever may read the enterprise (its region's staff, its own contacts) learns why;
        # anyone else learns nothing.
        if await Enterprise.filter(enterprise_scope(actor), id=enterprise.id).exists():
            raise DomainError("FORBIDDEN")
        raise DomainError("NOT_FOUND", "enterpriseId")
    return enterprise, region_path


async def _check_people(
    problems: Problems, actor: Actor, people: VisitPeople, region_path: str, *, happened: bool
) -> tuple[int, list[int]]:
    """The lead and the others (without the lead, no repeats); each must be a cadre whose
    grant covers the enterprise's region, and active unless the visit `happened` (one logged
    offline may arrive after someone on it left the service)."""
    lead = people.lead_id if people.lead_id is not None else actor.user_id
    others = [i for i in dict.fromkeys(people.participant_ids) if i != lead]
    if len(others) + 1 > MAX_PARTICIPANTS:
        problems.add("TOO_MANY_PARTICIPANTS", "participantIds", max=MAX_PARTICIPANTS)
        return lead, others
    wanted = [lead, *others]
    accounts = (
        User.filter(id__in=wanted) if happened else User.filter(id__in=wanted, is_active=True)
    )
    known = set(await accounts.values_list("id", flat=True))
    grants = await RoleGrant.filter(user_id__in=wanted, role=Role.CADRE.value).values(
        "user_id", "region__path"
    )
    covered = {
        g["user_id"]
        for g in grants
        if g["region__path"] is None or region_path.startswith(g["region__path"])
    }
    if lead not in known or lead not in covered:
        problems.add("PARTICIPANT_NOT_ELIGIBLE", "leadId", ids=[lead])
    bad = [i for i in others if i not in known or i not in covered]
    if bad:
        problems.add("PARTICIPANT_NOT_ELIGIBLE", "participantIds", ids=bad)
    return lead, others


def _number(problems: Problems, value: float | None, name: str, lo: float, hi: float) -> None:
    if value is not None and not (math.isfinite(value) and lo <= value <= hi):
        problems.add("OUT_OF_RANGE", name, min=lo, max=hi)


def _check_in(problems: Problems, raw: CheckInData | None) -> CheckIn | None:
    if raw is None:
        return None
    before = len(problems.items)
    system = choice(problems, CoordinateSystem, raw.system, "checkIn.coordinateSystem")
    _number(problems, raw.latitude, "checkIn.latitude", -90, 90)
    _number(problems, raw.longitude, "checkIn.longitude", -180, 180)
    _number(problems, raw.accuracy_m, "checkIn.accuracy", 0, MAX_ACCURACY_M)
    ok = (
        system is not None
        and math.isfinite(raw.latitude)
        and math.isfinite(raw.longitude)
        and valid_point(raw.latitude, raw.longitude)
    )
    own_problems = len(problems.items) > before
    if system is not None and not ok and not own_problems:
        problems.add("INVALID_LOCATION", "checkIn")  # (0, 0): the phone had no fix
    if not ok or own_problems:
        return None
    assert system is not None
    return CheckIn(
        latitude=raw.latitude,
        longitude=raw.longitude,
        accuracy_m=raw.accuracy_m,
        system=system,
        mock_location=raw.mock_location,
        device_time=raw.device_time,
    )


async def _policies(problems: Problems, given: list[PolicyGiven], region_path: str) -> list[dict]:
    """Catalog entries are looked up (offered in the region) and their titles copied; free-text
    ones are kept as typed. An entry withdrawn since is accepted: it was the one handed over
    when the visit was logged offline against the app's copy of the catalog."""
    if len(given) > MAX_POLICIES:
        problems.add("TOO_MANY_POLICIES", "policies", max=MAX_POLICIES)
        return []
    ids = [p.policy_id for p in given if p.policy_id is not None]
    chain = chain_of_path(region_path)
    catalog = {
        r["id"]: r["title"]
        for r in await SupportPolicy.filter(
            Q(region_id=None) | Q(region_id__in=chain), id__in=ids
        ).values("id", "title")
    }
    out: list[dict] = []
    for i, p in enumerate(given):
        name = f"policies.{i}"
        if p.policy_id is not None:
            if p.policy_id not in catalog:
                problems.add("NOT_FOUND", f"{name}.policyId")
                continue
            out.append({"policyId": p.policy_id, "title": catalog[p.policy_id]})
            continue
        title = text(problems, p.title, f"{name}.title", max_len=MAX_POLICY_TITLE, required=True)
        if title:
            out.append({"policyId": None, "title": title})
    return out


async def _photos(problems: Problems, actor: Actor, ids: list[int]) -> list[int]:
    """The actor's own, still unlinked image uploads. Those not among the actor's uploads
    (removed as unused before the visit arrived, say) are UPLOAD_NOT_FOUND: the app uploads
    them again; the rest that cannot be used are INVALID_PHOTO."""
    ids = list(dict.fromkeys(ids))
    if len(ids) > MAX_PHOTOS:
        problems.add("TOO_MANY_ATTACHMENTS", "photoIds", max=MAX_PHOTOS)
        return []
    if not ids:
        return []
    rows = await Attachment.filter(id__in=ids, uploaded_by_id=actor.user_id).values(
        "id", "content_type", *UNLINKED
    )
    own = {r["id"] for r in rows}
    usable = {
        r["id"]
        for r in rows
        if r["content_type"] in PHOTO_TYPES and all(r[k] is None for k in UNLINKED)
    }
    missing = [i for i in ids if i not in own]
    if missing:
        problems.add("UPLOAD_NOT_FOUND", "photoIds", ids=missing)
    refused = [i for i in ids if i in own and i not in usable]
    if refused:
        problems.add("INVALID_PHOTO", "photoIds", ids=refused)
    return ids


async def _link_photos(actor: Actor, ids: list[int], visit_id: int) -> None:
    """Inside the caller's transaction; the conditional UPDATE keeps two calls from linking the
    same photo twice."""
    if not ids:
        return
    linked = await Attachment.filter(id__in=ids, uploaded_by_id=actor.user_id, **UNLINKED).update(
        visit_id=visit_id
    )
    if linked != len(ids):
        raise DomainError("INVALID_PHOTO", "photoIds", ids=ids)


@dataclass(frozen=True)
class _Times:
    visited_at: datetime
    ended_at: datetime | None
    reported_visited_at: datetime | None  # the phone's visit time, when the kept one differs
    offset_minutes: int | None
    flag: TimeFlag | None


def _times(problems: Problems, report: VisitReport, on_server: OnServerClock) -> _Times:
    """When the visit happened: as reported, else the check-in's device time, else the receipt;
    the phone's times put on the server's clock (models.rules.device_clock). A time ahead of
    the server is never refused: an app sending a visit logged offline on a fast phone would
    otherwise retry it forever."""
    check_in = report.check_in
    reported = report.visited_at
    if reported is None and check_in is not None:
        reported = check_in.device_time
    phone_times = [t for t in (reported, report.ended_at) if t is not None]
    if check_in is not None and check_in.device_time is not None:
        phone_times.append(check_in.device_time)
    ahead = any(on_server.time(t)[1] for t in phone_times)
    visited = on_server.received_at if reported is None else on_server.time(reported)[0]
    ended = None
    if report.ended_at is not None:
        # Compared as the phone gave them (both shifted alike): what the user wrote must hold.
        start = on_server.received_at if reported is None else on_server.shifted(reported)
        if on_server.shifted(report.ended_at) < start:
            problems.add("ENDS_BEFORE_START", "endedAt")
        ended = on_server.time(report.ended_at)[0]
    return _Times(
        visited_at=visited,
        ended_at=ended,
        reported_visited_at=reported if reported is not None and reported != visited else None,
        offset_minutes=on_server.offset_minutes,
        flag=on_server.flag(ahead) if phone_times else None,
    )


async def _categories(raised: list[RaisedDemand], region_path: str) -> dict[int, bool]:
    """The categories the raised demands name that the region has (nationwide, its own or an
    ancestor's), each with whether it is still active; one statement for all."""
    ids = {d.category_id for d in raised if d.category_id is not None}
    if not ids:
        return {}
    rows = await DemandCategory.filter(
        categories_for_region_q(chain_of_path(region_path)), id__in=ids
    ).values("id", "is_active")
    return {r["id"]: bool(r["is_active"]) for r in rows}


@dataclass
class _CheckedReport:
    mode: VisitMode
    times: _Times
    notes: str
    policies: list[dict]
    check_in: CheckIn | None
    photo_ids: list[int]
    demands: list[Any]


async def _check_report(
    problems: Problems,
    actor: Actor,
    report: VisitReport,
    *,
    enterprise: Enterprise,
    region_path: str,
    default_mode: VisitMode,
    on_server: OnServerClock,
) -> _CheckedReport:
    mode = choice(problems, VisitMode, report.mode, "mode") or default_mode
    times = _times(problems, report, on_server)
    notes = text(problems, report.notes, "notes", max_len=MAX_NOTES, required=False)
    policies = await _policies(problems, report.policies, region_path)
    check_in = _check_in(problems, report.check_in)
    photo_ids = await _photos(problems, actor, report.photo_ids)
    demands: list[Any] = []
    if len(report.demands) > MAX_DEMANDS:
        problems.add("TOO_MANY_DEMANDS", "demands", max=MAX_DEMANDS)
    else:
        region_id: int = enterprise.region_id  # type: ignore[attr-defined]
        active = await _categories(report.demands, region_path)
        for i, raised in enumerate(report.demands):
            category = raised.category_id
            if category is not None and active.get(category) is False:
                category = None  # withdrawn since the app's copy: the dispatcher classifies it
            data = DemandData(
                enterprise_id=enterprise.id,
                title=raised.title,
                description=raised.description,
                category_id=category,
                urgency=raised.urgency,
                attachment_ids=list(raised.attachment_ids),
            )
            demands.append(
                await check_demand_fields(
                    problems,
                    data,
                    region_id=region_id,
                    source=DemandSource.VISIT,
                    prefix=f"demands.{i}.",
                    region_path=region_path,
                    category_offered=category is None or active.get(category, False),
                )
            )
    return _CheckedReport(mode, times, notes, policies, check_in, photo_ids, demands)


def _assess(
    report: _CheckedReport, enterprise: Enterprise, policy: Policy, on_server: OnServerClock
) -> Assessment:
    lat, lng = enterprise.latitude, enterprise.longitude
    place = None
    if lat is not None and lng is not None and valid_point(lat, lng):
        place = Place(lat, lng, CoordinateSystem(enterprise.coordinate_system))
    check_in = report.check_in
    if check_in is not None and check_in.device_time is not None:
        # The fix's time on the server's clock: a phone whose offset was measured is not
        # doubted for its clock (it is flagged CLOCK_CORRECTED instead).
        check_in = replace(check_in, device_time=on_server.shifted(check_in.device_time))
    return assess_checkin(
        check_in,
        place,
        on_site=report.mode is VisitMode.ON_SITE,
        radius_m=policy.checkin_radius_m,
        max_accuracy_m=policy.checkin_max_accuracy_m,
        received_at=on_server.received_at,
    )


def _completion_fields(
    actor: Actor, report: _CheckedReport, verdict: Assessment, policy: Policy, now: datetime
) -> dict[str, Any]:
    c = report.check_in
    t = report.times
    return {
        "status": VisitStatus.COMPLETED,
        "mode": report.mode,
        "at": t.visited_at,
        "visited_at": t.visited_at,
        "ended_at": t.ended_at,
        "reported_visited_at": t.reported_visited_at,
        "device_clock_offset_minutes": t.offset_minutes,
        "time_flag": t.flag,
        "notes": report.notes,
        "policies": report.policies,
        "completed_by_id": actor.user_id,
        "completed_at": now,
        "notes_locked_at": now + timedelta(hours=policy.visit_notes_edit_hours),
        "checkin_latitude": c.latitude if c else None,
        "checkin_longitude": c.longitude if c else None,
        "checkin_accuracy_m": c.accuracy_m if c else None,
        "checkin_system": c.system if c else None,
        "checkin_mock": bool(c and c.mock_location),
        "checkin_device_time": c.device_time if c else None,
        "checkin_received_at": now if c else None,
        "distance_m": verdict.distance_m,
        "location_trust": verdict.trust,
        "trust_reason": verdict.reason,
    }


async def _judge(
    problems: Problems,
    actor: Actor,
    report: VisitReport,
    *,
    enterprise: Enterprise,
    region_id: int,
    region_path: str,
    default_mode: VisitMode,
    now: datetime,
    sent_at: datetime | None,
) -> tuple[_CheckedReport, dict[str, Any]]:
    """Check the report (raising every problem found so far), judge its check-in by the
    region's policy, and return the columns a logged visit gets. `sent_at`: the phone's clock
    as it sent the call, which measures the clock's offset."""
    on_server = OnServerClock(clock_offset_minutes(sent_at, now), now)
    checked = await _check_report(
        problems,
        actor,
        report,
        enterprise=enterprise,
        region_path=region_path,
        default_mode=default_mode,
        on_server=on_server,
    )
    problems.raise_if_any()
    policy = await load_policy(region_id)
    verdict = _assess(checked, enterprise, policy, on_server)
    return checked, _completion_fields(actor, checked, verdict, policy, now)


async def _write_outcomes(
    actor: Actor, report: _CheckedReport, visit_id: int, now: datetime
) -> None:
    """Photos and the demands raised during the visit, inside the caller's transaction."""
    await _link_photos(actor, report.photo_ids, visit_id)
    for checked in report.demands:
        await create_demand(actor, _with_visit(checked, visit_id), now)


def _with_visit(checked: Any, visit_id: int) -> Any:
    return replace(checked, visit_id=visit_id)


async def _add_participants(visit_id: int, lead: int, others: list[int]) -> None:
    await VisitParticipant.bulk_create(
        [VisitParticipant(visit_id=visit_id, user_id=lead, is_lead=True)]
        + [VisitParticipant(visit_id=visit_id, user_id=u, is_lead=False) for u in others]
    )


def _args(**parts: Any) -> dict[str, Any]:
    """The call's arguments as the fingerprint sees them (dataclasses as plain dicts)."""
    return {k: asdict(v) if hasattr(v, "__dataclass_fields__") else v for k, v in parts.items()}


async def _load(pk: int) -> Visit:
    return await Visit.get(id=pk)


# --------------------------------------------------------------------------- operations


async def plan_visit(
    actor: Actor,
    enterprise_id: int,
    people: VisitPeople,
    planned_at: datetime,
    *,
    mode: str | None = None,
    purpose: str = "",
    client_id: str | None,
) -> Visit:
    """A cadre plans a visit (for themselves as lead, or for a leader they work for)."""
    receipt = receipts.receipt_for(
        client_id,
        "PLAN_VISIT",
        _args(
            enterprise=enterprise_id,
            people=people,
            planned_at=planned_at,
            mode=mode,
            purpose=purpose,
        ),
        uuid_only=True,
        field="clientId",
    )
    assert receipt is not None

    async def run() -> Visit:
        # Checked inside the retry guard: a plan queued offline and sent late still replays.
        enterprise, region_path = await _enterprise_for_cadre(actor, enterprise_id)
        problems = Problems()
        lead, others = await _check_people(problems, actor, people, region_path, happened=False)
        visit_mode = choice(problems, VisitMode, mode, "mode") or VisitMode.ON_SITE
        cleaned_purpose = text(problems, purpose, "purpose", max_len=MAX_PURPOSE, required=False)
        if planned_at < clock.now() - timedelta(hours=1):
            problems.add("PLANNED_IN_PAST", "plannedAt")
        problems.raise_if_any()
        async with in_transaction():
            visit = await Visit.create(
                enterprise_id=enterprise.id,
                region_id=enterprise.region_id,  # type: ignore[attr-defined]
                status=VisitStatus.PLANNED,
                mode=visit_mode,
                lead_id=lead,
                created_by_id=actor.user_id,
                client_id=receipt.client_id,
                at=planned_at,
                planned_at=planned_at,
                purpose=cleaned_purpose,
            )
            await receipts.write_receipt(actor, receipt, visit.id)
            await _add_participants(visit.id, lead, others)
        return visit

    return await receipts.idempotent(actor, receipt, run, _load, field="clientId")


async def log_visit(
    actor: Actor,
    enterprise_id: int,
    people: VisitPeople,
    report: VisitReport,
    *,
    client_id: str | None,
    sent_at: datetime | None = None,
) -> Visit:
    """A visit that happened (planned or not), with everything that came of it, in one call.
    `sent_at`: the phone's clock as it sent this call (not part of what a retry repeats)."""
    receipt = receipts.receipt_for(
        client_id,
        "LOG_VISIT",
        _args(enterprise=enterprise_id, people=people, report=report),
        uuid_only=True,
        field="clientId",
    )
    assert receipt is not None

    async def run() -> Visit:
        enterprise, region_path = await _enterprise_for_cadre(actor, enterprise_id)
        now = clock.now()
        problems = Problems()
        lead, others = await _check_people(problems, actor, people, region_path, happened=True)
        checked, completion = await _judge(
            problems,
            actor,
            report,
            enterprise=enterprise,
            region_id=enterprise.region_id,  # type: ignore[attr-defined]
            region_path=region_path,
            default_mode=VisitMode.ON_SITE,
            now=now,
            sent_at=sent_at,
        )
        async with in_transaction():
            visit = await Visit.create(
                enterprise_id=enterprise.id,
                region_id=enterprise.region_id,  # type: ignore[attr-defined]
                lead_id=lead,
                created_by_id=actor.user_id,
                client_id=receipt.client_id,
                **completion,
            )
            # The receipt first: a concurrent retry then fails on its unique key and replays,
            # instead of failing later on photos this call has already linked.
            await receipts.write_receipt(actor, receipt, visit.id)
            await _add_participants(visit.id, lead, others)
            await _write_outcomes(actor, checked, visit.id, now)
        return visit

    return await receipts.idempotent(actor, receipt, run, _load, field="clientId")


async def _visit_for_change(actor: Actor, visit_id: int) -> tuple[Visit, Enterprise, str]:
    """The visit, if the actor may change it: its lead or its creator, still a cadre of its
    region. Others who may see it get FORBIDDEN, the rest NOT_FOUND."""
    visit = await Visit.get_or_none(id=visit_id)
    if visit is None:
        raise DomainError("NOT_FOUND", "visitId")
    enterprise = await Enterprise.get(id=visit.enterprise_id)  # type: ignore[attr-defined]
    region_path = await path_of(visit.region_id)  # type: ignore[attr-defined]
    mine = actor.user_id in (visit.lead_id, visit.created_by_id)  # type: ignore[attr-defined]
    if mine and actor.covers(region_path, (Role.CADRE,)):
        return visit, enterprise, region_path
    participant = await VisitParticipant.filter(visit_id=visit.id, user_id=actor.user_id).exists()
    staff = (Role.CADRE, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)
    if participant or actor.covers(region_path, staff):
        raise DomainError("FORBIDDEN")
    raise DomainError("NOT_FOUND", "visitId")


def _check_version(visit: Visit, expected: int | None) -> None:
    if expected is not None and expected != visit.version:
        raise DomainError("CONFLICT", "version")


def _check_status(visit: Visit, *allowed: VisitStatus) -> None:
    if visit.status not in allowed:
        raise DomainError("VISIT_INVALID_STATUS", "visitId", status=visit.status.value)


def _not_completed(visit: Visit) -> None:
    """A visit someone already logged: completing or cancelling it again (a call queued
    offline by the other of its lead and planner) has a code of its own, so the app can tell
    its user the visit is on record rather than retry."""
    if visit.status is VisitStatus.COMPLETED:
        raise DomainError("VISIT_ALREADY_COMPLETED", "visitId")


async def _update(visit: Visit, **values: Any) -> None:
    """Write with an optimistic version check: two people acting at once, one wins."""
    updated = await Visit.filter(id=visit.id, version=visit.version).update(
        version=visit.version + 1, **values
    )
    if updated != 1:
        raise DomainError("CONFLICT", "version")


async def complete_visit(
    actor: Actor,
    visit_id: int,
    report: VisitReport,
    *,
    client_id: str | None,
    expected_version: int | None = None,
    sent_at: datetime | None = None,
) -> Visit:
    """Turn a planned visit into a logged one (its lead or whoever planned it). A visit
    cancelled meanwhile is logged all the same: it happened (the completion was queued on a
    phone offline); its cancellation stays on record beside it."""
    receipt = receipts.receipt_for(
        client_id,
        "COMPLETE_VISIT",
        _args(visit=visit_id, report=report),
        uuid_only=True,
        field="clientId",
    )

    async def run() -> Visit:
        visit, enterprise, region_path = await _visit_for_change(actor, visit_id)
        _not_completed(visit)
        if visit.status is VisitStatus.PLANNED:  # cancelling changed the version the app read
            _check_version(visit, expected_version)
        now = clock.now()
        problems = Problems()
        checked, completion = await _judge(
            problems,
            actor,
            report,
            enterprise=enterprise,
            region_id=visit.region_id,  # type: ignore[attr-defined]
            region_path=region_path,
            default_mode=visit.mode,
            now=now,
            sent_at=sent_at,
        )
        async with in_transaction():
            await receipts.write_receipt(actor, receipt, visit.id)
            await _update(visit, **completion)
            await _write_outcomes(actor, checked, visit.id, now)
        return await Visit.get(id=visit.id)

    return await receipts.idempotent(actor, receipt, run, _load, field="clientId")


async def cancel_visit(
    actor: Actor,
    visit_id: int,
    reason: str,
    *,
    client_id: str | None = None,
    expected_version: int | None = None,
) -> Visit:
    """Cancel a planned visit. Cancelling a cancelled one changes nothing and answers it as it
    is (the wanted outcome holds); a logged one is VISIT_ALREADY_COMPLETED."""
    receipt = receipts.receipt_for(client_id, "CANCEL_VISIT", {"visit": visit_id, "reason": reason})

    async def run() -> Visit:
        visit, _, _ = await _visit_for_change(actor, visit_id)
        _not_completed(visit)
        if visit.status is VisitStatus.CANCELLED:
            return visit
        _check_version(visit, expected_version)
        problems = Problems()
        cleaned = text(problems, reason, "reason", max_len=MAX_PURPOSE, required=True)
        problems.raise_if_any()
        async with in_transaction():
            await _update(
                visit, status=VisitStatus.CANCELLED, cancelled_at=clock.now(), cancel_reason=cleaned
            )
            await receipts.write_receipt(actor, receipt, visit.id)
        return await Visit.get(id=visit.id)

    return await receipts.idempotent(actor, receipt, run, _load)


async def update_visit_notes(
    actor: Actor,
    visit_id: int,
    notes: str,
    *,
    policies: list[PolicyGiven] | None = None,
    expected_version: int | None = None,
) -> Visit:
    """The author of a logged visit corrects its notes (and policies) until they lock. An edit
    that is in already (sent again, its first answer lost) is answered as it is, whatever the
    version it carries and even once the notes have locked."""
    visit = await Visit.get_or_none(id=visit_id)
    if visit is None:
        raise DomainError("NOT_FOUND", "visitId")
    if visit.completed_by_id != actor.user_id:  # type: ignore[attr-defined]
        await _visit_for_change(actor, visit_id)  # NOT_FOUND or FORBIDDEN, as for others
        raise DomainError("FORBIDDEN")
    _check_status(visit, VisitStatus.COMPLETED)
    problems = Problems()
    cleaned = text(problems, notes, "notes", max_len=MAX_NOTES, required=False)
    values: dict[str, Any] = {"notes": cleaned}
    if policies is not None:
        region = await path_of(visit.region_id)  # type: ignore[attr-defined]
        values["policies"] = await _policies(problems, policies, region)
    if not problems.items and all(getattr(visit, k) == v for k, v in values.items()):
        return visit
    now = clock.now()
    if visit.notes_locked_at is not None and now >= visit.notes_locked_at:
        raise DomainError("VISIT_LOCKED", "notes")
    _check_version(visit, expected_version)
    problems.raise_if_any()
    await _update(visit, **values)
    return await Visit.get(id=visit.id)
