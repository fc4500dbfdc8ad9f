"""Demo demands: about 200 demands of the demo county in every state, with realistic timelines
from June to November 2026, so the app and the supervisor view have something to show.

Everything goes through the real demand operations, each run with `acting_at` at a working-hours
moment of its story; no Demand or DemandEvent row is written directly. The plan is generated
from a fixed seed and a fixed reference date (all actions before 2026-11-20 18:00 Asia/Shanghai),
so every machine gets the same demands. The steps of all demands are replayed in time order, so
the timeline ids follow the clock.

Idempotent: each demand is submitted with the client id `demo-demand-<n>`; a demand whose
submission receipt already exists is left alone, with none of its further steps replayed."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

from models.access import load_actor
from models.errors import DomainError
from models.ops import demands as ops
from models.ops.policy import DEFAULT_CATEGORIES, ensure_default_categories
from models.rules.actor import Actor
from models.rules.clock import acting_at, shanghai
from models.rules.demand_states import DemandSource, ReplyOutcome, Urgency
from models.rules.workdays import WorkCalendar, national_calendar
from models.tables.demands import MutationReceipt
from models.tables.policy import DemandCategory

SEED = 20261120
CLIENT_ID_PREFIX = "demo-demand-"
# Every demo action happens before this moment (a fixed date, so every machine agrees).
END = shanghai(2026, 11, 20, 18)
START = date(2026, 6, 1)

ZRZY = "县自然资源和规划局"
RSJ = "县人力资源和社会保障局"
SPJ = "县行政审批服务局"
JXJ = "县经济和信息化局"
SCJG = "县市场监督管理局"
ZJJ = "县住房和城乡建设局"  # no demo handler: what goes there waits to be claimed
STJ = "县生态环境局"

# Department → (handler, department leader) demo usernames.
HANDLERS: dict[str, tuple[str, str]] = {
    SCJG: ("handler", "handler_lead"),
    ZRZY: ("handler_zrzy", "handler_zrzy_lead"),
    RSJ: ("handler_rsj", "handler_rsj_lead"),
    SPJ: ("handler_spj", "handler_spj_lead"),
    JXJ: ("handler_jxj", "handler_jxj_lead"),
}
# The accounts the demands are acted by; handlers and leaders come from HANDLERS.
ACTORS: tuple[str, ...] = (
    "enterprise",
    "cadre",
    "leader",
    "dispatcher",
    "supervisor",
    *(u for pair in HANDLERS.values() for u in pair),
)

CATEGORY_DEPARTMENT: dict[str, str] = {
    "POLICY": JXJ,
    "FINANCE": JXJ,
    "LAND": ZRZY,
    "LEGACY": ZRZY,
    "LABOUR": RSJ,
    "APPROVAL": SPJ,
    "INSPECTION": SCJG,
    "UTILITIES": JXJ,
    "INNOVATION": JXJ,
}

R, E, P = ReplyOutcome.RESOLVED, ReplyOutcome.EXPLAINED, ReplyOutcome.PARTIAL


@dataclass(frozen=True, slots=True)
class _Topic:
    category: str  # the default category's code
    title: str
    description: str
    reply: str  # the department's reply, or the office's direct answer for POLICY
    outcome: ReplyOutcome = R
    department: str | None = None  # instead of the category's usual department
    assist: str | None = None  # an assisting department (协办)

    @property
    def lead_department(self) -> str:
        return self.department or CATEGORY_DEPARTMENT[self.category]


# fmt: off
TOPICS: tuple[_Topic, ...] = (
    # 政策咨询: mostly answered directly by the office (直接办结)
    _Topic("POLICY", "高新技术企业认定政策咨询",
           "我司今年计划申报高新技术企业，想了解申报条件、研发费用占比要求和县里的配套奖励政策。",
           "高新技术企业认定需近三年研发费用占销售收入比例达到规定标准、高新技术产品收入占比不低于60%。"
           "县里对首次认定的企业给予一次性奖励，申报通知每年4月在县经信局网站发布。", E),
    _Topic("POLICY", "小微企业税收优惠政策咨询",
           "想咨询小型微利企业所得税优惠和小规模纳税人增值税减免政策今年是否延续，如何享受。",
           "小型微利企业年应纳税所得额不超过300万元的部分减按25%计入应纳税所得额、按20%税率缴纳；"
           "小规模纳税人月销售额10万元以下免征增值税。申报时自动享受，无需备案。", E),
    _Topic("POLICY", "失业保险稳岗返还政策咨询",
           "我司去年没有裁员，想了解失业保险稳岗返还的申领条件和办理方式。",
           "参保单位上年度未裁员或裁员率不高于规定比例即可享受，中小微企业按上年度实际缴纳失业保险费的60%返还。"
           "今年实行“免申即享”，资金直接拨付至单位对公账户。", E, department=RSJ),
    _Topic("POLICY", "技术改造项目补助政策咨询",
           "我司计划投入800万元更新生产线，想了解县里技术改造项目补助的标准和申报时间。",
           "设备投资额500万元以上的技改项目按设备投资额的8%给予补助，单个项目最高200万元。"
           "项目需在开工前备案，每年6月集中申报。", E),
    _Topic("POLICY", "个体户转企业扶持政策咨询",
           "我是个体工商户，准备转为有限公司，想问有没有扶持政策，原来的证照怎么处理。",
           "“个转企”可保留原字号，原有许可在有效期内继续有效，转企后按规定享受地方财政奖励。"
           "可在县行政审批服务局综合窗口一次办理变更登记。", E, department=SCJG),
    _Topic("POLICY", "首台套装备认定政策咨询",
           "我司研发了一款新型数控设备，想了解省级首台（套）装备认定的条件和奖励。",
           "首台（套）装备需为省内首次研制、具有自主知识产权并已实现销售。通过省级认定的，"
           "县里按省奖励额度1:0.5配套奖励，申报材料可先报县经信局初审。", E),
    # 融资信贷
    _Topic("FINANCE", "流动资金贷款续贷困难",
           "我司在县农商银行的500万元流动资金贷款下月到期，银行要求先还后贷，企业短期筹不到资金，"
           "请协调无还本续贷。",
           "已协调县农商银行为企业办理无还本续贷，贷款期限延长一年，利率不变，企业无需筹措过桥资金。"),
    _Topic("FINANCE", "申请使用应急转贷资金",
           "银行贷款即将到期，续贷审批需要两周，申请使用县企业应急转贷资金周转。",
           "经审核，企业符合应急转贷资金使用条件，已安排转贷资金300万元，使用期限15天，续贷发放后归还。"),
    _Topic("FINANCE", "科技型企业信用贷款对接",
           "我司是省科技型中小企业，缺少抵押物，希望对接无抵押的信用贷款产品。",
           "已组织两家合作银行上门对接，其中一家已为企业授信200万元“科创贷”，无需抵押，享受财政贴息。"),
    _Topic("FINANCE", "政府性融资担保申请无回复",
           "我司向县融资担保公司申请担保，材料已提交一个月仍没有回复。",
           "已督促县融资担保公司完成评审，担保额度400万元，担保费率降至0.8%，担保合同已签订。"),
    _Topic("FINANCE", "技改贷款贴息资金未到账",
           "去年申报的技改项目贷款贴息已经公示，但资金至今没有到账。",
           "经核实，贴息资金已拨付，因企业对公账户变更被退回，现已按新账户重新拨付到位。"),
    _Topic("FINANCE", "设备抵押贷款评估费用过高",
           "办理设备抵押贷款时评估费用较高，希望了解能否减免或给予补助。",
           "经协调，合作银行承担本次抵押评估费用；同时告知企业县里对小微企业担保费给予50%补助的政策。", P),
    # 用地用房
    _Topic("LAND", "扩建项目新增用地指标",
           "我司订单增长，计划扩建二期厂房，需新增用地约20亩，请协助落实用地指标。",
           "已将项目纳入年度用地计划，拟安排地块正在开展征收前期工作，预计明年一季度挂牌出让。", P),
    _Topic("LAND", "新建厂房不动产权证办理缓慢",
           "新建厂房已竣工验收三个月，不动产权证一直没有办下来，影响银行贷款。",
           "经核查，系测绘成果缺少附图，已指导企业补正，不动产权证已办结并送达企业。"),
    _Topic("LAND", "工业用地提高容积率",
           "我司想在现有用地上加建一层厂房，需要提高容积率，请告知办理流程。",
           "工业用地在符合规划的前提下提高容积率不再增收土地价款，规划调整已批复，规划许可已核发。",
           assist=ZJJ),
    _Topic("LAND", "租赁标准厂房对接",
           "企业扩大生产，需要租赁3000平方米左右的标准厂房，请帮助对接房源。",
           "已推荐开发区标准厂房两处，企业实地查看后已与其中一处签订租赁意向协议。"),
    _Topic("LAND", "土地出让金申请分期缴纳",
           "受资金周转影响，申请将土地出让金分两期缴纳。",
           "按出让合同约定，企业可在合同签订后一年内分两期缴纳，变更手续已办理完毕。"),
    _Topic("LAND", "相邻闲置地块处置",
           "我司相邻地块闲置多年，杂草丛生存在安全隐患，希望协调处置或转让给我司。",
           "已启动闲置土地调查认定程序并约谈原土地使用权人，已告知企业后续可依法参与公开竞买。", E),
    _Topic("LEGACY", "历史遗留厂房无法办证",
           "我司2008年建成的厂房因当时手续不全一直无法办理产权证，影响抵押融资。",
           "已纳入历史遗留不动产登记问题专项处置，经联合踏勘符合补办条件，企业补缴费用后已办理产权证。",
           assist=ZJJ),
    _Topic("LEGACY", "老厂区集体土地转国有",
           "老厂区土地为集体建设用地，想了解转为国有建设用地的办法和周期。",
           "该地块在国土空间规划中为工业用地，可经征收转为国有建设用地后出让，已告知企业程序和大致周期。", E),
    # 用工招聘
    _Topic("LABOUR", "新生产线急需熟练技工",
           "我司新生产线投产，急需数控操作工、焊工约30名，线上招聘效果不好。",
           "已安排企业参加县人力资源市场专场招聘会，并推送至各乡镇就业服务站，已达成用工意向22人。", P),
    _Topic("LABOUR", "外省员工社保转移接续",
           "外省员工的社保关系转入我县一直办不下来。",
           "已与转出地社保经办机构联系，转移接续手续已办结，缴费年限已合并计算。"),
    _Topic("LABOUR", "新员工岗前培训补贴申请",
           "我司组织新员工岗前技能培训，想申请职业技能培训补贴。",
           "企业符合以工代训补贴条件，已指导网上申报，补贴按每人500元标准拨付。"),
    _Topic("LABOUR", "高校毕业生引进补贴",
           "今年引进了5名本科毕业生，想申请人才生活补贴和租房补贴。",
           "已审核通过5名毕业生的生活补贴和租房补贴申请，补贴按月发放至个人账户。"),
    _Topic("LABOUR", "离职员工经济补偿纠纷调解",
           "一名离职员工要求支付经济补偿，双方分歧较大，希望有关部门调解。",
           "县劳动人事争议调解中心已组织双方调解并达成调解协议，纠纷已化解。"),
    _Topic("LABOUR", "外籍工程师工作许可办理",
           "我司聘请一名德国籍工程师，需要办理外国人工作许可。",
           "已指导企业通过外国人来华工作管理服务系统申请，工作许可证已核发。"),
    # 审批服务
    _Topic("APPROVAL", "新建厂房施工许可办理",
           "新厂房项目已取得规划许可，施工许可材料多次被退回，影响开工。",
           "已启用“拿地即开工”联审机制并组织一次性踏勘，施工许可证已核发。", assist=ZJJ),
    _Topic("APPROVAL", "技改项目环评审批进度慢",
           "技改项目环评报告已提交一个月，审批仍无进展。",
           "已协调生态环境部门提前介入技术审查，环评批复已出具。", assist=STJ),
    _Topic("APPROVAL", "食品生产许可证延续",
           "我司食品生产许可证下月到期，延续需要现场核查，希望尽快安排。",
           "已安排现场核查并通过，延续后的食品生产许可证已发放。"),
    _Topic("APPROVAL", "竣工联合验收申请",
           "项目已完工，希望尽快组织规划、消防、人防等联合验收。",
           "已组织联合验收，一次性通过，竣工验收备案已完成。"),
    _Topic("APPROVAL", "营业执照增加经营范围",
           "需增加经营范围“医疗器械销售”，网上办理提示需要前置许可。",
           "已指导企业先办理第二类医疗器械经营备案，再同步变更经营范围，全程网办已完成。"),
    _Topic("APPROVAL", "危险化学品经营许可办理",
           "我司需要经营少量工业用化学品，请问危险化学品经营许可怎么办理。",
           "已告知办理条件和材料清单，企业补齐安全评价报告后经营许可证已核发。"),
    # 执法检查
    _Topic("INSPECTION", "同一事项多头重复检查",
           "本月已有三批检查人员上门检查相同内容，影响正常生产。",
           "已将相关检查事项纳入“综合查一次”，同类检查一年内原则上不超过一次，并向企业通报了检查计划。", E),
    _Topic("INSPECTION", "计量器具上门检定",
           "我司有一批压力表和电子秤需要检定，希望安排上门检定。",
           "已安排县计量检定机构上门检定，检定证书已出具。"),
    _Topic("INSPECTION", "商标被外地公司抢注",
           "我司使用多年的商标被外地公司抢先注册，请求帮助维权。",
           "已指导企业向国家知识产权局提出无效宣告请求，并提供维权援助，案件已受理。", P),
    _Topic("INSPECTION", "轻微违法申请首违不罚",
           "因产品标签标注不规范被立案，企业已立即整改，希望适用首违不罚。",
           "经复核，该情形符合轻微违法行为免罚清单，已依法作出不予行政处罚决定。"),
    _Topic("INSPECTION", "特种设备定期检验排期太久",
           "叉车和行车的定期检验即将到期，检验机构排期要一个月以后。",
           "已协调检验机构优先安排，特种设备定期检验已完成。"),
    _Topic("INSPECTION", "产品质量抽检结果异议",
           "我司产品抽检被判定不合格，企业认为检测方法有误，申请复检。",
           "已受理复检申请并安排复检，复检结果合格，原检验结论已撤销。"),
    # 水电气网
    _Topic("UTILITIES", "新增生产线用电增容",
           "新增生产线需将变压器容量由630kVA增至1250kVA，供电公司答复需要排队。",
           "已协调供电公司开辟绿色通道，增容工程已完成送电。"),
    _Topic("UTILITIES", "厂区频繁停电影响生产",
           "近一个月厂区已停电四次，每次都造成生产线停工。",
           "已协调供电公司排查线路、更换老化设备并调整检修计划，近期未再发生非计划停电。"),
    _Topic("UTILITIES", "厂区5G网络信号覆盖不足",
           "厂区内移动网络信号弱，影响智能化设备联网。",
           "已协调通信运营商在厂区新建5G基站一座，信号已覆盖全厂区。"),
    _Topic("UTILITIES", "屋顶光伏并网申请",
           "我司屋顶分布式光伏已建成，并网申请迟迟没有批复。",
           "已协调供电公司完成并网验收，光伏项目已正式并网发电。"),
    _Topic("UTILITIES", "新厂区天然气管道接入",
           "新厂区尚未接通天然气，燃气公司称管网未覆盖，请协调延伸管道。",
           "已协调燃气公司将中压管道延伸至厂区，完成通气点火。", department=ZJJ),
    _Topic("UTILITIES", "工业用水水压不足",
           "厂区用水高峰时水压不足，影响冷却系统运行。",
           "已协调供水公司对片区管网加压改造，水压已恢复正常。", department=ZJJ),
    # 科技创新
    _Topic("INNOVATION", "省级企业技术中心申报辅导",
           "我司计划申报省级企业技术中心，希望得到申报辅导。",
           "已组织专家上门辅导，企业申报材料已通过县级初审并推荐上报。"),
    _Topic("INNOVATION", "数字化改造服务商对接",
           "我司想对车间进行数字化改造，希望推荐可靠的服务商并了解补助政策。",
           "已推荐三家省级数字化改造服务商，并告知智能化改造项目按投资额给予补助的政策。"),
    _Topic("INNOVATION", "产学研合作对接",
           "希望与高校合作研发新型复合材料，请帮助对接高校科研团队。",
           "已对接省内两所高校材料学院，企业与其中一所签订了产学研合作协议。"),
)
# fmt: on

_HANDLED = tuple(t for t in TOPICS if t.lead_department in HANDLERS and t.category != "POLICY")
_CONSULTATIONS = tuple(t for t in TOPICS if t.category == "POLICY")
_UNSTAFFED = tuple(t for t in TOPICS if t.lead_department not in HANDLERS)

EXTENSION_REASONS = (
    "涉及多个部门会商，需要协调时间，申请延期。",
    "需报上级部门审批，申请延期。",
    "等待第三方检测（评估）结果，申请延期。",
)
SUSPEND_REASONS = (
    "等待企业补充提交相关材料。",
    "需企业提供项目备案文件和用地红线图。",
    "企业负责人外出，无法现场核实，待其返回后继续办理。",
)
RESUME_NOTES = ("企业已补齐材料，恢复办理。", "已完成现场核实，恢复办理。")
GOOD_COMMENTS = ("办理及时，非常满意。", "感谢部门的帮助！", "问题解决了，很满意。", "", "")
BAD_COMMENTS = ("问题没有实际解决。", "答复敷衍，承诺的事情没有落实。")
SEND_BACK = "答复内容过于简单，请补充办理依据和具体结果。"
REVIEW_FAIL = "经电话核实，企业反映问题尚未实际解决，请重新办理。"


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, slots=True)
class Step:
    at: datetime
    n: int  # the demand's number
    seq: int  # its order within the demand
    op: str  # the name of the operation in models.ops.demands
    actor: str  # demo username
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DemandPlan:
    n: int
    scenario: str
    expected_state: str
    enterprise: str  # credit code
    steps: tuple[Step, ...]

    @property
    def client_id(self) -> str:
        return f"{CLIENT_ID_PREFIX}{self.n}"


class _Story:
    """One demand's steps, on a clock that moves in working days and working hours."""

    def __init__(self, n: int, rng: random.Random, cal: WorkCalendar, start: date) -> None:
        self.n = n
        self.rng = rng
        self.cal = cal
        day = start
        while not cal.is_workday(day):
            day += timedelta(days=1)
        self.t = self._at(day, rng.choice((9, 10, 11, 14, 15, 16)))
        self.steps: list[Step] = []
        self.dispatched: date | None = None
        self.deadline: date | None = None

    def _at(self, day: date, hour: int) -> datetime:
        return shanghai(day.year, day.month, day.day, hour, self.rng.randrange(0, 60))

    def wait(self, low: int, high: int | None = None) -> _Story:
        """Move on `low`..`high` working days (0: later the same day, if there is time)."""
        days = self.rng.randint(low, high if high is not None else low)
        if days == 0:
            hour = self.t.hour + self.rng.randint(1, 2)
            if hour == 12:
                hour = 13
            if hour <= 17:
                self.t = self._at(self.t.date(), hour)
                return self
            days = 1
        day = self.cal.add_working_days(self.t.date(), days).date
        self.t = self._at(day, self.rng.choice((9, 9, 10, 10, 11, 14, 15, 15, 16, 17)))
        return self

    def do(self, op: str, actor: str, **args: Any) -> _Story:
        self.steps.append(Step(self.t, self.n, len(self.steps), op, actor, args))
        if op == "dispatch_demand":
            self.dispatched = self.t.date()
        return self

    def working_days_left(self) -> int:
        assert self.deadline is not None
        return self.cal.working_days_between(self.t.date(), self.deadline)


