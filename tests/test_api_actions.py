"""Actions that say why not, over HTTP: `Demand.actions` and `AgencyRequest.actions` show each
action of the viewer's role as allowed or not, with the reason and the day or amount that
matters, and a mutation called anyway returns exactly that reason (code, field, message), in
Chinese and in English. The server's clock is set for the whole process (server_clock), so
every window is judged on a chosen day of the published 2025 and 2026 calendars."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.access import system_actor
from models.ops import agency as agency_ops
from models.ops import demands as ops
from models.ops.policy import set_region_policy
from models.rules.clock import shanghai
from schema.relay import to_global_id
from tests.agency_world import build_agency_world, server_clock
from tests.demand_world import DemandWorld, build_demand_world
from tests.factories import PASSWORD

STATE = "action allowed until dueOn remaining hint reason { code field message }"
DEMAND_ACTIONS = f"query($id: ID!) {{ demand(id: $id) {{ actions {{ {STATE} }} }} }}"
AGENCY_ACTIONS = f"query($id: ID!) {{ agencyRequest(id: $id) {{ actions {{ {STATE} }} }} }}"


def _mutation(name: str, input_type: str, payload: str) -> str:
    return f"""mutation($input: {input_type}!) {{ {name}(input: $input) {{
      {payload} {{ id }} errors {{ code field message }} }} }}"""


async def shown(gql: Any, username: str, query: str, gid: str) -> dict[str, dict]:
    """The viewer's actions on the demand or request, by action."""
    await gql.login(username, PASSWORD)
    data = await gql(query, {"id": gid})
    node = data.get("demand") or data.get("agencyRequest")
    return {a["action"]: a for a in node["actions"]}


async def refused_as_shown(
    gql: Any,
    username: str,
    gid: str,
    action: str,
    call: tuple[str, str, dict[str, Any]],
    *,
    agency: bool = False,
) -> dict[str, dict]:
    """The action as its greyed button shows it, and the mutation called anyway: the call's
    errors are exactly the shown reason. Both in Chinese and in English, by language."""
    name, input_type, variables = call
    query, payload, key = (
        (AGENCY_ACTIONS, "agencyRequest", "agencyRequestId")
        if agency
        else (DEMAND_ACTIONS, "demand", "demandId")
    )
    states = {}
    try:
        for language in ("zh", "en"):
            gql.language = None if language == "zh" else "en"
            state = (await shown(gql, username, query, gid))[action]
            assert state["allowed"] is False and state["hint"] is None, state
            answer = await gql(
                _mutation(name, input_type, payload), {"input": {key: gid, **variables}}
            )
            assert answer[name] == {payload: None, "errors": [state["reason"]]}
            states[language] = state
    finally:
        gql.language = None
    return states


def says(
    states: dict[str, dict], code: str, field: str | None, zh: str, en: str | None = None
) -> None:
    """The reason shown (and returned) in both languages: the same code and field, each
    language's message."""
    for language, text in (("zh", zh), ("en", en)):
        reason = states[language]["reason"]
        assert (reason["code"], reason["field"]) == (code, field), reason
        assert text is None or reason["message"] == text, reason


def _moments(state: dict) -> tuple[Any, ...]:
    return state["until"], state["dueOn"], state["remaining"]


async def _in_progress(w: DemandWorld) -> tuple[int, str]:
    """Dispatched (5 working days) and claimed on the clock's day: its id and global id."""
    d = await w.dispatched(limit_days=5)
    await ops.claim_demand(w.handler, d.id)
    return d.id, to_global_id("Demand", d.id)


HANDLER_ACTIONS = {
    "CLAIM",
    "RETURN",
    "REQUEST_EXTENSION",
    "SUSPEND",
    "RESUME",
    "REPLY",
    "APPEAL_RATING",
}
RETURN = ("returnDemand", "ReasonInput", {"reason": "不属于本部门职责"})
EXTEND = ("requestExtension", "RequestExtensionInput", {"days": 1, "reason": "需要补充测绘"})
APPEAL = ("appealRating", "ReasonInput", {"reason": "企业诉求超出政策范围"})
RATE_AGAIN = ("rateAgencyRequest", "RateAgencyRequestInput", {"rating": "SATISFIED"})
CANCEL = ("cancelAgencyRequest", "AgencyReasonInput", {})
RECTIFY_AGAIN = ("recordAgencyRectification", "AgencyNoteInput", {"note": "再次"})


