"""Access-matrix probes of the account and administration mutations (tests/access_matrix/admin.md):
signing in and out, the region tree, departments, users and grants, the enterprise register,
包联 leaders, the calendar, region policy, demand categories and the support-policy catalog.

- Region-keyed operations act on a park this module makes under the county's 城关镇 (`in`) or
  东岭县's (`out`), and on departments, categories and catalog policies it makes there, so the
  world's own regions keep their names, policy and calendar.
- Enterprise operations act on the county's 恒达机械 (its contact is the `enterprise` user, the
  cadre's town holds it): every staff column but the agent sees it, so their refusal is about role.
- Operations on accounts and sessions never touch a column user's account or its session in
  `ctx.tokens`: grants, users and sessions are made here for the purpose.
- Calendar state is made as plain rows, and the day a setRegionCalendarDays cell saves is taken
  away by the next cell: each region with days of its own adds about 7,700 rows to the
  working-day index, which every later mutation cell's snapshot reads."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from models.access import system_actor
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.ops import support_policies as sp_ops
from models.ops.work_calendar import invalidate_calendar_cache
from models.ops.work_day_index import rebuild_work_day_index
from models.rules.tokens import hash_refresh_token
from models.tables.calendar import CalendarDay, CalendarYear, RegionCalendarScope
from models.tables.enterprises import Enterprise, EnterpriseContact, LeaderAssignment
from models.tables.grants import RoleGrant
from models.tables.org import Department, RefreshToken, Region, User
from models.tables.policy import DemandCategory, RegionPolicy
from models.tables.visits import SupportPolicy
from tests.access_world import AccessContext, Call, County, gid, probe
from tests.factories import PASSWORD, credit_code, make_user

_serial = itertools.count(1)
LOCAL_HOLIDAY = date(2030, 6, 12)  # a Wednesday: a working day above the park
REMOVABLE_DAY = date(2030, 6, 13)  # a Thursday the park keeps as its own day off
ENTERED_YEAR = 2031  # a year entered by a system administrator (for clearCalendarYear)

LOGIN = """mutation($u: String!, $p: String!) { login(input: {username: $u, password: $p}) {
             accessToken refreshToken user { id } errors { code } } }"""


def _n() -> int:
    return next(_serial)


def _mobile() -> str:
    return f"1390000{_n():04d}"


def _user_of(ctx: AccessContext, column: str, obj: str) -> User:
    """The user whose credentials or session a cell uses: the column's own (`in`) or the
    same role's in 东岭县 (`out`); the anonymous column's is the enterprise contact's."""
    role = "enterprise" if column == "anonymous" else column
    return ctx.county(obj).people.users[role]


async def _session(ctx: AccessContext, user: User) -> tuple[str, str]:
    """A new session of `user`: its access and refresh token."""
    resp = await ctx.http.post(
        "/graphql", json={"query": LOGIN, "variables": {"u": user.username, "p": PASSWORD}}
    )
    data = resp.json()["data"]["login"]
    assert data["accessToken"] and data["refreshToken"], resp.text
    return str(data["accessToken"]), str(data["refreshToken"])


async def _park(ctx: AccessContext, obj: str) -> Region:
    """A park of this module under the county's 城关镇."""
    county = ctx.county(obj)

    async def make() -> Region:
        return await org_ops.create_region(
            system_actor(),
            name=f"{county.county.name[:2]}矩阵产业园",
            level="PARK",
            parent_id=county.town.id,
        )

    park: Region = await ctx.once(f"admin:park:{obj}", make)
    return park


async def _staff(ctx: AccessContext, obj: str, key: str) -> User:
    """A cadre of the county's 城关镇 that is none of the columns."""
    county: County = ctx.county(obj)

    async def make() -> User:
        return await make_user(f"mx_{key}_{obj}_{_n()}", "CADRE", county.town)

    user: User = await ctx.once(f"admin:{key}:{obj}", make)
    return user


# --- sessions ----------------------------------------------------------------------------


