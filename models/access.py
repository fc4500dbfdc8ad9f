"""Who may see and change what: the one place every resolver's scope check comes from."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from tortoise.expressions import Q, Subquery

from models.db.row_query import Params, connection, is_postgres
from models.errors import DomainError
from models.rules.actor import Actor, Grant
from models.rules.roles import STAFF_ROLES, Role
from models.session_cache import SESSIONS
from models.tables.enterprises import EnterpriseContact
from models.tables.grants import RoleGrant
from models.tables.org import Region

ADMIN = (Role.ADMIN,)


GRANT_COLUMNS = (
    "id",
    "role",
    "region_id",
    "region__path",
    "department_id",
    "lead",
    "service_point_id",
)


def _grants(rows: Iterable[dict[str, Any]], prefix: str = "") -> tuple[Grant, ...]:
    return tuple(
        Grant(
            id=r[f"{prefix}id"],
            role=Role(r[f"{prefix}role"]),
            region_id=r[f"{prefix}region_id"],
            region_path=r[f"{prefix}region__path"],
            department_id=r[f"{prefix}department_id"],
            lead=bool(r[f"{prefix}lead"]),
            service_point_id=r[f"{prefix}service_point_id"],
        )
        for r in rows
        if r[f"{prefix}id"] is not None  # a user without grants: one row of nulls
    )


async def load_actor(user_id: int) -> Actor:
    rows = await RoleGrant.filter(user_id=user_id).values(*GRANT_COLUMNS)
    return Actor(user_id=user_id, grants=_grants(rows))


async def load_signed_in_actor(
    user_id: int, session_version: int, family: str | None = None
) -> Actor | None:
    """The actor behind an access token issued under `session_version` in the session
    `family`: None when the user is inactive, gone, or has ended their sessions since (a new
    password, log out everywhere), or that session has ended (log out, a reused refresh
    token). One statement, as every request asks it, answered from the process's cache while
    that is live (models.session_cache)."""
    return await SESSIONS.actor(
        (user_id, session_version, family),
        lambda: _signed_in_actor(user_id, session_version, family),
    )


async def _signed_in_actor(user_id: int, session_version: int, family: str | None) -> Actor | None:
    p = Params(is_postgres())
    # Written out rather than built by the ORM: building it cost more than running it.
    sql = _SIGNED_IN.format(p=p(user_id))
    if family is not None:
        sql += f" AND NOT EXISTS ({_SESSION_ENDED.format(p=p(family))})"
    rows = await connection().execute_query_dict(sql, p.values)
    if not rows or rows[0]["session_version"] != session_version:
        return None
    return Actor(user_id=user_id, grants=_grants(rows, "g_"), username=rows[0]["username"])


_SIGNED_IN = (
    "SELECT u.session_version, u.username, g.id AS g_id, g.role AS g_role, "
    "g.region_id AS g_region_id, r.path AS g_region__path, g.department_id AS g_department_id, "
    "g.lead AS g_lead, g.service_point_id AS g_service_point_id FROM app_user u "
    "LEFT JOIN role_grant g ON g.user_id = u.id LEFT JOIN region r ON r.id = g.region_id "
    "WHERE u.id = {p} AND u.is_active"
)
_SESSION_ENDED = (
    "SELECT 1 FROM refresh_token rt WHERE rt.family = {p} AND rt.revoked_at IS NOT NULL"
)


def _paths_q(paths: list[str], field: str) -> Q:
    q = Q()
    for p in paths:
        q |= Q(**{f"{field}__startswith": p})
    return q


def region_ids_subquery(actor: Actor, roles: Iterable[Role]) -> Subquery | None:
    """Ids of every region the actor's grants of these roles cover; None means all regions."""
    roles = tuple(roles)
    if actor.is_global(*roles):
        return None
    paths = actor.region_paths(roles)
    if not paths:
        return Subquery(Region.filter(id=-1).values("id"))
    return Subquery(Region.filter(_paths_q(paths, "path")).values("id"))


