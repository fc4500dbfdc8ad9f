"""Visit operations against the real database: offline retries, check-ins, scope, the
lifecycle, demands raised on the spot and the day-before reminder."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from models.errors import DomainError
from models.ops import visits as ops
from models.ops.policy import set_region_policy
from models.ops.visit_jobs import remind_visits_tomorrow
from models.rules.clock import acting_at, shanghai
from models.rules.geo import LocationTrust, TrustReason
from models.rules.roles import CoordinateSystem
from models.tables.demands import Attachment, Demand, DemandEvent, MutationReceipt
from models.tables.notifications import NotificationEvent
from models.tables.visits import Visit, VisitParticipant
from tests.factories import system_actor
from tests.visit_world import FACTORY_GCJ, VisitWorld, as_bd09, build_visit_world, new_id, offset


def check_in(lat: float, lng: float, system: str = "GCJ02", **kw) -> ops.CheckInData:
    return ops.CheckInData(latitude=lat, longitude=lng, system=system, **kw)


def report(w: VisitWorld, **kw) -> ops.VisitReport:
    kw.setdefault("check_in", check_in(*FACTORY_GCJ, accuracy_m=15))
    kw.setdefault("notes", "生产正常，订单同比增长，缺少熟练技工。")
    return ops.VisitReport(**kw)


def people(w: VisitWorld) -> ops.VisitPeople:
    return ops.VisitPeople(participant_ids=[w.cadre1.user_id, w.cadre2.user_id])


async def codes(call) -> list[tuple[str, str | None]]:
    with pytest.raises(DomainError) as err:
        await call
    return [(p.code, p.field) for p in err.value.problems]


async def test_double_send_makes_one_visit_with_its_demands_and_photos(db):
    w = await build_visit_world()
    photos = [await w.photo(w.leader) for _ in range(3)]
    call = dict(
        enterprise_id=w.factory.id,
        people=people(w),
        report=report(
            w,
            photo_ids=photos,
            policies=[ops.PolicyGiven(title="稳岗返还政策解读")],
            demands=[
                ops.RaisedDemand(
                    title="招工难，缺熟练技工", description="希望人社部门对接技工学校。"
                ),
                ops.RaisedDemand(
                    title="厂区门口道路破损", description="大货车进出困难，请求修复。"
                ),
            ],
        ),
        client_id=new_id(),
    )
    first = await ops.log_visit(w.leader, **call)
    again = await ops.log_visit(w.leader, **call)  # the first answer was lost
    assert again.id == first.id
    assert await Visit.all().count() == 1
    demands = await Demand.filter(visit_id=first.id).order_by("id")
    assert [d.title for d in demands] == ["招工难，缺熟练技工", "厂区门口道路破损"]
    assert {d.source.value for d in demands} == {"VISIT"}
    assert {d.state.value for d in demands} == {"SUBMITTED"}
    assert await DemandEvent.filter(demand_id__in=[d.id for d in demands]).count() == 2
    assert await Attachment.filter(visit_id=first.id).count() == 3
    went = await VisitParticipant.filter(visit_id=first.id).order_by("-is_lead", "id")
    assert [(p.user_id, p.is_lead) for p in went] == [  # type: ignore[attr-defined]
        (w.leader.user_id, True),
        (w.cadre1.user_id, False),
        (w.cadre2.user_id, False),
    ]
    assert first.location_trust is LocationTrust.TRUSTED
    assert first.policies == [{"policyId": None, "title": "稳岗返还政策解读"}]


async def test_concurrent_double_send_still_makes_one_visit(db):
    w = await build_visit_world()
    photos = [await w.photo(w.leader) for _ in range(2)]
    call = dict(
        enterprise_id=w.factory.id,
        people=people(w),
        report=report(w, photo_ids=photos),
        client_id=new_id(),
    )
    a, b = await asyncio.gather(ops.log_visit(w.leader, **call), ops.log_visit(w.leader, **call))
    assert a.id == b.id and await Visit.all().count() == 1
    assert await Attachment.filter(visit_id=a.id).count() == 2


async def test_same_client_id_with_other_content_is_refused(db):
    w = await build_visit_world()
    cid = new_id()
    await ops.log_visit(w.leader, w.factory.id, people(w), report(w), client_id=cid)
    changed = report(w, notes="另一段记录")
    assert await codes(
        ops.log_visit(w.leader, w.factory.id, people(w), changed, client_id=cid)
    ) == [("CLIENT_ID_REUSED", "clientId")]
    assert await codes(
        ops.log_visit(w.leader, w.factory.id, people(w), report(w), client_id="not-a-uuid")
    ) == [("INVALID_CLIENT_MUTATION_ID", "clientId")]
    assert await Visit.all().count() == 1


@pytest.mark.parametrize(
    ("north_m", "accuracy", "trust", "reason"),
    [
        (0, 10, LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS),
        (450, 10, LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS),
        (600, 150, LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS),
        (600, 50, LocationTrust.DOUBTFUL, TrustReason.TOO_FAR),
        (4000, 20, LocationTrust.DOUBTFUL, TrustReason.TOO_FAR),
    ],
)
async def test_check_in_distance_decides_trust(db, north_m, accuracy, trust, reason):
    w = await build_visit_world()
    lat, lng = offset(*FACTORY_GCJ, north_m)
    visit = await ops.log_visit(
        w.leader,
        w.factory.id,
        people(w),
        report(w, check_in=check_in(lat, lng, accuracy_m=accuracy)),
        client_id=new_id(),
    )
    assert (visit.location_trust, visit.trust_reason) == (trust, reason)
    assert visit.distance_m == pytest.approx(north_m, abs=2)


async def test_bd09_point_at_the_enterprise_is_trusted(db):
    w = await build_visit_world()
    lat, lng = as_bd09(*FACTORY_GCJ)
    visit = await ops.log_visit(
        w.leader,
        w.factory.id,
        people(w),
        report(w, check_in=check_in(lat, lng, "BD09", accuracy_m=20)),
        client_id=new_id(),
    )
    assert visit.location_trust is LocationTrust.TRUSTED
    assert visit.distance_m is not None and visit.distance_m < 1
    assert visit.checkin_system is CoordinateSystem.BD09  # kept as the phone reported it


async def test_mocked_unlocated_and_remote_visits_are_not_trusted(db):
    w = await build_visit_world()
    mocked = await ops.log_visit(
        w.leader,
        w.factory.id,
        people(w),
        report(w, check_in=check_in(*FACTORY_GCJ, mock_location=True)),
        client_id=new_id(),
    )
    assert (mocked.location_trust, mocked.trust_reason) == (
        LocationTrust.DOUBTFUL,
        TrustReason.MOCK_LOCATION,
    )
    unlocated = await ops.log_visit(
        w.leader, w.no_location.id, people(w), report(w), client_id=new_id()
    )
    assert unlocated.trust_reason is TrustReason.NO_ENTERPRISE_LOCATION
    assert unlocated.location_trust is LocationTrust.UNVERIFIED
    by_phone = await ops.log_visit(
        w.leader,
        w.factory.id,
        people(w),
        ops.VisitReport(mode="PHONE", notes="电话回访"),
        client_id=new_id(),
    )
    assert (by_phone.location_trust, by_phone.trust_reason) == (
        LocationTrust.UNVERIFIED,
        TrustReason.NOT_ON_SITE,
    )
    no_fix = await ops.log_visit(
        w.leader, w.factory.id, people(w), report(w, check_in=None), client_id=new_id()
    )
    assert no_fix.trust_reason is TrustReason.NO_CHECKIN


async def test_region_policy_radius_applies(db):
    w = await build_visit_world()
    await set_region_policy(system_actor(), w.base.county.id, {"checkin_radius_m": 1000})
    lat, lng = offset(*FACTORY_GCJ, 900)
    visit = await ops.log_visit(
        w.leader,
        w.factory.id,
        people(w),
        report(w, check_in=check_in(lat, lng, accuracy_m=10)),
        client_id=new_id(),
    )
    assert visit.location_trust is LocationTrust.TRUSTED


async def test_only_cadres_of_the_region_may_visit_or_go_along(db):
    w = await build_visit_world()
    # A cadre of another town: the enterprise is not theirs to see.
    assert await codes(
        ops.log_visit(
            w.town_b_cadre, w.factory.id, ops.VisitPeople(), report(w), client_id=new_id()
        )
    ) == [("NOT_FOUND", "enterpriseId")]
    # A dispatcher of the county sees the enterprise but does not visit.
    assert await codes(
        ops.log_visit(w.dispatcher, w.factory.id, ops.VisitPeople(), report(w), client_id=new_id())
    ) == [("FORBIDDEN", None)]
    # Its own contact sees it too, and is told they may not log visits.
    assert await codes(
        ops.log_visit(w.contact, w.factory.id, ops.VisitPeople(), report(w), client_id=new_id())
    ) == [("FORBIDDEN", None)]
    # Accompanying people must be cadres of the enterprise's region.
    wrong = ops.VisitPeople(participant_ids=[w.town_b_cadre.user_id, w.dispatcher.user_id])
    assert await codes(
        ops.log_visit(w.leader, w.factory.id, wrong, report(w), client_id=new_id())
    ) == [("PARTICIPANT_NOT_ELIGIBLE", "participantIds")]
    assert await Visit.all().count() == 0 and await MutationReceipt.all().count() == 0


async def test_bad_input_is_refused_whole_and_writes_nothing(db):
    w = await build_visit_world()
    other = await w.photo(w.cadre1)  # someone else's upload: not among the leader's
    used = await w.photo(w.leader)
    await ops.log_visit(
        w.leader, w.bakery.id, ops.VisitPeople(), report(w, photo_ids=[used]), client_id=new_id()
    )
    bad = report(
        w,
        check_in=check_in(0.0, 0.0),
        photo_ids=[other, used],
        visited_at=shanghai(2026, 11, 26, 10),
        ended_at=shanghai(2026, 11, 26, 9),
        demands=[ops.RaisedDemand(title="", description="内容")],
        policies=[ops.PolicyGiven(policy_id=999)],
    )
    problems = await codes(
        ops.log_visit(w.leader, w.factory.id, people(w), bad, client_id=new_id())
    )
    assert ("INVALID_LOCATION", "checkIn") in problems
    assert ("UPLOAD_NOT_FOUND", "photoIds") in problems
    assert ("INVALID_PHOTO", "photoIds") in problems  # already on the other visit
    assert ("ENDS_BEFORE_START", "endedAt") in problems
    assert ("REQUIRED", "demands.0.title") in problems
    assert ("NOT_FOUND", "policies.0.policyId") in problems
    assert await Visit.all().count() == 1 and await Demand.all().count() == 0
    assert await Attachment.filter(visit_id__not_isnull=True).count() == 1


async def test_a_failure_late_in_the_call_rolls_everything_back(db):
    w = await build_visit_world()
    photo = await w.photo(w.leader)
    # Link the photo elsewhere after validation would have passed: simulate a race by linking it
    # first under another visit, then log with it — the whole call must be refused.
    first = await ops.log_visit(
        w.leader, w.factory.id, people(w), report(w, photo_ids=[photo]), client_id=new_id()
    )
    assert await codes(
        ops.log_visit(
            w.leader,
            w.bakery.id,
            people(w),
            report(w, photo_ids=[photo], demands=[ops.RaisedDemand("标题", "内容")]),
            client_id=new_id(),
        )
    ) == [("INVALID_PHOTO", "photoIds")]
    assert await Visit.all().count() == 1 and await Demand.all().count() == 0
    assert (await Attachment.get(id=photo)).visit_id == first.id  # type: ignore[attr-defined]


async def test_plan_complete_cancel_and_notes_window(db):
    w = await build_visit_world()
    with acting_at(shanghai(2026, 11, 23, 9)):
        planned = await ops.plan_visit(
            w.cadre1,
            w.factory.id,
            ops.VisitPeople(lead_id=w.leader.user_id, participant_ids=[w.cadre2.user_id]),
            shanghai(2026, 11, 26, 9, 30),
            purpose="了解扩产用地需求",
            client_id=new_id(),
        )
        assert planned.status.value == "PLANNED" and planned.lead_id == w.leader.user_id  # type: ignore[attr-defined]
        # Only the lead or the planner may complete it; another participant may not.
        assert await codes(
            ops.complete_visit(w.cadre2, planned.id, report(w), client_id=new_id())
        ) == [("FORBIDDEN", None)]
    with acting_at(shanghai(2026, 11, 26, 10)):
        done = await ops.complete_visit(
            w.leader,
            planned.id,
            report(w, demands=[ops.RaisedDemand("扩产用地指标", "需新增用地 30 亩。")]),
            client_id=new_id(),
            expected_version=planned.version,
        )
        assert done.status.value == "COMPLETED" and done.location_trust is LocationTrust.TRUSTED
        assert done.visited_at == shanghai(2026, 11, 26, 10)
        assert await Demand.filter(visit_id=planned.id).count() == 1
        assert await codes(ops.cancel_visit(w.leader, planned.id, "改期")) == [
            ("VISIT_ALREADY_COMPLETED", "visitId")
        ]
        assert await codes(ops.update_visit_notes(w.cadre1, planned.id, "改")) == [
            ("FORBIDDEN", None)
        ]
    with acting_at(shanghai(2026, 11, 27, 10)):
        fixed = await ops.update_visit_notes(w.leader, planned.id, "生产正常；订单增长两成。")
        assert fixed.notes == "生产正常；订单增长两成。" and fixed.version == done.version + 1
    with acting_at(shanghai(2026, 11, 30, 10)):  # past the default 72 hours
        assert await codes(ops.update_visit_notes(w.leader, planned.id, "再改")) == [
            ("VISIT_LOCKED", "notes")
        ]
    with acting_at(shanghai(2026, 11, 23, 9)):
        other = await ops.plan_visit(
            w.leader, w.bakery.id, ops.VisitPeople(), shanghai(2026, 12, 1, 9), client_id=new_id()
        )
        cancelled = await ops.cancel_visit(w.leader, other.id, "企业负责人出差")
        assert cancelled.status.value == "CANCELLED" and cancelled.cancel_reason == "企业负责人出差"
        assert await codes(
            ops.plan_visit(
                w.leader,
                w.bakery.id,
                ops.VisitPeople(),
                shanghai(2026, 11, 1, 9),
                client_id=new_id(),
            )
        ) == [("PLANNED_IN_PAST", "plannedAt")]


async def test_stale_version_is_a_conflict(db):
    w = await build_visit_world()
    planned = await ops.plan_visit(
        w.leader, w.factory.id, ops.VisitPeople(), shanghai(2026, 12, 30, 9), client_id=new_id()
    )
    assert await codes(
        ops.complete_visit(
            w.leader,
            planned.id,
            report(w),
            client_id=new_id(),
            expected_version=planned.version + 5,
        )
    ) == [("CONFLICT", "version")]


async def test_visit_tomorrow_reminder_fires_once_per_visit_and_day(db):
    w = await build_visit_world()
    with acting_at(shanghai(2026, 11, 24, 9)):
        visit = await ops.plan_visit(
            w.leader,
            w.factory.id,
            ops.VisitPeople(participant_ids=[w.cadre1.user_id]),
            shanghai(2026, 11, 26, 9, 30),
            client_id=new_id(),
        )
    # The day before is 2026-11-25: the job runs every few minutes, in several processes.
    assert await remind_visits_tomorrow(shanghai(2026, 11, 24, 20)) == 0
    for hour in (8, 9, 15):
        await remind_visits_tomorrow(shanghai(2026, 11, 25, hour))
    events = await NotificationEvent.filter(kind="VISIT_TOMORROW")
    assert len(events) == 1
    assert events[0].recipients == [w.leader.user_id, w.cadre1.user_id]
    assert events[0].subject_id == visit.id
    assert events[0].data["enterprise"] == w.factory.name
    # Cancelled visits are not reminded.
    with acting_at(shanghai(2026, 11, 24, 9)):
        other = await ops.plan_visit(
            w.leader, w.bakery.id, ops.VisitPeople(), shanghai(2026, 11, 27, 9), client_id=new_id()
        )
        await ops.cancel_visit(w.leader, other.id, "改期")
    await remind_visits_tomorrow(shanghai(2026, 11, 26, 9) - timedelta(hours=1))
    assert await NotificationEvent.filter(kind="VISIT_TOMORROW").count() == 1
