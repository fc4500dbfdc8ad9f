"""The working-day calendar over HTTP: the public deadline preview, a year's days, and the
administrators' edits (a year's arrangement, a region's own days)."""

from __future__ import annotations

from typing import Any

from models.tables.calendar import CalendarDay, CalendarYear
from tests.factories import PASSWORD, build_world, make_user

PREVIEW = """query($from: Date!, $days: Int!, $region: ID) {
  addWorkingDays(from: $from, days: $days, regionId: $region) { date confirmed }
}"""

CALENDAR = """query($year: Int!, $region: ID) {
  workingCalendar(year: $year, regionId: $region) {
    year confirmed entered note days { date isWorkday name source }
  }
}"""

SET_YEAR = """mutation($input: SetCalendarYearInput!) {
  setCalendarYear(input: $input) {
    calendar { year confirmed entered note days { date isWorkday name source } }
    errors { code field message }
  }
}"""

CLEAR_YEAR = """mutation($year: Int!) {
  clearCalendarYear(input: {year: $year}) {
    calendar { year confirmed entered days { date } }
    errors { code field message }
  }
}"""

SET_REGION = """mutation($input: SetRegionCalendarDaysInput!) {
  setRegionCalendarDays(input: $input) {
    days { date isWorkday name source }
    errors { code field message }
  }
}"""

REMOVE_REGION = """mutation($region: ID!, $date: Date!) {
  removeRegionCalendarDay(input: {regionId: $region, date: $date}) {
    removedDate
    errors { code field message }
  }
}"""

# A made-up 2027 arrangement (the real one is published in November 2026).
ARRANGEMENT_2027: dict[str, Any] = {
    "year": 2027,
    "holidays": [
        {"date": "2027-01-01", "name": "元旦"},
        *({"date": f"2027-02-{d:02d}", "name": "春节"} for d in (8, 9, 10, 11, 12)),
    ],
    "workdays": [{"date": "2027-02-06", "name": "春节"}, {"date": "2027-02-20", "name": "春节"}],
    "note": "国办发明电〔2026〕X号",
}


def _gid(type_name: str, pk: int) -> str:
    from schema.relay import to_global_id

    return str(to_global_id(type_name, pk))


async def preview(gql, start: str, days: int, region: str | None = None) -> dict:
    data = await gql(PREVIEW, {"from": start, "days": days, "region": region})
    return data["addWorkingDays"]


async def sign_in_system_admin(gql) -> None:
    await make_user("sys_admin", "ADMIN", None)
    await gql.login("sys_admin", PASSWORD)


# --- the public preview ---


async def test_preview_follows_the_published_calendar_without_signing_in(gql):
    # Make-up Sunday 09-28 counts, the National Day holiday does not.
    assert await preview(gql, "2025-09-26", 5) == {"date": "2025-10-10", "confirmed": True}
    assert await preview(gql, "2025-09-26", 0) == {"date": "2025-09-26", "confirmed": True}
    # Into a year nobody has published yet: weekends only, flagged, never an error.
    assert await preview(gql, "2026-12-24", 10) == {"date": "2027-01-07", "confirmed": False}


async def test_preview_refuses_counts_outside_0_to_3650_with_a_stable_code(gql):
    for days in (-1, 3651):
        resp = await gql.post(PREVIEW, {"from": "2025-01-01", "days": days})
        body = resp.json()
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "WORKING_DAYS_OUT_OF_RANGE"
        assert body["errors"][0]["message"] == "工作日天数须在 0 到 3650 之间"
    assert (await preview(gql, "2025-01-01", 3650))["confirmed"] is False


async def test_preview_in_an_unknown_region_is_refused(gql):
    resp = await gql.post(PREVIEW, {"from": "2025-01-01", "days": 1, "region": _gid("Region", 999)})
    assert resp.json()["errors"][0]["extensions"]["code"] == "UNKNOWN_REGION"
    resp = await gql.post(PREVIEW, {"from": "2025-01-01", "days": 1, "region": "garbage"})
    assert resp.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_working_calendar_lists_the_shipped_year_in_the_readers_language(gql):
    data = (await gql(CALENDAR, {"year": 2025}))["workingCalendar"]
    assert (data["year"], data["confirmed"], data["entered"]) == (2025, True, False)
    days = {d["date"]: d for d in data["days"]}
    assert days["2025-09-28"] == {
        "date": "2025-09-28",
        "isWorkday": True,
        "name": "国庆节",
        "source": "PACKAGE",
    }
    assert days["2025-10-01"]["isWorkday"] is False
    assert "2025-10-04" not in days  # a Saturday inside the holiday is off anyway
    assert [d["date"] for d in data["days"]] == sorted(days)
    gql.language = "en"
    data = (await gql(CALENDAR, {"year": 2025}))["workingCalendar"]
    assert {d["date"]: d["name"] for d in data["days"]}["2025-10-01"] == "National Day"
    unknown = (await gql(CALENDAR, {"year": 2027}))["workingCalendar"]
    assert unknown == {"year": 2027, "confirmed": False, "entered": False, "note": "", "days": []}


