"""A realistic demo county (清河县, fictional) for trying the app: regions, departments,
~300 enterprises with contacts, and one demo account per role.

`load_demo()` is idempotent: every row is keyed by its natural key (region code, or parent and
name for parks; region and department name; username; credit code; a user's role grant; a
leader and an enterprise), and only what is missing is created. Contacts are written with a new
enterprise only: an enterprise already present keeps the contacts it has. The whole load runs in one transaction, so a failure leaves
nothing half-loaded. The data set is generated from a fixed seed, so every run (and every
machine) produces the same county.

Rows that already exist are left as they are. Users that exist but are not demo users (a real
`admin`, say) are never given demo grants, assignments or contact links.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from functools import cache

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models.db.config import announce
from models.demo.agency import AgencyLoadSummary, load_demo_agency
from models.demo.demands import DemandLoadSummary, demo_demand_plans, load_demo_demands
from models.demo.service_points import load_demo_service_points
from models.demo.visits import VisitLoadSummary, demo_visit_plans, load_demo_visits
from models.ops.policy import POLICY_CHANNEL, invalidate_policy_cache
from models.rules.identifiers import IdentifierError, make_credit_code, normalize_mobile
from models.rules.passwords import hash_password
from models.rules.roles import CoordinateSystem, EnterpriseScale, Rank, RegionLevel, Role
from models.tables.enterprises import Enterprise, EnterpriseContact, LeaderAssignment
from models.tables.grants import RoleGrant
from models.tables.org import Department, Region, User
from models.tables.policy import RegionPolicy
from models.tables.visits import SupportPolicy

SEED = 20251001
ENTERPRISE_COUNT = 300
DEMO_PASSWORD = "demo12345"  # noqa: S105 - public by design; production refuses demo users
ASSIGNMENT_START = date(2026, 1, 1)

COUNTY_NAME = "清河县"
WORK_ORDER_PREFIX = "QH"  # 清河: the county's work-order numbers read QH2026…
COUNTY_CODE = "330599"  # fictional: 3305xx is a real prefecture, 99 is unused

# Serialises concurrent demo loads on PostgreSQL (the second one then finds everything present).
_PG_LOCK_KEY = 7_201_356


# --------------------------------------------------------------------------- regions


@dataclass(frozen=True, slots=True)
class _RegionSpec:
    key: str
    name: str
    level: RegionLevel
    code: str | None
    parent: str | None
    centre: tuple[float, float]  # GCJ-02 latitude, longitude
    roads: tuple[str, ...]
    profile: str  # which mix of industries sits here
    quota: int  # how many demo enterprises


_COUNTY = "county"
_CHENGGUAN = "城关镇"
_DEV_ZONE = "清河经济开发区"
_BAISHA_PARK = "白沙工业园区"

# Township codes follow the 统计用区划代码 habit: streets 0xx, towns 1xx, 乡 2xx.
# fmt: off
REGIONS: tuple[_RegionSpec, ...] = (
    _RegionSpec(
        _COUNTY, COUNTY_NAME, RegionLevel.COUNTY, COUNTY_CODE, None,
        (30.2320, 119.7180), (), "mixed", 0,
    ),
    _RegionSpec(
        _CHENGGUAN, "城关镇", RegionLevel.TOWN, f"{COUNTY_CODE}100", _COUNTY,
        (30.2330, 119.7160), ("人民路", "解放路", "县前街", "环城东路", "文昌路"), "mixed", 60,
    ),
    _RegionSpec(
        "东湖街道", "东湖街道", RegionLevel.STREET, f"{COUNTY_CODE}001", _COUNTY,
        (30.2450, 119.7450), ("东湖路", "滨湖大道", "金湖路", "迎宾大道"), "urban", 35,
    ),
    _RegionSpec(
        "北塘街道", "北塘街道", RegionLevel.STREET, f"{COUNTY_CODE}002", _COUNTY,
        (30.2620, 119.7120), ("北塘路", "新华路", "塘北街", "学府路"), "urban", 25,
    ),
    _RegionSpec(
        "西山镇", "西山镇", RegionLevel.TOWN, f"{COUNTY_CODE}101", _COUNTY,
        (30.2150, 119.6400), ("西山路", "工业路", "竹乡大道"), "rural", 25,
    ),
    _RegionSpec(
        "南岭镇", "南岭镇", RegionLevel.TOWN, f"{COUNTY_CODE}102", _COUNTY,
        (30.1500, 119.7050), ("南岭街", "岭下路", "茶园路"), "rural", 20,
    ),
    _RegionSpec(
        "青石镇", "青石镇", RegionLevel.TOWN, f"{COUNTY_CODE}103", _COUNTY,
        (30.3000, 119.6800), ("青石路", "石矿路", "兴业路"), "rural", 20,
    ),
    _RegionSpec(
        "白沙镇", "白沙镇", RegionLevel.TOWN, f"{COUNTY_CODE}104", _COUNTY,
        (30.1900, 119.7900), ("白沙路", "沙溪街", "振兴路"), "rural", 20,
    ),
    _RegionSpec(
        "石桥乡", "石桥乡", RegionLevel.TOWN, f"{COUNTY_CODE}200", _COUNTY,
        (30.1200, 119.6200), ("石桥街", "溪口路"), "rural", 10,
    ),
    _RegionSpec(
        _DEV_ZONE, _DEV_ZONE, RegionLevel.PARK, None, _COUNTY,
        (30.2550, 119.7700), ("科技大道", "创业路", "兴业大道", "智造路", "园区一路"), "park", 55,
    ),
    _RegionSpec(
        _BAISHA_PARK, _BAISHA_PARK, RegionLevel.PARK, None, "白沙镇",
        (30.1820, 119.8050), ("园区路", "工业大道", "白沙南路"), "park", 30,
    ),
)
# fmt: on
_REGION_BY_KEY = {r.key: r for r in REGIONS}

DEPARTMENTS: tuple[str, ...] = (
    "县发展和改革局",
    "县经济和信息化局",
    "县财政局",
    "县人力资源和社会保障局",
    "县自然资源和规划局",
    "县生态环境局",
    "县住房和城乡建设局",
    "县商务局",
    "县应急管理局",
    "县市场监督管理局",
    "县行政审批服务局",
    "国家税务总局清河县税务局",
)
HANDLER_DEPARTMENT = "县市场监督管理局"

# --------------------------------------------------------------------------- industries

# Kinds decide the "above-scale" flag that can apply: 规上工业, 资质内建筑业, 房地产开发,
# 限上批零住餐, 规上服务业; agriculture has none.
_MFG, _CON, _RE, _TRADE, _SERVICE, _AGRI = "MFG", "CON", "RE", "TRADE", "SERVICE", "AGRI"

# (name word, GB/T 4754-2017 class, kind)
_INDUSTRIES: tuple[tuple[str, str, str], ...] = (
    ("机械制造", "C3499", _MFG),
    ("精密机械", "C3484", _MFG),
    ("钢结构", "C3311", _MFG),
    ("五金工具", "C3322", _MFG),
    ("电气设备", "C3829", _MFG),
    ("汽车零部件", "C3670", _MFG),
    ("电子科技", "C3989", _MFG),
    ("光电科技", "C3976", _MFG),
    ("新材料", "C2659", _MFG),
    ("塑业", "C2929", _MFG),
    ("化工", "C2669", _MFG),
    ("生物科技", "C2761", _MFG),
    ("食品", "C1499", _MFG),
    ("茶业", "C1530", _MFG),
    ("纺织", "C1711", _MFG),
    ("服饰", "C1811", _MFG),
    ("竹业", "C2041", _MFG),
    ("家具", "C2110", _MFG),
    ("包装", "C2231", _MFG),
    ("建材", "C3021", _MFG),
    ("建筑工程", "E4710", _CON),
    ("建设", "E4790", _CON),
    ("市政工程", "E4813", _CON),
    ("水利水电工程", "E4822", _CON),
    ("园林绿化工程", "E4891", _CON),
    ("装饰工程", "E5011", _CON),
    ("房地产开发", "K7010", _RE),
    ("置业", "K7010", _RE),
    ("商贸", "F5199", _TRADE),
    ("建材贸易", "F5165", _TRADE),
    ("农资", "F5166", _TRADE),
    ("超市", "F5212", _TRADE),
    ("医药连锁", "F5251", _TRADE),
    ("汽车销售", "F5261", _TRADE),
    ("酒店管理", "H6110", _TRADE),
    ("餐饮管理", "H6210", _TRADE),
    ("物流", "G5431", _SERVICE),
    ("仓储", "G5920", _SERVICE),
    ("信息技术", "I6513", _SERVICE),
    ("网络科技", "I6432", _SERVICE),
    ("物业管理", "K7020", _SERVICE),
    ("人力资源服务", "L7269", _SERVICE),
    ("文化传媒", "L7259", _SERVICE),
    ("检测技术", "M7452", _SERVICE),
    ("环保科技", "N7723", _SERVICE),
    ("旅游开发", "N7869", _SERVICE),
    ("农业开发", "A0190", _AGRI),
    ("生态农业", "A0190", _AGRI),
    ("果业", "A0151", _AGRI),
    ("茶园", "A0164", _AGRI),
    ("生猪养殖", "A0313", _AGRI),
    ("水产养殖", "A0412", _AGRI),
)

# How likely each kind is in each kind of place.
_PROFILES: dict[str, dict[str, int]] = {
    "park": {_MFG: 80, _SERVICE: 12, _TRADE: 4, _CON: 4},
    "urban": {_TRADE: 35, _SERVICE: 30, _RE: 12, _CON: 13, _MFG: 10},
    "mixed": {_MFG: 30, _TRADE: 25, _SERVICE: 18, _CON: 15, _RE: 8, _AGRI: 4},
    "rural": {_MFG: 35, _AGRI: 30, _TRADE: 15, _CON: 12, _SERVICE: 8},
}

_TRADE_NAMES = (
    "恒达",
    "鑫源",
    "华通",
    "瑞丰",
    "永盛",
    "宏远",
    "金鼎",
    "天成",
    "泰和",
    "嘉禾",
    "隆兴",
    "盛世",
    "明辉",
    "东方",
    "新锐",
    "广汇",
    "万通",
    "利民",
    "福源",
    "兴旺",
    "中联",
    "安达",
    "润泽",
    "康宁",
    "博远",
    "精诚",
    "腾飞",
    "宇航",
    "立信",
    "德润",
    "华信",
    "锦绣",
    "春晖",
    "翔宇",
    "启明",
    "振华",
    "长青",
    "青山",
    "绿源",
    "清源",
    "恒昌",
    "宏达",
    "金诚",
    "鼎盛",
    "汇通",
    "联创",
    "信诚",
    "永康",
    "国泰",
    "丰源",
    "鸿运",
    "美达",
    "佳和",
    "凯旋",
    "新天地",
    "大成",
    "百川",
    "同创",
    "乐家",
    "荣盛",
    "恒通",
    "正阳",
    "兴达",
    "华丰",
    "金桥",
    "天润",
    "景和",
    "易通",
    "顺达",
    "安顺",
)

_SURNAMES = (
    "王王王李李李张张张刘刘陈陈杨杨黄赵吴周徐孙马朱胡郭何林高罗郑梁谢宋唐许韩冯邓曹彭曾"
    "肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江"
    "尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤应楼俞"
)
_GIVEN_NAMES = (
    "伟",
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "霞",
    "平",
    "刚",
    "斌",
    "波",
    "辉",
    "林",
    "婷",
    "雪",
    "琳",
    "浩",
    "宇",
    "鹏",
    "秀英",
    "桂英",
    "建华",
    "建国",
    "志强",
    "海燕",
    "晓东",
    "国庆",
    "文杰",
    "春梅",
    "红梅",
    "丽华",
    "建军",
    "永刚",
    "海波",
    "建平",
    "国平",
    "玉兰",
    "晓燕",
    "志刚",
    "伟东",
    "卫国",
    "德明",
    "金华",
    "美玲",
    "佳慧",
    "子豪",
    "思远",
    "一帆",
    "雨婷",
    "天宇",
    "俊杰",
    "欣怡",
)
_CONTACT_POSITIONS = ("总经理", "副总经理", "办公室主任", "财务负责人", "行政经理", "生产厂长")
# Mainland mobile prefixes that are ordinary mobile ranges (no data-only or satellite ranges).
_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "198",
    "199",
)

# --------------------------------------------------------------------------- accounts


@dataclass(frozen=True, slots=True)
class _GrantSpec:
    role: Role
    region: str | None
    department: str | None = None
    lead: bool = False
    service_point: str | None = None  # models.demo.service_points key, for SERVICE_AGENT


@dataclass(frozen=True, slots=True)
class _UserSpec:
    username: str
    display_name: str
    rank: Rank | None
    grants: tuple[_GrantSpec, ...]


DEMO_USERS: tuple[_UserSpec, ...] = (
    _UserSpec("admin", "周建国（系统管理员）", None, (_GrantSpec(Role.ADMIN, _COUNTY),)),
    _UserSpec("cadre", "李晓东（城关镇干部）", Rank.STAFF, (_GrantSpec(Role.CADRE, _CHENGGUAN),)),
    _UserSpec("leader", "王振华（副县长）", Rank.COUNTY_LEADER, (_GrantSpec(Role.CADRE, _COUNTY),)),
    _UserSpec("dispatcher", "赵敏（县营商办）", None, (_GrantSpec(Role.DISPATCHER, _COUNTY),)),
    _UserSpec(
        "handler",
        "孙丽（县市场监管局）",
        None,
        (_GrantSpec(Role.HANDLER, _COUNTY, HANDLER_DEPARTMENT),),
    ),
    _UserSpec(
        "handler_lead",
        "吴海波（县市场监管局局长）",
        None,
        (_GrantSpec(Role.HANDLER, _COUNTY, HANDLER_DEPARTMENT, lead=True),),
    ),
    # More bureaus with a handler and the bureau's leader, so the demo demands spread out.
    *(
        _UserSpec(
            f"{name}{suffix}",
            f"{person}（{department}{title}）",
            None,
            (_GrantSpec(Role.HANDLER, _COUNTY, department, lead=bool(suffix)),),
        )
        for name, department, people in (
            ("handler_zrzy", "县自然资源和规划局", ("陈建平", "刘志刚")),
            ("handler_rsj", "县人力资源和社会保障局", ("林雪", "黄卫国")),
            ("handler_spj", "县行政审批服务局", ("徐佳慧", "马德明")),
            ("handler_jxj", "县经济和信息化局", ("何宇", "罗建军")),
        )
        for suffix, person, title in (("", people[0], ""), ("_lead", people[1], "局长"))
    ),
    # The zone desk's two agents and the town centre's one (models.demo.service_points).
    _UserSpec(
        "agent",
        "郑婷（开发区帮办员）",
        None,
        (_GrantSpec(Role.SERVICE_AGENT, _DEV_ZONE, service_point="zone_desk"),),
    ),
    _UserSpec(
        "agent2",
        "孙浩（开发区帮办员）",
        None,
        (_GrantSpec(Role.SERVICE_AGENT, _DEV_ZONE, service_point="zone_desk"),),
    ),
    _UserSpec(
        "agent_cg",
        "吴敏（城关镇便民服务中心）",
        None,
        (_GrantSpec(Role.SERVICE_AGENT, _CHENGGUAN, service_point="town_centre"),),
    ),
    _UserSpec("enterprise", "张伟", None, (_GrantSpec(Role.ENTERPRISE, None),)),
    _UserSpec("supervisor", "钱国庆（县督查室）", None, (_GrantSpec(Role.SUPERVISOR, _COUNTY),)),
)
DEMO_USERNAMES: tuple[str, ...] = tuple(u.username for u in DEMO_USERS)
CADRE_ASSIGNMENTS = 6
LEADER_ASSIGNMENTS = 9

# --------------------------------------------------------------------------- credit codes


def _organisation_code(body8: str) -> str | None:
    """GB 11714 organisation code: 8 digits and a check character (None when it is 'X')."""
    weights = (3, 7, 9, 10, 5, 8, 4, 2)
    check = 11 - sum(int(c) * w for c, w in zip(body8, weights, strict=True)) % 11
    if check == 10:
        return None  # would be 'X'; the demo keeps its codes to digits
    return body8 + ("0" if check == 11 else str(check))


def _credit_code(org_code: str) -> str:
    # 9 = registered by market regulation, 1 = enterprise; then the county, the org code.
    return make_credit_code(f"91{COUNTY_CODE}{org_code}")


def _fixed_organisation_code(body8: str) -> str:
    code = _organisation_code(body8)
    if code is None:
        raise ValueError(f"{body8} has check character X")
    return code


_DEMO_ORG_CODE = _fixed_organisation_code("71952836")
# The one enterprise whose contact is the `enterprise` demo account (in 城关镇).
DEMO_ENTERPRISE_CREDIT_CODE = _credit_code(_DEMO_ORG_CODE)
DEMO_ENTERPRISE_NAME = "清河县恒达机械制造有限公司"
_DEMO_CONTACT_MOBILE = "13857201234"

# --------------------------------------------------------------------------- the data set


@dataclass(frozen=True, slots=True)
class _ContactSpec:
    name: str
    mobile: str
    position: str
    username: str | None = None  # the demo account linked to this contact


@dataclass(frozen=True, slots=True)
class _EnterpriseSpec:
    name: str
    credit_code: str
    region: str
    legal_representative: str
    address: str
    latitude: float
    longitude: float
    industry_code: str
    scale: EnterpriseScale
    above_scale_industry: bool
    qualified_construction: bool
    above_limit_trade: bool
    above_scale_service: bool
    real_estate_development: bool
    contacts: tuple[_ContactSpec, ...]


@dataclass(frozen=True, slots=True)
class _Dataset:
    enterprises: tuple[_EnterpriseSpec, ...]
    cadre_enterprises: tuple[str, ...]  # credit codes
    leader_enterprises: tuple[str, ...]


class _Generator:
    def __init__(self) -> None:
        self.rng = random.Random(SEED)
        self.names: set[str] = set()
        self.org_codes: set[str] = {_DEMO_ORG_CODE}
        self.mobiles: set[str] = {_DEMO_CONTACT_MOBILE}

    def person(self) -> str:
        return self.rng.choice(_SURNAMES) + self.rng.choice(_GIVEN_NAMES)

    def mobile(self) -> str:
        while True:
            number = self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            if number in self.mobiles:
                continue
            try:
                normalize_mobile(number)
            except IdentifierError:
                continue
            self.mobiles.add(number)
            return number

    def credit_code(self) -> str:
        while True:
            org = _organisation_code(f"{self.rng.randrange(10**7, 10**8)}")
            if org is not None and org not in self.org_codes:
                self.org_codes.add(org)
                return _credit_code(org)

    def scale(self, kind: str) -> EnterpriseScale:
        roll = self.rng.random()
        large = 0.05 if kind in (_MFG, _CON, _RE) else 0.01 if kind == _TRADE else 0.0
        if roll < large:
            return EnterpriseScale.LARGE
        if roll < large + 0.13:
            return EnterpriseScale.MEDIUM
        if roll < large + 0.55:
            return EnterpriseScale.SMALL
        return EnterpriseScale.MICRO

    def name(self, word: str, scale: EnterpriseScale) -> str:
        while True:
            trade = self.rng.choice(_TRADE_NAMES)
            if scale is EnterpriseScale.LARGE:
                name = f"浙江{trade}{word}股份有限公司"
            elif self.rng.random() < 0.2:
                name = f"清河{trade}{word}有限公司"
            else:
                name = f"{COUNTY_NAME}{trade}{word}有限公司"
            if name not in self.names:
                self.names.add(name)
                return name

    def flags(self, kind: str, scale: EnterpriseScale) -> dict[str, bool]:
        big = scale in (EnterpriseScale.LARGE, EnterpriseScale.MEDIUM)
        small = scale is EnterpriseScale.SMALL
        roll = self.rng.random()
        return {
            # 规上工业: annual revenue of 20 million yuan or more.
            "above_scale_industry": kind == _MFG and (big or (small and roll < 0.35)),
            # 资质内建筑业: holds a construction qualification certificate.
            "qualified_construction": kind == _CON
            and (scale is not EnterpriseScale.MICRO or roll < 0.3),
            # 房地产开发: every registered developer is counted.
            "real_estate_development": kind == _RE,
            # 限上批零住餐: wholesale/retail/hotel/catering above the turnover limit.
            "above_limit_trade": kind == _TRADE and (big or (small and roll < 0.25)),
            # 规上服务业.
            "above_scale_service": kind == _SERVICE and (big or (small and roll < 0.2)),
        }

    def place(self, region: _RegionSpec) -> tuple[str, float, float]:
        road = self.rng.choice(region.roads)
        number = self.rng.randrange(1, 400)
        where = region.name
        parent = _REGION_BY_KEY[region.parent] if region.parent else None
        if region.level is RegionLevel.PARK and parent and parent.level is not RegionLevel.COUNTY:
            where = parent.name + region.name
        lat = round(region.centre[0] + self.rng.gauss(0, 0.008), 6)
        lng = round(region.centre[1] + self.rng.gauss(0, 0.009), 6)
        return f"{COUNTY_NAME}{where}{road}{number}号", lat, lng

    def contacts(self, legal_rep: str, kind: str) -> tuple[_ContactSpec, ...]:
        first = (
            _ContactSpec(legal_rep, self.mobile(), "法定代表人")
            if self.rng.random() < 0.5
            else _ContactSpec(self.person(), self.mobile(), "总经理")
        )
        if self.rng.random() < 0.55:
            return (first,)
        positions = [p for p in _CONTACT_POSITIONS if p != first.position]
        if kind != _MFG:
            positions.remove("生产厂长")
        return first, _ContactSpec(self.person(), self.mobile(), self.rng.choice(positions))

    def enterprise(self, region: _RegionSpec) -> _EnterpriseSpec:
        profile = _PROFILES[region.profile]
        kind = self.rng.choices(list(profile), weights=list(profile.values()))[0]
        word, code, _ = self.rng.choice([i for i in _INDUSTRIES if i[2] == kind])
        scale = self.scale(kind)
        legal_rep = self.person()
        address, lat, lng = self.place(region)
        return _EnterpriseSpec(
            name=self.name(word, scale),
            credit_code=self.credit_code(),
            region=region.key,
            legal_representative=legal_rep,
            address=address,
            latitude=lat,
            longitude=lng,
            industry_code=code,
            scale=scale,
            contacts=self.contacts(legal_rep, kind),
            **self.flags(kind, scale),
        )

    def showcase(self) -> _EnterpriseSpec:
        """The enterprise the `enterprise` account belongs to: fixed, first in 城关镇."""
        self.names.add(DEMO_ENTERPRISE_NAME)
        region = _REGION_BY_KEY[_CHENGGUAN]
        return _EnterpriseSpec(
            name=DEMO_ENTERPRISE_NAME,
            credit_code=DEMO_ENTERPRISE_CREDIT_CODE,
            region=region.key,
            legal_representative="张伟",
            address=f"{COUNTY_NAME}城关镇工业路18号",
            latitude=30.2352,
            longitude=119.7213,
            industry_code="C3499",
            scale=EnterpriseScale.MEDIUM,
            above_scale_industry=True,
            qualified_construction=False,
            above_limit_trade=False,
            above_scale_service=False,
            real_estate_development=False,
            contacts=(
                _ContactSpec("张伟", _DEMO_CONTACT_MOBILE, "法定代表人", username="enterprise"),
                _ContactSpec("陈静", self.mobile(), "办公室主任"),
            ),
        )


@cache
def demo_dataset() -> _Dataset:
    """The demo enterprises and who is assigned to which; the same on every call and machine."""
    gen = _Generator()
    enterprises: list[_EnterpriseSpec] = []
    for region in REGIONS:
        for i in range(region.quota):
            if region.key == _CHENGGUAN and i == 0:
                enterprises.append(gen.showcase())
            else:
                enterprises.append(gen.enterprise(region))
    assert len(enterprises) == ENTERPRISE_COUNT

    cadre = tuple(e.credit_code for e in enterprises if e.region == _CHENGGUAN)[:CADRE_ASSIGNMENTS]
    # The county leader looks after the biggest enterprise of each of several places.
    leader: list[str] = []
    big = (EnterpriseScale.LARGE, EnterpriseScale.MEDIUM)
    for region in REGIONS:
        candidates = [e for e in enterprises if e.region == region.key and e.scale in big]
        if candidates and len(leader) < LEADER_ASSIGNMENTS:
            best = min(candidates, key=lambda e: list(EnterpriseScale).index(e.scale))
            leader.append(best.credit_code)
    for e in enterprises:  # top up should a place have had no big enterprise
        if len(leader) >= LEADER_ASSIGNMENTS:
            break
        if e.scale in big and e.credit_code not in leader:
            leader.append(e.credit_code)
    return _Dataset(tuple(enterprises), cadre, tuple(leader))


# --------------------------------------------------------------------------- loading


@dataclass(frozen=True, slots=True)
class DemoSummary:
    regions_created: int
    regions_present: int
    departments_created: int
    departments_present: int
    enterprises_created: int
    enterprises_present: int
    users_created: int
    users_present: int
    contacts_created: int
    grants_created: int
    assignments_created: int
    demo_enterprise_credit_code: str = DEMO_ENTERPRISE_CREDIT_CODE
    demands_created: int = 0
    demands_present: int = 0
    visits_created: int = 0
    visits_present: int = 0
    agency_requests_created: int = 0
    agency_requests_present: int = 0

    @property
    def created_total(self) -> int:
        return (
            self.regions_created
            + self.departments_created
            + self.enterprises_created
            + self.users_created
            + self.contacts_created
            + self.grants_created
            + self.assignments_created
            + self.demands_created
            + self.visits_created
            + self.agency_requests_created
        )

    def __str__(self) -> str:
        return (
            f"demo county {COUNTY_NAME}: "
            f"regions {self.regions_created} created / {self.regions_present} present, "
            f"departments {self.departments_created} / {self.departments_present}, "
            f"enterprises {self.enterprises_created} / {self.enterprises_present}, "
            f"users {self.users_created} / {self.users_present}; "
            f"{self.contacts_created} contacts, {self.grants_created} role grants, "
            f"{self.assignments_created} leader assignments created; "
            f"demands {self.demands_created} created / {self.demands_present} present; "
            f"visits {self.visits_created} created / {self.visits_present} present; "
            f"agency requests {self.agency_requests_created} created / "
            f"{self.agency_requests_present} present"
        )


@dataclass(slots=True)
class _Counts:
    regions: tuple[int, int] = (0, 0)
    departments: tuple[int, int] = (0, 0)
    enterprises: tuple[int, int] = (0, 0)
    users: tuple[int, int] = (0, 0)
    contacts: int = 0
    grants: int = 0
    assignments: int = 0


async def load_demo(*, demands: bool = True, visits: bool | None = None) -> DemoSummary:
    """Load the demo county, creating only what is missing, in one transaction; with
    `demands`, also the demo demands and their timelines (models.demo.demands); with `visits`
    (default: as `demands`), also the demo visits (models.demo.visits)."""
    data = demo_dataset()
    counts = _Counts()
    async with in_transaction() as conn:
        await _lock(conn)
        regions = await _load_regions(counts)
        await _load_work_order_prefix(regions[_COUNTY][0])
        departments = await _load_departments(counts, regions[_COUNTY][0])
        enterprise_ids, new_enterprises = await _load_enterprises(counts, data, regions)
        users = await _load_users(counts)
        points = await load_demo_service_points(regions, departments)
        await _load_grants(counts, users, regions, departments, points)
        await _load_contacts(counts, data, enterprise_ids, new_enterprises, users)
        await _load_assignments(counts, data, enterprise_ids, users)
        await _load_support_policies(regions)
        loaded = (
            await load_demo_demands(
                users, departments, enterprise_ids, demo_demand_plans(*_demand_enterprises(data))
            )
            if demands
            else DemandLoadSummary(0, 0, "not asked for")
        )
        visited = (
            await load_demo_visits(
                users, enterprise_ids, demo_visit_plans(*_visit_enterprises(data))
            )
            if (demands if visits is None else visits)
            else VisitLoadSummary(0, 0, "not asked for")
        )
        agency = (
            await load_demo_agency(users, enterprise_ids[DEMO_ENTERPRISE_CREDIT_CODE], points)
            if demands
            else AgencyLoadSummary(0, 0, "not asked for")
        )
    return DemoSummary(
        regions_created=counts.regions[0],
        regions_present=counts.regions[1],
        departments_created=counts.departments[0],
        departments_present=counts.departments[1],
        enterprises_created=counts.enterprises[0],
        enterprises_present=counts.enterprises[1],
        users_created=counts.users[0],
        users_present=counts.users[1],
        contacts_created=counts.contacts,
        grants_created=counts.grants,
        assignments_created=counts.assignments,
        demands_created=loaded.created,
        demands_present=loaded.present,
        visits_created=visited.created,
        visits_present=visited.present,
        agency_requests_created=agency.created,
        agency_requests_present=agency.present,
    )


def _demand_enterprises(
    data: _Dataset,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]:
    """The enterprises the demo demands come from: all, 城关镇's, the county leader's, and the
    `enterprise` account's own."""
    return (
        tuple(e.credit_code for e in data.enterprises),
        tuple(e.credit_code for e in data.enterprises if e.region == _CHENGGUAN),
        data.leader_enterprises,
        DEMO_ENTERPRISE_CREDIT_CODE,
    )


