"""Demo service points (服务点) and their procedure catalogs (事项): the development zone's
"园小二" agency desk with two agents, and 城关镇's citizen service centre with one.

Positions are GCJ-02 (as an Amap pick gives them) for the zone's desk and WGS-84 (a GPS survey)
for the town centre's, so distances are worked out across coordinate systems from the start.
Loaded directly (they are reference data, like regions and departments); idempotent by the
point's name in its region and the procedure's name at its point."""

from __future__ import annotations

from dataclasses import dataclass

from models.rules.roles import CoordinateSystem
from models.tables.service_points import Procedure, ServicePoint

WEEKDAY_HOURS = {
    day: [["08:30", "12:00"], ["13:30", "17:30"]] for day in ("MON", "TUE", "WED", "THU", "FRI")
}
# The town centre also opens on Saturday mornings (weekend hours close on a holiday's weekend).
TOWN_HOURS = {
    **{
        day: [["09:00", "12:00"], ["13:00", "17:00"]] for day in ("MON", "TUE", "WED", "THU", "FRI")
    },
    "SAT": [["09:00", "12:00"]],
}


@dataclass(frozen=True, slots=True)
class Material:
    name: str
    may_be_missing: bool = False
    note: str = ""

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "mayBeMissing": self.may_be_missing, "note": self.note}


@dataclass(frozen=True, slots=True)
class ProcedureSpec:
    name: str
    code: str
    department: str
    materials: tuple[Material, ...]
    statutory_days: int | None
    promised_days: int
    fees: str = "不收费"
    online_url: str = ""


@dataclass(frozen=True, slots=True)
class PointSpec:
    key: str
    name: str
    region: str  # the demo region key
    address: str
    position: tuple[float, float]
    system: CoordinateSystem
    phone: str
    description: str
    hours: dict[str, list[list[str]]]
    slot_minutes: int
    slot_capacity: int
    procedures: tuple[ProcedureSpec, ...]


_ATTORNEY = Material("授权委托书（企业盖章、法定代表人签字）")
_LICENCE = Material("营业执照副本复印件")
_ID = Material("法定代表人身份证复印件")

FOOD_LICENCE_CHANGE = "食品经营许可证变更"

POINTS: tuple[PointSpec, ...] = (
    PointSpec(
        "zone_desk",
        "开发区“园小二”帮办代办服务站",
        "清河经济开发区",
        "清河经济开发区科技大道 1 号企业服务中心一楼",
        (30.25580, 119.77060),
        CoordinateSystem.GCJ02,
        "0571-63012345",
        "园区企业帮办代办：证照办理、项目审批、政策兑现，一次委托、全程代跑。",
        WEEKDAY_HOURS,
        30,
        2,
        (
            ProcedureSpec(
                FOOD_LICENCE_CHANGE,
                "SC-BG-001",
                "县市场监督管理局",
                (
                    _ATTORNEY,
                    _LICENCE,
                    Material("食品经营许可证正副本原件"),
                    Material("变更后的经营场所平面图", may_be_missing=True, note="标明功能区布局"),
                    Material("食品安全管理制度文本", may_be_missing=True),
                ),
                20,
                5,
            ),
            ProcedureSpec(
                "营业执照变更登记",
                "SC-DJ-002",
                "县市场监督管理局",
                (_ATTORNEY, _LICENCE, _ID, Material("股东会决议", may_be_missing=True)),
                15,
                3,
            ),
            ProcedureSpec(
                "建设工程规划许可证核发",
                "ZR-GH-003",
                "县自然资源和规划局",
                (
                    _ATTORNEY,
                    Material("建设工程设计方案总平面图"),
                    Material("土地使用权证明"),
                    Material("建设项目批准文件", may_be_missing=True),
                ),
                20,
                10,
                online_url="https://zwfw.example.gov.cn/item/ZR-GH-003",
            ),
            ProcedureSpec(
                "排污许可证申领",
                "ST-PW-004",
                "县生态环境局",
                (_ATTORNEY, _LICENCE, Material("排污许可申请表"), Material("环评批复文件")),
                20,
                15,
            ),
        ),
    ),
    PointSpec(
        "town_centre",
        "城关镇便民服务中心",
        "城关镇",
        "城关镇人民路 88 号",
        (30.23520, 119.71140),
        CoordinateSystem.WGS84,
        "0571-63023456",
        "镇级帮办代办：社保、就业、个体工商户登记。",
        TOWN_HOURS,
        20,
        3,
        (
            ProcedureSpec(
                "个体工商户设立登记",
                "SC-GT-101",
                "县市场监督管理局",
                (_ID, Material("经营场所证明"), Material("委托书", may_be_missing=True)),
                15,
                2,
            ),
            ProcedureSpec(
                "企业职工参保登记",
                "RS-CB-102",
                "县人力资源和社会保障局",
                (_ATTORNEY, _LICENCE, Material("职工花名册")),
                None,
                3,
            ),
        ),
    ),
)
POINT_BY_KEY = {p.key: p for p in POINTS}


async def load_demo_service_points(
    regions: dict[str, tuple[int, str]], departments: dict[str, int]
) -> dict[str, int]:
    """Create what is missing; the point ids by spec key."""
    ids: dict[str, int] = {}
    for spec in POINTS:
        region_id = regions[spec.region][0]
        point = await ServicePoint.get_or_none(region_id=region_id, name=spec.name)
        if point is None:
            point = await ServicePoint.create(
                name=spec.name,
                region_id=region_id,
                address=spec.address,
                latitude=spec.position[0],
                longitude=spec.position[1],
                coordinate_system=spec.system,
                phone=spec.phone,
                description=spec.description,
                opening_hours=spec.hours,
                slot_minutes=spec.slot_minutes,
                slot_capacity=spec.slot_capacity,
            )
        ids[spec.key] = point.id
        present = set(
            await Procedure.filter(service_point_id=point.id).values_list("name", flat=True)
        )
        new = [
            Procedure(
                service_point_id=point.id,
                name=p.name,
                code=p.code,
                department_id=departments.get(p.department),
                materials=[m.as_json() for m in p.materials],
                statutory_days=p.statutory_days,
                promised_days=p.promised_days,
                fees=p.fees,
                online_url=p.online_url,
            )
            for p in spec.procedures
            if p.name not in present
        ]
        if new:
            await Procedure.bulk_create(new)
    return ids
