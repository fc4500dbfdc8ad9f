"""Demo visits (走访): about 70 visits of the demo county's cadre and county leader from June to
November 2026, so the visit list, the enterprise file (一企一档), the leaders' to-do list
(`myAssignedEnterprises(visited: false)`) and the coverage figures have something to show.

Everything goes through the real visit operations (`plan_visit`, `log_visit`, `complete_visit`,
`cancel_visit`), each run with `acting_at` at a working-hours moment of its story; no Visit row is
written directly. The plan is generated from a fixed seed and the demo demands' reference date
(all actions before 2026-11-20 18:00 Asia/Shanghai), so every machine gets the same visits, and
the steps of all visits are replayed in time order.

The mix: the town cadre (`cadre`) visits the six enterprises assigned to them nearly every month,
now and then with the county leader along, and drops in on a few other 城关镇 enterprises; the
county leader (`leader`, 王振华 副县长) visits most of their nine assigned enterprises over the
summer and four of them with a trusted check-in this quarter (from 2026-10-01), so their to-do
list for the quarter still has five: one visited with a check-in made 2-5 km away (doubtful), one
whose visit was cancelled and held by video instead, two planned for late November and early
December, one not yet visited at all. Check-ins are mostly GCJ-02 (Amap/Tencent) 10-150 m from the
enterprise's stored position, some BD-09 (Baidu, converted from that GCJ-02 position), a few raw
GPS WGS-84; six are doubtful (made from the office 2-5 km away, or flagged as mock location); a
few visits are by phone or video. Notes are realistic Chinese notes, policies are handed over from
the demo catalog (by id; an entry not offered in the enterprise's region, or withdrawn, is left
out) or typed in, and a few visits raise one or two VISIT-source demands, which wait in the county
business office's queue (SUBMITTED).

No photos: uploads need files on disk, which the demo does not create.

Idempotent: each visit is created with the client id `uuid5(NAMESPACE, "demo-visit-<n>")`; a
visit whose creating receipt (PLAN_VISIT or LOG_VISIT, by the acting demo user) already exists is
left alone, with none of its further steps replayed. Nothing is done unless `leader`, `cadre` and
`dispatcher` (whose queue the raised demands join) are all demo accounts."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from models.access import load_actor
from models.demo.demands import END
from models.errors import DomainError
from models.ops import visits as ops
from models.ops.policy import ensure_default_categories
from models.ops.region_tree import chain_of_path
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import Urgency
from models.rules.geo import LocationTrust, TrustReason, convert
from models.rules.roles import CoordinateSystem
from models.rules.visit_states import VisitMode, VisitStatus
from models.rules.workdays import WorkCalendar, national_calendar
from models.tables.demands import MutationReceipt
from models.tables.enterprises import Enterprise
from models.tables.policy import DemandCategory
from models.tables.visits import SupportPolicy

SEED = 20261001
CLIENT_ID_PREFIX = "demo-visit-"
# The demo visits' client ids are uuid5(NAMESPACE, "demo-visit-<n>") (and "-complete",
# "-cancel" for the later steps of a planned visit): UUIDs, as the operations insist, and the
# same on every machine.
NAMESPACE = uuid.UUID("6b1f2c9e-4d57-5a8e-9c31-2f0d7e6a4b18")
START = date(2026, 6, 1)
QUARTER_START = date(2026, 10, 1)  # "this quarter" at END

LEADER = "leader"
CADRE = "cadre"
# The accounts the visits are made by, and the one whose queue the raised demands join.
ACTORS: tuple[str, ...] = (LEADER, CADRE, "dispatcher")

C = CoordinateSystem
# The radius the region's default policy accepts (models.rules.policy); the plan keeps well
# inside it (≤ 150 m + accuracy) or well outside it (≥ 2 km).
_RADIUS_M = 500.0

# --------------------------------------------------------------------------- texts

_AM_HOURS = (9, 9, 10)
_PM_HOURS = (14, 14, 15)

# What the enterprise is doing, by kind of business (the GB/T 4754 section letter).
# fmt: off
_SITUATIONS: dict[str, tuple[str, ...]] = {
    "mfg": (
        "企业生产经营正常，1-{m}月实现产值{v}，同比增长{g}%，订单已排到{q}月。",
        "企业订单同比增长{g}%，两条生产线满负荷运转，产能利用率约{u}%。",
        "受原材料价格上涨影响，企业1-{m}月利润同比下降{d}%，但订单总体稳定，生产正常。",
        "企业新上的自动化生产线已投入试产，预计全年产值可达{v}，同比增长{g}%。",
        "外贸订单有所回落，企业正积极开拓国内市场，1-{m}月营业收入与去年同期基本持平。",
        "企业生产经营正常，研发投入同比增加{g}%，今年新申请发明专利{k}项。",
    ),
    "con": (
        "企业在建项目{k}个，合同额约{v}，施工进度总体正常。",
        "企业1-{m}月完成建筑业产值{v}，同比增长{g}%，部分项目工程款回笼较慢。",
        "企业正在投标县内两个市政项目，资质升级材料已准备齐全，生产经营平稳。",
        "企业承接的乡村振兴项目已进场施工，现有项目工人约{w}人，工期进度符合合同约定。",
    ),
    "re": (
        "项目二期已开盘，去化率约{u}%，销售回款基本正常。",
        "企业1-{m}月销售面积同比下降{d}%，正在推进在售项目促销和保交房工作。",
        "项目三期主体结构已封顶，预计明年上半年交付，施工和销售总体平稳。",
    ),
    "trade": (
        "门店经营正常，1-{m}月营业额同比增长{g}%，节假日客流明显回升。",
        "受线上冲击影响，营业额同比下降{d}%，企业正在发展社区团购和外卖业务。",
        "企业今年新开门店{k}家，员工总数达到{w}人，经营总体平稳。",
    ),
    "logistics": (
        "企业货运量同比增长{g}%，今年新增冷链运输车辆{k}辆。",
        "受油价上涨影响运输成本上升，企业正在优化线路、提高车辆满载率，经营总体平稳。",
        "企业新建的智能分拣中心已投用，日均处理快件约{k}万件。",
    ),
}
_PHONE_OPENINGS = ("电话联系企业负责人了解近期情况：", "电话回访企业：")
_VIDEO_OPENINGS = ("视频连线企业负责人了解情况：", "通过视频会议与企业负责人座谈：")
# Difficulties the enterprise mentions without raising a demand.
_REMARKS = (
    "企业反映用工缺口约{w}人，主要缺少熟练技工和一线普工，已建议参加县人力资源市场专场招聘会。",
    "企业有流动资金融资需求约{c}万元，已推荐合作银行的“科创贷”“政采贷”产品。",
    "企业反映应收账款回款周期拉长，资金周转压力较大，已提醒其关注应急转贷资金政策。",
    "企业计划明年扩大产能，用地需求正在测算，待方案明确后再对接自然资源部门。",
    "企业暂无困难和诉求。",
    "企业暂无困难和诉求。",
    "企业对近期审批服务效率表示满意。",
)
_CLOSINGS = (
    "现场送达了惠企政策汇编，讲解了申报条件和流程，企业表示将抓紧准备申报材料。",
    "宣传了稳岗返还和税费优惠政策，提醒企业按时申报。",
    "叮嘱企业做好安全生产和消防检查工作。",
    "提醒企业做好冬季安全生产和欠薪隐患排查工作。",
    "下一步将继续跟踪企业生产经营情况，帮助协调解决困难。",
)
_DEMAND_CLOSING = "已{where}登记企业诉求，转县营商办受理。"
_PURPOSES = (
    "了解企业生产经营情况，宣传惠企政策",
    "走访了解企业四季度生产计划和困难诉求",
    "跟进企业前期反映问题的办理情况",
    "调研企业技改项目进展",
)
CANCEL_REASON = "县政府临时召开常务会议，走访改期。"

# Policies typed in because they are not (yet) in the catalog.
_FREE_POLICIES = (
    "高新技术企业认定奖励政策解读",
    "职业技能提升行动补贴政策",
    "创业担保贷款及贴息政策",
    "“专精特新”中小企业培育政策",
)
# Which catalog entries suit which kind of business: words their titles contain.
_POLICY_WORDS: dict[str, tuple[str, ...]] = {
    "mfg": ("技术改造", "研发费用", "稳岗", "人才"),
    "con": ("营商环境", "小微企业", "稳岗"),
    "re": ("营商环境", "稳岗"),
    "trade": ("小微企业", "稳岗", "营商环境"),
    "logistics": ("小微企业", "稳岗", "营商环境"),
}
# fmt: on


@dataclass(frozen=True, slots=True)
class _Issue:
    """A difficulty raised as a demand on the spot: the note's sentence and the demand."""

    note: str
    category: str  # the default category's code
    title: str
    description: str
    kinds: tuple[str, ...] = ("mfg", "con", "re", "trade", "logistics")