@probe("login")
async def login(ctx: AccessContext, column: str, obj: str) -> Call:
    """Each column signs in with its own credentials (a signed-in column too); the anonymous
    column is a signed-out app signing in as the enterprise contact."""
    user = _user_of(ctx, column, obj)
    before = await RefreshToken.filter(user_id=user.id).count()

    async def signed_in() -> None:
        assert await RefreshToken.filter(user_id=user.id).count() == before + 1, "no session"

    return Call(LOGIN, {"u": user.username, "p": PASSWORD}, verify=signed_in)


async def _rotated(token: str, user: User) -> None:
    row = await RefreshToken.get(token_hash=hash_refresh_token(token))
    assert row.used_at is not None, "refresh token not used up"
    newer = await RefreshToken.filter(family=row.family, id__gt=row.id, revoked_at=None).first()
    assert newer is not None and newer.user_id == user.id, "no new token of its owner"  # type: ignore[attr-defined]


@probe("refreshToken")
async def refresh_token(ctx: AccessContext, column: str, obj: str) -> Call:
    """`in`: a new session of the column's user, refreshed as that session (the anonymous
    column: the enterprise contact's, sent without an access token, as an app does once its
    access token has expired). `out`: a new session of the same role's user in 东岭县, its
    refresh token presented by the column's user: the token is the credential, and the
    answer is its owner's session."""
    user = _user_of(ctx, column, obj)
    access, refresh = await _session(ctx, user)

    async def rotated() -> None:
        await _rotated(refresh, user)

    own = obj == "in" and column != "anonymous"
    return Call(
        """mutation($input: RefreshTokenInput!) { refreshToken(input: $input) {
             accessToken refreshToken user { id } errors { code } } }""",
        {"input": {"refreshToken": refresh}},
        token=access if own else None,
        verify=rotated,
    )


@probe("logout")
async def logout(ctx: AccessContext, column: str, obj: str) -> Call:
    """Ends a session by its refresh token; the sessions as in `refreshToken` (`in`: the
    column's own new one, `out`: a new one of 东岭县's user of the same role)."""
    user = _user_of(ctx, column, obj)
    access, refresh = await _session(ctx, user)

    async def ended() -> None:
        row = await RefreshToken.get(token_hash=hash_refresh_token(refresh))
        assert row.revoked_at is not None, "session not ended"

    own = obj == "in" and column != "anonymous"
    return Call(
        """mutation($input: LogoutInput!) { logout(input: $input) { ok errors { code } } }""",
        {"input": {"refreshToken": refresh}},
        token=access if own else None,
        verify=ended,
    )


# --- regions, departments, users and grants -------------------------------------------------


@probe("updateRegion")
async def update_region(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)
    name = f"矩阵园区{column}{obj}{_n()}"

    async def renamed() -> None:
        assert (await Region.get(id=park.id)).name == name, "not renamed"

    return Call(
        """mutation($input: UpdateRegionInput!) { updateRegion(input: $input) {
             region { id name } errors { code field } } }""",
        {"input": {"id": gid("Region", park.id), "name": name}},
        verify=renamed,
    )


@probe("createDepartment")
async def create_department(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)
    name = f"矩阵{column}{obj}服务局{_n()}"

    async def created() -> None:
        assert await Department.filter(name=name, region_id=park.id).exists(), "no department"

    return Call(
        """mutation($input: CreateDepartmentInput!) { createDepartment(input: $input) {
             department { id } errors { code field } } }""",
        {"input": {"name": name, "regionId": gid("Region", park.id)}},
        verify=created,
    )


@probe("updateDepartment")
async def update_department(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)

    async def make() -> Department:
        return await Department.create(name="矩阵园区管委会", region=park)

    dept: Department = await ctx.once(f"admin:department:{obj}", make)
    name = f"矩阵园区管委会{column}{_n()}"

    async def renamed() -> None:
        assert (await Department.get(id=dept.id)).name == name, "not renamed"

    return Call(
        """mutation($input: UpdateDepartmentInput!) { updateDepartment(input: $input) {
             department { id } errors { code field } } }""",
        {"input": {"id": gid("Department", dept.id), "name": name}},
        verify=renamed,
    )


