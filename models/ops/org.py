"""Administering the organisation: regions, departments, users and role grants."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models.access import ADMIN, require_admin_over, system_actor
from models.errors import DomainError, Problems
from models.ops.audit import COMMAND_LINE, Trail
from models.ops.validate import choice, text
from models.ops.work_day_index import inherit_scope
from models.rules.actor import Actor
from models.rules.audit import AuditAction
from models.rules.identifiers import IdentifierError, normalize_mobile, normalize_region_code
from models.rules.passwords import hash_password, password_too_weak
from models.rules.roles import Rank, RegionLevel, Role
from models.tables.enterprises import EnterpriseContact
from models.tables.grants import RoleGrant
from models.tables.org import Department, Region, User
from models.tables.service_points import ServicePoint

# Which level may sit directly under which: a county's towns, streets and parks.
_CHILD_LEVELS: dict[RegionLevel, set[RegionLevel]] = {
    RegionLevel.PROVINCE: {RegionLevel.CITY, RegionLevel.COUNTY},
    RegionLevel.CITY: {RegionLevel.COUNTY, RegionLevel.PARK},
    RegionLevel.COUNTY: {RegionLevel.TOWN, RegionLevel.STREET, RegionLevel.PARK},
    RegionLevel.TOWN: {RegionLevel.PARK},
    RegionLevel.STREET: {RegionLevel.PARK},
    RegionLevel.PARK: set(),
}
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,64}$")


def _region_code(problems: Problems, raw: str | None) -> str | None:
    if not raw:
        return None
    try:
        return normalize_region_code(raw)
    except IdentifierError as e:
        problems.add(e.code, "code")
        return None


async def create_region(
    actor: Actor, *, name: str, level: str, parent_id: int | None, code: str | None = None
) -> Region:
    parent = await require_admin_over(actor, parent_id)
    problems = Problems()
    clean_name = text(problems, name, "name", max_len=100, required=True)
    lvl = choice(problems, RegionLevel, level, "level")
    clean_code = _region_code(problems, code)
    if parent is not None and lvl is not None and lvl not in _CHILD_LEVELS[parent.level]:
        problems.add("INVALID_PARENT_LEVEL", "level", level=lvl.value, parent=parent.level.value)
    problems.raise_if_any()
    assert lvl is not None
    try:
        async with in_transaction():
            region = await Region.create(name=clean_name, level=lvl, parent=parent, code=clean_code)
            region.path = f"{parent.path if parent else '/'}{region.id}/"
            await region.save(update_fields=["path"])
            # Below a region with its own calendar days it counts with that calendar.
            await inherit_scope(region.id, parent.id if parent else None)
    except IntegrityError:
        raise await _region_conflict(clean_code) from None
    return region


async def _region_conflict(code: str | None) -> DomainError:
    if code and await Region.filter(code=code).exists():
        return DomainError("DUPLICATE_REGION_CODE", "code")
    return DomainError("DUPLICATE_NAME", "name")


async def update_region(
    actor: Actor, region_id: int, *, name: str | None = None, code: str | None = None
) -> Region:
    region = await require_admin_over(actor, region_id)
    assert region is not None
    problems = Problems()
    if name is not None:
        region.name = text(problems, name, "name", max_len=100, required=True)
    if code is not None:
        region.code = _region_code(problems, code) if code else None
    problems.raise_if_any()
    try:
        # A savepoint when called inside a transaction: it must stay usable for the lookup.
        async with in_transaction():
            await region.save(update_fields=["name", "code"])
    except IntegrityError:
        raise await _region_conflict(region.code) from None
    return region


async def create_department(
    actor: Actor, *, name: str, region_id: int, code: str | None = None
) -> Department:
    region = await require_admin_over(actor, region_id)
    problems = Problems()
    clean_name = text(problems, name, "name", max_len=100, required=True)
    clean_code = text(problems, code, "code", max_len=32, required=False) or None
    problems.raise_if_any()
    try:
        return await Department.create(name=clean_name, code=clean_code, region=region)
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None


async def update_department(
    actor: Actor, department_id: int, *, name: str | None = None, code: str | None = None
) -> Department:
    dept = await Department.get_or_none(id=department_id)
    if dept is None:
        raise DomainError("NOT_FOUND", "id")
    await require_admin_over(actor, dept.region_id)  # type: ignore[attr-defined]
    problems = Problems()
    if name is not None:
        dept.name = text(problems, name, "name", max_len=100, required=True)
    if code is not None:
        dept.code = text(problems, code, "code", max_len=32, required=False) or None
    problems.raise_if_any()
    try:
        await dept.save(update_fields=["name", "code"])
    except IntegrityError:
        raise DomainError("DUPLICATE_NAME", "name") from None
    return dept


@dataclass
class UserFields:
    display_name: str | None = None
    mobile: str | None = None
    rank: str | None = None
    password: str | None = None
    is_active: bool | None = None


def _user_fields(problems: Problems, f: UserFields, *, creating: bool) -> dict[str, Any]:
    out: dict[str, object] = {}
    if f.display_name is not None or creating:
        out["display_name"] = text(
            problems, f.display_name, "displayName", max_len=64, required=True
        )
    if f.mobile is not None:
        try:
            out["mobile"] = normalize_mobile(f.mobile) if f.mobile else None
        except IdentifierError as e:
            problems.add(e.code, "mobile")
    if f.rank is not None:
        out["rank"] = choice(problems, Rank, f.rank, "rank")
    if f.password is not None or creating:
        if not f.password or password_too_weak(f.password):
            problems.add("WEAK_PASSWORD", "password")
        else:
            out["password_hash"] = hash_password(f.password)
            out["password_changed_at"] = datetime.now(UTC)
    if f.is_active is not None:
        out["is_active"] = f.is_active
    return out


async def _require_any_admin(actor: Actor) -> None:
    if not actor.has_role(Role.ADMIN):
        raise DomainError("FORBIDDEN")


async def _require_admin_over_contact(actor: Actor, user_id: int) -> None:
    """An ENTERPRISE grant names no region: an admin manages it when every enterprise the user
    is a contact of lies in the admin's regions (a user who is nobody's contact yet: any
    admin), so one county cannot cut off another county's enterprises."""
    if actor.is_global(Role.ADMIN):
        return
    await _require_any_admin(actor)
    paths = await EnterpriseContact.filter(user_id=user_id).values_list(
        "enterprise__region__path", flat=True
    )
    if not all(actor.covers(str(p), ADMIN) for p in paths):
        raise DomainError("FORBIDDEN")