# fmt: off
_ISSUES: tuple[_Issue, ...] = (
    _Issue("企业新生产线投产在即，用工缺口约{w}人。", "LABOUR", "新生产线急需招聘熟练技工",
           "企业新生产线下月投产，急需数控操作工、焊工等熟练技工约{w}名，线上招聘效果不好，"
           "希望人社部门帮助对接专场招聘会和职业院校。", kinds=("mfg",)),
    _Issue("企业银行贷款即将到期，续贷存在困难。", "FINANCE", "流动资金贷款到期续贷协调",
           "企业在县农商银行的{c}万元流动资金贷款将于下月到期，银行要求先还后贷，"
           "企业短期内难以筹措资金，希望协调办理无还本续贷。"),
    _Issue("企业计划建设二期厂房，需新增用地。", "LAND", "二期扩建项目新增用地需求",
           "企业订单持续增长，计划建设二期厂房，需新增工业用地约{a}亩，希望协助落实用地指标。",
           kinds=("mfg", "logistics")),
    _Issue("企业新增设备后厂区用电容量不足。", "UTILITIES", "厂区用电增容申请",
           "企业新增两台注塑机后用电负荷不足，需将变压器容量由800kVA增至1250kVA，"
           "希望协调供电公司加快办理。", kinds=("mfg",)),
    _Issue("企业反映厂区门口道路破损，影响货车进出。", "TRANSPORT", "厂区门口道路破损影响货车通行",
           "厂区门口约200米道路路面破损严重，雨天积水，大货车进出困难，希望尽快修复。",
           kinds=("mfg", "logistics")),
    _Issue("企业新建仓库项目正在准备规划许可材料。", "APPROVAL", "新建仓库项目规划许可办理指导",
           "企业新建仓库项目已取得不动产权证，规划许可材料正在准备，希望审批部门提前指导，"
           "避免材料反复退回。", kinds=("mfg", "logistics", "trade")),
    _Issue("企业反映承建项目的工程款拖欠较多。", "FINANCE", "协调解决承建项目工程款拖欠",
           "企业承建的{k}个项目累计被拖欠工程款约{c}万元，影响农民工工资支付和企业资金周转，"
           "希望协调建设单位按合同约定支付。", kinds=("con",)),
    _Issue("项目配套市政道路尚未建成，影响按期交房。", "TRANSPORT", "项目配套市政道路建设进度协调",
           "项目计划明年上半年交付，但规划的配套市政道路尚未开工，影响业主出行和交房验收，"
           "希望协调加快建设。", kinds=("re",)),
    _Issue("企业计划申报省级专精特新中小企业。", "INNOVATION", "申报省级专精特新企业辅导",
           "企业计划明年申报省级专精特新中小企业，对申报条件和指标要求不熟悉，希望得到申报辅导。",
           kinds=("mfg",)),
    _Issue("企业今年技改投入较大，想了解补助政策。", "POLICY", "技改项目补助申报政策咨询",
           "企业今年技术改造设备投入约{c}万元，想了解县技改补助的申报条件、补助标准和申报时间。",
           kinds=("mfg",)),
)
# fmt: on