def _visit_enterprises(
    data: _Dataset,
) -> tuple[
    tuple[str, ...],
    tuple[str, ...],
    tuple[str, ...],
    tuple[tuple[str, str, str], ...],
    str,
    tuple[str, ...],
]:
    """What the demo visits are planned from: the cadre's and the county leader's assigned
    enterprises, 城关镇's, their industries and sizes, the `enterprise` account's own, the
    catalog titles."""
    chengguan = tuple(e.credit_code for e in data.enterprises if e.region == _CHENGGUAN)
    wanted = {*chengguan, *data.leader_enterprises}
    return (
        data.cadre_enterprises,
        data.leader_enterprises,
        chengguan,
        tuple(
            (e.credit_code, e.industry_code, e.scale.value)
            for e in data.enterprises
            if e.credit_code in wanted
        ),
        DEMO_ENTERPRISE_CREDIT_CODE,
        tuple(title for _, title, *_ in DEMO_SUPPORT_POLICIES),
    )


async def _lock(conn: BaseDBAsyncClient) -> None:
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_PG_LOCK_KEY])


async def _load_regions(counts: _Counts) -> dict[str, tuple[int, str]]:
    """Returns key → (id, path). Official divisions are found by code, parks by parent+name."""
    found: dict[str, tuple[int, str]] = {}
    created = 0
    for spec in REGIONS:
        parent = found[spec.parent] if spec.parent else None
        query = (
            Region.filter(code=spec.code)
            if spec.code
            else Region.filter(parent_id=parent[0] if parent else None, name=spec.name)
        )
        row = await query.first().values("id", "path")
        if row is not None:
            found[spec.key] = (row["id"], row["path"])
            continue
        region = await Region.create(
            name=spec.name,
            code=spec.code,
            level=spec.level,
            parent_id=parent[0] if parent else None,
        )
        region.path = f"{parent[1] if parent else '/'}{region.id}/"
        await region.save(update_fields=["path"])
        found[spec.key] = (region.id, region.path)
        created += 1
    counts.regions = (created, len(REGIONS) - created)
    return found