@dataclass
class _Case:
    """What the story of one demand is made of."""

    n: int
    scenario: str
    expected: str
    topic: _Topic
    enterprise: str
    submitter: str
    source: DemandSource
    urgency: Urgency
    window: tuple[date, date]  # when it is submitted
    options: dict[str, Any] = field(default_factory=dict)


_LIMITS: dict[str, tuple[int, int, int]] = {
    code: (normal, urgent, critical) for _, code, normal, urgent, critical in DEFAULT_CATEGORIES
}


def _limit(topic: _Topic, urgency: Urgency) -> int:
    """The category's default limit, as dispatch computes it (models.ops.policy)."""
    return _LIMITS[topic.category][list(Urgency).index(urgency)]


class _Planner:
    def __init__(
        self,
        enterprises: Sequence[str],
        chengguan: Sequence[str],
        leader: Sequence[str],
        showcase: str,
    ) -> None:
        self.rng = random.Random(SEED)
        self.cal = national_calendar()
        self.others = [e for e in enterprises if e != showcase]
        self.chengguan = [e for e in chengguan if e != showcase]
        self.leader = [e for e in leader if e != showcase]
        self.showcase = showcase
        self.plans: list[DemandPlan] = []

    # ----------------------------------------------------------------- choosing

    def _date(self, window: tuple[date, date]) -> date:
        span = (window[1] - window[0]).days
        return window[0] + timedelta(days=self.rng.randint(0, max(0, span)))

    def _urgency(self) -> Urgency:
        roll = self.rng.random()
        return Urgency.CRITICAL if roll < 0.04 else Urgency.URGENT if roll < 0.2 else Urgency.NORMAL

    def _channel(self) -> tuple[str, DemandSource, str]:
        roll = self.rng.random()
        if roll < 0.22:
            return "cadre", DemandSource.VISIT, self.rng.choice(self.chengguan)
        if roll < 0.32:
            return "leader", DemandSource.VISIT, self.rng.choice(self.leader)
        return "dispatcher", DemandSource.HOTLINE_12345, self.rng.choice(self.others)

    def case(
        self,
        scenario: str,
        expected: str,
        window: tuple[date, date],
        *,
        topics: Sequence[_Topic] = _HANDLED,
        showcase: bool = False,
        channel: tuple[str, DemandSource, str] | None = None,
        **options: Any,
    ) -> _Case:
        topic = self.rng.choice(list(topics))
        if showcase:
            channel = ("enterprise", DemandSource.APP, self.showcase)
        submitter, source, enterprise = channel or self._channel()
        return _Case(
            len(self.plans) + 1,
            scenario,
            expected,
            topic,
            enterprise,
            submitter,
            source,
            self._urgency(),
            window,
            options,
        )

    # ----------------------------------------------------------------- stories

    def add(self, case: _Case) -> DemandPlan:
        """Plan the case; a story that would run past END starts earlier."""
        start = self._date(case.window)
        for _ in range(20):
            story = _Story(case.n, self.rng, self.cal, start)
            self._tell(story, case)
            if story.steps[-1].at <= END:
                break
            start -= timedelta(days=14)
        else:  # pragma: no cover - a planning mistake, caught by the tests
            raise AssertionError(f"demo demand {case.n} ({case.scenario}) does not fit")
        plan = DemandPlan(case.n, case.scenario, case.expected, case.enterprise, tuple(story.steps))
        self.plans.append(plan)
        return plan

    def _tell(self, s: _Story, c: _Case) -> None:
        o = c.options
        t = c.topic
        s.do(
            "submit_demand",
            c.submitter,
            source=c.source.value,
            enterprise=c.enterprise,
            category=t.category,
            title=t.title,
            description=t.description,
            urgency=c.urgency.value,
        )
        if c.scenario == "submitted":
            return
        s.wait(0, 1)
        if c.scenario == "rejected":
            s.do("reject_demand", "dispatcher", **o["reject"])
            return
        if c.scenario == "merged":
            s.do(
                "merge_demand",
                "dispatcher",
                into=o["into"],
                note=f"与第{o['into']}号诉求为同一事项，合并办理。",
            )
            return
        if c.scenario == "withdrawn_early":
            s.wait(0, 1).do("withdraw_demand", c.submitter, reason=o["reason"])
            return
        if c.scenario.startswith("answered"):
            s.do("answer_directly", "dispatcher", answer=t.reply)
            self._visit(s, c, after=(1, 3))
            return
        self._handle(s, c)

    def _dispatch(self, s: _Story, c: _Case, department: str) -> None:
        assists = [c.topic.assist] if c.topic.assist and self.rng.random() < 0.6 else []
        s.do("dispatch_demand", "dispatcher", department=department, assists=assists)
        limit = _limit(c.topic, c.urgency)
        s.deadline = self.cal.add_working_days(s.t.date(), limit).date

    def _handle(self, s: _Story, c: _Case) -> None:
        o = c.options
        dept = c.topic.lead_department
        if o.get("wrong_department"):  # first sent to the wrong bureau, which returns it
            wrong = next(d for d in HANDLERS if d != dept)
            self._dispatch(s, c, wrong)
            s.wait(0, 1).do(
                "return_demand",
                HANDLERS[wrong][0],
                reason=f"该事项不属于本部门职责，建议转{dept}办理。",
            )
            if c.scenario == "pending_return":
                return
            s.wait(0, 1).do(
                "decide_return", "dispatcher", approve=True, note="同意退回，重新派单。"
            )
            s.wait(0, 1)
        self._dispatch(s, c, dept)
        if c.scenario.startswith("dispatched"):
            return
        handler, lead = HANDLERS[dept]
        s.wait(0, 1)
        if o.get("refused_return"):
            s.do("return_demand", handler, reason="该事项需多部门配合，建议由营商办牵头。")
            s.wait(0, 1).do(
                "decide_return",
                "dispatcher",
                approve=False,
                note="该事项属于贵局职责，协办部门已明确，请抓紧办理。",
            )
            s.wait(0, 1)
        s.do("claim_demand", handler)
        if c.scenario == "withdrawn_handling":  # only the enterprise itself may withdraw
            s.wait(1, 3).do("withdraw_demand", "enterprise", reason=o["reason"])
            return
        if c.scenario == "in_progress_overdue":
            self._escalations(s, c)
            return
        if o.get("extension"):  # asked for before the deadline
            most = min(2, s.working_days_left())
            s.wait(min(1, most), most).do(
                "request_extension",
                handler,
                days=self.rng.choice((3, 5, 5, 10)),
                reason=self.rng.choice(EXTENSION_REASONS),
            )
            if c.scenario == "pending_extension":
                return
            s.wait(0, 1).do("decide_extension", "dispatcher", approve=True, note="同意延期。")
        if o.get("suspend"):
            s.wait(1, 2).do("suspend_demand", handler, reason=self.rng.choice(SUSPEND_REASONS))
            s.wait(0, 1).do("decide_suspension", "dispatcher", approve=True, note="同意中止。")
            if c.scenario == "suspended":
                return
            resumer = "enterprise" if c.source is DemandSource.APP else handler
            s.wait(2, 6).do("resume_demand", resumer, note=self.rng.choice(RESUME_NOTES))
        if c.scenario == "in_progress":
            return
        # The reply: usually before the deadline, now and then a little late.
        late = self.rng.random() < 0.1
        if late:
            s.wait(max(1, s.working_days_left() + 1), max(1, s.working_days_left() + 3))
        else:
            s.wait(1, max(1, s.working_days_left() - 1))
        self._reply_round(s, c, handler, lead)
        if c.scenario not in ("pending_approval", "pending_review"):
            self._visit(s, c, after=(1, 4))

    def _reply_round(
        self, s: _Story, c: _Case, handler: str, lead: str, text: str | None = None
    ) -> None:
        o = c.options
        t = c.topic
        s.do("reply_demand", handler, outcome=t.outcome.value, text_=text or t.reply)
        if c.scenario == "pending_approval":
            return
        if o.pop("send_back", False):
            s.wait(0, 1).do("approve_reply", lead, approve=False, note=SEND_BACK)
            s.wait(1, 2).do(
                "reply_demand",
                handler,
                outcome=t.outcome.value,
                text_=t.reply + "（已补充办理依据和结果）",
            )
        s.wait(0, 1).do("approve_reply", lead, approve=True)
        if c.scenario == "pending_review":
            return
        if o.pop("review_fail", False):
            s.wait(0, 1).do("review_reply", "dispatcher", passed=False, note=REVIEW_FAIL)
            s.wait(1, 3).do(
                "reply_demand",
                handler,
                outcome=R.value,
                text_=t.reply + "已再次上门核实，问题已落实。",
            )
            s.wait(0, 1).do("approve_reply", lead, approve=True)
        s.wait(0, 1).do("review_reply", "dispatcher", passed=True)

    def _rate(self, s: _Story, c: _Case, rating: str, comment: str) -> None:
        if c.source is DemandSource.APP:
            s.do("rate_demand", "enterprise", rating=rating, comment=comment)
        else:
            s.do(
                "record_return_visit",
                "dispatcher",
                reached=True,
                rating=rating,
                note=f"电话回访：{comment}" if comment else "电话回访，企业表示认可。",
            )

    def _visit(self, s: _Story, c: _Case, after: tuple[int, int]) -> None:
        o = c.options
        if c.scenario in ("pending_visit", "answered_pending_visit"):
            if o.get("missed_call"):
                s.wait(1, 2).do(
                    "record_return_visit",
                    "dispatcher",
                    reached=False,
                    note="电话无人接听，择日再访。",
                )
            return
        s.wait(*after)
        if c.scenario == "closed_unreached":
            for i in range(3):
                s.do(
                    "record_return_visit",
                    "dispatcher",
                    reached=False,
                    note="电话无人接听。" if i < 2 else "连续三次未能联系上企业，按未回访办结。",
                )
                if i < 2:
                    s.wait(1, 2)
            return
        if c.scenario in (
            "reopened",
            "appeal_upheld",
            "appeal_refused",
            "rectified",
            "reopened_in_rectification",
        ):
            self._bad_rating_story(s, c)
            return
        rating = self.rng.choices(("VERY_SATISFIED", "SATISFIED", "BASIC"), weights=(55, 38, 7))[0]
        self._rate(s, c, rating, self.rng.choice(GOOD_COMMENTS))

    def _bad_rating_story(self, s: _Story, c: _Case) -> None:
        dept = c.topic.lead_department
        handler, lead = HANDLERS.get(dept, HANDLERS[JXJ])
        self._rate(
            s,
            c,
            self.rng.choice(("DISSATISFIED", "VERY_DISSATISFIED")),
            self.rng.choice(BAD_COMMENTS),
        )
        if c.scenario == "reopened_in_rectification":
            return
        if c.scenario == "appeal_upheld":
            s.wait(1, 2).do(
                "appeal_rating",
                handler,
                reason="企业诉求超出现行政策范围，部门已按规定办理并答复，申请申诉。",
            )
            s.wait(1, 3).do(
                "decide_appeal",
                "supervisor",
                uphold=True,
                note="经核查，部门已依法依规办理，申诉成立，该评价不计入考核排名。",
            )
            return
        if c.scenario == "appeal_refused":
            s.wait(1, 2).do("appeal_rating", handler, reason="部门已按程序办理，申请申诉。")
            s.wait(1, 2).do(
                "decide_appeal",
                "supervisor",
                uphold=False,
                note="部门答复不够具体，申诉不成立，请认真整改。",
            )
        if c.options.get("escalate"):
            s.wait(0, 1).do(
                "escalate_demand", "supervisor", note="差评整改事项，请部门主要负责人督办落实。"
            )
        s.wait(1, 3)
        self._reply_round(
            s,
            c,
            handler,
            lead,
            text="整改情况：" + c.topic.reply + "部门负责人已带队上门，问题已落实到位。",
        )
        s.wait(1, 3)
        self._rate(s, c, "SATISFIED", "整改到位，满意。")

    def _escalations(self, s: _Story, c: _Case) -> None:
        """Left open past its deadline; the supervisor escalates (督办) as it slips."""
        assert s.deadline is not None
        levels = c.options.get("escalate", 0)
        day = s.deadline
        for level in range(1, levels + 1):
            day = self.cal.add_working_days(day, 2 if level == 1 else 3).date
            moment = s._at(day, 10)
            if moment > END:
                break
            s.t = moment
            note = "已超期，请加快办理并报告进展。" if level == 1 else "超期仍未办结，提级督办。"
            s.do("escalate_demand", "supervisor", note=note)