@probe("createUser")
async def create_user(ctx: AccessContext, column: str, obj: str) -> Call:
    username = f"mx_new_{column}_{_n()}"

    async def created() -> None:
        assert await User.filter(username=username).exists(), "no user"

    return Call(
        """mutation($input: CreateUserInput!) { createUser(input: $input) {
             user { id } errors { code field } } }""",
        {"input": {"username": username, "displayName": "新同事", "password": PASSWORD}},
        verify=created,
    )


@probe("updateUser")
async def update_user(ctx: AccessContext, column: str, obj: str) -> Call:
    """A cadre of the county (`in`: 清河县's, `out`: 东岭县's) that is none of the columns."""
    user = await _staff(ctx, obj, "renamed")
    name = f"改名{column}{_n()}"

    async def renamed() -> None:
        assert (await User.get(id=user.id)).display_name == name, "not renamed"

    return Call(
        """mutation($input: UpdateUserInput!) { updateUser(input: $input) {
             user { id } errors { code field } } }""",
        {"input": {"id": gid("User", user.id), "displayName": name}},
        verify=renamed,
    )


@probe("grantRole")
async def grant_role(ctx: AccessContext, column: str, obj: str) -> Call:
    """CADRE of the county's 城关镇 for a new user without grants (made again once one has
    been granted)."""
    town = ctx.county(obj).town

    async def make() -> User:
        return await make_user(f"mx_grantee_{obj}_{_n()}", None, None)

    async def ungranted(u: User) -> bool:
        return not await RoleGrant.filter(user_id=u.id).exists()

    user: User = await ctx.reusable(f"admin:grantee:{obj}", make, ungranted)

    async def granted() -> None:
        assert await RoleGrant.filter(user_id=user.id, role="CADRE", region_id=town.id).exists()

    return Call(
        """mutation($input: GrantRoleInput!) { grantRole(input: $input) {
             grant { id } errors { code field } } }""",
        {
            "input": {
                "userId": gid("User", user.id),
                "role": "CADRE",
                "regionId": gid("Region", town.id),
            }
        },
        verify=granted,
    )


@probe("revokeRole")
async def revoke_role(ctx: AccessContext, column: str, obj: str) -> Call:
    """The ENTERPRISE grant (it names no region) of a new contact of the county's 恒达机械:
    whoever administers the enterprises a contact speaks for manages that contact's grant."""
    ent = ctx.county(obj).enterprise

    async def make() -> RoleGrant:
        user = await make_user(f"mx_contact_{obj}_{_n()}", "ENTERPRISE", None)
        await EnterpriseContact.create(enterprise=ent, name="赵磊", mobile=_mobile(), user=user)
        return await RoleGrant.get(user_id=user.id)

    async def kept(g: RoleGrant) -> bool:
        return await RoleGrant.filter(id=g.id).exists()

    grant: RoleGrant = await ctx.reusable(f"admin:grant:{obj}", make, kept)

    async def revoked() -> None:
        assert not await RoleGrant.filter(id=grant.id).exists(), "grant still there"

    return Call(
        """mutation($input: RevokeRoleInput!) { revokeRole(input: $input) {
             deletedId errors { code field } } }""",
        {"input": {"id": gid("RoleGrant", grant.id)}},
        verify=revoked,
    )


# --- the enterprise register and 包联 leaders -------------------------------------------------


@probe("createEnterprise")
async def create_enterprise(ctx: AccessContext, column: str, obj: str) -> Call:
    town = ctx.county(obj).town
    code = credit_code()

    async def created() -> None:
        assert await Enterprise.filter(credit_code=code, region_id=town.id).exists()

    return Call(
        """mutation($input: CreateEnterpriseInput!) { createEnterprise(input: $input) {
             enterprise { id } errors { code field } } }""",
        {
            "input": {
                "name": f"矩阵{column}{obj}新材料有限公司{_n()}",
                "creditCode": code,
                "regionId": gid("Region", town.id),
            }
        },
        verify=created,
    )