async def _load_departments(counts: _Counts, county_id: int) -> dict[str, int]:
    existing = set(
        await Department.filter(region_id=county_id, name__in=DEPARTMENTS).values_list(
            "name", flat=True
        )
    )
    missing = [Department(name=n, region_id=county_id) for n in DEPARTMENTS if n not in existing]
    if missing:
        await Department.bulk_create(missing)
    counts.departments = (len(missing), len(existing))
    rows = await Department.filter(region_id=county_id, name__in=DEPARTMENTS).values_list(
        "name", "id"
    )
    return {str(name): int(pk) for name, pk in rows}


async def _load_enterprises(
    counts: _Counts, data: _Dataset, regions: dict[str, tuple[int, str]]
) -> tuple[dict[str, int], set[str]]:
    """Returns credit code → id for every demo enterprise, and the codes created now."""
    codes = [e.credit_code for e in data.enterprises]
    existing = set(
        await Enterprise.filter(credit_code__in=codes).values_list("credit_code", flat=True)
    )
    missing = [e for e in data.enterprises if e.credit_code not in existing]
    if missing:
        await Enterprise.bulk_create(
            [
                Enterprise(
                    name=e.name,
                    credit_code=e.credit_code,
                    legal_representative=e.legal_representative,
                    address=e.address,
                    latitude=e.latitude,
                    longitude=e.longitude,
                    coordinate_system=CoordinateSystem.GCJ02,
                    region_id=regions[e.region][0],
                    industry_code=e.industry_code,
                    scale=e.scale,
                    above_scale_industry=e.above_scale_industry,
                    qualified_construction=e.qualified_construction,
                    above_limit_trade=e.above_limit_trade,
                    above_scale_service=e.above_scale_service,
                    real_estate_development=e.real_estate_development,
                )
                for e in missing
            ],
            batch_size=100,
        )
    counts.enterprises = (len(missing), len(existing))
    # bulk_create does not return ids on every backend: read them back in one query.
    rows = await Enterprise.filter(credit_code__in=codes).values_list("credit_code", "id")
    return {str(code): int(pk) for code, pk in rows}, {e.credit_code for e in missing}


