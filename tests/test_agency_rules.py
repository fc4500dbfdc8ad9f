"""The pure rules of agency requests: who may do what when, the clock, and their wording."""

from __future__ import annotations

from datetime import date

import pytest

from models.messages import message
from models.messages.notifications import render
from models.rules.agency_flow import AgencyRelation, agency_refusal, allowed_agency_actions
from models.rules.agency_states import AgencyAction, AgencyState
from models.rules.agency_view import (
    AgencyClock,
    effective_deadline_now,
    facts_of,
    is_overdue,
    on_time,
    owed,
    waivable,
    working_days_left,
)
from models.rules.clock import shanghai
from models.rules.demand_states import RectificationState, Satisfaction
from models.rules.workdays import WorkCalendar

S = AgencyState
A = AgencyAction
AGENT = AgencyRelation(agent=True)
CONTACT = AgencyRelation(contact=True)
NOBODY = AgencyRelation()
# Weekends only, and National Day 2026 (Oct 1–7, with Sunday Sep 27 and Saturday Oct 10 worked).
CAL = WorkCalendar(
    {
        **{date(2026, 10, d): False for d in range(1, 8)},
        date(2026, 9, 27): True,
        date(2026, 10, 10): True,
    },
    [2026],
)


def facts(state: AgencyState, **kw: object):  # type: ignore[no-untyped-def]
    return facts_of(
        state,
        rating=kw.get("rating"),  # type: ignore[arg-type]
        rectification=kw.get("rectification"),  # type: ignore[arg-type]
        missing_materials=kw.get("missing", []),  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("state", "agent", "contact"),
    [
        (S.SUBMITTED, {A.ACCEPT, A.REJECT, A.ASSIGN_AGENT}, {A.CANCEL}),
        (
            S.ACCEPTED,
            {A.REJECT, A.REQUEST_MATERIALS, A.START_HANDLING, A.COMPLETE, A.ASSIGN_AGENT},
            {A.CANCEL},
        ),
        (S.MATERIALS_REQUESTED, {A.REJECT, A.ASSIGN_AGENT}, {A.SUPPLY_MATERIALS, A.CANCEL}),
        (
            S.IN_HANDLING,
            {A.REQUEST_MATERIALS, A.COMPLETE, A.ASSIGN_AGENT},
            {A.CANCEL},
        ),
        (S.COMPLETED, set(), {A.RATE}),
        (S.REJECTED, set(), set()),
        (S.CANCELLED, set(), set()),
    ],
)
def test_who_may_do_what_in_each_state(state, agent, contact):  # type: ignore[no-untyped-def]
    assert set(allowed_agency_actions(facts(state), AGENT)) == agent
    assert set(allowed_agency_actions(facts(state), CONTACT)) == contact
    assert allowed_agency_actions(facts(state), NOBODY) == []


def test_owed_materials_and_ratings_open_and_close_actions():
    owing = [{"name": "食品安全管理制度", "promisedBy": "2026-11-06", "suppliedAt": None}]
    assert A.SUPPLY_MATERIALS in allowed_agency_actions(facts(S.ACCEPTED, missing=owing), CONTACT)
    supplied = [{**owing[0], "suppliedAt": "2026-11-05T15:00:00+08:00"}]
    assert owed(supplied) == []
    err = agency_refusal(A.SUPPLY_MATERIALS, facts(S.ACCEPTED, missing=supplied), CONTACT)
    assert err is not None and err.code == "NOTHING_TO_SUPPLY"
    rated = facts(S.COMPLETED, rating=Satisfaction.VERY_DISSATISFIED, rectification=None)
    assert allowed_agency_actions(rated, CONTACT) == []
    opened = facts(
        S.COMPLETED, rating=Satisfaction.DISSATISFIED, rectification=RectificationState.OPEN
    )
    assert allowed_agency_actions(opened, AGENT) == [A.RECORD_RECTIFICATION]
    assert waivable(
        [
            {"name": "甲", "mayBeMissing": True},
            {"name": "乙", "mayBeMissing": False},
            {"name": "丙"},
        ]
    ) == {"甲"}


def test_the_clock_moves_while_paused_and_freezes_the_days_left():
    # Paused on Friday Sep 25 with the deadline on Sep 30; the holiday week is not counted.
    paused = AgencyClock(S.MATERIALS_REQUESTED, date(2026, 9, 30), shanghai(2026, 9, 25, 16))
    # Sep 27 (a worked Sunday), 28, 29, 30 and Oct 8, 9: six working days paused by Oct 9.
    # …and the deadline moves six working days on: Oct 8, 9, 10 (a worked Saturday), 12, 13, 14.
    assert effective_deadline_now(paused, CAL, date(2026, 10, 9)) == date(2026, 10, 14)
    assert working_days_left(paused, CAL, date(2026, 10, 9)) == 4  # Sep 27, 28, 29, 30
    assert not is_overdue(paused, date(2026, 12, 31))
    running = AgencyClock(S.IN_HANDLING, date(2026, 9, 30), None)
    assert is_overdue(running, date(2026, 10, 8))
    assert not is_overdue(running, date(2026, 9, 30))
    assert working_days_left(running, CAL, date(2026, 10, 9)) == -2
    assert working_days_left(AgencyClock(S.SUBMITTED, None, None), CAL, date(2026, 9, 1)) is None
    done = AgencyClock(S.COMPLETED, date(2026, 9, 30), None, shanghai(2026, 9, 30, 23, 30))
    assert on_time(done) is True and working_days_left(done, CAL, date(2026, 10, 9)) is None
    late = AgencyClock(S.COMPLETED, date(2026, 9, 30), None, shanghai(2026, 10, 8, 9))
    assert on_time(late) is False and on_time(running) is None


def test_refusals_and_notifications_read_as_agency_ones():
    err = agency_refusal(A.CANCEL, facts(S.COMPLETED), CONTACT)
    assert err is not None
    p = err.problems[0]
    assert message(p.code, "zh", p.field, **p.params) == (
        "帮办代办申请当前为「已办结」状态，不能执行「撤销」"
    )
    # The demand's wording is untouched.
    assert message("INVALID_STATE", "zh", None, state="DISPATCHED", action="CLAIM").startswith(
        "诉求当前为「待签收」"
    )
    data = {"procedure": "食品经营许可证变更", "state": "MATERIALS_REQUESTED"}
    assert render("AGENCY_REQUEST_CHANGED", data, "zh") == (
        "帮办代办进度更新",
        "食品经营许可证变更：待补正",
    )
    assert render("AGENCY_REQUEST_CHANGED", {**data, "update": "COMPLETED"}, "en")[1] == (
        "食品经营许可证变更: completed; please rate it"
    )
