"""Keeping the enterprise register: create, update, upsert (import), contacts, 包联 leaders."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import ADMIN, enterprise_scope, require_admin_over
from models.errors import DomainError, Problems
from models.ops.validate import choice, text
from models.rules.actor import Actor
from models.rules.clock import now
from models.rules.identifiers import (
    IdentifierError,
    credit_code_check_digit_ok,
    normalize_credit_code,
    normalize_industry_code,
    normalize_mobile,
)
from models.rules.roles import CoordinateSystem, EnterpriseScale, Role
from models.tables.enterprises import Enterprise, EnterpriseContact, LeaderAssignment
from models.tables.grants import RoleGrant
from models.tables.org import Region, User

FLAG_FIELDS = (
    "above_scale_industry",
    "qualified_construction",
    "above_limit_trade",
    "above_scale_service",
    "real_estate_development",
)


@dataclass
class ContactData:
    name: str
    mobile: str
    position: str = ""


@dataclass
class EnterpriseData:
    """Fields of an enterprise; None leaves a field unchanged on update."""

    name: str | None = None
    credit_code: str | None = None
    region_id: int | None = None
    legal_representative: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    coordinate_system: str | None = None
    industry_code: str | None = None
    scale: str | None = None
    above_scale_industry: bool | None = None
    qualified_construction: bool | None = None
    above_limit_trade: bool | None = None
    above_scale_service: bool | None = None
    real_estate_development: bool | None = None
    contacts: list[ContactData] | None = field(default=None)


_CAMEL = {
    "credit_code": "creditCode",
    "region_id": "regionId",
    "legal_representative": "legalRepresentative",
    "coordinate_system": "coordinateSystem",
    "industry_code": "industryCode",
}


def _clean(data: EnterpriseData, problems: Problems, *, creating: bool, override: bool) -> dict:
    """Validate and normalise; returns the model's column values that were given."""
    out: dict[str, Any] = {}
    if creating or data.name is not None:
        out["name"] = text(problems, data.name, "name", max_len=200, required=True)
    if creating or data.credit_code is not None:
        try:
            out["credit_code"] = normalize_credit_code(
                data.credit_code or "", allow_bad_check_digit=override
            )
            out["credit_code_override"] = override and not credit_code_check_digit_ok(
                out["credit_code"]
            )
        except IdentifierError as e:
            problems.add(e.code, "creditCode")
    if creating and data.region_id is None:
        problems.add("REQUIRED", "regionId")
    elif data.region_id is not None:
        out["region_id"] = data.region_id
    for name, max_len in (("legal_representative", 64), ("address", 255)):
        value = getattr(data, name)
        if value is not None:
            out[name] = text(
                problems, value, _CAMEL.get(name, name), max_len=max_len, required=False
            )
    if data.latitude is not None or data.longitude is not None:
        lat, lng = data.latitude, data.longitude
        if lat is None or not -90 <= lat <= 90:
            problems.add("INVALID_COORDINATES", "latitude")
        elif lng is None or not -180 <= lng <= 180:
            problems.add("INVALID_COORDINATES", "longitude")
        else:
            out["latitude"], out["longitude"] = lat, lng
    if data.coordinate_system is not None:
        out["coordinate_system"] = choice(
            problems, CoordinateSystem, data.coordinate_system, "coordinateSystem"
        )
    if data.industry_code is not None:
        try:
            out["industry_code"] = (
                normalize_industry_code(data.industry_code) if data.industry_code else None
            )
        except IdentifierError as e:
            problems.add(e.code, "industryCode")
    if data.scale is not None:
        out["scale"] = (
            choice(problems, EnterpriseScale, data.scale, "scale") if data.scale else None
        )
    for flag in FLAG_FIELDS:
        value = getattr(data, flag)
        if value is not None:
            out[flag] = bool(value)
    return out


def _clean_contacts(problems: Problems, contacts: list[ContactData]) -> list[ContactData]:
    cleaned: list[ContactData] = []
    seen: set[str] = set()
    for i, c in enumerate(contacts):
        name = text(problems, c.name, f"contacts.{i}.name", max_len=64, required=True)
        position = text(problems, c.position, f"contacts.{i}.position", max_len=64, required=False)
        try:
            mobile = normalize_mobile(c.mobile)
        except IdentifierError as e:
            problems.add(e.code, f"contacts.{i}.mobile")
            continue
        if mobile in seen:
            problems.add("DUPLICATE_MOBILE", f"contacts.{i}.mobile")
            continue
        seen.add(mobile)
        cleaned.append(ContactData(name, mobile, position))
    return cleaned