async def _load_users(counts: _Counts) -> dict[str, tuple[int, bool]]:
    """Returns username → (id, is_demo); an existing non-demo user is left alone."""
    rows = await User.filter(username__in=DEMO_USERNAMES).values_list("username", "id", "is_demo")
    users = {str(u): (int(pk), bool(demo)) for u, pk, demo in rows}
    missing = [u for u in DEMO_USERS if u.username not in users]
    if missing:
        password_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow by design: hash once
        for spec in missing:
            user = await User.create(
                username=spec.username,
                display_name=spec.display_name,
                rank=spec.rank,
                password_hash=password_hash,
                is_demo=True,
            )
            users[spec.username] = (user.id, True)
    counts.users = (len(missing), len(DEMO_USERS) - len(missing))
    return users


async def _load_grants(
    counts: _Counts,
    users: dict[str, tuple[int, bool]],
    regions: dict[str, tuple[int, str]],
    departments: dict[str, int],
    points: dict[str, int],
) -> None:
    demo_ids = [pk for pk, demo in users.values() if demo]
    rows = await RoleGrant.filter(user_id__in=demo_ids).values_list(
        "id", "user_id", "role", "region_id", "department_id", "service_point_id"
    )
    existing = {(u, Role(r), reg, dept): (pk, sp) for pk, u, r, reg, dept, sp in rows}
    new: list[RoleGrant] = []
    for spec in DEMO_USERS:
        user_id, demo = users[spec.username]
        if not demo:
            continue
        for g in spec.grants:
            region_id = regions[g.region][0] if g.region else None
            department_id = departments[g.department] if g.department else None
            point_id = points[g.service_point] if g.service_point else None
            found = existing.get((user_id, g.role, region_id, department_id))
            if found is not None:
                # Demo databases from before service points: give the agent its desk.
                if point_id is not None and found[1] is None:
                    await RoleGrant.filter(id=found[0]).update(service_point_id=point_id)
                continue
            new.append(
                RoleGrant(
                    user_id=user_id,
                    role=g.role,
                    region_id=region_id,
                    department_id=department_id,
                    lead=g.lead,
                    service_point_id=point_id,
                )
            )
    if new:
        await RoleGrant.bulk_create(new)
    counts.grants = len(new)