def _kind(industry: str) -> str:
    section = industry[:1]
    return {
        "C": "mfg",
        "E": "con",
        "K": "re",
        "F": "trade",
        "H": "trade",
        "G": "logistics",
    }.get(section, "trade")


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class CheckInPlan:
    """Where the phone was, relative to the enterprise's stored position."""

    system: CoordinateSystem
    bearing_deg: float
    offset_m: float
    accuracy_m: float
    mock: bool
    device_time: datetime


@dataclass(frozen=True, slots=True)
class RaisedDemandPlan:
    category: str
    title: str
    description: str
    urgency: Urgency


@dataclass(frozen=True, slots=True)
class VisitStep:
    at: datetime
    n: int
    seq: int
    op: str  # "plan", "log", "complete" or "cancel"


@dataclass(frozen=True, slots=True)
class VisitPlan:
    n: int
    actor: str  # demo username: who plans or logs it
    lead: str
    participants: tuple[str, ...]  # the accompanying cadres
    enterprise: str  # credit code
    mode: VisitMode
    expected_status: VisitStatus
    expected_trust: LocationTrust | None  # once logged
    expected_reason: TrustReason | None
    planned: tuple[datetime, datetime] | None  # (when it was planned, for when)
    purpose: str
    visited_at: datetime | None
    ended_at: datetime | None
    logged_at: datetime | None
    cancelled: tuple[datetime, str] | None  # (when, why)
    notes: str
    policies: tuple[tuple[str, bool], ...]  # (title, from the catalog)
    check_in: CheckInPlan | None
    demands: tuple[RaisedDemandPlan, ...]

    def client_id(self, step: str = "") -> str:
        name = f"{CLIENT_ID_PREFIX}{self.n}" + (f"-{step}" if step else "")
        return str(uuid.uuid5(NAMESPACE, name))

    @property
    def steps(self) -> tuple[VisitStep, ...]:
        out: list[VisitStep] = []
        if self.planned is not None:
            out.append(VisitStep(self.planned[0], self.n, 0, "plan"))
        if self.cancelled is not None:
            out.append(VisitStep(self.cancelled[0], self.n, len(out), "cancel"))
        if self.logged_at is not None:
            op = "complete" if self.planned is not None else "log"
            out.append(VisitStep(self.logged_at, self.n, len(out), op))
        return tuple(out)


