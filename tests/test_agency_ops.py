"""Agency requests (帮办代办) at operation level: the park desk's story day by day, scope,
refusals, races and retries, and the derived clock (overdue, paused deadlines)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from models.access import agency_scope
from models.errors import DomainError
from models.messages import message
from models.messages.notifications import render
from models.ops import agency as ops
from models.ops.attachments import can_see_attachment, purge_unlinked
from models.ops.work_calendar import load_calendar
from models.rules.agency_view import AgencyClock, effective_deadline_now, is_overdue, on_time
from models.rules.clock import acting_at, shanghai
from models.tables.agency import AgencyEvent, AgencyRequest
from models.tables.demands import Attachment, MutationReceipt
from models.tables.notifications import Notification
from tests.agency_world import AgencyWorld, build_agency_world

MISSING = "食品安全管理制度"
FLOOR_PLAN = "经营场所平面布局图"


async def _timeline(request_id: int) -> list[tuple[str, str | None, str, int | None]]:
    rows = await AgencyEvent.filter(request_id=request_id).order_by("id")
    return [
        (e.action.value, e.from_state and e.from_state.value, e.to_state.value, e.actor_id)  # type: ignore[attr-defined]
        for e in rows
    ]


async def _told(request_id: int) -> dict[int, list[str]]:
    """Who was told what about the request: user id → the updates, in order."""
    out: dict[int, list[str]] = {}
    rows = await Notification.filter(subject_type="AgencyRequest", subject_id=request_id).order_by(
        "id"
    )
    for n in rows:
        assert n.kind == "AGENCY_REQUEST_CHANGED"
        out.setdefault(n.user_id, []).append(n.data["update"])  # type: ignore[attr-defined]
    return out


async def _submitted(w: AgencyWorld, **kw: object) -> AgencyRequest:
    return await ops.submit_agency_request(
        w.contact,
        enterprise_id=kw.pop("enterprise_id", w.base.ent_a1.id),  # type: ignore[arg-type]
        procedure_id=kw.pop("procedure_id", w.food_licence.id),  # type: ignore[arg-type]
        description=str(kw.pop("description", "门店经营面积扩大，需变更许可证。")),
        **kw,  # type: ignore[arg-type]
    )


async def _completed(w: AgencyWorld) -> AgencyRequest:
    r = await _submitted(w)
    await ops.accept_agency_request(w.agent, r.id)
    return await ops.complete_agency_request(w.agent, r.id, result_text="已办结")


async def test_the_park_desk_story_day_by_day(db, storage):
    w = await build_agency_world()
    ids = {k: u.id for k, u in w.users.items()}

    # Monday: the enterprise asks the desk, with the power of attorney and the licence scan.
    with acting_at(shanghai(2026, 11, 2, 9)):
        poa = await w.upload(w.contact, "授权委托书.pdf")
        scan = await w.upload(w.contact, "营业执照副本.pdf")
        r = await _submitted(w, attachment_ids=[poa.id, scan.id])
    assert r.state.value == "SUBMITTED" and r.region_id == w.park.id  # type: ignore[attr-defined]
    assert r.procedure_name == "食品经营许可证变更" and r.deadline is None
    linked = await Attachment.filter(id__in=[poa.id, scan.id]).values_list(
        "agency_request_id", flat=True
    )
    assert set(linked) == {r.id}

    # Tuesday: 容缺受理 — the safety rules may come later, promised by Friday.
    with acting_at(shanghai(2026, 11, 3, 10)):
        r = await ops.accept_agency_request(
            w.agent,
            r.id,
            missing_materials=[ops.MissingMaterial(MISSING, date(2026, 11, 6))],
            version=r.version,
        )
    assert r.state.value == "ACCEPTED" and r.agent_id == ids["agent"]  # type: ignore[attr-defined]
    assert r.promised_days == 5
    assert r.deadline == date(2026, 11, 10)  # Wed 4 … Tue 10: five working days
    assert r.effective_deadline == date(2026, 11, 10) and r.deadline_confirmed
    assert r.missing_materials == [
        {"name": MISSING, "promisedBy": "2026-11-06", "suppliedAt": None}
    ]

    # Thursday: the enterprise hands the owed material over; nothing else changes.
    with acting_at(shanghai(2026, 11, 5, 15)):
        rules = await w.upload(w.contact, "食品安全管理制度.pdf")
        r = await ops.supply_materials(
            w.contact, r.id, attachment_ids=[rules.id], materials=[MISSING]
        )
    assert r.state.value == "ACCEPTED" and r.missing_materials[0]["suppliedAt"]

    # Friday: 补正 — the floor plan is unclear; the clock stops.
    with acting_at(shanghai(2026, 11, 6, 10)):
        r = await ops.request_materials(
            w.agent,
            r.id,
            materials=[ops.RequestedMaterial(FLOOR_PLAN, "面积标注不清，请重新绘制")],
            note="请补正平面布局图",
        )
    assert r.state.value == "MATERIALS_REQUESTED" and r.paused_from.value == "ACCEPTED"  # type: ignore[union-attr]
    cal = await load_calendar(w.park.id)
    paused = AgencyClock(r.state, r.effective_deadline, r.paused_at)
    # The next Tuesday, still paused: the deadline moved on by Mon and Tue, nothing overdue.
    assert effective_deadline_now(paused, cal, date(2026, 11, 10)) == date(2026, 11, 12)
    assert not is_overdue(paused, date(2026, 11, 30))

    # The following Thursday: the corrected plan arrives; Mon–Thu paused (the weekend not).
    with acting_at(shanghai(2026, 11, 12, 14)):
        plan = await w.upload(w.contact, "平面布局图.pdf")
        r = await ops.supply_materials(w.contact, r.id, attachment_ids=[plan.id], note="已重新绘制")
    assert r.state.value == "ACCEPTED" and r.paused_at is None
    assert r.paused_days == 4
    assert r.deadline == date(2026, 11, 10)
    assert r.effective_deadline == date(2026, 11, 16)  # the deadline + 4 paused working days

    with acting_at(shanghai(2026, 11, 13, 9)):
        r = await ops.start_handling(w.agent, r.id, note="材料已送市场监管局")
    with acting_at(shanghai(2026, 11, 16, 16)):
        licence = await w.upload(w.agent, "食品经营许可证.pdf")
        r = await ops.complete_agency_request(
            w.agent,
            r.id,
            result_text="许可证已变更",
            certificate_number="JY13305990012345",
            attachment_ids=[licence.id],
        )
    assert r.state.value == "COMPLETED" and r.certificate_number == "JY13305990012345"
    assert on_time(AgencyClock(r.state, r.effective_deadline, None, r.completed_at)) is True
    with acting_at(shanghai(2026, 11, 17, 10)):
        r = await ops.rate_agency_request(w.contact, r.id, rating="SATISFIED", comment="很及时")
    assert r.rating.value == "SATISFIED" and r.rectification_state is None  # type: ignore[union-attr]

    assert await _timeline(r.id) == [
        ("SUBMIT", None, "SUBMITTED", ids["contact"]),
        ("ACCEPT", "SUBMITTED", "ACCEPTED", ids["agent"]),
        ("SUPPLY_MATERIALS", "ACCEPTED", "ACCEPTED", ids["contact"]),
        ("REQUEST_MATERIALS", "ACCEPTED", "MATERIALS_REQUESTED", ids["agent"]),
        ("SUPPLY_MATERIALS", "MATERIALS_REQUESTED", "ACCEPTED", ids["contact"]),
        ("START_HANDLING", "ACCEPTED", "IN_HANDLING", ids["agent"]),
        ("COMPLETE", "IN_HANDLING", "COMPLETED", ids["agent"]),
        ("RATE", "COMPLETED", "COMPLETED", ids["contact"]),
    ]
    events = await AgencyEvent.filter(request_id=r.id).order_by("id")
    assert events[0].data == {"attachmentIds": [poa.id, scan.id]}
    assert events[4].data["pausedDays"] == 4
    assert r.version == 8 and r.last_event_id == events[-1].id  # type: ignore[attr-defined]

    assert await _told(r.id) == {
        ids["agent"]: ["SUBMITTED", "MATERIALS_SUPPLIED", "MATERIALS_SUPPLIED", "RATED"],
        ids["agent2"]: ["SUBMITTED"],
        ids["contact"]: ["ACCEPTED_MISSING", "MATERIALS_REQUESTED", "COMPLETED"],
        ids["contact2"]: ["ACCEPTED_MISSING", "MATERIALS_REQUESTED", "COMPLETED"],
    }
    n = await Notification.filter(user_id=ids["contact2"]).order_by("id").first()
    assert n is not None
    assert render(n.kind, n.data, "zh")[1] == (
        f"食品经营许可证变更（工单号 {r.number}）：已容缺受理，请按承诺日期补交材料"
    )
    assert render(n.kind, n.data, "en")[1].startswith(
        f"食品经营许可证变更 (no. {r.number}): accepted"
    )

    # The documents: everyone who may see the request, nobody else.
    for doc in (poa, licence):
        assert await can_see_attachment(w.agent2, doc.uploaded_by_id, None, None, r.id)  # type: ignore[attr-defined]
        assert await can_see_attachment(w.contact2, doc.uploaded_by_id, None, None, r.id)  # type: ignore[attr-defined]
        assert await can_see_attachment(w.supervisor, doc.uploaded_by_id, None, None, r.id)  # type: ignore[attr-defined]
        assert not await can_see_attachment(w.other_agent, doc.uploaded_by_id, None, None, r.id)  # type: ignore[attr-defined]
        assert not await can_see_attachment(w.outsider, doc.uploaded_by_id, None, None, r.id)  # type: ignore[attr-defined]
    # Linked documents are never purged as unused uploads.
    assert await purge_unlinked(timedelta(seconds=-60)) == 0
    assert await Attachment.filter(agency_request_id=r.id).count() == 5


async def test_a_bad_rating_opens_a_rectification_until_recorded(db):
    w = await build_agency_world()
    with acting_at(shanghai(2026, 11, 16, 9)):
        r = await _completed(w)
    with acting_at(shanghai(2026, 11, 20, 10)):  # a Friday
        r = await ops.rate_agency_request(
            w.contact, r.id, rating="VERY_DISSATISFIED", comment="来回跑了三次"
        )
    assert r.state.value == "COMPLETED"
    assert r.rectification_state.value == "OPEN"  # type: ignore[union-attr]
    assert r.rectification_deadline == date(2026, 11, 27)  # five working days (policy default)
    told = await _told(r.id)
    for who in ("agent", "agent2", "supervisor"):
        assert told[w.users[who].id][-1] == "RATED_BADLY"
    with pytest.raises(DomainError) as err:
        await ops.rate_agency_request(w.contact, r.id, rating="SATISFIED")
    assert err.value.code == "ALREADY_RATED"
    with pytest.raises(DomainError) as err:
        await ops.record_agency_rectification(w.agent2, r.id, note="")
    assert err.value.code == "REQUIRED"
    with acting_at(shanghai(2026, 11, 24, 10)):
        r = await ops.record_agency_rectification(
            w.agent2, r.id, note="已约谈帮办员，优化材料一次性告知"
        )
    assert r.rectification_state.value == "DONE" and r.rectified_at is not None  # type: ignore[union-attr]
    with pytest.raises(DomainError) as err:
        await ops.record_agency_rectification(w.agent, r.id, note="再次")
    assert err.value.code == "NO_OPEN_RECTIFICATION"


async def test_outsiders_cannot_see_or_touch_a_request(db):
    w = await build_agency_world()
    r = await _submitted(w)
    for outsider in (w.other_agent, w.outsider):
        with pytest.raises(DomainError) as err:
            await ops.accept_agency_request(outsider, r.id)
        assert err.value.code == "NOT_FOUND"
        assert not await AgencyRequest.filter(agency_scope(outsider), id=r.id).exists()
    with pytest.raises(DomainError) as err:  # the enterprise cannot accept its own request
        await ops.accept_agency_request(w.contact, r.id)
    assert err.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as err:  # the supervisor reads it but does not act
        await ops.start_handling(w.supervisor, r.id)
    assert err.value.code == "FORBIDDEN"
    with pytest.raises(DomainError) as err:  # another enterprise cannot submit for ent_a1
        await ops.submit_agency_request(
            w.outsider, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
    assert err.value.code == "NOT_FOUND" and err.value.problems[0].field == "enterpriseId"
    with pytest.raises(DomainError) as err:  # an agent does not submit for enterprises
        await ops.submit_agency_request(
            w.agent, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
    assert err.value.code == "NOT_FOUND"


async def test_the_enterprises_town_reads_its_requests_at_another_towns_desk(db):
    w = await build_agency_world()
    r = await _submitted(w, procedure_id=w.other_procedure.id)  # ent_a1 at town_b's centre
    visible = AgencyRequest.filter(id=r.id)
    assert await visible.filter(agency_scope(w.other_agent)).exists()
    assert await visible.filter(agency_scope(w.cadre)).exists()  # town_a: the enterprise's
    assert not await visible.filter(agency_scope(w.agent)).exists()  # the park's desk
    assert not await visible.filter(agency_scope(w.outsider)).exists()


async def test_refusals_of_state_materials_and_agents(db):
    w = await build_agency_world()
    done = await _completed(w)
    with pytest.raises(DomainError) as err:
        await ops.cancel_agency_request(w.contact, done.id, reason="不需要了")
    assert err.value.code == "INVALID_STATE"
    p = err.value.problems[0]
    assert message(p.code, "zh", p.field, **p.params) == (
        "帮办代办申请当前为「已办结」状态，不能执行「撤销」"
    )
    assert "completed; cancel" in message(p.code, "en", p.field, **p.params)

    r = await _submitted(w)
    with pytest.raises(DomainError) as err:  # only may-be-missing materials may be missing
        await ops.accept_agency_request(
            w.agent,
            r.id,
            missing_materials=[
                ops.MissingMaterial(FLOOR_PLAN, date(2099, 1, 1)),
                ops.MissingMaterial("不存在的材料", date(2099, 1, 1)),
                ops.MissingMaterial(MISSING, None),
            ],
        )
    assert [(q.code, q.field) for q in err.value.problems] == [
        ("MATERIAL_NOT_WAIVABLE", "missingMaterials.0.name"),
        ("UNKNOWN_MATERIAL", "missingMaterials.1.name"),
        ("REQUIRED", "missingMaterials.2.promisedBy"),
    ]
    with acting_at(shanghai(2026, 11, 3, 10)), pytest.raises(DomainError) as err:
        await ops.accept_agency_request(
            w.agent, r.id, missing_materials=[ops.MissingMaterial(MISSING, date(2026, 11, 2))]
        )
    assert err.value.code == "PROMISE_IN_PAST"
    with pytest.raises(DomainError) as err:
        await ops.assign_agent(w.agent, r.id, agent_id=w.users["other_agent"].id)
    assert err.value.code == "AGENT_NOT_AT_POINT"
    r = await ops.assign_agent(w.agent, r.id, agent_id=w.users["agent2"].id)
    assert r.agent_id == w.users["agent2"].id and r.state.value == "SUBMITTED"  # type: ignore[attr-defined]
    assert (await _told(r.id))[w.users["agent2"].id][-1] == "ASSIGNED"
    r = await ops.accept_agency_request(w.agent, r.id)  # the assigned agent keeps it
    assert r.agent_id == w.users["agent2"].id and r.missing_materials == []  # type: ignore[attr-defined]
    with pytest.raises(DomainError) as err:  # nothing owed: nothing to hand over
        await ops.supply_materials(w.contact, r.id, materials=[MISSING])
    assert err.value.code == "NOTHING_TO_SUPPLY"
    with pytest.raises(DomainError) as err:
        await ops.request_materials(w.agent, r.id, materials=[], note="")
    assert {q.code for q in err.value.problems} == {"REQUIRED"}
    with pytest.raises(DomainError) as err:
        await ops.complete_agency_request(w.agent, r.id, result_text=" ")
    assert err.value.code == "REQUIRED" and err.value.problems[0].field == "resultText"
    with pytest.raises(DomainError) as err:
        await ops.reject_agency_request(w.agent, r.id, reason="")
    assert err.value.code == "REQUIRED"
    r = await ops.reject_agency_request(w.agent, r.id, reason="经营范围不符合变更条件")
    assert r.state.value == "REJECTED" and r.closed_at is not None

    other = await _submitted(w)
    r = await ops.cancel_agency_request(w.contact2, other.id)  # any contact of the enterprise
    assert r.state.value == "CANCELLED" and r.cancelled_at is not None
    assert (await _told(r.id))[w.users["agent"].id] == ["SUBMITTED", "CANCELLED"]


async def test_a_retried_submit_creates_one_request(db, storage):
    w = await build_agency_world()
    poa = await w.upload(w.contact, "授权委托书.pdf")
    cid = "2f0a3c4e-8d1b-4b6a-9c2d-7e5f1a0b3c4d"
    first, second = await asyncio.gather(
        _submitted(w, attachment_ids=[poa.id], client_mutation_id=cid),
        _submitted(w, attachment_ids=[poa.id], client_mutation_id=cid),
    )
    assert first.id == second.id
    again = await _submitted(w, attachment_ids=[poa.id], client_mutation_id=cid)
    assert again.id == first.id
    assert await AgencyRequest.all().count() == 1
    assert await AgencyEvent.all().count() == 1
    assert await MutationReceipt.filter(operation="AGENCY_SUBMIT").count() == 1
    with pytest.raises(DomainError) as err:
        await _submitted(w, description="别的", client_mutation_id=cid)
    assert err.value.code == "CLIENT_ID_REUSED"


async def test_stale_versions_and_racing_agents(db):
    w = await build_agency_world()
    r = await _submitted(w)

    async def accept(who):
        try:
            await ops.accept_agency_request(who, r.id)
            return "ok"
        except DomainError as err:
            return err.code

    results = await asyncio.gather(accept(w.agent), accept(w.agent2), accept(w.agent))
    assert results.count("ok") == 1 and set(results) - {"ok"} == {"CONFLICT"}
    assert [a for a, *_ in await _timeline(r.id)].count("ACCEPT") == 1
    current = await AgencyRequest.get(id=r.id)
    with pytest.raises(DomainError) as err:
        await ops.start_handling(w.agent, r.id, version=current.version - 1)
    assert err.value.code == "CONFLICT"
    await ops.start_handling(w.agent, r.id, version=current.version)
    # A retried transition with its client id is applied once.
    cid = "5b1d2c3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e"
    one = await ops.complete_agency_request(
        w.agent, r.id, result_text="已办结", client_mutation_id=cid
    )
    two = await ops.complete_agency_request(
        w.agent, r.id, result_text="已办结", client_mutation_id=cid
    )
    assert one.version == two.version
    assert [a for a, *_ in await _timeline(r.id)].count("COMPLETE") == 1


async def test_overdue_is_derived_and_paused_requests_never_become_overdue(db):
    w = await build_agency_world()
    with acting_at(shanghai(2026, 11, 2, 10)):
        late = await _submitted(w)
        late = await ops.accept_agency_request(w.agent, late.id)  # due Mon 11-09
        paused = await _submitted(w)
        paused = await ops.accept_agency_request(w.agent, paused.id)
        paused = await ops.request_materials(
            w.agent, paused.id, materials=[ops.RequestedMaterial(FLOOR_PLAN)], note="补正"
        )
        waiting = await _submitted(w)  # not accepted: no clock yet
    cal = await load_calendar(w.park.id)
    today = date(2026, 11, 20)

    def clock_of(r: AgencyRequest) -> AgencyClock:
        return AgencyClock(r.state, r.effective_deadline, r.paused_at)

    assert is_overdue(clock_of(late), today)
    assert not is_overdue(clock_of(paused), today)
    assert not is_overdue(clock_of(waiting), today)
    # Paused on Monday 11-02 (the day still counted): by Friday 11-20 fourteen working days
    # paused, the deadline 11-09 moves on to 11-27.
    assert effective_deadline_now(clock_of(paused), cal, today) == date(2026, 11, 27)
