"""Work-order numbers (工单号) over HTTP, as the apps and the supervisor meet them: given on
submission (a draft's when it is submitted), per China-local day and kind, from the region's
prefix; unique and without gaps when many submit at once, in one server process and in two;
found by the lists' search, exact match first; in the exports and the notification texts; and
given in bulk, in submission order, to rows written without one (migration 0018, the scale
demo)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import httpx
import pytest

from models.db.row_query import connection
from models.ops import agency as agency_ops
from models.ops import demands as ops
from models.ops.attachments import store_upload
from models.ops.work_orders import number_unnumbered
from models.rules.clock import acting_at, shanghai, today
from models.rules.work_orders import WorkOrderKind
from models.rules.workdays import local_date
from models.tables.agency import AgencyRequest
from models.tables.demands import Demand
from models.tables.work_orders import WorkOrderCounter
from schema.relay import to_global_id
from tests.agency_world import PDF, AgencyWorld, build_agency_world, server_clock
from tests.conftest import IS_POSTGRES
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import PASSWORD
from tests.processes import base_env, ready, spawn_server
from tests.test_api_live_inbox import token_of
from tests.test_exports import get, read_csv, read_xlsx, token

SUBMIT = """mutation($input: SubmitDemandInput!) { submitDemand(input: $input) {
  demand { id number state } errors { code field message } } }"""
SUBMIT_DRAFT = """mutation($input: TransitionInput!) { submitDraftDemand(input: $input) {
  demand { id number state } errors { code field message } } }"""
SUBMIT_AGENCY = """mutation($input: SubmitAgencyRequestInput!) { submitAgencyRequest(
  input: $input) { agencyRequest { id number } errors { code field message } } }"""
SET_PREFIX = """mutation($input: SetRegionPolicyInput!) { setRegionPolicy(input: $input) {
  policy { workOrderPrefix } errors { code field message } } }"""
DEMANDS = """query($f: DemandFilter, $first: Int, $after: String, $order: DemandOrder) {
  demands(filter: $f, first: $first, after: $after, orderBy: $order) { totalCount
    pageInfo { hasNextPage endCursor } edges { node { number title } } } }"""
BACKWARD = """query($f: DemandFilter, $last: Int, $before: String) {
  demands(filter: $f, last: $last, before: $before) {
    pageInfo { hasPreviousPage } edges { node { number } } } }"""
AGENCY_REQUESTS = """query($f: AgencyRequestFilter, $first: Int, $after: String) {
  agencyRequests(filter: $f, first: $first, after: $after) { totalCount
    pageInfo { hasNextPage endCursor } edges { node { number description } } } }"""
DISPATCH = """mutation($input: DispatchDemandInput!) { dispatchDemand(input: $input) {
  demand { number } errors { code } } }"""


def demand_input(enterprise_id: int, title: str, **more: Any) -> dict:
    return {
        "input": {
            "enterpriseId": to_global_id("Enterprise", enterprise_id),
            "title": title,
            "description": f"{title}，请协调。",
            **more,
        }
    }


def agency_input(w: AgencyWorld, description: str = "") -> dict:
    return {
        "input": {
            "enterpriseId": to_global_id("Enterprise", w.base.ent_a1.id),
            "procedureId": to_global_id("Procedure", w.food_licence.id),
            "description": description,
        }
    }


def done(payload: dict, key: str) -> dict:
    assert payload["errors"] == [], payload["errors"]
    return dict(payload[key])


async def submit(gql: Any, w: DemandWorld | AgencyWorld, title: str, **more: Any) -> dict:
    data = await gql(SUBMIT, demand_input(w.base.ent_a1.id, title, **more))
    return done(data["submitDemand"], "demand")


def full_width(text: str) -> str:
    """As a Chinese input method in full-width mode types it (ＱＨ２０２６…)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isalnum() else c for c in text)


def nodes(data: dict, name: str) -> list[dict]:
    return [e["node"] for e in data[name]["edges"]]