@dataclass
class _Draft:
    """One visit while the plan is made; numbered once all are known."""

    actor: str
    enterprise: str
    start: datetime  # planned or actual start
    lead: str = ""
    participants: tuple[str, ...] = ()
    mode: VisitMode = VisitMode.ON_SITE
    checkin: str = "near"  # "near", "far" (made from the office), "mock"
    planned_on: datetime | None = None  # planned ahead at this moment
    outcome: VisitStatus = VisitStatus.COMPLETED
    cancelled_on: datetime | None = None
    raises: int = 0  # demands raised on the spot

    def __post_init__(self) -> None:
        self.lead = self.lead or self.actor


class _Planner:
    def __init__(
        self,
        cadre: Sequence[str],
        leader: Sequence[str],
        chengguan: Sequence[str],
        industries: Sequence[tuple[str, str, str]],
        showcase: str,
        catalog: Sequence[str],
    ) -> None:
        self.rng = random.Random(SEED)
        self.cal: WorkCalendar = national_calendar()
        self.cadre = list(cadre)
        self.leader = list(leader)
        self.chengguan = set(chengguan)
        self.others = [c for c in chengguan if c not in set(cadre) | set(leader) and c != showcase]
        self.kinds = {code: (_kind(industry), scale) for code, industry, scale in industries}
        self.showcase = showcase
        self.catalog = list(catalog)
        self.busy: set[tuple[str, date, bool]] = set()  # (person, day, afternoon)
        self.drafts: list[_Draft] = []

    # ----------------------------------------------------------------- time

    def workday(self, day: date) -> date:
        while not self.cal.is_workday(day):
            day += timedelta(days=1)
        return day

    def slot(self, people: Sequence[str], around: date, last: date | None = None) -> datetime:
        """A free half-day for everyone going, on the first workday from `around` that has one."""
        day = self.workday(around)
        while True:
            halves = [False, True]
            self.rng.shuffle(halves)
            for pm in halves:
                if all((p, day, pm) not in self.busy for p in people):
                    for p in people:
                        self.busy.add((p, day, pm))
                    hour = self.rng.choice(_PM_HOURS if pm else _AM_HOURS)
                    return shanghai(day.year, day.month, day.day, hour, self.rng.randrange(0, 45))
            day = self.workday(day + timedelta(days=1))
            if last is not None and day > last:
                raise AssertionError(f"no free slot for {people} by {last}")  # pragma: no cover

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def moment_before(self, start: datetime, workdays: int) -> datetime:
        """A working-hours moment `workdays` working days before `start` (planning ahead)."""
        day = start.date()
        for _ in range(workdays):
            day -= timedelta(days=1)
            while not self.cal.is_workday(day):
                day -= timedelta(days=1)
        hour = self.rng.choice((9, 10, 11, 14, 15, 16, 17))
        return shanghai(day.year, day.month, day.day, hour, self.rng.randrange(0, 60))

    # ----------------------------------------------------------------- visits

    def add(self, draft: _Draft) -> _Draft:
        self.drafts.append(draft)
        return draft

    def visit(
        self,
        actor: str,
        enterprise: str,
        window: tuple[date, date],
        *,
        with_: Sequence[str] = (),
        lead: str = "",
    ) -> _Draft:
        lead = lead or actor
        people = list(dict.fromkeys([actor, lead, *with_]))
        start = self.slot(people, self.day_between(*window), window[1])
        participants = tuple(p for p in people if p != lead)
        return self.add(_Draft(actor, enterprise, start, lead=lead, participants=participants))

    def with_cadre(self, enterprise: str, chance: float) -> tuple[str, ...]:
        """The town cadre goes along, where their grant covers the enterprise."""
        return (CADRE,) if enterprise in self.chengguan and self.rng.random() < chance else ()