async def create_user(actor: Actor, *, username: str, fields: UserFields) -> User:
    await _require_any_admin(actor)
    problems = Problems()
    clean_username = (username or "").strip()
    if not _USERNAME.match(clean_username):
        problems.add("INVALID_USERNAME", "username")
    values = _user_fields(problems, fields, creating=True)
    problems.raise_if_any()
    try:
        return await User.create(username=clean_username, **values)
    except IntegrityError:
        raise DomainError("DUPLICATE_USERNAME", "username") from None


async def _require_admin_over_user(actor: Actor, user: User) -> None:
    """An admin manages a user whose every grant lies in the admin's regions."""
    if actor.is_global(Role.ADMIN):
        return
    await _require_any_admin(actor)
    rows = await RoleGrant.filter(user_id=user.id).values("region__path", "role")
    for r in rows:
        if not actor.covers(r["region__path"], ADMIN):
            raise DomainError("FORBIDDEN")


async def update_user(actor: Actor, user_id: int, fields: UserFields) -> User:
    await _require_any_admin(actor)  # before the lookup: users are read by admins only
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise DomainError("NOT_FOUND", "id")
    await _require_admin_over_user(actor, user)
    problems = Problems()
    values = _user_fields(problems, fields, creating=False)
    problems.raise_if_any()
    if not values:
        return user
    user.update_from_dict(values)
    async with in_transaction():
        await user.save(update_fields=list(values))
        if "password_hash" in values or values.get("is_active") is False:
            # A changed password or a disabled account ends every session at once.
            from models.ops.auth import revoke_all_sessions

            await revoke_all_sessions(user.id)
    return user


