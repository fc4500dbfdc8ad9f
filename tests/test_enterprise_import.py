"""The enterprise import: what an admin sees when feeding the statistics bureau's sheet in."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from tortoise.connection import get_connection
from tortoise.exceptions import OperationalError

from models.access import load_actor
from models.errors import DomainError
from models.messages import message
from models.ops import enterprises as ent_ops
from models.ops import org as org_ops
from models.ops.enterprise_import import ImportReport, cell_text, import_enterprises, read_sheet
from models.rules.actor import Actor, Grant
from models.rules.identifiers import make_credit_code
from models.rules.roles import Role
from models.tables.enterprises import Enterprise, EnterpriseContact
from models.tables.org import Region, User

HEADER = ["企业名称*", "统一社会信用代码*", "所属乡镇*", "联系人", "联系电话", "地址"]


def code(n: int) -> str:
    """A valid credit code; `n` keeps them distinct."""
    return make_credit_code(f"91330599{n:09d}")


def bad_check_digit(n: int) -> str:
    good = code(n)
    return good[:-1] + ("1" if good[-1] != "1" else "2")


def write_xlsx(path: Path, rows: list[list[Any]]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row, start=1):
            if value is not None:
                ws.cell(row=r, column=c, value=value)
    wb.save(path)
    return path


def title_sheet(path: Path, data: list[list[Any]], header: list[str] = HEADER) -> Path:
    """The bureau's layout: a title in row 1, a blank row 2, the header in row 3, data from 4."""
    return write_xlsx(path, [["2025年清河县重点企业名录"], [], header, *data])


# --- reading files (no database) ---


def test_xlsx_with_title_row_aliases_numbers_and_blank_rows(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path / "名录.xlsx",
        [
            ["清河县规上企业名录（2025年）"],
            [None, "填报单位：县统计局"],
            ["序号", "单位名称 *", "统一社会\n信用代码*", "所属镇街", "联系人", "手机号码", "经度"],
            [1, "恒达机械", "91330599000000001X", "城关镇", "张伟", 13800138000, 120.15],
            [None, None, None, None, None, None, None],
            [2, "\u3000华通物流 ", "913305990000000021 ", 330599100, " 李娜", 13900139000.0, 121.0],
            [3],  # only the serial number: a pre-numbered empty line
        ],
    )
    rows = read_sheet(path)
    assert [r.row_number for r in rows] == [4, 6]
    assert rows[0].values == {
        "name": "恒达机械",
        "credit_code": "91330599000000001X",
        "region": "城关镇",
        "contact_name": "张伟",
        "contact_mobile": "13800138000",
        "longitude": "120.15",
    }
    assert rows[1].values["name"] == "华通物流"
    assert rows[1].values["credit_code"] == "913305990000000021"
    assert rows[1].values["region"] == "330599100"
    assert rows[1].values["contact_name"] == "李娜"
    assert rows[1].values["contact_mobile"] == "13900139000"
    assert rows[1].values["longitude"] == "121"


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (None, ""),
        (13800138000.0, "13800138000"),  # Excel keeps phone numbers as floats
        (13800138000, "13800138000"),
        (120.15, "120.15"),
        ("\u3000 城关镇\u3000", "城关镇"),  # full-width spaces from Chinese input methods
        ("\ufeff\u200b恒达机械 ", "恒达机械"),  # invisible characters from copy-paste
        (True, "true"),
    ],
)
def test_cell_text(raw: Any, text: str) -> None:
    assert cell_text(raw) == text