def _schedule(p: _Planner) -> None:
    """Who visits whom, when, and how."""
    rng = p.rng
    summer = (date(2026, 6, 8), date(2026, 9, 25))
    autumn = (date(2026, 10, 12), date(2026, 11, 18))
    L = p.leader

    # The county leader over the summer: most assigned enterprises, three of them twice.
    for i, code in enumerate(L[:8]):
        p.visit(LEADER, code, summer, with_=p.with_cadre(code, 0.8))
        if i in (0, 3, 6):
            p.visit(LEADER, code, (date(2026, 8, 17), date(2026, 9, 25)))
    # This quarter: four with a trusted check-in (one planned a few days ahead) ...
    for i, code in enumerate(L[:4]):
        d = p.visit(LEADER, code, autumn, with_=p.with_cadre(code, 1.0))
        if i == 3:
            d.planned_on = p.moment_before(d.start, 3)
    # ... one whose check-in was made back at the county government, 2-5 km away ...
    p.visit(LEADER, L[4], autumn).checkin = "far"
    # ... one planned, called off for a meeting, and held by video the day after ...
    planned = p.slot([LEADER], date(2026, 11, 12))
    p.add(
        _Draft(
            LEADER,
            L[5],
            planned.replace(minute=0),
            planned_on=p.moment_before(planned, 3),
            outcome=VisitStatus.CANCELLED,
            cancelled_on=p.moment_before(planned, 1),
        )
    )
    video = p.visit(LEADER, L[5], (planned.date() + timedelta(days=1),) * 2)
    video.mode = VisitMode.VIDEO
    # ... two planned for the weeks after END; the last one not visited at all.
    ahead = (
        (L[6], date(2026, 11, 18), date(2026, 11, 25)),
        (L[7], date(2026, 11, 19), date(2026, 12, 2)),
    )
    for code, on, when in ahead:
        start = p.slot([LEADER], when)
        hour = 9 if start.hour < 12 else 14
        p.add(
            _Draft(
                LEADER,
                code,
                start.replace(hour=hour, minute=30),
                planned_on=shanghai(on.year, on.month, on.day, rng.choice((10, 15, 16))),
                outcome=VisitStatus.PLANNED,
            )
        )

    # The town cadre: their six enterprises nearly every month, the leader along now and then.
    months = [(date(2026, m, 1), date(2026, m, 28)) for m in range(6, 11)]
    months.append((date(2026, 11, 2), date(2026, 11, 19)))
    cadre_visits: list[_Draft] = []
    for window in months:
        along = set(rng.sample(p.cadre, rng.choice((1, 1, 2))))  # the leader goes too
        for code in p.cadre:
            if rng.random() < 0.95:
                people = (LEADER,) if code in along else ()
                cadre_visits.append(p.visit(CADRE, code, window, with_=people))
    # A few other 城关镇 enterprises, once each.
    for code in rng.sample(p.others, 12):
        cadre_visits.append(p.visit(CADRE, code, (date(2026, 6, 8), date(2026, 11, 13))))
    # Planned for the days after END: one of their own, and one the cadre plans for the leader.
    start = p.slot([CADRE], date(2026, 11, 24))
    p.add(
        _Draft(
            CADRE,
            p.cadre[2],
            start.replace(minute=0),
            planned_on=shanghai(2026, 11, 19, 16, 20),
            outcome=VisitStatus.PLANNED,
        )
    )
    start = p.slot([CADRE, LEADER], date(2026, 12, 1))
    p.add(
        _Draft(
            CADRE,
            L[0],
            start.replace(minute=0),
            lead=LEADER,
            participants=(CADRE,),
            planned_on=shanghai(2026, 11, 20, 10, 5),
            outcome=VisitStatus.PLANNED,
        )
    )

    # How the cadre's visits went: a few by phone or video, five doubtful check-ins (three
    # made back at the office, two from a mock-location app), a quarter planned ahead.
    alone = [d for d in cadre_visits if not d.participants]
    special = rng.sample(alone, 9)
    for d in special[:3]:
        d.mode = VisitMode.PHONE
    special[3].mode = VisitMode.VIDEO
    for d in special[4:7]:
        d.checkin = "far"
    for d in special[7:9]:
        d.checkin = "mock"
    for d in cadre_visits:
        if d.mode is VisitMode.ON_SITE and rng.random() < 0.25:
            d.planned_on = p.moment_before(d.start, rng.randint(1, 4))
            d.start = d.start.replace(minute=rng.choice((0, 30)))

    # A few visits raise demands on the spot (never at the `enterprise` account's own
    # enterprise, whose demands all come through its app).
    done = [
        d
        for d in p.drafts
        if d.outcome is VisitStatus.COMPLETED and d.enterprise != p.showcase and d.checkin == "near"
    ]
    for i, d in enumerate(rng.sample(done, 6)):
        d.raises = 2 if i < 2 else 1


def _numbers(rng: random.Random, month: int, scale: str) -> dict[str, object]:
    """The figures a note quotes, in proportion to the enterprise's size."""
    big = scale in ("LARGE", "MEDIUM")
    if scale == "LARGE":
        value = f"{rng.uniform(5, 30):.1f}亿元"
    elif scale == "MEDIUM":
        value = f"{rng.uniform(1, 5):.1f}亿元"
    elif scale == "SMALL":
        value = f"{rng.randrange(2000, 9000, 100)}万元"
    else:
        value = f"{rng.randrange(200, 1000, 50)}万元"
    return {
        "m": max(1, month - 1),
        "v": value,
        "g": rng.randint(5, 35),
        "d": rng.randint(3, 15),
        "q": min(12, month + rng.randint(2, 4)) if month < 10 else "明年" + str(rng.randint(2, 4)),
        "u": rng.randint(70, 95),
        "k": rng.randint(2, 9) if big else rng.randint(1, 3),
        "w": rng.randint(20, 60) if big else rng.randint(3, 15),
        "c": rng.choice((500, 800, 1000, 1500, 2000) if big else (100, 200, 300, 500)),
        "a": rng.choice((15, 20, 30, 40)),
    }