async def test_the_return_window_and_the_deadline_say_when_they_closed(gql):
    w = await build_demand_world()
    with server_clock() as at:
        # Friday 2025-12-05: dispatched with 5 working days (due Friday 12-12) and claimed.
        at.moment = shanghai(2025, 12, 5, 10)
        _, gid = await _in_progress(w)

        # Monday: everything is open, and the buttons say until when.
        at.moment = shanghai(2025, 12, 8, 10)
        mine = await shown(gql, "handler", DEMAND_ACTIONS, gid)
        # The role's actions, not only the allowed ones: CLAIM is there, refused by the state.
        assert set(mine) == HANDLER_ACTIONS
        # The department's leader is a handler too, and signs replies off.
        lead = await shown(gql, "lead", DEMAND_ACTIONS, gid)
        assert set(lead) == HANDLER_ACTIONS | {"APPROVE_REPLY"}
        assert mine["CLAIM"]["reason"]["code"] == "INVALID_STATE"
        ret, ext, reply = mine["RETURN"], mine["REQUEST_EXTENSION"], mine["REPLY"]
        # Two working days after Friday's dispatch: Monday and Tuesday.
        assert ret["allowed"] and ret["reason"] is None
        assert _moments(ret) == ("2025-12-09", None, None)
        assert ret["hint"] == "退单截至 12月9日"
        assert ext["allowed"] and _moments(ext) == ("2025-12-12", None, 10)
        assert ext["hint"] == "还可延期 10 个工作日（截至 12月12日）"
        assert reply["allowed"] and _moments(reply) == (None, "2025-12-12", None)
        assert reply["hint"] == "答复期限 12月12日"
        gql.language = "en"
        english = await shown(gql, "handler", DEMAND_ACTIONS, gid)
        gql.language = None
        assert english["RETURN"]["hint"] == "Can be returned until Dec 9"
        assert english["REQUEST_EXTENSION"]["hint"] == (
            "10 more working days may be requested (until Dec 12)"
        )
        # The dispatcher's buttons on the same demand: the decisions, none pending.
        theirs = await shown(gql, "dispatcher", DEMAND_ACTIONS, gid)
        assert theirs["DECIDE_RETURN"]["reason"]["code"] == "NO_PENDING_REQUEST"
        assert "RETURN" not in theirs  # not the dispatcher's to take

        # Wednesday: the return window has closed; the call is refused exactly so.
        at.moment = shanghai(2025, 12, 10, 10)
        late = await refused_as_shown(gql, "handler", gid, "RETURN", RETURN)
        says(
            late,
            "RETURN_WINDOW_CLOSED",
            "dispatchedAt",
            "退单期限已过（截至 12月9日）",
            "The return window has closed (it ended on Dec 9)",
        )
        assert _moments(late["zh"]) == ("2025-12-09", None, None)

        # The Monday after the deadline: no extension can be asked for any more.
        at.moment = shanghai(2025, 12, 15, 10)
        past = await refused_as_shown(gql, "handler", gid, "REQUEST_EXTENSION", EXTEND)
        says(
            past,
            "EXTENSION_PAST_DEADLINE",
            "effectiveDeadline",
            "已超过办理期限（12月12日），不能申请延期",
            "Past the deadline (Dec 12): an extension can no longer be requested",
        )
        assert _moments(past["zh"]) == ("2025-12-12", None, 10)


async def test_a_pending_request_and_a_used_up_cap_each_have_their_code(gql):
    w = await build_demand_world()
    await set_region_policy(system_actor(), w.base.county.id, {"extension_cap_days": 5})
    with server_clock() as at:
        at.moment = shanghai(2025, 12, 5, 10)
        pk, gid = await _in_progress(w)
        await ops.request_extension(w.handler, pk, days=2, reason="需要补充测绘")
        await ops.decide_extension(w.dispatcher, pk, approve=True)  # due 12-16 now

        at.moment = shanghai(2025, 12, 8, 10)
        ext = (await shown(gql, "handler", DEMAND_ACTIONS, gid))["REQUEST_EXTENSION"]
        assert ext["allowed"] and _moments(ext) == ("2025-12-16", None, 3)
        assert ext["hint"] == "还可延期 3 个工作日（截至 12月16日）"

        # Three more days asked: while the dispatcher decides, neither a second extension nor
        # a return can be asked; both say so with the same code, on the same field.
        await ops.request_extension(w.handler, pk, days=3, reason="等待外部评估")
        for action, call in (("REQUEST_EXTENSION", EXTEND), ("RETURN", RETURN)):
            pending = await refused_as_shown(gql, "handler", gid, action, call)
            says(
                pending,
                "PENDING_REQUEST",
                "pendingRequest",
                "该诉求有待审批的申请，请等待审批结果",
                "A request on this demand is waiting for a decision",
            )
        decide = (await shown(gql, "dispatcher", DEMAND_ACTIONS, gid))["DECIDE_EXTENSION"]
        assert decide["allowed"] and decide["reason"] is None

        # Approved: the cap of 5 is used up, whatever the deadline (12-19 now).
        await ops.decide_extension(w.dispatcher, pk, approve=True)
        used = await refused_as_shown(gql, "handler", gid, "REQUEST_EXTENSION", EXTEND)
        says(
            used,
            "EXTENSION_CAP_USED_UP",
            "extensionDays",
            "延期额度已用完（累计上限 5 个工作日）",
            "The extension cap of 5 working days is used up",
        )
        assert _moments(used["zh"]) == ("2025-12-19", None, 0)