def enterprise_scope(actor: Actor) -> Q:
    """Enterprises an actor may read: staff by region subtree, contacts their own ones."""
    q = Q(id=-1)
    if actor.has_role(*STAFF_ROLES):
        sub = region_ids_subquery(actor, STAFF_ROLES)
        q |= Q() if sub is None else Q(region_id__in=sub)
    if actor.has_role(Role.ENTERPRISE):
        own = Subquery(EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id"))
        q |= Q(id__in=own)
    return q


async def require_admin_over(actor: Actor, region_id: int | None) -> Region | None:
    """Refuse unless the actor administers this region (None: only a system administrator).
    Someone who administers nothing is FORBIDDEN whatever the region."""
    if not actor.has_role(Role.ADMIN):
        raise DomainError("FORBIDDEN")
    if region_id is None:
        if not actor.is_global(Role.ADMIN):
            raise DomainError("FORBIDDEN")
        return None
    region = await Region.get_or_none(id=region_id)
    if region is None:
        raise DomainError("UNKNOWN_REGION", "regionId", value=region_id)
    if not actor.covers(region.path, ADMIN):
        raise DomainError("REGION_OUT_OF_SCOPE", "regionId")
    return region


def user_scope(actor: Actor) -> Q:
    """Accounts an actor may read by id or in the `users` list: their own; an administrator
    also those holding a role in a region they administer, and those without any regional
    role (new accounts, enterprise contacts) so they can be given one; a system administrator
    every account."""
    q = Q(id=actor.user_id)
    if not actor.has_role(Role.ADMIN):
        return q
    sub = region_ids_subquery(actor, ADMIN)
    if sub is None:
        return Q()
    in_scope = RoleGrant.filter(region_id__in=sub).values("user_id")
    regional = RoleGrant.filter(region_id__not_isnull=True).values("user_id")
    return q | Q(id__in=Subquery(in_scope)) | Q(id__not_in=Subquery(regional))


def require_role(actor: Actor | None, *roles: Role) -> Actor:
    if actor is None:
        raise DomainError("UNAUTHENTICATED")
    if not actor.has_role(*roles):
        raise DomainError("FORBIDDEN")
    return actor


def system_actor() -> Actor:
    """The command line acting as a system administrator (imports run by the operator)."""
    return Actor(
        user_id=0,
        grants=(Grant(0, Role.ADMIN, None, None, None, False),),
    )


# Staff who read every demand of the regions their grants cover.
DEMAND_REGION_ROLES = (Role.CADRE, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


def demand_scope(actor: Actor, own_enterprises: Collection[int] | None = None) -> Q:
    """Demands an actor may read: regional staff by region subtree, handlers those dispatched
    to their department (leading or assisting), enterprise contacts their enterprises' ones,
    and everyone the demands they submitted themselves; drafts only their author.

    `own_enterprises`: the contact's enterprises when the caller has loaded them already.
    Written out as values, PostgreSQL can combine the enterprise and author indexes; as a
    subquery it walked the whole demand table backwards for an enterprise's newest page."""
    from models.tables.demands import DemandAssist

    mine = Q(submitted_by_id=actor.user_id)
    q = Q(id=-1)
    if actor.has_role(*DEMAND_REGION_ROLES):
        sub = region_ids_subquery(actor, DEMAND_REGION_ROLES)
        q |= Q() if sub is None else Q(region_id__in=sub)
    departments = actor.department_ids()
    if departments:
        assisted = DemandAssist.filter(department_id__in=departments).values("demand_id")
        q |= Q(department_id__in=departments) | Q(id__in=Subquery(assisted))
    if actor.has_role(Role.ENTERPRISE):
        if own_enterprises is not None:
            if own_enterprises:  # none: nothing more to read
                q |= Q(enterprise_id__in=sorted(own_enterprises))
        else:
            own = Subquery(EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id"))
            q |= Q(enterprise_id__in=own)
    # A draft is its author's until submitted.
    return mine | (q & ~Q(state="DRAFT"))


def demand_scope_sql(actor: Actor, own_enterprises: Collection[int], p: Params, d: str) -> str:
    """`demand_scope` written as SQL over the demand alias `d`, for the read path's statements
    (models.db.row_query); tests hold the two to the same demands. `own_enterprises`: the
    contact's enterprises, loaded by the caller."""
    terms = []
    if actor.has_role(*DEMAND_REGION_ROLES):
        if actor.is_global(*DEMAND_REGION_ROLES):
            terms.append("1=1")
        else:
            paths = actor.region_paths(DEMAND_REGION_ROLES)
            likes = " OR ".join(f"path LIKE {p(path + '%')}" for path in paths) or "1=0"
            terms.append(f"{d}.region_id IN (SELECT id FROM region WHERE {likes})")  # noqa: S608
    departments = actor.department_ids()
    if departments:
        listed = p.many(departments)
        terms.append(f"{d}.department_id IN ({listed})")
        terms.append(
            f"{d}.id IN (SELECT demand_id FROM demand_assist WHERE department_id IN ({listed}))"  # noqa: S608
        )
    if actor.has_role(Role.ENTERPRISE) and own_enterprises:
        terms.append(f"{d}.enterprise_id IN ({p.many(sorted(own_enterprises))})")
    # A draft is its author's until submitted.
    readable = f"({' OR '.join(terms)}) AND {d}.state <> 'DRAFT'" if terms else "1=0"
    return f"({d}.submitted_by_id = {p(actor.user_id)} OR ({readable}))"


# Staff who read every visit of the regions their grants cover.
VISIT_REGION_ROLES = (Role.CADRE, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


def visit_scope(actor: Actor) -> Q:
    """Visits an actor may read: regional staff by region subtree, and everyone the visits they
    took part in or created. Enterprises and departments do not read visit records: they are
    the cadres' working notes (an enterprise sees what came of a visit as its demands)."""
    from models.tables.visits import VisitParticipant

    took_part = VisitParticipant.filter(user_id=actor.user_id).values("visit_id")
    q = Q(created_by_id=actor.user_id) | Q(id__in=Subquery(took_part))
    if actor.has_role(*VISIT_REGION_ROLES):
        sub = region_ids_subquery(actor, VISIT_REGION_ROLES)
        q |= Q() if sub is None else Q(region_id__in=sub)
    return q


# Staff who read every agency request of the regions their grants cover: made at a service
# point of those regions, or by an enterprise of them (the one-enterprise file shows all).
AGENCY_REGION_ROLES = (Role.CADRE, Role.DISPATCHER, Role.SUPERVISOR, Role.ADMIN)


def agency_scope(actor: Actor) -> Q:
    """Agency requests an actor may read: agents their service points' ones, enterprise
    contacts their enterprises' ones, regional staff those made at a point of their regions or
    by an enterprise of their regions (一企一档: an enterprise may use another town's desk)."""
    q = Q(id=-1)
    points = actor.service_point_ids()
    if points:
        q |= Q(service_point_id__in=points)
    if actor.has_role(Role.ENTERPRISE):
        own = Subquery(EnterpriseContact.filter(user_id=actor.user_id).values("enterprise_id"))
        q |= Q(enterprise_id__in=own)
    if actor.has_role(*AGENCY_REGION_ROLES):
        sub = region_ids_subquery(actor, AGENCY_REGION_ROLES)
        if sub is None:
            q |= Q()
        else:
            q |= Q(region_id__in=sub) | Q(enterprise__region_id__in=sub)
    return q