def _fill(text: str, values: dict[str, object]) -> str:
    return text.format(**values)


def _finish(p: _Planner, d: _Draft, n: int) -> VisitPlan:
    rng = p.rng
    kind, scale = p.kinds.get(d.enterprise, ("trade", "SMALL"))
    values = _numbers(rng, d.start.month, scale)
    purpose = rng.choice(_PURPOSES) if d.planned_on is not None else ""
    planned = (d.planned_on, d.start) if d.planned_on is not None else None
    if d.outcome is not VisitStatus.COMPLETED:
        cancelled = (d.cancelled_on, CANCEL_REASON) if d.cancelled_on is not None else None
        return VisitPlan(
            n=n,
            actor=d.actor,
            lead=d.lead,
            participants=d.participants,
            enterprise=d.enterprise,
            mode=d.mode,
            expected_status=d.outcome,
            expected_trust=None,
            expected_reason=None,
            planned=planned,
            purpose=purpose,
            visited_at=None,
            ended_at=None,
            logged_at=None,
            cancelled=cancelled,
            notes="",
            policies=(),
            check_in=None,
            demands=(),
        )

    visited = d.start + timedelta(minutes=rng.randint(0, 12) if planned else 0)
    minutes = {VisitMode.ON_SITE: (40, 100), VisitMode.VIDEO: (20, 50), VisitMode.PHONE: (10, 25)}
    ended = visited + timedelta(minutes=rng.randint(*minutes[d.mode]))

    # The notes: how it goes, what worries them (or the demand raised), what was done.
    suitable = [i for i in _ISSUES if kind in i.kinds]
    issues = rng.sample(suitable, min(d.raises, len(suitable)))
    parts = [_fill(rng.choice(_SITUATIONS[kind]), values)]
    if d.mode is VisitMode.PHONE:
        parts.insert(0, rng.choice(_PHONE_OPENINGS))
    elif d.mode is VisitMode.VIDEO:
        parts.insert(0, rng.choice(_VIDEO_OPENINGS))
    if issues:
        parts += [_fill(i.note, values) for i in issues]
        where = "现场" if d.mode is VisitMode.ON_SITE else ""
        parts.append(_DEMAND_CLOSING.format(where=where))
    else:
        parts.append(_fill(rng.choice(_REMARKS), values))
        closings = [
            c
            for c in _CLOSINGS
            if ("冬季" not in c or d.start.month >= 11)
            and ("现场" not in c or d.mode is VisitMode.ON_SITE)
        ]
        parts.append(rng.choice(closings))
    notes = "".join(parts)

    demands = tuple(
        RaisedDemandPlan(
            i.category,
            i.title,
            _fill(i.description, values),
            Urgency.URGENT if i.category in ("FINANCE", "UTILITIES") else Urgency.NORMAL,
        )
        for i in issues
    )

    policies: list[tuple[str, bool]] = []
    if rng.random() < (0.75 if d.mode is VisitMode.ON_SITE else 0.3):
        words = _POLICY_WORDS[kind]
        offered = [t for t in p.catalog if any(w in t for w in words)]
        for title in rng.sample(offered, min(len(offered), rng.choice((1, 1, 2)))):
            policies.append((title, True))
    if rng.random() < 0.2:
        policies.append((rng.choice(_FREE_POLICIES), False))

    check_in: CheckInPlan | None = None
    trust, reason = LocationTrust.UNVERIFIED, TrustReason.NOT_ON_SITE
    logged = ended + timedelta(minutes=rng.randint(3, 40))
    if d.mode is VisitMode.ON_SITE:
        roll = rng.random()
        system = C.GCJ02 if roll < 0.62 else C.BD09 if roll < 0.9 else C.WGS84
        bearing = round(rng.uniform(0, 360), 1)
        arrived = visited + timedelta(seconds=rng.randint(20, 240))
        if d.checkin == "far":  # checked in back at the office, after the visit
            device = ended + timedelta(minutes=rng.randint(25, 50), seconds=rng.randint(0, 59))
            check_in = CheckInPlan(
                system, bearing, rng.uniform(2000, 5000), rng.randint(10, 35), False, device
            )
            logged = device + timedelta(minutes=rng.randint(1, 5))
            trust, reason = LocationTrust.DOUBTFUL, TrustReason.TOO_FAR
        elif d.checkin == "mock":
            check_in = CheckInPlan(
                system, bearing, rng.uniform(0, 12), rng.randint(3, 8), True, arrived
            )
            trust, reason = LocationTrust.DOUBTFUL, TrustReason.MOCK_LOCATION
        else:
            check_in = CheckInPlan(
                system, bearing, rng.uniform(10, 150), rng.randint(5, 60), False, arrived
            )
            trust, reason = LocationTrust.TRUSTED, TrustReason.WITHIN_RADIUS
    return VisitPlan(
        n=n,
        actor=d.actor,
        lead=d.lead,
        participants=d.participants,
        enterprise=d.enterprise,
        mode=d.mode,
        expected_status=VisitStatus.COMPLETED,
        expected_trust=trust,
        expected_reason=reason,
        planned=planned,
        purpose=purpose,
        visited_at=visited,
        ended_at=ended,
        logged_at=logged,
        cancelled=None,
        notes=notes,
        policies=tuple(policies),
        check_in=check_in,
        demands=demands,
    )