async def grant_role(
    actor: Actor,
    *,
    user_id: int,
    role: str,
    region_id: int | None,
    department_id: int | None = None,
    lead: bool = False,
    service_point_id: int | None = None,
) -> RoleGrant:
    problems = Problems()
    the_role = choice(problems, Role, role, "role")
    problems.raise_if_any()
    assert the_role is not None
    region_id = await _agent_region(the_role, region_id, service_point_id)
    if region_id is None and the_role not in (Role.ENTERPRISE, Role.ADMIN):
        raise DomainError("REGION_REQUIRED", "regionId")
    if region_id is None and the_role is Role.ENTERPRISE:
        await _require_admin_over_contact(actor, user_id)
    else:
        await require_admin_over(actor, region_id)
    user = await User.get_or_none(id=user_id)
    if user is None:
        raise DomainError("NOT_FOUND", "userId")
    if the_role is Role.HANDLER and department_id is None:
        raise DomainError("DEPARTMENT_REQUIRED", "departmentId")
    if department_id is not None:
        dept = await Department.get_or_none(id=department_id).values("region__path")
        region_path = (await Region.get(id=region_id)).path if region_id else None
        if dept is None or region_path is None or not dept["region__path"].startswith(region_path):
            raise DomainError("DEPARTMENT_OUT_OF_REGION", "departmentId")
    exists = await RoleGrant.filter(
        user_id=user_id,
        role=the_role,
        region_id=region_id,
        department_id=department_id,
        service_point_id=service_point_id,
    ).exists()
    if exists:
        raise DomainError("DUPLICATE_GRANT", "role")
    try:
        return await RoleGrant.create(
            user=user,
            role=the_role,
            region_id=region_id,
            department_id=department_id,
            lead=lead and the_role is Role.HANDLER,
            service_point_id=service_point_id,
        )
    except IntegrityError:
        raise DomainError("DUPLICATE_GRANT", "role") from None


async def _agent_region(
    role: Role, region_id: int | None, service_point_id: int | None
) -> int | None:
    """A SERVICE_AGENT grant names its service point (and only it names one). Its region is
    the point's when left out; a given region must contain the point (the grant then covers
    that region, as any grant does)."""
    if role is not Role.SERVICE_AGENT:
        if service_point_id is not None:
            raise DomainError("SERVICE_POINT_NOT_ALLOWED", "servicePointId")
        return region_id
    if service_point_id is None:
        raise DomainError("SERVICE_POINT_REQUIRED", "servicePointId")
    point = await ServicePoint.get_or_none(id=service_point_id).values("region_id", "region__path")
    if point is None:
        raise DomainError("NOT_FOUND", "servicePointId")
    if region_id is None:
        return int(point["region_id"])
    region = await Region.get_or_none(id=region_id).values("path")
    if region is not None and not str(point["region__path"]).startswith(region["path"]):
        raise DomainError("SERVICE_POINT_OUT_OF_REGION", "servicePointId")
    return region_id


async def revoke_role(actor: Actor, grant_id: int) -> RoleGrant:
    await _require_any_admin(actor)  # before the lookup: grants are read by admins only
    grant = await RoleGrant.get_or_none(id=grant_id)
    if grant is None:
        raise DomainError("NOT_FOUND", "id")
    region_id: int | None = grant.region_id  # type: ignore[attr-defined]
    if region_id is None and grant.role is Role.ENTERPRISE:
        await _require_admin_over_contact(actor, grant.user_id)  # type: ignore[attr-defined]
    else:
        await require_admin_over(actor, region_id)
    await grant.delete()
    return grant


async def create_system_admin(username: str, password: str, *, display_name: str) -> User:
    """The first administrator, made from the command line: a global ADMIN grant."""
    async with in_transaction():
        user = await create_user(
            system_actor(),
            username=username,
            fields=UserFields(display_name=display_name, password=password),
        )
        grant = await RoleGrant.create(user=user, role=Role.ADMIN, region=None)
        # In the audit log as the command line's doing (no user acted).
        cli = Trail(system_actor(), COMMAND_LINE, AuditAction.USER_CREATE, "User")
        await cli.record(user.id, {"username": user.username})
        cli = Trail(system_actor(), COMMAND_LINE, AuditAction.ROLE_GRANT, "RoleGrant")
        await cli.record(grant.id, {"username": user.username, "role": Role.ADMIN.value})
    return user
