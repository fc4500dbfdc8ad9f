"""Service point administration, agent grants and slots on the operation level; openNow through
the schema executed in-process, so the clock can be put on chosen days."""

from __future__ import annotations

from datetime import date, time

import pytest

from models.access import load_actor, system_actor
from models.errors import DomainError
from models.messages import message
from models.ops import org as org_ops
from models.ops import service_points as sp_ops
from models.ops.appointments import day_slots
from models.rules.clock import TZ, acting_at, shanghai
from models.tables.grants import RoleGrant
from models.tables.service_points import ServicePoint
from schema import build_schema
from schema.context import Context
from schema.relay import to_global_id
from tests.factories import make_user
from tests.service_point_world import EAST, build_point_world, make_point


def refusal(err: pytest.ExceptionInfo[DomainError]) -> list[tuple[str, str | None]]:
    return [(p.code, p.field) for p in err.value.problems]


async def test_a_bad_schedule_is_refused_naming_the_weekday(db):
    w = await build_point_world()
    admin = await load_actor(w.base.admin.id)
    bad = {"MON": [["08:30", "12:00"]], "WED": [["09:00", "12:00"], ["11:00", "14:00"]]}
    with pytest.raises(DomainError) as err:
        await sp_ops.create_service_point(
            admin,
            sp_ops.ServicePointData(
                name="南门服务站", region_id=w.base.town_a.id, opening_hours=bad
            ),
        )
    problem = err.value.problems[0]
    assert (problem.code, problem.field) == ("INVALID_OPENING_HOURS", "openingHours")
    zh = message(problem.code, "zh", problem.field, **problem.params)
    en = message(problem.code, "en", problem.field, **problem.params)
    assert zh == "营业时间有误（星期三）：时间段不能重叠"
    assert en == "Opening hours are not valid (Wednesday): periods overlap"

    for schedule, reason in (
        ({"FRI": [["17:30", "08:30"]]}, "ENDS_BEFORE_START"),
        ({"FRI": [["8:30", "12:00"]]}, "BAD_TIME"),
        ([("FRI", [["08:30", "12:00"]]), ("FRI", [["13:00", "14:00"]])], "DUPLICATE_WEEKDAY"),
    ):
        with pytest.raises(DomainError) as err:
            await sp_ops.update_service_point(
                admin, w.east.id, sp_ops.ServicePointData(opening_hours=schedule)
            )
        assert err.value.problems[0].params == {"weekday": "FRI", "reason": reason}


async def test_fields_are_checked_and_stored_normalised(db):
    w = await build_point_world()
    admin = await load_actor(w.base.admin.id)
    with pytest.raises(DomainError) as err:
        await sp_ops.create_service_point(
            admin,
            sp_ops.ServicePointData(
                name="",
                region_id=w.base.town_a.id,
                latitude=0.0,
                longitude=0.0,
                phone="4008001234",
                slot_minutes=5,
                slot_capacity=51,
            ),
        )
    assert refusal(err) == [
        ("REQUIRED", "name"),
        ("INVALID_COORDINATES", "latitude"),
        ("INVALID_PHONE", "phone"),
        ("OUT_OF_RANGE", "slotMinutes"),
        ("OUT_OF_RANGE", "slotCapacity"),
    ]
    point = await sp_ops.create_service_point(
        admin,
        sp_ops.ServicePointData(
            name="南门服务站",
            region_id=w.base.town_a.id,
            phone="(0531)66668888",
            opening_hours={
                "SAT": [["09:00", "24:00"]],
                "MON": [["13:30", "17:30"], ["08:30", "12:00"]],
            },
        ),
    )
    stored = await ServicePoint.get(id=point.id)
    assert stored.phone == "0531-66668888"
    assert stored.opening_hours == {
        "SAT": [["09:00", "24:00"]],
        "MON": [["08:30", "12:00"], ["13:30", "17:30"]],
    }
    mobile = await sp_ops.update_service_point(
        admin, point.id, sp_ops.ServicePointData(phone="138 0013 8000")
    )
    assert mobile.phone == "13800138000" and mobile.version == 2