async def test_an_appeal_says_whether_the_rating_or_an_earlier_appeal_stops_it(gql):
    w = await build_demand_world()
    with server_clock() as at:
        at.moment = shanghai(2025, 12, 5, 10)
        pk, gid = await _in_progress(w)
        unrated = await refused_as_shown(gql, "handler", gid, "APPEAL_RATING", APPEAL)
        says(
            unrated,
            "NO_BAD_RATING",
            "rating",
            "只有差评可以申诉",
            "Only a bad rating can be appealed",
        )

        await ops.reply_demand(w.handler, pk, outcome="RESOLVED", text_="已协调。")
        await ops.approve_reply(w.lead, pk, approve=True)
        await ops.review_reply(w.dispatcher, pk, passed=True)
        at.moment = shanghai(2025, 12, 8, 10)  # rated badly: a rectification due in 5 days
        await ops.rate_demand(w.contact, pk, rating="DISSATISFIED", comment="没解决")
        mine = await shown(gql, "handler", DEMAND_ACTIONS, gid)
        assert mine["APPEAL_RATING"]["allowed"] is True
        assert _moments(mine["REPLY"]) == (None, "2025-12-15", None)  # the rectification's
        await ops.appeal_rating(w.handler, pk, reason="超出政策范围")
        again = await refused_as_shown(gql, "handler", gid, "APPEAL_RATING", APPEAL)
        says(
            again,
            "ALREADY_APPEALED",
            "appeal",
            "该评价已申诉过，每个评价只能申诉一次",
            "This rating has already been appealed; a rating can be appealed once",
        )


async def test_an_agency_request_shows_its_due_days_and_refuses_as_it_shows(gql):
    w = await build_agency_world()
    with server_clock() as at:
        at.moment = shanghai(2026, 11, 2, 9)  # Monday
        r = await agency_ops.submit_agency_request(
            w.contact, enterprise_id=w.base.ent_a1.id, procedure_id=w.food_licence.id
        )
        gid = to_global_id("AgencyRequest", r.id)
        # 容缺受理 on Tuesday, the safety rules promised by Friday; due 11-10.
        at.moment = shanghai(2026, 11, 3, 10)
        missing = [agency_ops.MissingMaterial("食品安全管理制度", date(2026, 11, 6))]
        await agency_ops.accept_agency_request(w.agent, r.id, missing_materials=missing)
        theirs = await shown(gql, "ent_user", AGENCY_ACTIONS, gid)
        assert set(theirs) == {"SUPPLY_MATERIALS", "CANCEL", "RATE"}
        assert _moments(theirs["SUPPLY_MATERIALS"]) == (None, "2026-11-06", None)
        assert theirs["SUPPLY_MATERIALS"]["hint"] == "承诺补交日期 11月6日"
        assert theirs["RATE"]["reason"] == {
            "code": "INVALID_STATE",
            "field": None,
            "message": "帮办代办申请当前为「已受理」状态，不能执行「评价」",
        }
        ours = await shown(gql, "agent_zhao", AGENCY_ACTIONS, gid)
        complete = ours["COMPLETE"]
        assert complete["allowed"] and _moments(complete) == (None, "2026-11-10", None)
        assert complete["hint"] == "承诺办结期限 11月10日"
        assert ours["RECORD_RECTIFICATION"]["reason"]["code"] == "INVALID_STATE"
        assert ours["RECORD_RECTIFICATION"]["dueOn"] is None  # none while its state is wrong

        await agency_ops.complete_agency_request(w.agent, r.id, result_text="已办结")
        at.moment = shanghai(2026, 11, 20, 10)  # rated badly: rectification due 11-27
        await agency_ops.rate_agency_request(w.contact, r.id, rating="DISSATISFIED")
        rated = await refused_as_shown(gql, "ent_user", gid, "RATE", RATE_AGAIN, agency=True)
        says(
            rated,
            "ALREADY_RATED",
            None,
            "已评价过，不能重复评价",
            "This request has already been rated",
        )
        cancel = await refused_as_shown(gql, "ent_user", gid, "CANCEL", CANCEL, agency=True)
        says(
            cancel,
            "INVALID_STATE",
            None,
            "帮办代办申请当前为「已办结」状态，不能执行「撤销」",
            "The agency request is completed; cancel is not possible now",
        )
        fix = (await shown(gql, "agent_zhao", AGENCY_ACTIONS, gid))["RECORD_RECTIFICATION"]
        assert fix["allowed"] and _moments(fix) == (None, "2026-11-27", None)
        assert fix["hint"] == "整改期限 11月27日"

        await agency_ops.record_agency_rectification(w.agent, r.id, note="已改进一次性告知")
        done = await refused_as_shown(
            gql, "agent_zhao", gid, "RECORD_RECTIFICATION", RECTIFY_AGAIN, agency=True
        )
        says(
            done,
            "NO_OPEN_RECTIFICATION",
            None,
            "没有待完成的整改",
            "There is no open rectification",
        )
        assert _moments(done["zh"]) == (None, "2026-11-27", None)