async def _check_region(actor: Actor, region_id: int) -> Region:
    region = await require_admin_over(actor, region_id)
    assert region is not None
    return region


def _validate(
    data: EnterpriseData, *, creating: bool, override: bool
) -> tuple[dict[str, Any], list[ContactData] | None]:
    problems = Problems()
    values = _clean(data, problems, creating=creating, override=override)
    contacts = _clean_contacts(problems, data.contacts) if data.contacts is not None else None
    problems.raise_if_any()
    return values, contacts


def _may_override(actor: Actor, override: bool) -> bool:
    if override and not actor.has_role(Role.ADMIN):
        raise DomainError("FORBIDDEN", "overrideCheckDigit")
    return override


async def create_enterprise(
    actor: Actor, data: EnterpriseData, *, override_check_digit: bool = False
) -> Enterprise:
    values, contacts = _validate(
        data, creating=True, override=_may_override(actor, override_check_digit)
    )
    await _check_region(actor, values["region_id"])
    try:
        async with in_transaction():
            ent = await Enterprise.create(**values)
            await _replace_contacts(ent, contacts or [])
    except IntegrityError:
        raise DomainError("DUPLICATE_CREDIT_CODE", "creditCode") from None
    return ent


async def _replace_contacts(ent: Enterprise, contacts: list[ContactData]) -> None:
    """Make the contact list equal `contacts`, keeping rows (and their app users) by mobile."""
    existing = {c.mobile: c for c in await EnterpriseContact.filter(enterprise_id=ent.id)}
    stale = [c.id for m, c in existing.items() if m not in {c.mobile for c in contacts}]
    if stale:
        await EnterpriseContact.filter(id__in=stale).delete()
    await _merge_contacts(ent, contacts, existing)


async def _merge_contacts(
    ent: Enterprise,
    contacts: list[ContactData],
    existing: dict[str, EnterpriseContact] | None = None,
) -> None:
    """Add or update `contacts` by mobile, leaving any other contact as it is."""
    if existing is None:
        existing = {c.mobile: c for c in await EnterpriseContact.filter(enterprise_id=ent.id)}
    wanted = {c.mobile: c for c in contacts}
    for mobile, c in wanted.items():
        row = existing.get(mobile)
        if row is None:
            await EnterpriseContact.create(
                enterprise=ent, name=c.name, mobile=mobile, position=c.position
            )
        elif (row.name, row.position) != (c.name, c.position):
            row.name, row.position = c.name, c.position
            await row.save(update_fields=["name", "position"])


async def _get_for_admin(actor: Actor, enterprise_id: int) -> Enterprise:
    """The enterprise an administrator of its region changes (its file, contacts, leaders).
    Whoever does not see it is told it is not there; whoever sees it (its region's staff, its
    contacts) but does not administer its region is refused."""
    ent = await Enterprise.get_or_none(id=enterprise_id).select_related("region")
    if ent is not None and actor.covers(ent.region.path, ADMIN):
        return ent
    if ent is None or not await Enterprise.filter(enterprise_scope(actor), id=ent.id).exists():
        raise DomainError("NOT_FOUND", "id")
    raise DomainError("FORBIDDEN")


async def update_enterprise(
    actor: Actor,
    enterprise_id: int,
    data: EnterpriseData,
    *,
    override_check_digit: bool = False,
    expected_version: int | None = None,
) -> Enterprise:
    values, contacts = _validate(
        data, creating=False, override=_may_override(actor, override_check_digit)
    )
    ent = await _get_for_admin(actor, enterprise_id)
    if "region_id" in values:
        await _check_region(actor, values["region_id"])
    version = ent.version if expected_version is None else expected_version
    try:
        async with in_transaction():
            # Optimistic lock: two admins saving at once cannot both win.
            # A queryset update skips auto_now, so updated_at is set here.
            changed = await Enterprise.filter(id=ent.id, version=version).update(
                **values, version=version + 1, updated_at=now()
            )
            if changed != 1:
                raise DomainError("VERSION_CONFLICT", "version")
            if contacts is not None:
                await _replace_contacts(ent, contacts)
    except IntegrityError:
        raise DomainError("DUPLICATE_CREDIT_CODE", "creditCode") from None
    return await Enterprise.get(id=ent.id)


UpsertOutcome = Literal["created", "updated", "unchanged"]