def test_header_below_row_ten_is_not_found(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "deep.xlsx", [[f"说明{i}"] for i in range(10)] + [HEADER])
    with pytest.raises(DomainError) as exc:
        read_sheet(path)
    assert exc.value.code == "UNKNOWN_HEADER"
    assert exc.value.problems[0].params == {"value": "企业名称"}


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_in_utf8_with_bom_and_in_gb18030(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "名录.csv"
    with path.open("w", encoding=encoding, newline="") as f:
        w = csv.writer(f)
        w.writerow(["企业(单位)名称", "社会信用代码", "乡镇街道", "法人代表", "规上工业"])
        w.writerow(["清河县鑫源食品有限公司", code(1), "城关镇", "王芳", "是"])
        w.writerow([])
        w.writerow(["", "", "", "", ""])
        w.writerow(["清河县华通物流有限公司", code(2), "西山镇", "", "否"])
    rows = read_sheet(path)
    assert [r.row_number for r in rows] == [2, 5]
    assert rows[0].values == {
        "name": "清河县鑫源食品有限公司",
        "credit_code": code(1),
        "region": "城关镇",
        "legal_representative": "王芳",
        "above_scale_industry": "是",
    }
    assert rows[1].values["above_scale_industry"] == "否"


def test_missing_required_column_refuses_the_file(tmp_path: Path) -> None:
    path = title_sheet(
        tmp_path / "no-region.xlsx", [["恒达机械", code(1)]], ["企业名称", "信用代码"]
    )
    with pytest.raises(DomainError) as exc:
        read_sheet(path)
    p = exc.value.problems[0]
    assert p.code == "UNKNOWN_HEADER"
    assert message(p.code, "zh", p.field, **p.params) == "缺少必需的列：所属区域"
    assert message(p.code, "en", p.field, **p.params) == "Missing required column: 所属区域"


def test_other_file_types_are_refused(tmp_path: Path) -> None:
    txt = tmp_path / "名录.txt"
    txt.write_text("企业名称,统一社会信用代码,所属区域\n", encoding="utf-8")
    with pytest.raises(DomainError) as exc:
        read_sheet(txt)
    assert exc.value.code == "UNSUPPORTED_FILE"

    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"this is not a zip file")
    with pytest.raises(DomainError) as exc:
        read_sheet(broken)
    assert exc.value.code == "UNREADABLE_FILE"


# --- importing into the database ---


@dataclass
class County:
    county: Region
    town_a: Region  # 城关镇
    town_b: Region  # 西山镇
    root: Actor


async def make_county() -> County:
    user = await User.create(username="root", display_name="root", password_hash="x")
    root = Actor(
        user_id=user.id,
        grants=(Grant(0, Role.ADMIN, None, None, None, False),),
    )
    county = await org_ops.create_region(
        root, name="清河县", level="COUNTY", parent_id=None, code="330599"
    )
    town_a = await org_ops.create_region(
        root, name="城关镇", level="TOWN", parent_id=county.id, code="330599100"
    )
    town_b = await org_ops.create_region(
        root, name="西山镇", level="TOWN", parent_id=county.id, code="330599101"
    )
    return County(county, town_a, town_b, root)


FULL_HEADER = [
    "企业名称*",
    "统一社会信用代码*",
    "所属区域*",
    "行业代码",
    "企业规模",
    "法定代表人",
    "联系人",
    "联系电话",
    "联系人职务",
    "注册地址",
    "经度",
    "纬度",
    "坐标系",
    "规上工业",
    "限上批零住餐",
]


def five_rows() -> list[list[Any]]:
    return [
        ["清河县恒达机械制造有限公司", code(1), "城关镇", "C3311", "中型", "赵强", "张伟",
         13800138000, "办公室主任", "城关镇工业路1号", 120.15, 30.28, "GCJ-02", "是", "否"],
        ["清河县鑫源食品有限公司", code(2), "城关镇", "C1391", "小型", "钱进", "李娜",
         "139 0013 9000", "", "城关镇民生路8号", None, None, None, "√", None],
        ["清河县华通物流有限公司", code(3), "西山镇", "G5430", "LARGE", "孙立", "王芳",
         13700137000, "总经理", "西山镇物流园", 120.5, 30.1, "WGS84", "0", "1"],
        ["清河县明远建材有限公司", code(4), "西山镇", "C3021", "微型", "李明", "周杰",
         13600136000, "", "西山镇建材市场", None, None, None, "N", "N"],
        ["清河县新安商贸有限公司", code(5), "城关镇", "F5211", "大型", "吴新", "郑洁",
         15900159000, "财务", "城关镇新安街3号", None, None, None, None, "Y"],
    ]  # fmt: skip


async def snapshot() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ents = await Enterprise.all().order_by("id").values()
    contacts = await EnterpriseContact.all().order_by("id").values()
    return ents, contacts


def skipped(report: ImportReport) -> list[tuple[int, str, str | None]]:
    return [(s.row_number, s.code, s.field) for s in report.skipped]