def assert_numbered_in_order(rows: Iterable[tuple[Any, Any]], prefix: str, mark: str = "") -> None:
    """`rows` (submitted_at, number): each submitted one numbered with `prefix`, its China-local
    day and `mark`, each day's 1, 2, … in submission order; no number before submission."""
    by_day: dict[date, list[tuple[datetime, str]]] = {}
    for at, number in rows:
        if at is None:
            assert number is None
        else:
            by_day.setdefault(local_date(at), []).append((at, number))
    for day, numbered in by_day.items():
        numbered.sort()
        expected = [f"{prefix}{day:%Y%m%d}{mark}{n:05d}" for n in range(1, len(numbered) + 1)]
        assert [number for _, number in numbered] == expected, day


def sequences(numbers: list[str]) -> dict[str, list[int]]:
    """Each number's day and kind (all but the last five digits) → its sequences, sorted."""
    out: dict[str, list[int]] = {}
    for n in numbers:
        out.setdefault(n[:-5], []).append(int(n[-5:]))
    return {stem: sorted(seqs) for stem, seqs in out.items()}


async def test_a_demand_is_numbered_on_submission_and_a_draft_when_it_is_submitted(gql):
    w = await build_demand_world()
    await gql.login("ent_user", PASSWORD)
    with server_clock() as at:
        at.moment = shanghai(2026, 12, 7, 9)
        first = await submit(gql, w, "申请稳岗返还政策兑现")
        draft = await submit(gql, w, "厂区门口道路破损", draft=True)
        at.moment = shanghai(2026, 12, 7, 10)
        second = await submit(gql, w, "扩建用地审批两个月未办结")
        at.moment = shanghai(2026, 12, 7, 23, 59)
        sent = await gql(SUBMIT_DRAFT, {"input": {"demandId": draft["id"]}})
        sent = done(sent["submitDraftDemand"], "demand")
        # 00:30 on the 8th in Asia/Shanghai is still the 7th in UTC: the 8th's first number.
        at.moment = shanghai(2026, 12, 8, 0, 30)
        next_day = await submit(gql, w, "高新技术企业认定咨询")
    assert draft["state"] == "DRAFT" and draft["number"] is None
    assert sent["state"] == "SUBMITTED"
    assert [first["number"], second["number"], sent["number"], next_day["number"]] == [
        "GD2026120700001",
        "GD2026120700002",
        "GD2026120700003",  # on its submission, after the demand submitted since its draft
        "GD2026120800001",
    ]
    shown = await gql("query($id: ID!) { demand(id: $id) { number } }", {"id": sent["id"]})
    assert shown["demand"]["number"] == sent["number"]
    listed = await gql(DEMANDS, {"order": "OLDEST"})
    assert [n["number"] for n in nodes(listed, "demands")] == [
        first["number"],
        sent["number"],
        second["number"],
        next_day["number"],
    ]

    # The county sets its prefix: new numbers start its own sequence, given ones stay.
    county = to_global_id("Region", w.base.county.id)
    await gql.login("county_admin", PASSWORD)
    for wrong in ("Q1", "清河", "ABCDEFG", ""):
        refused = await gql(SET_PREFIX, {"input": {"regionId": county, "workOrderPrefix": wrong}})
        errors = refused["setRegionPolicy"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == [
            ("INVALID_POLICY_VALUE", "workOrderPrefix")
        ], wrong
        assert errors[0]["message"] == "政策参数取值无效：工单号前缀"
    set_ = await gql(SET_PREFIX, {"input": {"regionId": county, "workOrderPrefix": " qh "}})
    assert done(set_["setRegionPolicy"], "policy") == {"workOrderPrefix": "QH"}
    await gql.login("ent_user", PASSWORD)
    with server_clock() as at:
        at.moment = shanghai(2026, 12, 8, 9)
        prefixed = await submit(gql, w, "用电增容申请")
    assert prefixed["number"] == "QH2026120800001"
    shown = await gql("query($id: ID!) { demand(id: $id) { number } }", {"id": first["id"]})
    assert shown["demand"]["number"] == "GD2026120700001"


async def test_agency_requests_have_their_own_mark_and_sequence(gql):
    w = await build_agency_world()
    await gql.login("ent_user", PASSWORD)
    with server_clock() as at:
        at.moment = shanghai(2026, 12, 7, 9)
        made = [
            done(
                (await gql(SUBMIT_AGENCY, agency_input(w)))["submitAgencyRequest"], "agencyRequest"
            )
            for _ in range(2)
        ]
        demand = await submit(gql, w, "申请稳岗返还政策兑现")
    assert [r["number"] for r in made] == ["GD20261207B00001", "GD20261207B00002"]
    assert demand["number"] == "GD2026120700001"  # not the agency requests' sequence
    shown = await gql(
        "query($id: ID!) { agencyRequest(id: $id) { number } }", {"id": made[0]["id"]}
    )
    assert shown["agencyRequest"]["number"] == "GD20261207B00001"
    # The desk's agents were told, with the number to quote.
    await gql.login("agent_li", PASSWORD)
    inbox = await gql("{ notifications { edges { node { body } } } }")
    assert nodes(inbox, "notifications")[0]["body"] == (
        "食品经营许可证变更（工单号 GD20261207B00002）：收到新的帮办代办申请"
    )


async def test_a_refused_submission_takes_no_number(gql, storage):
    w = await build_demand_world()
    theirs = await store_upload(w.dispatcher, "会议纪要.pdf", "application/pdf", PDF)
    await gql.login("ent_user", PASSWORD)
    with server_clock() as at:
        at.moment = shanghai(2026, 12, 7, 9)
        # Refused after its number was drawn: another user's file, in the same transaction.
        refused = await gql(
            SUBMIT,
            demand_input(
                w.base.ent_a1.id,
                "申请稳岗返还政策兑现",
                attachmentIds=[to_global_id("Attachment", theirs.id)],
            ),
        )
        assert refused["submitDemand"]["demand"] is None and refused["submitDemand"]["errors"]
        accepted = await submit(gql, w, "申请稳岗返还政策兑现")
    assert accepted["number"] == "GD2026120700001"
    assert await Demand.all().count() == 1


async def test_many_submitting_at_once_get_unique_numbers_without_gaps(gql, storage):
    """Demands written in one statement (PostgreSQL) and in a transaction (with files, and on
    SQLite), drafts submitted and agency requests, all at the same moment over HTTP."""
    w = await build_agency_world()
    await gql.login("ent_user", PASSWORD)
    drafts = [(await submit(gql, w, f"草稿 {i}", draft=True))["id"] for i in range(5)]
    files = [
        to_global_id("Attachment", (await store_upload(w.contact, f"{i}.pdf", None, PDF)).id)
        for i in range(5)
    ]
    calls = [gql(SUBMIT, demand_input(w.base.ent_a1.id, f"诉求 {i}")) for i in range(10)]
    calls += [
        gql(SUBMIT, demand_input(w.base.ent_a1.id, f"带附件的诉求 {i}", attachmentIds=[f]))
        for i, f in enumerate(files)
    ]
    calls += [gql(SUBMIT_DRAFT, {"input": {"demandId": d}}) for d in drafts]
    calls += [gql(SUBMIT_AGENCY, agency_input(w, f"第 {i} 件")) for i in range(6)]
    with server_clock() as at:
        at.moment = shanghai(2026, 12, 7, 10)
        answers = await asyncio.gather(*calls)
    numbers = []
    for answer in answers:
        ((name, payload),) = answer.items()
        key = "agencyRequest" if name == "submitAgencyRequest" else "demand"
        numbers.append(done(payload, key)["number"])
    assert len(set(numbers)) == len(numbers) == 26
    assert sequences(numbers) == {
        "GD20261207": list(range(1, 21)),
        "GD20261207B": list(range(1, 7)),
    }
    stored = await Demand.exclude(number=None).values_list("number", flat=True)
    assert sorted(stored) == sorted(n for n in numbers if "B" not in n)


@pytest.mark.skipif(not IS_POSTGRES, reason="several server processes share PostgreSQL")
async def test_two_server_processes_submitting_at_once_never_share_a_number(db, tmp_path):
    w = await build_demand_world()
    env = base_env(tmp_path, CACHE_SECONDS="3600")
    servers = [
        spawn_server(tmp_path / "a", env, "serve-a", "--no-dispatcher"),
        spawn_server(tmp_path / "b", env, "serve-b", "--no-dispatcher"),
    ]
    try:
        await asyncio.gather(*(ready(s) for s in servers))
        tokens = {s.url: await token_of(s.url, "ent_user") for s in servers}

        async def submit_on(url: str, n: int) -> str:
            async with httpx.AsyncClient(base_url=url, timeout=60) as http:
                resp = await http.post(
                    "/graphql",
                    json={
                        "query": SUBMIT,
                        "variables": demand_input(w.base.ent_a1.id, f"诉求 {n}"),
                    },
                    headers={"Authorization": f"Bearer {tokens[url]}"},
                )
            body = resp.json()
            assert resp.status_code == 200 and "errors" not in body, body
            return str(done(body["data"]["submitDemand"], "demand")["number"])

        numbers = await asyncio.gather(*(submit_on(servers[n % 2].url, n) for n in range(24)))
    finally:
        for s in servers:
            s.stop()
    assert len(set(numbers)) == 24
    # The servers' own clocks: numbers per China-local day, each day's from 1 without a gap.
    for stem, seqs in sequences(numbers).items():
        assert stem.startswith("GD") and seqs == list(range(1, len(seqs) + 1)), stem


async def test_a_search_by_number_finds_that_demand_first_then_the_text_matches(gql):
    w = await build_demand_world()
    with acting_at(shanghai(2026, 12, 7, 9)):
        target = await w.submit(title="厂区门口道路破损")
        other = await w.submit(title="申请稳岗返还政策兑现")
    number = str(target.number)
    with acting_at(shanghai(2026, 12, 7, 10)):
        # Newer, and due sooner: before the target in every order but the search's.
        mention = await w.submit(title=f"关于工单{number}的补充说明")
        for d, days in ((target, 10), (mention, 2)):
            await ops.dispatch_demand(
                w.dispatcher, d.id, department_id=w.bureau.id, limit_days=days
            )
    expected = [number, mention.number]
    await gql.login("dispatcher", PASSWORD)
    for typed in (number, number.lower(), f" {number[:2]} {number[2:10]} {number[10:]} "):
        for order in ("NEWEST", "OLDEST", "DEADLINE_SOON"):
            found = await gql(DEMANDS, {"f": {"search": typed}, "order": order})
            assert [n["number"] for n in nodes(found, "demands")] == expected, (typed, order)
            assert found["demands"]["totalCount"] == 2
    found = await gql(DEMANDS, {"f": {"search": full_width(number)}})
    assert [n["number"] for n in nodes(found, "demands")] == expected
    # One at a time: the match, then the rest, nothing twice.
    page = await gql(DEMANDS, {"f": {"search": number}, "first": 1})
    assert [n["number"] for n in nodes(page, "demands")] == [number]
    assert page["demands"]["pageInfo"]["hasNextPage"] is True
    after = page["demands"]["pageInfo"]["endCursor"]
    page = await gql(DEMANDS, {"f": {"search": number}, "first": 1, "after": after})
    assert [n["number"] for n in nodes(page, "demands")] == [mention.number]
    assert page["demands"]["pageInfo"]["hasNextPage"] is False
    # And back up from there (last/before): the match above it, then nothing more above.
    below = page["demands"]["pageInfo"]["endCursor"]
    up = await gql(BACKWARD, {"f": {"search": number}, "last": 1, "before": below})
    assert [n["number"] for n in nodes(up, "demands")] == [number]
    assert up["demands"]["pageInfo"]["hasPreviousPage"] is False
    up = await gql(BACKWARD, {"f": {"search": number}, "last": 2})
    assert [n["number"] for n in nodes(up, "demands")] == expected
    # The handler's list of their department's demands (two branches, merged) alike.
    await gql.login("handler", PASSWORD)
    mine = {"assignedToMe": True, "search": number}
    for order in ("NEWEST", "DEADLINE_SOON"):
        found = await gql(DEMANDS, {"f": mine, "order": order})
        assert [n["number"] for n in nodes(found, "demands")] == expected, order
    # Text is searched as before; a part of a number is not a number.
    await gql.login("dispatcher", PASSWORD)
    found = await gql(DEMANDS, {"f": {"search": "稳岗"}})
    assert [n["number"] for n in nodes(found, "demands")] == [other.number]
    found = await gql(DEMANDS, {"f": {"search": number[-5:]}})  # only the title naming it
    assert [n["number"] for n in nodes(found, "demands")] == [mention.number]
    # A contact of another enterprise finds nothing.
    await gql.login("outsider", PASSWORD)
    assert nodes(await gql(DEMANDS, {"f": {"search": number}}), "demands") == []


async def test_a_search_by_number_finds_that_agency_request_first(gql):
    w = await build_agency_world()
    first = await agency_ops.submit_agency_request(
        w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
    )
    number = str(first.number)
    follow_up = await agency_ops.submit_agency_request(
        w.contact,
        enterprise_id=w.base.ent_a1.id,
        procedure_id=w.food_licence.id,
        description=f"补交材料，见工单 {number}",
    )
    await gql.login("agent_li", PASSWORD)
    for typed in (number, number.lower(), full_width(number)):
        found = await gql(AGENCY_REQUESTS, {"f": {"search": typed}})
        assert [n["number"] for n in nodes(found, "agencyRequests")] == [
            number,
            follow_up.number,
        ]
        assert found["agencyRequests"]["totalCount"] == 2
    page = await gql(AGENCY_REQUESTS, {"f": {"search": number}, "first": 1})
    assert [n["number"] for n in nodes(page, "agencyRequests")] == [number]
    after = page["agencyRequests"]["pageInfo"]["endCursor"]
    page = await gql(AGENCY_REQUESTS, {"f": {"search": number}, "first": 1, "after": after})
    assert [n["number"] for n in nodes(page, "agencyRequests")] == [follow_up.number]
    assert page["agencyRequests"]["pageInfo"]["hasNextPage"] is False
    # Names and descriptions are searched too; a number searched by another desk finds nothing.
    found = await gql(AGENCY_REQUESTS, {"f": {"search": "许可证"}})
    assert found["agencyRequests"]["totalCount"] == 2
    found = await gql(AGENCY_REQUESTS, {"f": {"search": "补交"}})
    assert [n["number"] for n in nodes(found, "agencyRequests")] == [follow_up.number]
    await gql.login("agent_xishan", PASSWORD)
    found = await gql(AGENCY_REQUESTS, {"f": {"search": number}})
    assert found["agencyRequests"]["totalCount"] == 0


async def test_the_number_is_in_the_exports_and_the_notification_texts(gql, http):
    w = await build_demand_world()
    d = await w.submit(title="厂区门口道路破损")
    await gql.login("dispatcher", PASSWORD)
    variables = {
        "demandId": to_global_id("Demand", d.id),
        "departmentId": to_global_id("Department", w.bureau.id),
        "limitDays": 5,
    }
    dispatched = await gql(DISPATCH, {"input": variables})
    assert dispatched["dispatchDemand"] == {"demand": {"number": d.number}, "errors": []}
    await gql.login("handler", PASSWORD)
    inbox = "{ notifications { edges { node { body } } } }"
    (told,) = nodes(await gql(inbox), "notifications")
    assert told["body"].startswith(
        f"新诉求待签收：厂区门口道路破损（工单号 {d.number}），办理期限 "
    )
    gql.language = "en"
    (told,) = nodes(await gql(inbox), "notifications")
    assert told["body"].startswith(f"New demand to claim: 厂区门口道路破损 (no. {d.number}), due ")
    gql.language = None

    tok = await token(gql, "supervisor")
    period = {"from": today().isoformat(), "to": today().isoformat()}
    for name in ("demands", "problem-list", "responsibility-list"):
        rows = read_csv(await get(http, f"/exports/{name}.csv", tok, period))
        assert [r[0] for r in rows] == ["工单号", d.number], name
    sheet = read_xlsx(await get(http, "/exports/demands.xlsx", tok, period, lang="en"))
    assert [r[0] for r in sheet] == ["Work-order no.", d.number]


async def test_a_day_s_export_holds_what_was_submitted_before_eight_in_the_morning(gql, http):
    """A Shanghai day begins at 16:00 UTC the day before: a demand sent at 00:30 belongs to its
    day's export and not to the day before's (on SQLite the stored UTC text was compared with
    the day's start written in +08:00, and the first eight hours went to the wrong day)."""
    w = await build_demand_world()
    with acting_at(shanghai(2026, 12, 8, 0, 30)):
        early = await w.submit(title="凌晨提交")
    with acting_at(shanghai(2026, 12, 7, 23, 50)):
        late = await w.submit(title="深夜提交")
    assert (early.number or "")[2:10] == "20261208" and (late.number or "")[2:10] == "20261207"
    tok = await token(gql, "supervisor")
    for day, number in (("2026-12-08", early.number), ("2026-12-07", late.number)):
        rows = read_csv(await get(http, "/exports/demands.csv", tok, {"from": day, "to": day}))
        assert [r[0] for r in rows] == ["工单号", number], day


async def test_rows_without_a_number_are_numbered_in_bulk_in_submission_order(db):
    """What migration 0018 does for the rows submitted before it, and the scale demo for the
    rows it writes directly: each China-local day's in submission order, after the numbers the
    day's counter gave already."""
    w = await build_demand_world()
    with acting_at(shanghai(2026, 12, 7, 15)):
        afternoon = await w.submit(title="下午提交")
    with acting_at(shanghai(2026, 12, 7, 9)):
        morning = await w.submit(title="上午提交")
    with acting_at(shanghai(2026, 12, 8, 0, 30)):
        past_midnight = await w.submit(title="次日凌晨提交")
    draft = await w.submit(title="草稿", draft=True)
    # As before the migration: no numbers, no counters.
    await Demand.all().update(number=None)
    await WorkOrderCounter.all().delete()
    await number_unnumbered(connection(), WorkOrderKind.DEMAND)

    async def number_of(d: Demand) -> str | None:
        return (await Demand.get(id=d.id)).number

    assert [await number_of(d) for d in (morning, afternoon, past_midnight, draft)] == [
        "GD2026120700001",
        "GD2026120700002",
        "GD2026120800001",
        None,
    ]
    # Submissions continue each day's sequence.
    with acting_at(shanghai(2026, 12, 7, 18)):
        evening = await w.submit(title="傍晚提交")
    assert evening.number == "GD2026120700003"
    # Rows written directly later (the scale demo, its regions' prefixes given) come after.
    with acting_at(shanghai(2026, 12, 7, 12)):
        noon = await w.submit(title="中午提交")
    with acting_at(shanghai(2026, 12, 7, 8)):
        early = await w.submit(title="清晨提交")
    await Demand.filter(id__in=[noon.id, early.id]).update(number=None)
    await WorkOrderCounter.filter(prefix="GD").update(last_seq=3)
    await number_unnumbered(connection(), WorkOrderKind.DEMAND, {w.base.county.id: "XS"})
    assert [await number_of(d) for d in (early, noon)] == ["GD2026120700004", "GD2026120700005"]
    await Demand.filter(id=noon.id).update(number=None, region_id=w.base.county.id)
    await number_unnumbered(connection(), WorkOrderKind.DEMAND, {w.base.county.id: "XS"})
    assert await number_of(noon) == "XS2026120700001"


async def test_agency_requests_without_a_number_are_numbered_in_bulk(db):
    w = await build_agency_world()
    made = []
    for hour in (15, 9):
        with acting_at(shanghai(2026, 12, 7, hour)):
            made.append(
                await agency_ops.submit_agency_request(
                    w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
                )
            )
    await AgencyRequest.all().update(number=None)
    await WorkOrderCounter.all().delete()
    await number_unnumbered(connection(), WorkOrderKind.AGENCY)
    afternoon, morning = [(await AgencyRequest.get(id=r.id)).number for r in made]
    assert (morning, afternoon) == ("GD20261207B00001", "GD20261207B00002")