async def _load_contacts(
    counts: _Counts,
    data: _Dataset,
    enterprise_ids: dict[str, int],
    new_enterprises: set[str],
    users: dict[str, tuple[int, bool]],
) -> None:
    """Contacts come with their enterprise; an enterprise already present keeps its own."""

    def linked_user(contact: _ContactSpec) -> int | None:
        if contact.username is None:
            return None
        user_id, demo = users[contact.username]
        return user_id if demo else None

    new = [
        EnterpriseContact(
            enterprise_id=enterprise_ids[e.credit_code],
            name=c.name,
            mobile=c.mobile,
            position=c.position,
            user_id=linked_user(c),
        )
        for e in data.enterprises
        if e.credit_code in new_enterprises
        for c in e.contacts
    ]
    if new:
        await EnterpriseContact.bulk_create(new, batch_size=200)
    counts.contacts = len(new)

    # The demo enterprise existed but its contact lost the link (say, an admin unlinked it).
    user_id, demo = users["enterprise"]
    if demo and not await EnterpriseContact.filter(user_id=user_id).exists():
        await EnterpriseContact.filter(
            enterprise_id=enterprise_ids[DEMO_ENTERPRISE_CREDIT_CODE],
            mobile=_DEMO_CONTACT_MOBILE,
        ).update(user_id=user_id)