async def test_five_rows_create_five_enterprises_with_contacts(db: str, tmp_path: Path) -> None:
    c = await make_county()
    path = title_sheet(tmp_path / "名录.xlsx", five_rows(), FULL_HEADER)

    report = await import_enterprises(c.root, path)

    assert (report.created, report.updated, report.unchanged, report.skipped) == (5, 0, 0, [])
    assert report.summary("zh") == "导入完成：新增 5 家，更新 0 家，未变化 0 家，跳过 0 行"
    assert report.summary("en") == (
        "Import finished: 5 created, 0 updated, 0 unchanged, 0 rows skipped"
    )
    ents = {e.credit_code: e for e in await Enterprise.all()}
    assert len(ents) == 5
    hengda = ents[code(1)]
    assert hengda.name == "清河县恒达机械制造有限公司"
    assert hengda.region_id == c.town_a.id  # type: ignore[attr-defined]
    assert (hengda.industry_code, hengda.scale, hengda.legal_representative) == (
        "C3311",
        "MEDIUM",
        "赵强",
    )
    assert (hengda.longitude, hengda.latitude, hengda.coordinate_system) == (120.15, 30.28, "GCJ02")
    assert hengda.address == "城关镇工业路1号"
    assert (hengda.above_scale_industry, hengda.above_limit_trade) == (True, False)
    huatong = ents[code(3)]
    assert huatong.region_id == c.town_b.id  # type: ignore[attr-defined]
    assert (huatong.scale, huatong.coordinate_system) == ("LARGE", "WGS84")
    assert (huatong.above_scale_industry, huatong.above_limit_trade) == (False, True)
    assert ents[code(5)].scale == "LARGE"
    assert ents[code(4)].scale == "MICRO"

    contacts = await EnterpriseContact.filter(enterprise_id=hengda.id).values(
        "name", "mobile", "position"
    )
    assert contacts == [{"name": "张伟", "mobile": "13800138000", "position": "办公室主任"}]
    spaced = await EnterpriseContact.get(enterprise_id=ents[code(2)].id)
    assert spaced.mobile == "13900139000"
    assert await EnterpriseContact.all().count() == 5


async def test_importing_the_same_sheet_again_changes_nothing(db: str, tmp_path: Path) -> None:
    c = await make_county()
    path = title_sheet(tmp_path / "名录.xlsx", five_rows(), FULL_HEADER)
    await import_enterprises(c.root, path)
    before = await snapshot()

    again = await import_enterprises(c.root, path)

    assert (again.created, again.updated, again.unchanged, again.skipped) == (0, 0, 5, [])
    assert await snapshot() == before  # same updated_at, version and contact rows


async def test_bad_rows_are_skipped_with_row_numbers_and_good_rows_land(
    db: str, tmp_path: Path
) -> None:
    c = await make_county()
    header = ["企业名称", "统一社会信用代码", "所属区域", "联系人", "联系电话", "经度", "纬度"]
    header.append("规上工业")
    path = title_sheet(
        tmp_path / "名录.xlsx",
        [
            ["甲公司", code(1), "城关镇", "张伟", 13800138000, None, None, "是"],  # row 4
            ["乙公司", bad_check_digit(2), "城关镇", "李娜", 13900139000, None, None, None],
            ["丙公司", code(3), "城关镇", "王芳", 12345, None, None, None],  # row 6
            ["丁公司", code(4), "西山镇", None, None, None, None, None],
            ["戊公司", code(5), "西山镇", "周杰", None, None, None, None],  # row 8: no mobile
            ["己公司", code(6), "西山镇", None, None, "东经120度", 30.2, None],
            ["庚公司", code(7), "西山镇", None, None, 200, 30.2, None],  # row 10: out of range
            ["辛公司", code(8), "西山镇", None, None, None, None, "待定"],
            [None, code(10), "西山镇", None, None, None, None, None],  # row 12: no name
        ],
        header,
    )

    report = await import_enterprises(c.root, path)

    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    assert skipped(report) == [
        (5, "INVALID_CREDIT_CODE_CHECK_DIGIT", "creditCode"),
        (6, "INVALID_MOBILE", "contacts.0.mobile"),
        (8, "INVALID_MOBILE", "contacts.0.mobile"),
        (9, "INVALID_COORDINATES", "longitude"),
        (10, "INVALID_COORDINATES", "longitude"),
        (11, "INVALID_CHOICE", "aboveScaleIndustry"),
        (12, "REQUIRED", "name"),
    ]
    messages = [s.message for s in report.skipped]
    assert messages[0] == "统一社会信用代码校验位错误"
    assert messages[1] == "手机号码无效（须为中国大陆手机号）"
    assert messages[5:] == ["规上工业取值无效：待定", "企业名称不能为空"]
    assert report.summary() == "导入完成：新增 2 家，更新 0 家，未变化 0 家，跳过 7 行"
    assert set(await Enterprise.all().values_list("name", flat=True)) == {"甲公司", "丁公司"}
    assert await EnterpriseContact.all().values_list("mobile", flat=True) == ["13800138000"]

    english = await import_enterprises(c.root, path, locale="en")
    assert english.summary("en") == (
        "Import finished: 0 created, 0 updated, 2 unchanged, 7 rows skipped"
    )
    assert [s.message for s in english.skipped][::5] == [
        "The unified social credit code fails its check digit",
        "Invalid Above-scale industry: 待定",
    ]
    assert english.unchanged == 2


