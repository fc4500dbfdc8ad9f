"""The app's offline queue replayed over HTTP (README: Offline queues): visits logged on a phone
whose clock is fast or slow, sent late and sent twice; plans cancelled, catalogs changed,
uploads removed and accounts closed while the phone was away. Nothing the user did offline is
refused for when it arrives; a real conflict answers with a code of its own.

The server's clock is fixed for the whole process (`server_clock`), so every time below is
exact: the visits happened in the morning, the phone uploads them in town at 16:00."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from models.access import load_actor, system_actor
from models.ops import attachments as attachment_ops
from models.ops import org as org_ops
from models.ops import support_policies as policy_ops
from models.ops import visits as ops
from models.ops.policy import update_category
from models.rules.clock import now, shanghai
from models.tables.demands import Attachment
from models.tables.policy import DemandCategory
from models.tables.service_points import Procedure
from schema.relay import to_global_id
from tests.agency_world import PDF, build_agency_world, server_clock
from tests.factories import PASSWORD
from tests.visit_world import FACTORY_GCJ, VisitWorld, build_visit_world, new_id, offset

IN_TOWN = shanghai(2026, 11, 26, 16)  # the server's clock when the queue is sent
FAST = timedelta(minutes=20)
SLOW = timedelta(hours=-3)

VISIT = """id status visitedAt reportedVisitedAt deviceClockOffsetMinutes timeFlag completedAt
  endedAt locationTrust trustReason countsTowardCoverage cancelledAt cancelReason
  checkIn { deviceTime receivedAt } policies { policyId title }
  participants { user { username } } photos { id } demands { title category { id } }"""
LOG = f"""mutation($input: LogVisitInput!) {{ logVisit(input: $input) {{
  visit {{ {VISIT} }} errors {{ code field message }} }} }}"""
COMPLETE = f"""mutation($input: CompleteVisitInput!) {{ completeVisit(input: $input) {{
  visit {{ {VISIT} }} errors {{ code field message }} }} }}"""
CANCEL = f"""mutation($input: CancelVisitInput!) {{ cancelVisit(input: $input) {{
  visit {{ {VISIT} }} errors {{ code field message }} }} }}"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