async def test_only_admins_of_the_region_keep_points(db):
    w = await build_point_world()
    other = await load_actor(w.other_admin.id)
    with pytest.raises(DomainError) as err:
        await sp_ops.create_service_point(
            other, sp_ops.ServicePointData(name="越界服务站", region_id=w.base.town_a.id)
        )
    assert refusal(err) == [("REGION_OUT_OF_SCOPE", "regionId")]
    with pytest.raises(DomainError) as err:
        await sp_ops.update_service_point(other, w.east.id, sp_ops.ServicePointData(name="改名"))
    assert refusal(err) == [("REGION_OUT_OF_SCOPE", "regionId")]
    with pytest.raises(DomainError) as err:
        await sp_ops.create_procedure(
            other, w.east.id, sp_ops.ProcedureData(name="越界事项", promised_days=1)
        )
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    cadre = await load_actor(w.base.cadre_a.id)
    with pytest.raises(DomainError) as err:
        await sp_ops.update_service_point(cadre, w.east.id, sp_ops.ServicePointData(name="改名"))
    assert err.value.code == "FORBIDDEN"  # a cadre administers nothing
    # Moving a point into another county needs the rights there too.
    admin = await load_actor(w.base.admin.id)
    with pytest.raises(DomainError) as err:
        await sp_ops.update_service_point(
            admin, w.east.id, sp_ops.ServicePointData(region_id=w.other_county.id)
        )
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    assert (await ServicePoint.get(id=w.east.id)).name == "东关服务站"


async def test_a_stale_version_loses(db):
    w = await build_point_world()
    admin = await load_actor(w.base.admin.id)
    first = await sp_ops.update_service_point(
        admin, w.east.id, sp_ops.ServicePointData(slot_capacity=3), expected_version=1
    )
    assert first.version == 2 and first.slot_capacity == 3
    with pytest.raises(DomainError) as err:
        await sp_ops.update_service_point(
            admin, w.east.id, sp_ops.ServicePointData(slot_capacity=4), expected_version=1
        )
    assert refusal(err) == [("VERSION_CONFLICT", "version")]
    off = await sp_ops.update_service_point(
        admin, w.east.id, sp_ops.ServicePointData(is_active=False)
    )
    assert off.is_active is False and off.version == 3


async def test_procedure_rules(db):
    w = await build_point_world()
    admin = await load_actor(w.base.admin.id)
    # The county's bureau may be responsible for a town's point; another town's office not.
    with pytest.raises(DomainError) as err:
        await sp_ops.create_procedure(
            admin,
            w.east.id,
            sp_ops.ProcedureData(
                name="营业执照变更",
                department_id=w.town_b_office.id,
                materials=[sp_ops.MaterialData("授权委托书"), sp_ops.MaterialData(" 授权委托书 ")],
                statutory_days=3,
                promised_days=5,
                online_url="ftp://example.org/x",
            ),
        )
    assert refusal(err) == [
        ("DUPLICATE_MATERIAL", "materials.1.name"),
        ("INVALID_URL", "onlineUrl"),
        ("DEPARTMENT_NOT_SERVING", "departmentId"),
        ("PROMISED_OVER_STATUTORY", "promisedDays"),
    ]
    with pytest.raises(DomainError) as err:
        await sp_ops.create_procedure(
            admin, w.east.id, sp_ops.ProcedureData(name="税务登记", promised_days=0)
        )
    assert refusal(err) == [("OUT_OF_RANGE", "promisedDays")]
    proc = await sp_ops.create_procedure(
        admin,
        w.east.id,
        sp_ops.ProcedureData(name="营业执照变更", department_id=w.bureau.id, promised_days=5),
    )
    assert proc.materials == [] and proc.statutory_days is None
    # Left out keeps; None clears; the statutory limit is checked against the stored promise.
    with pytest.raises(DomainError) as err:
        await sp_ops.update_procedure(admin, proc.id, sp_ops.ProcedureData(statutory_days=4))
    assert refusal(err) == [("PROMISED_OVER_STATUTORY", "promisedDays")]
    updated = await sp_ops.update_procedure(
        admin,
        proc.id,
        sp_ops.ProcedureData(
            statutory_days=10, materials=[sp_ops.MaterialData("申请书", True, "现场填写")]
        ),
    )
    assert updated.department_id == w.bureau.id  # type: ignore[attr-defined]
    assert updated.materials == [{"name": "申请书", "mayBeMissing": True, "note": "现场填写"}]
    cleared = await sp_ops.update_procedure(
        admin, proc.id, sp_ops.ProcedureData(department_id=None, is_active=False)
    )
    assert cleared.department_id is None and cleared.is_active is False  # type: ignore[attr-defined]
    assert cleared.statutory_days == 10