async def test_unknown_and_ambiguous_region_names_are_skipped(db: str, tmp_path: Path) -> None:
    c = await make_county()
    # The same park name under both towns: the name alone cannot say which one.
    for town in (c.town_a, c.town_b):
        await org_ops.create_region(c.root, name="工业园区", level="PARK", parent_id=town.id)
    path = title_sheet(
        tmp_path / "名录.xlsx",
        [
            ["甲公司", code(1), "东湖镇"],
            ["乙公司", code(2), "工业园区"],
            ["丙公司", code(3), ""],
            ["丁公司", code(4), "城关镇"],
        ],
        ["企业名称", "统一社会信用代码", "所属区域"],
    )

    report = await import_enterprises(c.root, path)

    assert skipped(report) == [
        (4, "UNKNOWN_REGION", "regionId"),
        (5, "UNKNOWN_REGION", "regionId"),
        (6, "REQUIRED", "regionId"),
    ]
    assert report.skipped[0].message == "找不到区域：东湖镇"
    assert report.skipped[2].message == "所属区域不能为空"
    assert report.created == 1
    assert await Enterprise.all().values_list("name", flat=True) == ["丁公司"]


async def test_changed_address_on_reimport_counts_as_updated(db: str, tmp_path: Path) -> None:
    c = await make_county()
    rows = five_rows()
    await import_enterprises(c.root, title_sheet(tmp_path / "v1.xlsx", rows, FULL_HEADER))
    before = {e.credit_code: e for e in await Enterprise.all()}
    rows[1][9] = "城关镇民生路18号"

    report = await import_enterprises(c.root, title_sheet(tmp_path / "v2.xlsx", rows, FULL_HEADER))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    after = {e.credit_code: e for e in await Enterprise.all()}
    assert after[code(2)].address == "城关镇民生路18号"
    assert after[code(2)].version == before[code(2)].version + 1
    assert after[code(2)].name == before[code(2)].name
    assert after[code(1)].version == before[code(1)].version


async def test_blank_optional_cells_keep_stored_values(db: str, tmp_path: Path) -> None:
    c = await make_county()
    await import_enterprises(c.root, title_sheet(tmp_path / "v1.xlsx", five_rows(), FULL_HEADER))
    before = await snapshot()
    # Only name, credit code and region filled in: a thinner sheet from another bureau.
    rows = [[*r[:3], *([None] * (len(FULL_HEADER) - 3))] for r in five_rows()]

    report = await import_enterprises(c.root, title_sheet(tmp_path / "v2.xlsx", rows, FULL_HEADER))

    assert (report.updated, report.unchanged) == (0, 5)
    assert await snapshot() == before
    hengda = await Enterprise.get(credit_code=code(1))
    assert (hengda.above_scale_industry, hengda.address) == (True, "城关镇工业路1号")


async def test_region_given_by_code(db: str, tmp_path: Path) -> None:
    c = await make_county()
    path = title_sheet(
        tmp_path / "名录.xlsx",
        [["甲公司", code(1), 330599101], ["乙公司", code(2), "330599"]],
        ["企业名称", "统一社会信用代码", "所属区域"],
    )

    report = await import_enterprises(c.root, path)

    assert (report.created, report.skipped) == (2, [])
    regions = dict(await Enterprise.all().values_list("name", "region_id"))
    assert regions == {"甲公司": c.town_b.id, "乙公司": c.county.id}