@cache
def demo_visit_plans(
    cadre: tuple[str, ...],
    leader: tuple[str, ...],
    chengguan: tuple[str, ...],
    industries: tuple[tuple[str, str, str], ...],
    showcase: str,
    catalog: tuple[str, ...],
) -> tuple[VisitPlan, ...]:
    """The demo visits (deterministic for the same arguments): `cadre` and `leader` are the
    credit codes assigned to those accounts, `chengguan` those of the cadre's town,
    `industries` (credit code, GB/T 4754 class, scale) triples, `showcase` the `enterprise` account's
    own, `catalog` the demo support-policy titles."""
    planner = _Planner(cadre, leader, chengguan, industries, showcase, catalog)
    _schedule(planner)
    # Numbered in the order they begin, so demo-visit-1 is the first thing that happened.
    drafts = sorted(planner.drafts, key=lambda d: (d.planned_on or d.start, d.actor))
    plans = tuple(_finish(planner, d, n) for n, d in enumerate(drafts, start=1))
    for plan in plans:
        assert all(s.at <= END for s in plan.steps), plan.n
    return plans


# --------------------------------------------------------------------------- loading


def _phone_position(
    place: tuple[float, float, CoordinateSystem], c: CheckInPlan
) -> tuple[float, float]:
    """The phone's fix in its own system: the enterprise's position taken to GCJ-02 (what the
    map SDKs show), moved `offset_m` along `bearing_deg`, then converted to the phone's system."""
    lat, lng = convert(place[0], place[1], place[2], C.GCJ02)
    theta = math.radians(c.bearing_deg)
    lat += c.offset_m * math.cos(theta) / 111_195.0
    lng += c.offset_m * math.sin(theta) / (111_195.0 * math.cos(math.radians(lat)))
    lat, lng = convert(lat, lng, C.GCJ02, c.system)
    return round(lat, 6), round(lng, 6)


class DemoVisitError(RuntimeError):
    def __init__(self, step: VisitStep, actor: str, err: DomainError) -> None:
        super().__init__(
            f"demo visit {step.n}: {step.op} by {actor} at {step.at:%Y-%m-%d %H:%M} "
            f"refused: {err.code}"
        )


@dataclass(frozen=True, slots=True)
class VisitLoadSummary:
    created: int
    present: int
    skipped_reason: str | None = None


@dataclass
class _Context:
    users: dict[str, tuple[int, bool]]
    enterprise_ids: dict[str, int]
    actors: dict[str, Actor]
    categories: dict[str, int]
    places: dict[int, tuple[float, float, CoordinateSystem]]
    region_paths: dict[int, str]
    catalog: dict[str, list[tuple[int, int | None]]]  # title → [(id, region id)], active ones

    def people(self, plan: VisitPlan) -> ops.VisitPeople:
        return ops.VisitPeople(
            lead_id=self.users[plan.lead][0],
            participant_ids=[self.users[u][0] for u in plan.participants],
        )

    def policies(self, plan: VisitPlan, enterprise_id: int) -> list[ops.PolicyGiven]:
        chain = set(chain_of_path(self.region_paths[enterprise_id]))
        out: list[ops.PolicyGiven] = []
        for title, from_catalog in plan.policies:
            if not from_catalog:
                out.append(ops.PolicyGiven(title=title))
                continue
            offered = [
                pk
                for pk, region in self.catalog.get(title, [])
                if region is None or region in chain
            ]
            if offered:  # one not offered here (or withdrawn) is left out
                out.append(ops.PolicyGiven(policy_id=min(offered)))
        return out

    def report(self, plan: VisitPlan) -> ops.VisitReport:
        enterprise_id = self.enterprise_ids[plan.enterprise]
        check_in = None
        place = self.places.get(enterprise_id)
        if plan.check_in is not None and place is not None:
            lat, lng = _phone_position(place, plan.check_in)
            check_in = ops.CheckInData(
                latitude=lat,
                longitude=lng,
                system=plan.check_in.system.value,
                accuracy_m=float(plan.check_in.accuracy_m),
                mock_location=plan.check_in.mock,
                device_time=plan.check_in.device_time,
            )
        return ops.VisitReport(
            mode=plan.mode.value,
            visited_at=plan.visited_at,
            ended_at=plan.ended_at,
            notes=plan.notes,
            policies=self.policies(plan, enterprise_id),
            check_in=check_in,
            demands=[
                ops.RaisedDemand(
                    title=r.title,
                    description=r.description,
                    category_id=self.categories.get(r.category),
                    urgency=r.urgency.value,
                )
                for r in plan.demands
            ],
        )