@probe("updateEnterprise")
async def update_enterprise(ctx: AccessContext, column: str, obj: str) -> Call:
    ent = ctx.county(obj).enterprise
    person = f"法人{column}{_n()}"

    async def updated() -> None:
        assert (await Enterprise.get(id=ent.id)).legal_representative == person, "unchanged"

    return Call(
        """mutation($input: UpdateEnterpriseInput!) { updateEnterprise(input: $input) {
             enterprise { id } errors { code field } } }""",
        {"input": {"id": gid("Enterprise", ent.id), "legalRepresentative": person}},
        verify=updated,
    )


@probe("addEnterpriseContact")
async def add_enterprise_contact(ctx: AccessContext, column: str, obj: str) -> Call:
    ent = ctx.county(obj).enterprise
    mobile = _mobile()

    async def added() -> None:
        assert await EnterpriseContact.filter(enterprise_id=ent.id, mobile=mobile).exists()

    return Call(
        """mutation($input: AddEnterpriseContactInput!) { addEnterpriseContact(input: $input) {
             contact { id } errors { code field } } }""",
        {"input": {"enterpriseId": gid("Enterprise", ent.id), "name": "李娜", "mobile": mobile}},
        verify=added,
    )


@probe("removeEnterpriseContact")
async def remove_enterprise_contact(ctx: AccessContext, column: str, obj: str) -> Call:
    """A contact of the county's 恒达机械 without an app account (made again once removed)."""
    ent = ctx.county(obj).enterprise

    async def make() -> EnterpriseContact:
        return await EnterpriseContact.create(enterprise=ent, name="王芳", mobile=_mobile())

    async def kept(c: EnterpriseContact) -> bool:
        return await EnterpriseContact.filter(id=c.id).exists()

    contact: EnterpriseContact = await ctx.reusable(f"admin:contact:{obj}", make, kept)

    async def removed() -> None:
        assert not await EnterpriseContact.filter(id=contact.id).exists(), "still there"

    return Call(
        """mutation($input: RemoveEnterpriseContactInput!) {
             removeEnterpriseContact(input: $input) { deletedId errors { code field } } }""",
        {"input": {"id": gid("EnterpriseContact", contact.id)}},
        verify=removed,
    )


@probe("assignLeader")
async def assign_leader(ctx: AccessContext, column: str, obj: str) -> Call:
    """A cadre of the county (none of the columns) to look after its 恒达机械."""
    ent = ctx.county(obj).enterprise
    leader = await _staff(ctx, obj, "leader")
    note = f"矩阵{column}{_n()}"

    async def assigned() -> None:
        assert await LeaderAssignment.filter(
            enterprise_id=ent.id, leader_id=leader.id, note=note
        ).exists(), "no assignment"

    return Call(
        """mutation($input: AssignLeaderInput!) { assignLeader(input: $input) {
             assignment { id } errors { code field } } }""",
        {
            "input": {
                "enterpriseId": gid("Enterprise", ent.id),
                "leaderId": gid("User", leader.id),
                "startDate": "2026-03-01",
                "note": note,
            }
        },
        verify=assigned,
    )


@probe("endLeaderAssignment")
async def end_leader_assignment(ctx: AccessContext, column: str, obj: str) -> Call:
    """An open assignment of a cadre (none of the columns) to the county's 恒达机械 (made again
    once ended)."""
    ent = ctx.county(obj).enterprise
    leader = await _staff(ctx, obj, "leader")

    async def make() -> LeaderAssignment:
        return await ent_ops.assign_leader(
            system_actor(), enterprise_id=ent.id, leader_id=leader.id, start_date=date(2026, 1, 1)
        )

    async def open_(a: LeaderAssignment) -> bool:
        return (await LeaderAssignment.get(id=a.id)).end_date is None

    assignment: LeaderAssignment = await ctx.reusable(f"admin:assignment:{obj}", make, open_)

    async def ended() -> None:
        row = await LeaderAssignment.get(id=assignment.id)
        assert row.end_date == date(2026, 6, 30), f"end date {row.end_date}"

    return Call(
        """mutation($input: EndLeaderAssignmentInput!) { endLeaderAssignment(input: $input) {
             assignment { id } errors { code field } } }""",
        {"input": {"id": gid("LeaderAssignment", assignment.id), "endDate": "2026-06-30"}},
        verify=ended,
    )


