"""The demo's agency requests and appointments, replayed through the real operations."""

from __future__ import annotations

from datetime import date

from models.demo.agency import FOOD, PLANS
from models.demo.county import load_demo
from models.rules.agency_states import AgencyAction, AgencyState, AppointmentStatus
from models.rules.demand_states import RectificationState
from models.tables.agency import AgencyEvent, AgencyRequest
from models.tables.org import User
from models.tables.service_points import Appointment, ServicePoint
from tests.test_api_work_orders import assert_numbered_in_order


async def test_demo_agency_requests_and_appointments(db):
    # One load for every check: the demo replays months of history and takes seconds.
    summary = await load_demo()
    assert (summary.agency_requests_created, summary.agency_requests_present) == (len(PLANS), 0)
    rows = await AgencyRequest.all().values_list("state", "service_point__name")
    assert {AgencyState(s) for s, _ in rows} == set(AgencyState)
    assert {p for _, p in rows} == {"开发区“园小二”帮办代办服务站", "城关镇便民服务中心"}
    numbered = await AgencyRequest.all().values_list("submitted_at", "number")
    assert_numbered_in_order(numbered, "QH", "B")
    rectifications = await AgencyRequest.filter(rectification_state__not_isnull=True).values_list(
        "rectification_state", flat=True
    )
    assert sorted(rectifications) == [RectificationState.DONE, RectificationState.OPEN]
    # One request is still in handling past its deadline (2026-11-09) at the demo's end.
    overdue = await AgencyRequest.filter(
        state=AgencyState.IN_HANDLING, effective_deadline__lt=date(2026, 11, 20)
    ).count()
    assert overdue == 1
    await _the_story_request_pauses_three_working_days_for_the_floor_plan()
    await _demo_appointments_are_booked_at_the_points()


async def _the_story_request_pauses_three_working_days_for_the_floor_plan() -> None:
    food = await AgencyRequest.get(procedure_name=FOOD, state=AgencyState.COMPLETED)
    # Accepted Monday 11-02 with 5 promised working days: due 11-09; paused Thursday 11-05 to
    # Tuesday 11-10 (11-06, 11-09, 11-10 not counted): effectively due 11-12, completed that day.
    assert (food.deadline, food.paused_days, food.effective_deadline) == (
        date(2026, 11, 9),
        3,
        date(2026, 11, 12),
    )
    assert food.certificate_number == "JY13301270012345"
    actions = (
        await AgencyEvent.filter(request_id=food.id).order_by("id").values_list("action", flat=True)
    )
    assert [AgencyAction(a) for a in actions] == [
        AgencyAction.SUBMIT,
        AgencyAction.ACCEPT,
        AgencyAction.SUPPLY_MATERIALS,
        AgencyAction.REQUEST_MATERIALS,
        AgencyAction.SUPPLY_MATERIALS,
        AgencyAction.START_HANDLING,
        AgencyAction.COMPLETE,
        AgencyAction.RATE,
    ]


async def _demo_appointments_are_booked_at_the_points() -> None:
    enterprise = await User.get(username="enterprise")
    rows = (
        await Appointment.filter(booked_by_id=enterprise.id)
        .order_by("starts_at")
        .values_list("service_point_id", "status")
    )
    points = dict(await ServicePoint.all().values_list("id", "name"))
    assert [(points[p], AppointmentStatus(s)) for p, s in rows] == [
        ("开发区“园小二”帮办代办服务站", AppointmentStatus.CANCELLED),
        ("开发区“园小二”帮办代办服务站", AppointmentStatus.BOOKED),
        ("城关镇便民服务中心", AppointmentStatus.BOOKED),
    ]