async def _context(
    users: dict[str, tuple[int, bool]], enterprise_ids: dict[str, int], plans: Sequence[VisitPlan]
) -> _Context:
    categories = {
        str(code): int(pk)
        for code, pk in await DemandCategory.filter(region_id=None).values_list("code", "id")
    }
    ids = sorted({enterprise_ids[p.enterprise] for p in plans})
    places: dict[int, tuple[float, float, CoordinateSystem]] = {}
    paths: dict[int, str] = {}
    for row in await Enterprise.filter(id__in=ids).values(
        "id", "latitude", "longitude", "coordinate_system", "region__path"
    ):
        paths[row["id"]] = row["region__path"]
        if row["latitude"] is not None and row["longitude"] is not None:
            places[row["id"]] = (
                row["latitude"],
                row["longitude"],
                CoordinateSystem(row["coordinate_system"] or C.GCJ02),
            )
    titles = sorted({t for p in plans for t, from_catalog in p.policies if from_catalog})
    catalog: dict[str, list[tuple[int, int | None]]] = {}
    for pk, title, region in await SupportPolicy.filter(
        title__in=titles, is_active=True
    ).values_list("id", "title", "region_id"):
        catalog.setdefault(str(title), []).append((int(pk), region))
    actors = {u: await load_actor(users[u][0]) for u in (LEADER, CADRE)}
    return _Context(users, enterprise_ids, actors, categories, places, paths, catalog)


async def load_demo_visits(
    users: dict[str, tuple[int, bool]],
    enterprise_ids: dict[str, int],
    plans: Sequence[VisitPlan],
) -> VisitLoadSummary:
    """Replay the plans through the real operations; visits already present are left alone.

    `users`: username → (id, is_demo); `enterprise_ids`: credit code → id. Nothing is done when
    an account it needs is missing or not a demo account."""
    not_demo = [u for u in ACTORS if not users.get(u, (0, False))[1]]
    if not_demo:
        return VisitLoadSummary(0, 0, f"not demo accounts: {', '.join(not_demo)}")
    await ensure_default_categories()
    creators = {users[u][0] for u in (LEADER, CADRE)}
    receipts = set(
        await MutationReceipt.filter(
            client_id__in=[p.client_id() for p in plans], user_id__in=sorted(creators)
        ).values_list("client_id", "user_id")
    )
    present = {p.n for p in plans if (p.client_id(), users[p.actor][0]) in receipts}
    todo = [p for p in plans if p.n not in present]
    if not todo:
        return VisitLoadSummary(created=0, present=len(present))
    ctx = await _context(users, enterprise_ids, todo)
    by_n = {p.n: p for p in todo}
    visit_ids: dict[int, int] = {}
    for step in sorted((s for p in todo for s in p.steps), key=lambda s: (s.at, s.n, s.seq)):
        plan = by_n[step.n]
        actor = ctx.actors[plan.actor]
        enterprise_id = enterprise_ids[plan.enterprise]
        with acting_at(step.at):
            try:
                if step.op == "plan":
                    assert plan.planned is not None
                    visit = await ops.plan_visit(
                        actor,
                        enterprise_id,
                        ctx.people(plan),
                        plan.planned[1],
                        mode=VisitMode.ON_SITE.value,
                        purpose=plan.purpose,
                        client_id=plan.client_id(),
                    )
                    visit_ids[plan.n] = visit.id
                elif step.op == "log":
                    await ops.log_visit(
                        actor,
                        enterprise_id,
                        ctx.people(plan),
                        ctx.report(plan),
                        client_id=plan.client_id(),
                    )
                elif step.op == "complete":
                    await ops.complete_visit(
                        actor,
                        visit_ids[plan.n],
                        ctx.report(plan),
                        client_id=plan.client_id("complete"),
                    )
                else:
                    assert plan.cancelled is not None
                    await ops.cancel_visit(
                        actor,
                        visit_ids[plan.n],
                        plan.cancelled[1],
                        client_id=plan.client_id("cancel"),
                    )
            except DomainError as err:  # a planning mistake: say which step
                raise DemoVisitError(step, plan.actor, err) from err
    return VisitLoadSummary(created=len(todo), present=len(present))