async def upsert_enterprise(
    actor: Actor, data: EnterpriseData, *, override_check_digit: bool = False
) -> tuple[Enterprise, UpsertOutcome]:
    """Create or update by credit code (the import path); an identical row changes nothing.
    The given contacts are added or updated by mobile; other contacts (and the app accounts
    linked to them) stay, since a sheet lists one contact where the register may hold more."""
    values, contacts = _validate(
        data, creating=True, override=_may_override(actor, override_check_digit)
    )
    await _check_region(actor, values["region_id"])
    try:
        return await _upsert(actor, values, contacts)
    except IntegrityError:
        # Another import created the same credit code between our read and our insert.
        raise DomainError("DUPLICATE_CREDIT_CODE", "creditCode") from None


async def _upsert(
    actor: Actor, values: dict[str, Any], contacts: list[ContactData] | None
) -> tuple[Enterprise, UpsertOutcome]:
    async with in_transaction():
        ent = await Enterprise.select_for_update().get_or_none(credit_code=values["credit_code"])
        if ent is None:
            ent = await Enterprise.create(**values)
            await _replace_contacts(ent, contacts or [])
            return ent, "created"
        old_region = await Region.get(id=ent.region_id)  # type: ignore[attr-defined]
        if not actor.covers(old_region.path, ADMIN):
            raise DomainError("REGION_OUT_OF_SCOPE", "regionId")
        diff = {k: v for k, v in values.items() if getattr(ent, k) != v}
        contacts_before = await _contact_tuples(ent)
        if contacts is not None:
            await _merge_contacts(ent, contacts)
        contacts_changed = contacts is not None and contacts_before != await _contact_tuples(ent)
        if not diff and not contacts_changed:
            return ent, "unchanged"
        # Contacts are part of the enterprise's file: a change to them is a new version too.
        await Enterprise.filter(id=ent.id).update(**diff, version=ent.version + 1, updated_at=now())
        return await Enterprise.get(id=ent.id), "updated"


async def _contact_tuples(ent: Enterprise) -> set[tuple[str, str, str]]:
    rows = await EnterpriseContact.filter(enterprise_id=ent.id).values_list(
        "name", "mobile", "position"
    )
    return {(r[0], r[1], r[2]) for r in rows}


async def add_contact(
    actor: Actor, enterprise_id: int, contact: ContactData, *, user_id: int | None = None
) -> EnterpriseContact:
    ent = await _get_for_admin(actor, enterprise_id)
    problems = Problems()
    cleaned = _clean_contacts(problems, [contact])
    problems.raise_if_any()
    c = cleaned[0]
    if user_id is not None and not await User.filter(id=user_id).exists():
        raise DomainError("NOT_FOUND", "userId")
    try:
        return await EnterpriseContact.create(
            enterprise=ent, name=c.name, mobile=c.mobile, position=c.position, user_id=user_id
        )
    except IntegrityError:
        raise DomainError("DUPLICATE_MOBILE", "mobile") from None


async def remove_contact(actor: Actor, contact_id: int) -> EnterpriseContact:
    contact = await EnterpriseContact.get_or_none(id=contact_id)
    if contact is None:
        raise DomainError("NOT_FOUND", "id")
    await _get_for_admin(actor, contact.enterprise_id)  # type: ignore[attr-defined]
    await contact.delete()
    return contact


async def assign_leader(
    actor: Actor,
    *,
    enterprise_id: int,
    leader_id: int,
    start_date: date,
    end_date: date | None = None,
    note: str = "",
) -> LeaderAssignment:
    ent = await _get_for_admin(actor, enterprise_id)
    if end_date is not None and end_date < start_date:
        raise DomainError("INVALID_DATE_RANGE", "endDate")
    if not await RoleGrant.filter(user_id=leader_id, role=Role.CADRE).exists():
        raise DomainError("NOT_A_CADRE", "leaderId")
    problems = Problems()
    clean_note = text(problems, note, "note", max_len=255, required=False)
    problems.raise_if_any()
    return await LeaderAssignment.create(
        enterprise=ent,
        leader_id=leader_id,
        start_date=start_date,
        end_date=end_date,
        note=clean_note,
    )


async def end_leader_assignment(
    actor: Actor, assignment_id: int, end_date: date
) -> LeaderAssignment:
    a = await LeaderAssignment.get_or_none(id=assignment_id)
    if a is None:
        raise DomainError("NOT_FOUND", "id")
    await _get_for_admin(actor, a.enterprise_id)  # type: ignore[attr-defined]
    if end_date < a.start_date:
        raise DomainError("INVALID_DATE_RANGE", "endDate")
    a.end_date = end_date
    await a.save(update_fields=["end_date"])
    return a


ENTERPRISE_FIELD_NAMES = tuple(f.name for f in fields(EnterpriseData))