async def test_town_admin_cannot_import_into_another_town(db: str, tmp_path: Path) -> None:
    c = await make_county()
    existing = await ent_ops.create_enterprise(
        c.root,
        ent_ops.EnterpriseData(name="西山老企业", credit_code=code(9), region_id=c.town_b.id),
    )
    town_admin = await org_ops.create_user(
        c.root,
        username="town_admin",
        fields=org_ops.UserFields(display_name="城关镇管理员", password="correct-horse-battery"),
    )
    await org_ops.grant_role(c.root, user_id=town_admin.id, role="ADMIN", region_id=c.town_a.id)
    actor = await load_actor(town_admin.id)
    parks = [
        await org_ops.create_region(c.root, name="工业园区", level="PARK", parent_id=town.id)
        for town in (c.town_a, c.town_b)
    ]
    path = title_sheet(
        tmp_path / "名录.xlsx",
        [
            ["甲公司", code(1), "城关镇"],
            ["乙公司", code(2), "西山镇"],
            ["丙公司", code(3), "330599101"],
            ["西山老企业", code(9), "城关镇"],  # moving another town's enterprise away
            ["园区公司", code(4), "工业园区"],  # only one of the two parks is the admin's
        ],
        ["企业名称", "统一社会信用代码", "所属区域"],
    )

    report = await import_enterprises(actor, path)

    assert report.created == 2
    park_firm = await Enterprise.get(credit_code=code(4))
    assert park_firm.region_id == parks[0].id  # type: ignore[attr-defined]
    assert skipped(report) == [
        (5, "REGION_OUT_OF_SCOPE", "regionId"),
        (6, "REGION_OUT_OF_SCOPE", "regionId"),
        (7, "REGION_OUT_OF_SCOPE", "regionId"),
    ]
    assert report.skipped[0].message == "该区域不在您的管辖范围内"
    assert await Enterprise.all().order_by("id").values_list("name", flat=True) == [
        "西山老企业",
        "甲公司",
        "园区公司",
    ]
    unmoved = await Enterprise.get(id=existing.id)
    assert unmoved.region_id == c.town_b.id  # type: ignore[attr-defined]


async def test_credit_code_twice_in_one_file(db: str, tmp_path: Path) -> None:
    c = await make_county()
    path = title_sheet(
        tmp_path / "名录.xlsx",
        [
            ["甲公司", code(1), "城关镇"],
            ["乙公司", code(2), "城关镇"],
            ["甲公司（重复）", code(1).lower(), "西山镇"],
        ],
        ["企业名称", "统一社会信用代码", "所属区域"],
    )

    report = await import_enterprises(c.root, path)

    assert report.created == 2
    assert skipped(report) == [(6, "DUPLICATE_IN_FILE", "creditCode")]
    assert report.skipped[0].message == "统一社会信用代码与第 4 行重复，本行未导入"
    first = await Enterprise.get(credit_code=code(1))
    assert (first.name, first.region_id) == ("甲公司", c.town_a.id)  # type: ignore[attr-defined]


async def test_a_crash_mid_file_leaves_no_half_written_enterprise(db: str, tmp_path: Path) -> None:
    c = await make_county()
    path = title_sheet(tmp_path / "名录.xlsx", five_rows(), FULL_HEADER)
    # A real fault: the contacts table is gone, so each row fails after its enterprise
    # was inserted and before its contacts are; the import stops with the database error.
    conn = get_connection("default")
    await conn.execute_script("ALTER TABLE enterprise_contact RENAME TO enterprise_contact_away")
    try:
        with pytest.raises(OperationalError):
            await import_enterprises(c.root, path)
    finally:
        await conn.execute_script(
            "ALTER TABLE enterprise_contact_away RENAME TO enterprise_contact"
        )
    assert await Enterprise.all().count() == 0
    assert await EnterpriseContact.all().count() == 0


async def test_reimport_keeps_contacts_the_sheet_does_not_list(db: str, tmp_path: Path) -> None:
    c = await make_county()
    rows = five_rows()
    await import_enterprises(c.root, title_sheet(tmp_path / "v1.xlsx", rows, FULL_HEADER))
    ent = await Enterprise.get(credit_code=code(1))
    app_user = await User.create(username="zhangwei", display_name="张伟", password_hash="x")
    await EnterpriseContact.create(enterprise=ent, name="陈静", mobile="13511112222", user=app_user)
    rows[0][6], rows[0][7] = "刘洋", 18800188000  # the bureau's sheet now names another contact

    report = await import_enterprises(c.root, title_sheet(tmp_path / "v2.xlsx", rows, FULL_HEADER))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 4)
    mobiles = await EnterpriseContact.filter(enterprise=ent).values_list("mobile", "user_id")
    assert sorted(mobiles) == [
        ("13511112222", app_user.id),
        ("13800138000", None),
        ("18800188000", None),
    ]
    assert (await Enterprise.get(id=ent.id)).updated_at > ent.updated_at