def _mix(p: _Planner) -> None:
    """The demand mix: mostly closed, some in every other state."""
    early = (date(2026, 6, 1), date(2026, 10, 12))
    summer = (date(2026, 6, 1), date(2026, 9, 10))
    recent = (date(2026, 11, 9), date(2026, 11, 16))
    last_days = (date(2026, 11, 17), date(2026, 11, 20))
    autumn = (date(2026, 9, 1), date(2026, 10, 20))

    # The `enterprise` account's own enterprise, through the app, in several states.
    p.add(p.case("closed", "CLOSED", (date(2026, 6, 8), date(2026, 6, 20)), showcase=True))
    p.add(
        p.case(
            "closed", "CLOSED", (date(2026, 8, 3), date(2026, 8, 14)), showcase=True, extension=True
        )
    )
    p.add(p.case("rectified", "CLOSED", (date(2026, 9, 1), date(2026, 9, 10)), showcase=True))
    p.add(
        p.case(
            "pending_visit", "PENDING_VISIT", (date(2026, 11, 2), date(2026, 11, 5)), showcase=True
        )
    )
    p.add(p.case("in_progress", "IN_PROGRESS", recent, showcase=True))
    p.add(p.case("submitted", "SUBMITTED", last_days, showcase=True))
    p.add(
        p.case(
            "withdrawn_handling",
            "WITHDRAWN",
            (date(2026, 7, 6), date(2026, 7, 10)),
            showcase=True,
            reason="企业已通过其他渠道解决，撤回诉求。",
        )
    )
    p.add(
        p.case(
            "withdrawn_early",
            "WITHDRAWN",
            (date(2026, 10, 12), date(2026, 10, 16)),
            showcase=True,
            reason="问题已自行解决，撤回诉求。",
        )
    )

    for _ in range(90):
        roll = p.rng.random()
        opts: dict[str, Any] = {}
        if roll < 0.12:
            opts["extension"] = True
        elif roll < 0.18:
            opts["suspend"] = True
        elif roll < 0.22:
            opts["wrong_department"] = True
        elif roll < 0.25:
            opts["refused_return"] = True
        roll = p.rng.random()
        if roll < 0.07:
            opts["send_back"] = True
        elif roll < 0.13:
            opts["review_fail"] = True
        p.add(p.case("closed", "CLOSED", early, **opts))
    for _ in range(12):
        p.add(p.case("answered", "CLOSED", early, topics=_CONSULTATIONS))
    for _ in range(2):
        p.add(p.case("answered_pending_visit", "PENDING_VISIT", last_days, topics=_CONSULTATIONS))
    for _ in range(4):
        p.add(p.case("closed_unreached", "CLOSED", early))
    for _ in range(4):
        p.add(p.case("rectified", "CLOSED", summer, escalate=p.rng.random() < 0.5))
    p.add(p.case("appeal_refused", "CLOSED", summer))
    p.add(p.case("appeal_upheld", "CLOSED", (date(2026, 10, 19), date(2026, 10, 23))))
    for _ in range(2):
        p.add(
            p.case(
                "reopened_in_rectification", "IN_PROGRESS", (date(2026, 10, 26), date(2026, 10, 30))
            )
        )

    # Open work.
    for _ in range(8):
        p.add(p.case("submitted", "SUBMITTED", last_days))
    for _ in range(6):
        p.add(p.case("dispatched", "DISPATCHED", last_days))
    for _ in range(3):  # sent to a bureau without a demo handler: unclaimed and overdue
        p.add(p.case("dispatched_unclaimed", "DISPATCHED", autumn, topics=_UNSTAFFED))
    p.add(p.case("pending_return", "DISPATCHED", last_days, wrong_department=True))
    for _ in range(10):
        p.add(p.case("in_progress", "IN_PROGRESS", recent))
    overdue: list[DemandPlan] = []
    for level in (0, 1, 1, 1, 2, 2, 3):
        overdue.append(p.add(p.case("in_progress_overdue", "IN_PROGRESS", autumn, escalate=level)))
    for _ in range(3):
        p.add(p.case("pending_extension", "IN_PROGRESS", recent, extension=True))
    for _ in range(5):
        p.add(p.case("pending_approval", "PENDING_APPROVAL", recent))
    for _ in range(5):
        p.add(p.case("pending_review", "PENDING_REVIEW", recent))
    for _ in range(5):
        p.add(
            p.case(
                "pending_visit",
                "PENDING_VISIT",
                (date(2026, 10, 26), date(2026, 11, 6)),
                missed_call=p.rng.random() < 0.5,
            )
        )
    suspended: list[DemandPlan] = []
    for _ in range(4):
        suspended.append(p.add(p.case("suspended", "SUSPENDED", recent, suspend=True)))

    # Closed without handling.
    reasons = (
        {
            "reason": "NOT_IN_SCOPE",
            "note": "该诉求属于企业之间的合同纠纷，建议通过协商或法律途径解决。",
        },
        {"reason": "LEGAL_PROCEEDINGS", "note": "该事项已进入诉讼程序，请依法等待法院裁判。"},
        {"reason": "INSUFFICIENT_INFO", "note": "诉求内容不明确，多次联系企业均未能补充。"},
        {"reason": "NOT_IN_SCOPE", "note": "该事项属于企业内部管理问题，不属于受理范围。"},
        {"reason": "OTHER", "note": "该企业已注销，诉求无法办理。"},
        {"reason": "INSUFFICIENT_INFO", "note": "未提供具体地址和联系人，无法核实。"},
    )
    for reject in reasons:
        p.add(p.case("rejected", "REJECTED", early, reject=reject))
    # Duplicates of open demands, called in again on the hotline and merged.
    for target in (*overdue[:3], *suspended[:1]):
        first = target.steps[0]
        dup = p.case(
            "merged",
            "MERGED",
            (first.at.date() + timedelta(days=3),) * 2,
            channel=("dispatcher", DemandSource.HOTLINE_12345, target.enterprise),
            into=target.n,
        )
        dup.topic = _Topic(
            first.args["category"],
            "再次反映：" + first.args["title"],
            "企业再次来电反映：" + first.args["description"],
            "",
        )
        p.add(dup)