async def _load_assignments(
    counts: _Counts,
    data: _Dataset,
    enterprise_ids: dict[str, int],
    users: dict[str, tuple[int, bool]],
) -> None:
    new: list[LeaderAssignment] = []
    plan = (
        ("cadre", data.cadre_enterprises, "城关镇干部包联企业"),
        ("leader", data.leader_enterprises, "县领导包联企业"),
    )
    for username, codes, note in plan:
        leader_id, demo = users[username]
        if not demo:
            continue
        assigned = set(
            await LeaderAssignment.filter(leader_id=leader_id).values_list(
                "enterprise_id", flat=True
            )
        )
        for code in codes:
            enterprise_id = enterprise_ids[code]
            if enterprise_id not in assigned:
                new.append(
                    LeaderAssignment(
                        enterprise_id=enterprise_id,
                        leader_id=leader_id,
                        start_date=ASSIGNMENT_START,
                        end_date=None,
                        note=note,
                    )
                )
    if new:
        await LeaderAssignment.bulk_create(new)
    counts.assignments = len(new)


# --------------------------------------------------------------------------- support policies

# The 惠企政策 catalog cadres hand over on visits: (region key, None for nationwide; title;
# issuer; document number; summary). The county and park entries are fictional like the county.
DEMO_SUPPORT_POLICIES: tuple[tuple[str | None, str, str, str, str], ...] = (
    (
        None,
        "国务院办公厅关于进一步优化营商环境降低市场主体制度性交易成本的意见",
        "国务院办公厅",
        "国办发〔2022〕30号",
        "从破除隐性门槛、规范涉企收费、优化涉企服务、加强公正监管、规范行政权力五个方面，"
        "降低市场主体准入、经营和办事成本；严禁违规设置准入障碍，清理规范涉企收费和罚款，"
        "推动涉企事项集成办理、一次办好。",
    ),
    (
        None,
        "人力资源社会保障部 财政部 国家税务总局关于延续实施失业保险援企稳岗政策的通知",
        "人力资源社会保障部 财政部 国家税务总局",
        "人社部发〔2023〕19号",
        "延续阶段性降低失业保险费率至1%；不裁员或少裁员的参保企业可申领失业保险稳岗返还，"
        "大型企业按上年度实际缴纳失业保险费的30%返还，中小微企业按60%返还，"
        "符合条件的企业免申即享。具体比例和期限以当年政策为准。",
    ),
    (
        None,
        "关于进一步支持小微企业和个体工商户发展有关税费政策的公告",
        "财政部 税务总局",
        "财政部 税务总局公告2023年第12号",
        "对增值税小规模纳税人、小型微利企业和个体工商户减半征收资源税（不含水资源税）、"
        "城市维护建设税、房产税、城镇土地使用税、印花税（不含证券交易印花税）、耕地占用税"
        "和教育费附加、地方教育附加（“六税两费”），执行至2027年12月31日。",
    ),
    (
        None,
        "关于进一步完善研发费用税前加计扣除政策的公告",
        "财政部 税务总局",
        "财政部 税务总局公告2023年第7号",
        "企业开展研发活动实际发生的研发费用，未形成无形资产计入当期损益的，自2023年1月1日起"
        "在据实扣除的基础上再按实际发生额的100%在税前加计扣除；形成无形资产的，"
        "按无形资产成本的200%在税前摊销。",
    ),
    (
        _COUNTY,
        "清河县工业企业技术改造项目财政补助办法",
        "清河县经济和信息化局 清河县财政局",
        "清经信〔2025〕8号",
        "对当年竣工、设备投资500万元以上的工业技术改造项目，按设备投资额的8%给予补助，"
        "单个项目最高200万元；智能化、数字化改造项目补助比例提高2个百分点。"
        "每年3月向县经济和信息化局申报。",
    ),
    (
        _COUNTY,
        "清河县高层次人才安居补贴实施细则",
        "中共清河县委人才工作领导小组办公室",
        "清人才办〔2025〕2号",
        "全职引进到县内企业工作的博士、硕士及副高以上职称人才，首次在县内购房的分别给予"
        "30万元、15万元购房补贴，分5年发放；未购房的按每月2000元、1000元发放租房补贴，"
        "最长3年。由用人单位向县人才办集中申报。",
    ),
    (
        _DEV_ZONE,
        "清河经济开发区工业企业“小升规”奖励办法",
        "清河经济开发区管理委员会",
        "清开管〔2025〕5号",
        "区内企业首次纳入规模以上工业统计的，一次性奖励10万元；升规后连续三年保持规上且"
        "产值年均增长10%以上的，再奖励5万元。",
    ),
)