def t(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


def at_gate(device_time: datetime | None, north_m: float = 0) -> dict[str, Any]:
    lat, lng = offset(*FACTORY_GCJ, north_m)
    check_in: dict[str, Any] = {
        "latitude": lat,
        "longitude": lng,
        "coordinateSystem": "GCJ02",
        "accuracy": 12,
    }
    if device_time is not None:
        check_in["deviceTime"] = device_time.isoformat()
    return check_in


def log_input(w: VisitWorld, enterprise_id: int | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "clientId": new_id(),
        "enterpriseId": gid("Enterprise", enterprise_id or w.factory.id),
        "notes": "生产正常，订单增长。",
        **kw,
    }


@contextmanager
def in_town() -> Iterator[Any]:
    """The server's clock at the upload, for the whole process (the test server included)."""
    with server_clock() as clock:
        clock.moment = IN_TOWN
        yield clock


async def send(gql: Any, query: str, payload: dict[str, Any]) -> dict[str, Any]:
    data = await gql(query, {"input": payload})
    return next(iter(data.values()))


async def test_three_valley_visits_on_a_fast_phone_are_saved_on_the_server_clock(gql):
    """The issue's story: three visits without signal on a phone 20 minutes fast, sent from
    town at 16:00 with the phone's clock (sentAt). All saved at the time they happened; only
    the weak evidence is flagged."""
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    valley = [  # (enterprise, when it really happened, check-in)
        (w.factory.id, shanghai(2026, 11, 26, 10), "gate"),
        (w.factory.id, shanghai(2026, 11, 26, 11, 30), "road"),  # 4 km off: the road
        (w.no_location.id, shanghai(2026, 11, 26, 13), "gate"),  # no position on file
    ]
    with in_town():
        answers = []
        for enterprise, happened, where in valley:
            phone = happened + FAST
            check_in = at_gate(phone, 4000 if where == "road" else 0)
            answers.append(
                await send(
                    gql,
                    LOG,
                    log_input(
                        w,
                        enterprise,
                        checkIn=check_in,
                        endedAt=(phone + timedelta(minutes=40)).isoformat(),
                        sentAt=(IN_TOWN + FAST).isoformat(),
                    ),
                )
            )
    assert [a["errors"] for a in answers] == [[], [], []]
    visits = [a["visit"] for a in answers]
    for v, (_, happened, _) in zip(visits, valley, strict=True):
        assert t(v["visitedAt"]) == happened
        assert t(v["endedAt"]) == happened + timedelta(minutes=40)
        assert t(v["reportedVisitedAt"]) == happened + FAST == t(v["checkIn"]["deviceTime"])
        assert v["deviceClockOffsetMinutes"] == 20 and v["timeFlag"] == "CLOCK_CORRECTED"
        # The server's receipt time beside the phone's.
        assert t(v["completedAt"]) == IN_TOWN == t(v["checkIn"]["receivedAt"])
    assert [(v["locationTrust"], v["trustReason"]) for v in visits] == [
        ("TRUSTED", "WITHIN_RADIUS"),
        ("DOUBTFUL", "TOO_FAR"),
        ("UNVERIFIED", "NO_ENTERPRISE_LOCATION"),
    ]
    assert [v["countsTowardCoverage"] for v in visits] == [True, False, False]


async def test_a_fast_phone_without_sent_at_is_saved_at_the_receipt_and_flagged(gql):
    """An app that does not send its clock: a time ahead of the receipt cannot be right. Once
    refused as IN_FUTURE on visitedAt (a field the app never sent), so the queue retried for
    ever; now kept no later than the receipt, the phone's time beside it."""
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    with in_town():
        # Five minutes before the upload, on a phone 20 minutes fast: 15 minutes "ahead".
        ahead = await send(gql, LOG, log_input(w, checkIn=at_gate(IN_TOWN + timedelta(minutes=15))))
        # Within the ten minutes phones drift: kept at the receipt, not flagged.
        drift = await send(gql, LOG, log_input(w, checkIn=at_gate(IN_TOWN + timedelta(minutes=4))))
        # A phone visit with only the visit time typed in, an hour ahead.
        typed = await send(
            gql,
            LOG,
            log_input(
                w, w.bakery.id, mode="PHONE", visitedAt=(IN_TOWN + timedelta(hours=1)).isoformat()
            ),
        )
        # Hours later the same phone's times look right: nothing can tell them apart.
        later = await send(gql, LOG, log_input(w, checkIn=at_gate(shanghai(2026, 11, 26, 9, 20))))
    assert [a["errors"] for a in (ahead, drift, typed, later)] == [[], [], [], []]
    v = ahead["visit"]
    assert t(v["visitedAt"]) == IN_TOWN == t(v["completedAt"])
    assert t(v["reportedVisitedAt"]) == IN_TOWN + timedelta(minutes=15)
    assert v["timeFlag"] == "CLOCK_AHEAD" and v["deviceClockOffsetMinutes"] is None
    assert (v["locationTrust"], v["trustReason"]) == ("DOUBTFUL", "DEVICE_TIME_AHEAD")
    assert v["countsTowardCoverage"] is False
    v = drift["visit"]
    assert t(v["visitedAt"]) == IN_TOWN and v["timeFlag"] is None
    assert t(v["reportedVisitedAt"]) == IN_TOWN + timedelta(minutes=4)
    assert v["locationTrust"] == "TRUSTED"
    v = typed["visit"]
    assert t(v["visitedAt"]) == IN_TOWN and v["timeFlag"] == "CLOCK_AHEAD"
    assert (v["locationTrust"], v["trustReason"]) == ("UNVERIFIED", "NOT_ON_SITE")
    v = later["visit"]
    assert t(v["visitedAt"]) == shanghai(2026, 11, 26, 9, 20) and v["timeFlag"] is None
    assert v["reportedVisitedAt"] is None and v["locationTrust"] == "TRUSTED"


async def test_a_slow_phone_is_corrected_when_it_says_its_clock_and_kept_as_given_otherwise(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    happened = shanghai(2026, 11, 26, 10)
    with in_town():
        told = await send(
            gql,
            LOG,
            log_input(w, checkIn=at_gate(happened + SLOW), sentAt=(IN_TOWN + SLOW).isoformat()),
        )
        untold = await send(gql, LOG, log_input(w, checkIn=at_gate(happened + SLOW)))
        # A phone in step (under two minutes off) is taken as it is.
        in_step = await send(
            gql,
            LOG,
            log_input(
                w,
                checkIn=at_gate(happened),
                sentAt=(IN_TOWN + timedelta(seconds=70)).isoformat(),
            ),
        )
    v = told["visit"]
    assert told["errors"] == [] and t(v["visitedAt"]) == happened
    assert v["deviceClockOffsetMinutes"] == -180 and v["timeFlag"] == "CLOCK_CORRECTED"
    assert t(v["reportedVisitedAt"]) == happened + SLOW and v["locationTrust"] == "TRUSTED"
    v = untold["visit"]
    assert untold["errors"] == [] and t(v["visitedAt"]) == happened + SLOW
    assert v["timeFlag"] is None and v["reportedVisitedAt"] is None
    assert t(v["completedAt"]) == IN_TOWN  # the receipt beside it shows the gap
    v = in_step["visit"]
    assert t(v["visitedAt"]) == happened and v["deviceClockOffsetMinutes"] is None
    assert v["timeFlag"] is None


async def test_a_resent_visit_is_the_first_one_whatever_its_sent_at(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    payload = log_input(
        w,
        checkIn=at_gate(shanghai(2026, 11, 26, 10) + FAST),
        demands=[{"title": "招工难", "description": "缺熟练技工。"}],
    )
    with in_town() as clock:
        first = await send(gql, LOG, {**payload, "sentAt": (IN_TOWN + FAST).isoformat()})
        clock.moment = IN_TOWN + timedelta(minutes=7)  # the answer was lost; sent again later
        again = await send(gql, LOG, {**payload, "sentAt": (clock.moment + FAST).isoformat()})
        # The app resends without sentAt this time (an older build took over the queue).
        bare = await send(gql, LOG, payload)
        changed = await send(gql, LOG, {**payload, "notes": "改过的记录"})
    assert first["errors"] == again["errors"] == bare["errors"] == []
    assert first["visit"] == again["visit"] == bare["visit"]
    assert t(first["visit"]["visitedAt"]) == shanghai(2026, 11, 26, 10)
    assert changed["visit"] is None
    assert [(e["code"], e["field"]) for e in changed["errors"]] == [
        ("CLIENT_ID_REUSED", "clientId")
    ]
    counts = await gql("{ visits { totalCount } demands { totalCount } }")
    assert counts == {"visits": {"totalCount": 1}, "demands": {"totalCount": 1}}


async def test_a_completion_queued_offline_survives_the_plan_being_cancelled(gql):
    """cadre1 planned the visit for the leader. While the leader is in the valley, cadre1
    cancels it; the leader visits anyway and the completion arrives later with the version it
    read. Then cadre1's second, queued cancellation and cadre1's own completion arrive."""
    w = await build_visit_world()
    cadre1 = await load_actor(w.cadre1.user_id)
    plan = await ops.plan_visit(
        cadre1,
        w.factory.id,
        ops.VisitPeople(lead_id=w.leader.user_id),
        shanghai(2099, 11, 26, 10),
        client_id=new_id(),
    )
    version = plan.version
    await gql.login("cadre1", PASSWORD)
    cancel = {"visitId": gid("Visit", plan.id), "reason": "企业负责人出差", "version": version}
    cancelled = await send(gql, CANCEL, cancel)
    assert cancelled["errors"] == [] and cancelled["visit"]["status"] == "CANCELLED"
    # Cancelling a cancelled visit (the same call replayed) answers it as it is.
    again = await send(gql, CANCEL, {**cancel, "reason": "重复"})
    assert again["errors"] == [] and again["visit"]["cancelReason"] == "企业负责人出差"

    await gql.login("leader", PASSWORD)
    with in_town():
        done = await send(
            gql,
            COMPLETE,
            {
                "visitId": gid("Visit", plan.id),
                "clientId": new_id(),
                "version": version,
                "checkIn": at_gate(shanghai(2026, 11, 26, 10)),
            },
        )
    assert done["errors"] == []
    v = done["visit"]
    assert v["status"] == "COMPLETED" and v["locationTrust"] == "TRUSTED"
    assert v["cancelledAt"] is not None and v["cancelReason"] == "企业负责人出差"  # on record

    await gql.login("cadre1", PASSWORD)
    late_cancel = await send(gql, CANCEL, cancel)
    late_complete = await send(
        gql, COMPLETE, {"visitId": gid("Visit", plan.id), "clientId": new_id()}
    )
    for refused in (late_cancel, late_complete):
        assert refused["visit"] is None
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("VISIT_ALREADY_COMPLETED", "visitId")
        ]
        assert refused["errors"][0]["message"] == "该走访已由他人登记完成，无需再次登记或取消"


async def test_what_changed_while_the_phone_was_away_does_not_refuse_the_visit(gql):
    """The policy handed over was withdrawn from the catalog, the demand's category retired,
    and the colleague who came along left the service, all before the visit arrived."""
    w = await build_visit_world()
    root = system_actor()
    policy = await policy_ops.create_support_policy(
        root, policy_ops.SupportPolicyData(title="技改补贴申报指南", region_id=None)
    )
    category = await DemandCategory.filter(region_id=None).order_by("id").first()
    assert category is not None
    await policy_ops.update_support_policy(
        root, policy.id, policy_ops.SupportPolicyChanges(is_active=False)
    )
    await update_category(root, category.id, is_active=False, limits={})
    await org_ops.update_user(root, w.cadre2.user_id, org_ops.UserFields(is_active=False))
    await gql.login("leader", PASSWORD)
    done = await send(
        gql,
        LOG,
        log_input(
            w,
            participantIds=[gid("User", w.cadre2.user_id)],
            policies=[{"policyId": gid("SupportPolicy", policy.id)}],
            demands=[
                {
                    "title": "用地指标",
                    "description": "需新增用地 30 亩。",
                    "categoryId": gid("DemandCategory", category.id),
                }
            ],
        ),
    )
    assert done["errors"] == []
    v = done["visit"]
    assert v["policies"] == [
        {"policyId": gid("SupportPolicy", policy.id), "title": "技改补贴申报指南"}
    ]
    assert [p["user"]["username"] for p in v["participants"]] == ["leader", "cadre2"]
    # The dispatcher classifies it: the retired category is not kept.
    assert v["demands"] == [{"title": "用地指标", "category": None}]
    # A plan is not a visit that happened: it still needs colleagues in service.
    plan = await send(
        gql,
        """mutation($input: PlanVisitInput!) { planVisit(input: $input) {
             visit { id } errors { code field } } }""",
        {
            "clientId": new_id(),
            "enterpriseId": gid("Enterprise", w.factory.id),
            "participantIds": [gid("User", w.cadre2.user_id)],
            "plannedAt": "2099-01-05T09:00:00+08:00",
        },
    )
    assert plan["errors"] == [{"code": "PARTICIPANT_NOT_ELIGIBLE", "field": "participantIds"}]


async def test_photos_removed_as_unused_before_the_visit_arrived_are_uploaded_again(gql, storage):
    """The photos went up on the first bar of signal, the visit itself only two days later:
    the unused uploads were removed meanwhile. The answer says so (UPLOAD_NOT_FOUND), nothing
    is written, and the app uploads them again under the same ids and resends the visit."""
    from tests.test_api_uploads import upload
    from tests.test_photo_meta import encode, make_exif

    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    # The phone's camera is as fast as its clock: the photo says it was taken in the future.
    photo = encode("JPEG", make_exif(taken="2099:01:01 10:00:00"), size=(16, 16))
    upload_id = new_id()
    sent = await upload(gql.http, gql.token, "现场.jpg", photo, "image/jpeg", client_id=upload_id)
    first = sent.json()["data"]["uploadAttachment"]
    assert first["errors"] == [] and first["attachment"]["photoLocation"]["takenAt"].startswith(
        "2099-01-01T10:00"
    )
    old = first["attachment"]["id"]
    await Attachment.all().update(created_at=now() - timedelta(days=2))
    assert await attachment_ops.purge_unlinked(timedelta(hours=24)) == 1

    payload = log_input(
        w,
        photoIds=[old],
        demands=[{"title": "道路破损", "description": "厂区门口道路破损。"}],
    )
    refused = await send(gql, LOG, payload)
    assert refused["visit"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("UPLOAD_NOT_FOUND", "photoIds")
    ]
    assert "重新上传" in refused["errors"][0]["message"]
    assert (await gql("{ visits { totalCount } }"))["visits"]["totalCount"] == 0

    again = await upload(gql.http, gql.token, "现场.jpg", photo, "image/jpeg", client_id=upload_id)
    new = again.json()["data"]["uploadAttachment"]["attachment"]["id"]
    assert new != old
    saved = await send(gql, LOG, {**payload, "photoIds": [new]})  # the same visit clientId
    assert saved["errors"] == [] and [p["id"] for p in saved["visit"]["photos"]] == [new]
    assert len(saved["visit"]["demands"]) == 1


DEMAND = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id state category { id } } errors { code field } } }"""
SUBMIT_DRAFT = """mutation($input: TransitionInput!) { submitDraftDemand(input: $input) {
  demand { id state } errors { code field } } }"""


async def test_demands_and_drafts_replayed_after_the_category_was_retired(gql, storage):
    w = await build_visit_world()
    category = await DemandCategory.filter(region_id=None).order_by("id").first()
    assert category is not None
    await gql.login("ent_user", PASSWORD)
    base = {
        "enterpriseId": gid("Enterprise", w.factory.id),
        "title": "用电增容",
        "description": "新产线需增容 400 kVA。",
        "categoryId": gid("DemandCategory", category.id),
    }
    sent = {**base, "clientMutationId": new_id()}
    first = await send(gql, DEMAND, sent)
    draft = await send(gql, DEMAND, {**base, "draft": True, "clientMutationId": new_id()})
    assert first["errors"] == draft["errors"] == [] and draft["demand"]["state"] == "DRAFT"
    await update_category(system_actor(), category.id, is_active=False, limits={})

    # The first answer was lost: the retry gets the demand, not a refusal of the category.
    again = await send(gql, DEMAND, sent)
    assert again["errors"] == [] and again["demand"] == first["demand"]
    # A new demand naming the retired category is the user's to fix.
    fresh = await send(gql, DEMAND, {**base, "clientMutationId": new_id()})
    assert fresh["errors"] == [{"code": "NOT_FOUND", "field": "categoryId"}]
    # The draft, written before the change, is submitted as it is; its retry is the same.
    submit = {"demandId": draft["demand"]["id"], "clientMutationId": new_id()}
    done = await send(gql, SUBMIT_DRAFT, submit)
    replay = await send(gql, SUBMIT_DRAFT, submit)
    assert done["errors"] == replay["errors"] == [] and done["demand"]["state"] == "SUBMITTED"
    assert replay["demand"] == done["demand"]


AGENCY = """mutation($input: SubmitAgencyRequestInput!) { submitAgencyRequest(input: $input) {
  agencyRequest { id state } errors { code field } } }"""


async def test_agency_requests_replayed_after_the_procedure_was_withdrawn(gql, storage):
    w = await build_agency_world()
    contact = await load_actor(w.users["contact"].id)
    scan = await attachment_ops.store_upload(contact, "营业执照副本.pdf", "application/pdf", PDF)
    await gql.login("ent_user", PASSWORD)
    sent = {
        "enterpriseId": gid("Enterprise", w.base.ent_a1.id),
        "procedureId": gid("Procedure", w.food_licence.id),
        "description": "门店经营面积扩大。",
        "attachmentIds": [gid("Attachment", scan.id)],
        "clientMutationId": new_id(),
    }
    first = await send(gql, AGENCY, sent)
    assert first["errors"] == []
    await Procedure.filter(id=w.food_licence.id).update(is_active=False)
    again = await send(gql, AGENCY, sent)
    assert again["errors"] == [] and again["agencyRequest"] == first["agencyRequest"]
    # A new request for it is the user's to rethink: the desk no longer offers it.
    fresh = await send(gql, AGENCY, {**sent, "clientMutationId": new_id(), "attachmentIds": []})
    assert fresh["errors"] == [{"code": "PROCEDURE_UNAVAILABLE", "field": "procedureId"}]


async def test_times_written_without_an_offset_are_read_in_shanghai(gql):
    """An app that drops the offset from its times: read on the government's clock, not an
    internal error the queue would retry for ever."""
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    with in_town():
        done = await send(
            gql,
            LOG,
            log_input(
                w,
                checkIn={**at_gate(None), "deviceTime": "2026-11-26T10:20:00"},
                sentAt="2026-11-26T16:20:00",
            ),
        )
    assert done["errors"] == []
    assert t(done["visit"]["visitedAt"]) == shanghai(2026, 11, 26, 10)
    assert done["visit"]["deviceClockOffsetMinutes"] == 20


NOTES = """mutation($input: UpdateVisitNotesInput!) { updateVisitNotes(input: $input) {
  visit { notes version } errors { code field } } }"""


async def test_a_notes_edit_sent_again_is_the_one_already_made(gql):
    w = await build_visit_world()
    await gql.login("leader", PASSWORD)
    with in_town() as clock:
        logged = await send(gql, LOG, log_input(w))
        visit_id = logged["visit"]["id"]
        read = await gql("query($id: ID!) { visit(id: $id) { version } }", {"id": visit_id})
        edit = {"visitId": visit_id, "notes": "订单增长两成。", "version": read["visit"]["version"]}
        clock.moment = IN_TOWN + timedelta(hours=1)
        first = await send(gql, NOTES, edit)
        # The answer was lost: the same edit, with the version read before it, is no conflict.
        again = await send(gql, NOTES, edit)
        assert first["errors"] == again["errors"] == [] and again["visit"] == first["visit"]
        clock.moment = IN_TOWN + timedelta(hours=80)  # past the 72 hours: locked
        late = await send(gql, NOTES, edit)
        assert late["errors"] == [] and late["visit"] == first["visit"]
        other = await send(gql, NOTES, {**edit, "notes": "再改"})
        assert other["errors"] == [{"code": "VISIT_LOCKED", "field": "notes"}]


SUPPLY = """mutation($input: SupplyMaterialsInput!) { supplyMaterials(input: $input) {
  agencyRequest { id state version } errors { code field } } }"""


async def test_materials_supplied_offline_are_handed_over_once(gql, storage):
    from models.ops import agency as agency_ops

    w = await build_agency_world()
    contact = await load_actor(w.users["contact"].id)
    request = await agency_ops.submit_agency_request(
        contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
    )
    await agency_ops.accept_agency_request(w.agent, request.id)
    asked = await agency_ops.request_materials(
        w.agent,
        request.id,
        materials=[agency_ops.RequestedMaterial("经营场所平面布局图", "请标注面积")],
        note="请补正平面图",
    )
    plan = await attachment_ops.store_upload(contact, "平面图.pdf", "application/pdf", PDF)
    await gql.login("ent_user", PASSWORD)
    supply = {
        "agencyRequestId": gid("AgencyRequest", request.id),
        "attachmentIds": [gid("Attachment", plan.id)],
        "note": "已重新绘制",
        "version": asked.version,
        "clientMutationId": new_id(),
    }
    first = await send(gql, SUPPLY, supply)
    assert first["errors"] == [] and first["agencyRequest"]["state"] == "ACCEPTED"
    # The agent starts handling; then the phone, which never got the answer, sends it again.
    await agency_ops.start_handling(w.agent, request.id)
    again = await send(gql, SUPPLY, supply)
    assert again["errors"] == [] and again["agencyRequest"]["id"] == first["agencyRequest"]["id"]
    assert again["agencyRequest"]["state"] == "IN_HANDLING"
    assert await Attachment.filter(agency_request_id=request.id).count() == 1
    # Without its client id the same call is a new one, which the request has moved past.
    bare = await send(gql, SUPPLY, {k: v for k, v in supply.items() if k != "clientMutationId"})
    assert bare["agencyRequest"] is None and bare["errors"][0]["code"] == "CONFLICT"