@cache
def demo_demand_plans(
    enterprises: tuple[str, ...],
    chengguan: tuple[str, ...],
    leader: tuple[str, ...],
    showcase: str,
) -> tuple[DemandPlan, ...]:
    """The demo demands (deterministic for the same enterprise lists)."""
    planner = _Planner(enterprises, chengguan, leader, showcase)
    _mix(planner)
    return tuple(planner.plans)


# --------------------------------------------------------------------------- loading


class DemoDemandError(RuntimeError):
    def __init__(self, step: Step, err: DomainError) -> None:
        super().__init__(
            f"demo demand {step.n}: {step.op} by {step.actor} at {step.at:%Y-%m-%d %H:%M} "
            f"refused: {err.code}"
        )


@dataclass(frozen=True, slots=True)
class DemandLoadSummary:
    created: int
    present: int
    skipped_reason: str | None = None


async def load_demo_demands(
    users: dict[str, tuple[int, bool]],
    departments: dict[str, int],
    enterprise_ids: dict[str, int],
    plans: Sequence[DemandPlan],
) -> DemandLoadSummary:
    """Replay the plans through the real operations; demands already present are left alone.

    `users`: username → (id, is_demo); `departments`: name → id; `enterprise_ids`: credit
    code → id. Nothing is done when an acting account is missing or not a demo account."""
    await ensure_default_categories()
    not_demo = [u for u in ACTORS if not users.get(u, (0, False))[1]]
    if not_demo:
        return DemandLoadSummary(0, 0, f"not demo accounts: {', '.join(not_demo)}")
    categories = {
        str(code): int(pk)
        for code, pk in await DemandCategory.filter(region_id=None).values_list("code", "id")
    }
    actors: dict[str, Actor] = {u: await load_actor(users[u][0]) for u in ACTORS}
    receipts = await MutationReceipt.filter(
        client_id__in=[p.client_id for p in plans], operation="SUBMIT"
    ).values_list("client_id", "object_id")
    ids: dict[int, int] = {
        int(str(cid).removeprefix(CLIENT_ID_PREFIX)): int(oid) for cid, oid in receipts
    }
    present = set(ids)
    steps = sorted(
        (s for p in plans if p.n not in present for s in p.steps),
        key=lambda s: (s.at, s.n, s.seq),
    )
    for step in steps:
        actor = actors[step.actor]
        args = dict(step.args)
        with acting_at(step.at):
            if step.op == "submit_demand":
                data = ops.DemandData(
                    enterprise_id=enterprise_ids[args["enterprise"]],
                    title=args["title"],
                    description=args["description"],
                    category_id=categories[args["category"]],
                    urgency=args["urgency"],
                    source=args["source"],
                )
                demand = await ops.submit_demand(
                    actor, data, client_id=f"{CLIENT_ID_PREFIX}{step.n}"
                )
                ids[step.n] = demand.id
                continue
            if step.op == "dispatch_demand":
                args = {
                    "department_id": departments[args["department"]],
                    "assisting_department_ids": [departments[a] for a in args["assists"]],
                }
            elif step.op == "merge_demand":
                args = {"into_id": ids[args["into"]], "note": args["note"]}
            try:
                await getattr(ops, step.op)(actor, ids[step.n], **args)
            except DomainError as err:  # a planning mistake: say which step
                raise DemoDemandError(step, err) from err
    return DemandLoadSummary(created=len(plans) - len(present), present=len(present))