# --- the calendar -------------------------------------------------------------------------


@probe("setCalendarYear")
async def set_calendar_year(ctx: AccessContext, column: str, obj: str) -> Call:
    """The national calendar: system administrators only, which no column is."""

    async def entered() -> None:
        assert await CalendarYear.filter(year=ENTERED_YEAR + 1).exists(), "not entered"

    return Call(
        """mutation($input: SetCalendarYearInput!) { setCalendarYear(input: $input) {
             calendar { year } errors { code field } } }""",
        {
            "input": {
                "year": ENTERED_YEAR + 1,
                "holidays": [{"date": "2032-10-01", "name": "国庆节"}],
                "note": "国办发明电〔2031〕7号",
            }
        },
        verify=entered,
    )


@probe("clearCalendarYear")
async def clear_calendar_year(ctx: AccessContext, column: str, obj: str) -> Call:
    """A year a system administrator entered (system administrators only clear it)."""

    async def make() -> int:
        # Rows as set_calendar_year writes them, without its rebuild of the working-day index
        # (thousands of rows every later cell's snapshot would read).
        await CalendarYear.create(year=ENTERED_YEAR, note="国办发明电〔2030〕7号")
        await CalendarDay.create(day=date(ENTERED_YEAR, 10, 1), is_workday=False, name="国庆节")
        invalidate_calendar_cache()
        return ENTERED_YEAR

    async def entered_(year: int) -> bool:
        return await CalendarYear.filter(year=year).exists()

    year: int = await ctx.reusable("admin:calendar-year", make, entered_)

    async def cleared() -> None:
        assert not await CalendarYear.filter(year=year).exists(), "still entered"

    return Call(
        """mutation($input: ClearCalendarYearInput!) { clearCalendarYear(input: $input) {
             calendar { year } errors { code field } } }""",
        {"input": {"year": year}},
        verify=cleared,
    )


async def _forget_park_days(ctx: AccessContext) -> None:
    """Take away the days earlier cells left on this module's parks (a day saved, a day kept
    for removeRegionCalendarDay), and with them the parks' part of the working-day index: each
    region with days of its own adds about 7,700 index rows that every later mutation cell's
    snapshot reads."""
    parks = [p.id for p in (ctx.cache.get("admin:park:in"), ctx.cache.get("admin:park:out")) if p]
    if not parks or not await CalendarDay.filter(region_id__in=parks).delete():
        return
    invalidate_calendar_cache()
    if await RegionCalendarScope.filter(region_id__in=parks).exists():
        await rebuild_work_day_index()


@probe("setRegionCalendarDays")
async def set_region_calendar_days(ctx: AccessContext, column: str, obj: str) -> Call:
    """A local day off on the module's park; the next cell takes it away again."""
    await _forget_park_days(ctx)
    park = await _park(ctx, obj)
    name = f"矩阵{column}{_n()}"

    async def saved() -> None:
        assert await CalendarDay.filter(region_id=park.id, day=LOCAL_HOLIDAY, name=name).exists()

    return Call(
        """mutation($input: SetRegionCalendarDaysInput!) { setRegionCalendarDays(input: $input) {
             days { date } errors { code field } } }""",
        {
            "input": {
                "regionId": gid("Region", park.id),
                "days": [{"date": LOCAL_HOLIDAY.isoformat(), "isWorkday": False, "name": name}],
            }
        },
        verify=saved,
    )