# --- a system administrator enters next year's arrangement ---


async def test_entered_year_confirms_deadlines_and_skips_its_holidays(gql):
    await sign_in_system_admin(gql)
    payload = (await gql(SET_YEAR, {"input": ARRANGEMENT_2027}))["setCalendarYear"]
    assert payload["errors"] == []
    cal = payload["calendar"]
    assert (cal["year"], cal["confirmed"], cal["entered"]) == (2027, True, True)
    assert cal["note"] == "国办发明电〔2026〕X号"
    assert len(cal["days"]) == 8
    assert cal["days"][0] == {
        "date": "2027-01-01",
        "isWorkday": False,
        "name": "元旦",
        "source": "ADMIN",
    }
    # New Year's Day (a Friday) is now off: one day later than before, and confirmed.
    assert await preview(gql, "2026-12-24", 10) == {"date": "2027-01-08", "confirmed": True}
    # Spring Festival: Sat 02-06 is worked, 02-08..12 are off.
    assert await preview(gql, "2027-02-05", 1) == {"date": "2027-02-06", "confirmed": True}
    assert await preview(gql, "2027-02-06", 1) == {"date": "2027-02-15", "confirmed": True}
    gql.token = None  # anyone may read it
    assert (await gql(CALENDAR, {"year": 2027}))["workingCalendar"]["entered"] is True


async def test_entering_a_year_again_replaces_it_and_clearing_returns_to_the_package(gql):
    await sign_in_system_admin(gql)
    assert (await gql(SET_YEAR, {"input": ARRANGEMENT_2027}))["setCalendarYear"]["errors"] == []
    smaller = {"year": 2027, "holidays": [{"date": "2027-10-01", "name": "国庆节"}]}
    cal = (await gql(SET_YEAR, {"input": smaller}))["setCalendarYear"]["calendar"]
    assert [d["date"] for d in cal["days"]] == ["2027-10-01"]
    assert await CalendarDay.filter(region_id=None).count() == 1
    assert await preview(gql, "2026-12-31", 1) == {"date": "2027-01-01", "confirmed": True}

    cleared = (await gql(CLEAR_YEAR, {"year": 2027}))["clearCalendarYear"]
    assert cleared["errors"] == []
    assert cleared["calendar"] == {"year": 2027, "confirmed": False, "entered": False, "days": []}
    assert await CalendarYear.all().count() == 0
    assert await CalendarDay.all().count() == 0
    assert (await preview(gql, "2026-12-31", 1))["confirmed"] is False
    again = (await gql(CLEAR_YEAR, {"year": 2027}))["clearCalendarYear"]
    assert [e["code"] for e in again["errors"]] == ["CALENDAR_YEAR_NOT_ENTERED"]


async def test_an_entered_year_replaces_the_shipped_one(gql):
    await sign_in_system_admin(gql)
    # Suppose 2025 had been published without the National Day holiday on 10-08.
    days = [{"date": f"2025-10-0{d}", "name": "国庆节"} for d in (1, 2, 3, 6, 7)]
    assert await preview(gql, "2025-09-26", 3) == {"date": "2025-09-30", "confirmed": True}
    data = await gql(SET_YEAR, {"input": {"year": 2025, "holidays": days}})
    assert data["setCalendarYear"]["errors"] == []
    # 10-08 is worked now, and the shipped make-up Sunday 09-28 is gone: the entry replaces
    # the whole year.
    assert await preview(gql, "2025-09-26", 1) == {"date": "2025-09-29", "confirmed": True}
    assert await preview(gql, "2025-09-26", 3) == {"date": "2025-10-08", "confirmed": True}


async def test_only_system_administrators_enter_a_year(gql):
    await build_world()
    for username in ("county_admin", "cadre_a"):
        await gql.login(username, PASSWORD)
        for query, variables in (
            (SET_YEAR, {"input": ARRANGEMENT_2027}),
            (CLEAR_YEAR, {"year": 2027}),
        ):
            data = await gql(query, variables)
            payload = next(iter(data.values()))
            assert payload["calendar"] is None
            assert payload["errors"] == [
                {"code": "FORBIDDEN", "field": None, "message": "无权执行此操作"}
            ]
    gql.token = None
    data = await gql(SET_YEAR, {"input": ARRANGEMENT_2027})
    assert data["setCalendarYear"]["errors"][0]["code"] == "UNAUTHENTICATED"
    assert await CalendarYear.all().count() == 0


