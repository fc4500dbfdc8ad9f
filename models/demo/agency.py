"""Demo agency requests (帮办代办) and appointments at the demo service points, replayed through
the real operations from September to November 2026 so every state has something to show.

The demo enterprise account (`enterprise`, 张伟) asks the development zone's desk (agents `agent`
and `agent2`) and 城关镇's centre (`agent_cg`) to handle procedures for it:
- completed and rated, including the food-licence change of issue 6's story: accepted with the
  food-safety rules still owed (容缺受理), paused three working days for a corrected floor plan
  (补正), completed with the licence number;
- two bad ratings, one rectified and one still open; one completed late;
- in handling (one overdue since 2026-11-09), accepted with a material still owed, waiting for
  materials, newly submitted, rejected and cancelled;
- two appointments booked for the week after, one of them cancelled.

Idempotent: each request is submitted with the client id "demo-agency-<n>"; a request whose
receipt exists is left alone with none of its steps replayed, and so are the appointments
("demo-appointment-<n>"). Nothing is done unless the four accounts are demo accounts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from models.access import load_actor
from models.errors import DomainError
from models.ops import agency as ops
from models.ops.appointments import AppointmentData, book_appointment, cancel_appointment
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.tables.demands import MutationReceipt
from models.tables.service_points import Procedure

ACTORS: tuple[str, ...] = ("enterprise", "agent", "agent2", "agent_cg")
REQUEST_PREFIX = "demo-agency-"
APPOINTMENT_PREFIX = "demo-appointment-"

FOOD = "食品经营许可证变更"
LICENCE = "营业执照变更登记"
PLANNING = "建设工程规划许可证核发"
DISCHARGE = "排污许可证申领"
INSURANCE = "企业职工参保登记"
SOLE_TRADER = "个体工商户设立登记"


@dataclass(frozen=True, slots=True)
class Step:
    at: tuple[int, int, int, int]  # month, day, hour, minute in 2026, Asia/Shanghai
    actor: str
    op: str  # a function of models.ops.agency
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgencyPlan:
    n: int
    point: str  # models.demo.service_points key
    procedure: str
    description: str
    submitted: tuple[int, int, int, int]
    steps: tuple[Step, ...] = ()


def _missing(name: str, by: date) -> list[ops.MissingMaterial]:
    return [ops.MissingMaterial(name=name, promised_by=by)]


def _asked(name: str, note: str) -> list[ops.RequestedMaterial]:
    return [ops.RequestedMaterial(name=name, note=note)]


# fmt: off
PLANS: tuple[AgencyPlan, ...] = (
    AgencyPlan(1, "zone_desk", LICENCE, "公司名称变更，需同步变更营业执照。", (9, 7, 9, 30), (
        Step((9, 7, 10, 0), "agent", "accept_agency_request"),
        Step((9, 8, 9, 0), "agent", "start_handling", {"note": "已将材料递交县市场监督管理局窗口"}),
        Step((9, 9, 15, 0), "agent", "complete_agency_request", {
            "result_text": "已换发新营业执照，原件已交企业。",
            "certificate_number": "91330127MA2H8K3L0X"}),
        Step((9, 10, 10, 0), "enterprise", "rate_agency_request", {"rating": "SATISFIED"}),
    )),
    AgencyPlan(2, "zone_desk", FOOD, "门店扩建后经营场所布局调整，申请变更食品经营许可证。",
               (11, 2, 9, 10), (
        Step((11, 2, 10, 0), "agent", "accept_agency_request", {
            "missing_materials": _missing("食品安全管理制度文本", date(2026, 11, 6)),
            "note": "容缺受理：食品安全管理制度文本请于本周五前补交"}),
        Step((11, 5, 11, 0), "enterprise", "supply_materials", {
            "materials": ["食品安全管理制度文本"], "note": "制度文本已盖章"}),
        Step((11, 5, 15, 0), "agent", "request_materials", {
            "materials": _asked("变更后的经营场所平面图", "比例尺不清晰，未标明功能区"),
            "note": "请重新提供经营场所平面图"}),
        Step((11, 10, 9, 0), "enterprise", "supply_materials", {"note": "已上传修改后的平面图"}),
        Step((11, 10, 10, 0), "agent", "start_handling", {"note": "已携材料到县市场监督管理局办理"}),
        Step((11, 12, 16, 0), "agent", "complete_agency_request", {
            "result_text": "食品经营许可证变更完成，新证已领取。",
            "certificate_number": "JY13301270012345"}),
        Step((11, 13, 9, 30), "enterprise", "rate_agency_request", {
            "rating": "VERY_SATISFIED", "comment": "全程代跑，很省心"}),
    )),
    AgencyPlan(3, "town_centre", INSURANCE, "新招 12 名员工，办理参保登记。", (10, 12, 9, 0), (
        Step((10, 12, 9, 40), "agent_cg", "accept_agency_request"),
        Step((10, 13, 10, 0), "agent_cg", "start_handling"),
        Step((10, 16, 16, 30), "agent_cg", "complete_agency_request", {
            "result_text": "12 名员工参保登记已完成。"}),
        Step((10, 19, 9, 0), "enterprise", "rate_agency_request", {
            "rating": "DISSATISFIED", "comment": "超过承诺时限，且未主动告知进度"}),
        Step((10, 22, 15, 0), "agent_cg", "record_agency_rectification", {
            "note": "已上门致歉，建立办理进度每日告知机制"}),
    )),
    AgencyPlan(4, "town_centre", SOLE_TRADER, "为下属门店负责人代办个体工商户登记。",
               (11, 16, 9, 0), (
        Step((11, 16, 9, 30), "agent_cg", "accept_agency_request"),
        Step((11, 17, 16, 0), "agent_cg", "complete_agency_request", {
            "result_text": "个体工商户营业执照已核发。", "certificate_number": "92330127MA2J5R7T1Y"}),
        Step((11, 19, 10, 0), "enterprise", "rate_agency_request", {
            "rating": "DISSATISFIED", "comment": "领证需要本人再跑一次窗口"}),
    )),
    AgencyPlan(5, "zone_desk", PLANNING, "二期厂房建设工程规划许可。", (11, 9, 14, 0), (
        Step((11, 10, 9, 0), "agent", "accept_agency_request", {
            "missing_materials": _missing("建设项目批准文件", date(2026, 11, 27))}),
        Step((11, 10, 9, 5), "agent", "assign_agent", {"agent": "agent2", "note": "孙浩跟进规划审批"}),
        Step((11, 16, 10, 0), "agent2", "start_handling", {"note": "方案已报县自然资源和规划局"}),
    )),
    AgencyPlan(6, "zone_desk", DISCHARGE, "新增喷涂生产线，申领排污许可证。", (10, 19, 9, 0), (
        Step((10, 19, 11, 0), "agent2", "accept_agency_request"),
        Step((10, 21, 9, 0), "agent2", "start_handling", {"note": "已报县生态环境局技术审查"}),
    )),
    AgencyPlan(7, "zone_desk", LICENCE, "法定代表人变更。", (11, 17, 10, 0), (
        Step((11, 18, 9, 30), "agent", "accept_agency_request", {
            "missing_materials": _missing("股东会决议", date(2026, 11, 25))}),
    )),
    AgencyPlan(8, "town_centre", INSURANCE, "补办 3 名员工参保登记。", (11, 18, 14, 0), (
        Step((11, 18, 15, 0), "agent_cg", "accept_agency_request"),
        Step((11, 19, 10, 0), "agent_cg", "request_materials", {
            "materials": _asked("职工花名册", "缺少身份证号码一栏"), "note": "请补正职工花名册"}),
    )),
    AgencyPlan(9, "zone_desk", FOOD, "新开分店，申请食品经营许可证变更（增加经营项目）。",
               (11, 20, 10, 0)),
    AgencyPlan(10, "town_centre", SOLE_TRADER, "代办个体工商户登记。", (10, 26, 9, 0), (
        Step((10, 26, 11, 0), "agent_cg", "reject_agency_request", {
            "reason": "经营者已办理公司营业执照，同一场所无需再设立个体工商户"}),
    )),
    AgencyPlan(11, "zone_desk", DISCHARGE, "扩产项目排污许可。", (9, 21, 9, 0), (
        Step((9, 22, 14, 0), "enterprise", "cancel_agency_request", {"reason": "企业决定暂缓扩产"}),
    )),
)
# (n, point key, procedure, slot start (month, day, hour, minute), booked at, cancelled at)
APPOINTMENTS: tuple[tuple[int, str, str, tuple[int, int, int, int], tuple[int, int, int, int],
                          tuple[int, int, int, int] | None], ...] = (
    (1, "zone_desk", FOOD, (11, 24, 10, 0), (11, 20, 15, 0), None),
    (2, "town_centre", INSURANCE, (11, 25, 9, 0), (11, 20, 15, 10), None),
    (3, "zone_desk", PLANNING, (11, 23, 14, 0), (11, 19, 16, 0), (11, 20, 9, 0)),
)
# fmt: on


def _moment(at: tuple[int, int, int, int]) -> Any:
    return shanghai(2026, *at)


@dataclass(frozen=True, slots=True)
class AgencyLoadSummary:
    created: int
    present: int
    skipped: str = ""


async def load_demo_agency(
    users: dict[str, tuple[int, bool]],
    enterprise_id: int,
    points: dict[str, int],
    plans: Sequence[AgencyPlan] = PLANS,
) -> AgencyLoadSummary:
    """Replay the plans for the demo enterprise; requests already present are left alone."""
    not_demo = [u for u in ACTORS if not users.get(u, (0, False))[1]]
    if not_demo:
        return AgencyLoadSummary(0, 0, f"not demo accounts: {', '.join(not_demo)}")
    actors: dict[str, Actor] = {u: await load_actor(users[u][0]) for u in ACTORS}
    procedures = {
        (int(sp), str(name)): int(pk)
        for pk, sp, name in await Procedure.filter(
            service_point_id__in=list(points.values())
        ).values_list("id", "service_point_id", "name")
    }
    wanted = [f"{REQUEST_PREFIX}{p.n}" for p in plans]
    present = set(
        await MutationReceipt.filter(
            user_id=users["enterprise"][0], client_id__in=wanted
        ).values_list("client_id", flat=True)
    )
    todo = [p for p in plans if f"{REQUEST_PREFIX}{p.n}" not in present]
    ids: dict[int, int] = {}
    timeline: list[tuple[Any, int, int, Step | None]] = []
    for p in todo:
        timeline.append((_moment(p.submitted), p.n, -1, None))
        timeline += [(_moment(s.at), p.n, i, s) for i, s in enumerate(p.steps)]
    by_n = {p.n: p for p in todo}
    for at, n, _, step in sorted(timeline, key=lambda t: (t[0], t[1], t[2])):
        plan = by_n[n]
        with acting_at(at):
            try:
                if step is None:
                    req = await ops.submit_agency_request(
                        actors["enterprise"],
                        enterprise_id=enterprise_id,
                        procedure_id=procedures[(points[plan.point], plan.procedure)],
                        description=plan.description,
                        client_mutation_id=f"{REQUEST_PREFIX}{n}",
                    )
                    ids[n] = req.id
                    continue
                args = dict(step.args)
                if "agent" in args:
                    args["agent_id"] = users[args.pop("agent")][0]
                await getattr(ops, step.op)(actors[step.actor], ids[n], **args)
            except DomainError as err:  # a planning mistake: say which step
                raise RuntimeError(f"demo agency request {n}, {step}: {err.code}") from err
    await _load_appointments(users, actors, enterprise_id, points, procedures)
    return AgencyLoadSummary(created=len(todo), present=len(present))


async def _load_appointments(
    users: dict[str, tuple[int, bool]],
    actors: dict[str, Actor],
    enterprise_id: int,
    points: dict[str, int],
    procedures: dict[tuple[int, str], int],
) -> None:
    wanted = [f"{APPOINTMENT_PREFIX}{a[0]}" for a in APPOINTMENTS]
    present = set(
        await MutationReceipt.filter(
            user_id=users["enterprise"][0], client_id__in=wanted
        ).values_list("client_id", flat=True)
    )
    for n, point, procedure, starts, booked, cancelled in APPOINTMENTS:
        if f"{APPOINTMENT_PREFIX}{n}" in present:
            continue
        point_id = points[point]
        with acting_at(_moment(booked)):
            made = await book_appointment(
                actors["enterprise"],
                AppointmentData(
                    service_point_id=point_id,
                    enterprise_id=enterprise_id,
                    starts_at=_moment(starts),
                    procedure_id=procedures[(point_id, procedure)],
                ),
                client_id=f"{APPOINTMENT_PREFIX}{n}",
            )
        if cancelled is not None:
            with acting_at(_moment(cancelled)):
                await cancel_appointment(actors["enterprise"], made.id, reason="时间冲突，改约")