async def test_agent_grants_name_their_point(db):
    w = await build_point_world()
    root = system_actor()
    user = await make_user("new_agent", None, None)
    with pytest.raises(DomainError) as err:
        await org_ops.grant_role(
            root, user_id=user.id, role="SERVICE_AGENT", region_id=w.base.county.id
        )
    assert refusal(err) == [("SERVICE_POINT_REQUIRED", "servicePointId")]
    with pytest.raises(DomainError) as err:
        await org_ops.grant_role(
            root,
            user_id=user.id,
            role="CADRE",
            region_id=w.base.county.id,
            service_point_id=w.east.id,
        )
    assert refusal(err) == [("SERVICE_POINT_NOT_ALLOWED", "servicePointId")]
    with pytest.raises(DomainError) as err:  # east desk is in town A
        await org_ops.grant_role(
            root,
            user_id=user.id,
            role="SERVICE_AGENT",
            region_id=w.base.town_b.id,
            service_point_id=w.east.id,
        )
    assert refusal(err) == [("SERVICE_POINT_OUT_OF_REGION", "servicePointId")]
    # Another county's administrator cannot staff this county's point.
    with pytest.raises(DomainError) as err:
        await org_ops.grant_role(
            await load_actor(w.other_admin.id),
            user_id=user.id,
            role="SERVICE_AGENT",
            region_id=None,
            service_point_id=w.east.id,
        )
    assert err.value.code == "REGION_OUT_OF_SCOPE"
    grant = await org_ops.grant_role(
        await load_actor(w.base.admin.id),
        user_id=user.id,
        role="SERVICE_AGENT",
        region_id=None,
        service_point_id=w.east.id,
    )
    assert grant.region_id == w.base.town_a.id  # type: ignore[attr-defined]
    # The same user may staff a second point of the same town.
    await org_ops.grant_role(
        root, user_id=user.id, role="SERVICE_AGENT", region_id=None, service_point_id=w.north.id
    )
    with pytest.raises(DomainError) as err:
        await org_ops.grant_role(
            root, user_id=user.id, role="SERVICE_AGENT", region_id=None, service_point_id=w.north.id
        )
    assert err.value.code == "DUPLICATE_GRANT"
    actor = await load_actor(user.id)
    assert sorted(actor.service_point_ids()) == sorted([w.east.id, w.north.id])
    assert await RoleGrant.filter(user_id=user.id).count() == 2


async def test_slots_follow_the_calendar(db):
    w = await build_point_world()
    north = await ServicePoint.get(id=w.north.id)
    tuesday = await day_slots(north, date(2026, 9, 29))
    starts = [s.astimezone(TZ).time() for s, _ in tuesday]
    assert len(tuesday) == 7 + 8  # 08:30-12:00 and 13:30-17:30 in 30-minute slots
    assert starts[0] == time(8, 30) and starts[6] == time(11, 30) and starts[7] == time(13, 30)
    assert tuesday[-1][1].astimezone(TZ).time() == time(17, 30)
    assert await day_slots(north, date(2026, 10, 1)) == []  # National Day
    assert await day_slots(north, date(2026, 10, 4)) == []  # a Sunday inside the holiday
    makeup = await day_slots(north, date(2026, 10, 10))  # Saturday worked (调休): Monday's hours
    assert [s.astimezone(TZ).time() for s, _ in makeup] == starts
    # 45-minute slots must fit inside the period: 08:30-12:00 takes four, 11:30 would overrun.
    west = await make_point(w.base.town_b, "西门服务站", EAST, slot_minutes=45)
    cut = await day_slots(west, date(2026, 9, 29))
    morning = [s.astimezone(TZ).time() for s, e in cut if e.astimezone(TZ).time() <= time(12)]
    assert morning == [time(8, 30), time(9, 15), time(10, 0), time(10, 45)]


OPEN_NOW = """query($id: ID!) { servicePoint(id: $id) { name openNow nextOpeningAt
  openingHours { weekday periods { start end } } } }"""


async def _run_in_process(user_id: int, query: str, variables: dict) -> dict:
    """The real schema, executed in this task so acting_at sets its clock."""
    ctx = Context(
        actor=await load_actor(user_id), locale="zh", client="test", secret_key="test-secret"
    )
    result = await build_schema().execute(query, variable_values=variables, context_value=ctx)
    assert result.errors is None, result.errors
    assert result.data is not None
    return result.data


async def test_open_now_on_a_working_day_and_on_national_day(db):
    w = await build_point_world()
    gid = to_global_id("ServicePoint", w.north.id)
    contact = w.contacts["contact_c"].id
    with acting_at(shanghai(2026, 9, 29, 10)):  # Tuesday
        seen = (await _run_in_process(contact, OPEN_NOW, {"id": gid}))["servicePoint"]
    assert seen["openNow"] is True
    assert seen["openingHours"][0] == {
        "weekday": "MON",
        "periods": [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:30"}],
    }
    with acting_at(shanghai(2026, 10, 1, 10)):  # National Day
        seen = (await _run_in_process(contact, OPEN_NOW, {"id": gid}))["servicePoint"]
    assert seen["openNow"] is False
    # Next opening: the first working day after the holiday, 2026-10-08 08:30 Shanghai.
    assert seen["nextOpeningAt"].startswith("2026-10-08T08:30:00+08:00")
    with acting_at(shanghai(2026, 10, 10, 10)):  # make-up Saturday
        seen = (await _run_in_process(contact, OPEN_NOW, {"id": gid}))["servicePoint"]
    assert seen["openNow"] is True