async def test_arrangement_refusals_name_the_field_and_index(gql):
    await sign_in_system_admin(gql)
    bad = {
        "year": 2027,
        "holidays": [
            {"date": "2027-01-01", "name": "元旦"},
            {"date": "2026-10-01", "name": "去年"},  # not in 2027
            {"date": "2027-01-02", "name": "周六"},  # a Saturday: off anyway
            {"date": "2027-01-01", "name": "again"},  # listed twice
            {"date": "2027-05-03", "name": "x" * 65},  # name too long
        ],
        "workdays": [
            {"date": "2027-01-04", "name": "周一"},  # a Monday: worked anyway
            {"date": "2027-01-01", "name": "元旦"},  # both a holiday and a workday
        ],
    }
    payload = (await gql(SET_YEAR, {"input": bad}))["setCalendarYear"]
    assert payload["calendar"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("DATE_OUTSIDE_YEAR", "holidays.1"),
        ("REDUNDANT_HOLIDAY", "holidays.2"),
        ("DUPLICATE_DATE", "holidays.3"),
        ("TOO_LONG", "holidays.4.name"),
        ("REDUNDANT_WORKDAY", "workdays.0"),
        ("HOLIDAY_AND_WORKDAY", "workdays.1"),
    ]
    messages = {e["field"]: e["message"] for e in payload["errors"]}
    assert messages["holidays.1"] == "日期 2026-10-01 不在 2027 年内"
    assert messages["holidays.4.name"] == "名称不能超过 64 个字符"
    gql.language = "en"
    payload = (await gql(SET_YEAR, {"input": bad}))["setCalendarYear"]
    messages = {e["field"]: e["message"] for e in payload["errors"]}
    assert messages["workdays.1"] == "2027-01-01 cannot be both a holiday and a make-up workday"
    assert messages["holidays.2"].startswith("2027-01-02 is a weekend day")

    for variables, expected in (
        ({"year": 1999, "holidays": []}, [("YEAR_OUT_OF_RANGE", "year")]),
        ({"year": 2027, "holidays": []}, [("REQUIRED", "holidays")]),
    ):
        payload = (await gql(SET_YEAR, {"input": variables}))["setCalendarYear"]
        assert [(e["code"], e["field"]) for e in payload["errors"]] == expected
    assert await CalendarYear.all().count() == 0
    assert await CalendarDay.all().count() == 0


# --- a region's own days ---


async def test_a_towns_local_holiday_changes_that_town_only(gql):
    w = await build_world()
    town_a, town_b = _gid("Region", w.town_a.id), _gid("Region", w.town_b.id)
    await gql.login("county_admin", PASSWORD)
    data = await gql(
        SET_REGION,
        {
            "input": {
                "regionId": town_a,
                "days": [{"date": "2025-10-09", "isWorkday": False, "name": "城关镇庙会"}],
            }
        },
    )
    assert data["setRegionCalendarDays"] == {
        "days": [
            {"date": "2025-10-09", "isWorkday": False, "name": "城关镇庙会", "source": "REGION"}
        ],
        "errors": [],
    }
    # Town A: 09-28, 09-29, 09-30, (10-09 off), 10-10, and make-up Saturday 10-11.
    assert await preview(gql, "2025-09-26", 5, town_a) == {"date": "2025-10-11", "confirmed": True}
    assert await preview(gql, "2025-09-26", 5, town_b) == {"date": "2025-10-10", "confirmed": True}
    assert await preview(gql, "2025-09-26", 5) == {"date": "2025-10-10", "confirmed": True}

    listed = (await gql(CALENDAR, {"year": 2025, "region": town_a}))["workingCalendar"]
    local = [d for d in listed["days"] if d["source"] == "REGION"]
    assert local == [
        {"date": "2025-10-09", "isWorkday": False, "name": "城关镇庙会", "source": "REGION"}
    ]
    other = (await gql(CALENDAR, {"year": 2025, "region": town_b}))["workingCalendar"]
    assert all(d["source"] == "PACKAGE" for d in other["days"])

    removed = (await gql(REMOVE_REGION, {"region": town_a, "date": "2025-10-09"}))[
        "removeRegionCalendarDay"
    ]
    assert removed == {"removedDate": "2025-10-09", "errors": []}
    assert await preview(gql, "2025-09-26", 5, town_a) == {"date": "2025-10-10", "confirmed": True}
    again = (await gql(REMOVE_REGION, {"region": town_a, "date": "2025-10-09"}))[
        "removeRegionCalendarDay"
    ]
    assert again["removedDate"] is None
    assert [(e["code"], e["field"]) for e in again["errors"]] == [("NOT_FOUND", "date")]