async def _load_work_order_prefix(county_id: int) -> None:
    """The county's work-order prefix in its region policy, unless one is set already."""
    row = await RegionPolicy.get_or_none(region_id=county_id)
    if row is not None and "work_order_prefix" in row.overrides:
        return
    if row is None:
        await RegionPolicy.create(
            region_id=county_id, overrides={"work_order_prefix": WORK_ORDER_PREFIX}
        )
    else:
        row.overrides = {**row.overrides, "work_order_prefix": WORK_ORDER_PREFIX}
        await row.save(update_fields=["overrides", "updated_at"])
    invalidate_policy_cache()
    await announce(POLICY_CHANNEL)


async def _load_support_policies(regions: dict[str, tuple[int, str]]) -> int:
    """Add the demo catalog entries that are missing, keyed by region and title; returns how
    many were created. Entries present (even edited or withdrawn since) are left alone."""
    wanted = [
        (regions[key][0] if key else None, title, issuer, number, summary)
        for key, title, issuer, number, summary in DEMO_SUPPORT_POLICIES
    ]
    rows = await SupportPolicy.filter(title__in=[w[1] for w in wanted]).values_list(
        "region_id", "title"
    )
    existing = {(region_id, title) for region_id, title in rows}
    new = [
        SupportPolicy(
            region_id=region_id,
            title=title,
            issuer=issuer,
            document_number=number,
            summary=summary,
        )
        for region_id, title, issuer, number, summary in wanted
        if (region_id, title) not in existing
    ]
    if new:
        await SupportPolicy.bulk_create(new)
    return len(new)