@probe("removeRegionCalendarDay")
async def remove_region_calendar_day(ctx: AccessContext, column: str, obj: str) -> Call:
    """A day off of the module's park (set again once removed)."""
    park = await _park(ctx, obj)

    async def make() -> Region:
        # The row set_region_calendar_days writes, without its rebuild of the working-day index.
        await CalendarDay.create(day=REMOVABLE_DAY, is_workday=False, name="园区庆典", region=park)
        invalidate_calendar_cache()
        return park

    async def kept(p: Region) -> bool:
        return await CalendarDay.filter(region_id=p.id, day=REMOVABLE_DAY).exists()

    await ctx.reusable(f"admin:park-day:{obj}", make, kept)

    async def removed() -> None:
        assert not await CalendarDay.filter(region_id=park.id, day=REMOVABLE_DAY).exists()

    return Call(
        """mutation($input: RemoveRegionCalendarDayInput!) {
             removeRegionCalendarDay(input: $input) { removedDate errors { code field } } }""",
        {"input": {"regionId": gid("Region", park.id), "date": REMOVABLE_DAY.isoformat()}},
        verify=removed,
    )


# --- region policy, demand categories, the support-policy catalog ------------------------------


@probe("setRegionPolicy")
async def set_region_policy(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)
    days = 1 + _n() % 5

    async def saved() -> None:
        row = await RegionPolicy.get(region_id=park.id)
        assert row.overrides.get("return_window_days") == days, f"overrides {row.overrides}"

    return Call(
        """mutation($input: SetRegionPolicyInput!) { setRegionPolicy(input: $input) {
             policy { returnWindowDays } errors { code field } } }""",
        {"input": {"regionId": gid("Region", park.id), "returnWindowDays": days}},
        verify=saved,
    )


@probe("createDemandCategory")
async def create_demand_category(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)
    code = f"MX{_n()}"

    async def created() -> None:
        assert await DemandCategory.filter(code=code, region_id=park.id).exists(), "none"

    return Call(
        """mutation($input: CreateDemandCategoryInput!) { createDemandCategory(input: $input) {
             category { id } errors { code field } } }""",
        {"input": {"name": "园区配套", "code": code, "regionId": gid("Region", park.id)}},
        verify=created,
    )


@probe("updateDemandCategory")
async def update_demand_category(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)

    async def make() -> DemandCategory:
        return await DemandCategory.create(name="园区用工", code="MXJOBS", region=park)

    category: DemandCategory = await ctx.once(f"admin:category:{obj}", make)
    name = f"园区用工{column}{_n()}"

    async def renamed() -> None:
        assert (await DemandCategory.get(id=category.id)).name == name, "not renamed"

    return Call(
        """mutation($input: UpdateDemandCategoryInput!) { updateDemandCategory(input: $input) {
             category { id } errors { code field } } }""",
        {"input": {"id": gid("DemandCategory", category.id), "name": name}},
        verify=renamed,
    )


@probe("createSupportPolicy")
async def create_support_policy(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)
    title = f"矩阵园区入驻企业租金补贴办法{column}{_n()}"

    async def created() -> None:
        assert await SupportPolicy.filter(title=title, region_id=park.id).exists(), "none"

    return Call(
        """mutation($input: CreateSupportPolicyInput!) { createSupportPolicy(input: $input) {
             supportPolicy { id } errors { code field } } }""",
        {"input": {"title": title, "regionId": gid("Region", park.id)}},
        verify=created,
    )


@probe("updateSupportPolicy")
async def update_support_policy(ctx: AccessContext, column: str, obj: str) -> Call:
    park = await _park(ctx, obj)

    async def make() -> SupportPolicy:
        data = sp_ops.SupportPolicyData(title="园区人才安居实施细则", region_id=park.id)
        return await sp_ops.create_support_policy(system_actor(), data)

    policy: SupportPolicy = await ctx.once(f"admin:support-policy:{obj}", make)
    summary = f"修订{column}{_n()}"

    async def corrected() -> None:
        assert (await SupportPolicy.get(id=policy.id)).summary == summary, "unchanged"

    fields: dict[str, Any] = {"id": gid("SupportPolicy", policy.id), "summary": summary}
    return Call(
        """mutation($input: UpdateSupportPolicyInput!) { updateSupportPolicy(input: $input) {
             supportPolicy { id } errors { code field } } }""",
        {"input": fields},
        verify=corrected,
    )