async def test_a_county_day_applies_below_it_and_a_town_may_override_it(gql):
    w = await build_world()
    county, town_a = _gid("Region", w.county.id), _gid("Region", w.town_a.id)
    town_b = _gid("Region", w.town_b.id)
    await gql.login("county_admin", PASSWORD)
    # The county does not keep the make-up Sunday 09-28; town A keeps it all the same.
    day = {"date": "2025-09-28", "isWorkday": False, "name": "本县不调休"}
    data = await gql(SET_REGION, {"input": {"regionId": county, "days": [day]}})
    assert data["setRegionCalendarDays"]["errors"] == []
    data = await gql(
        SET_REGION,
        {"input": {"regionId": town_a, "days": [{"date": "2025-09-28", "isWorkday": True}]}},
    )
    assert data["setRegionCalendarDays"]["errors"] == []
    assert (await preview(gql, "2025-09-26", 1, town_b))["date"] == "2025-09-29"
    assert (await preview(gql, "2025-09-26", 1, county))["date"] == "2025-09-29"
    assert (await preview(gql, "2025-09-26", 1, town_a))["date"] == "2025-09-28"
    # Setting the same date again replaces the region's earlier day.
    renamed = {**day, "name": "改名"}
    data = await gql(SET_REGION, {"input": {"regionId": county, "days": [renamed]}})
    assert data["setRegionCalendarDays"]["days"][0]["name"] == "改名"
    assert await CalendarDay.filter(region_id=w.county.id).count() == 1


async def test_region_day_refusals(gql):
    w = await build_world()
    town_a = _gid("Region", w.town_a.id)
    await gql.login("county_admin", PASSWORD)
    days = [
        {"date": "2025-10-01", "isWorkday": False},  # already a national holiday
        {"date": "2025-10-09", "isWorkday": False, "name": "庙会"},
        {"date": "2025-10-09", "isWorkday": False},  # twice
        {"date": "2025-10-10", "isWorkday": False, "name": "y" * 65},
    ]
    payload = (await gql(SET_REGION, {"input": {"regionId": town_a, "days": days}}))[
        "setRegionCalendarDays"
    ]
    assert payload["days"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("REDUNDANT_REGION_DAY", "days.0"),
        ("DUPLICATE_DATE", "days.2"),
        ("TOO_LONG", "days.3.name"),
    ]
    payload = (await gql(SET_REGION, {"input": {"regionId": town_a, "days": []}}))[
        "setRegionCalendarDays"
    ]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [("REQUIRED", "days")]
    assert await CalendarDay.all().count() == 0

    # Someone who administers nothing is FORBIDDEN; a town's admin cannot edit the other town.
    one_day = {"regionId": town_a, "days": [{"date": "2025-10-09", "isWorkday": False}]}
    await gql.login("cadre_a", PASSWORD)
    payload = (await gql(SET_REGION, {"input": one_day}))["setRegionCalendarDays"]
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    payload = (await gql(REMOVE_REGION, {"region": town_a, "date": "2025-10-09"}))[
        "removeRegionCalendarDay"
    ]
    assert [e["code"] for e in payload["errors"]] == ["FORBIDDEN"]
    await make_user("town_b_admin", "ADMIN", w.town_b)
    await gql.login("town_b_admin", PASSWORD)
    payload = (await gql(SET_REGION, {"input": one_day}))["setRegionCalendarDays"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("REGION_OUT_OF_SCOPE", "regionId")
    ]
    assert await CalendarDay.all().count() == 0


# --- operations ---


async def test_two_administrators_entering_one_year_at_once_leave_one_arrangement(db):
    import asyncio
    from datetime import date

    from models.access import load_actor
    from models.ops.calendar import set_calendar_year
    from models.ops.work_calendar import load_calendar

    admin = await load_actor((await make_user("sys_admin", "ADMIN", None)).id)
    first = [(date(2027, 1, 1), "元旦")]
    second = [(date(2027, 10, 1), "国庆节"), (date(2027, 10, 4), "国庆节")]
    results = await asyncio.gather(
        set_calendar_year(admin, 2027, first, [], "a"),
        set_calendar_year(admin, 2027, second, [], "b"),
    )
    assert all(r.entered for r in results)
    assert await CalendarYear.all().count() == 1
    stored = sorted(await CalendarDay.all().values_list("day", flat=True))
    assert stored in ([date(2027, 1, 1)], [date(2027, 10, 1), date(2027, 10, 4)])
    calendar = await load_calendar()
    assert calendar.is_known(date(2027, 6, 1))
    assert calendar.is_workday(date(2027, 1, 1)) is (len(stored) == 2)
