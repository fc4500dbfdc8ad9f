"""Importing the enterprise register from the sheet the statistics bureau hands out.

`read_sheet` turns an .xlsx or .csv file into rows keyed by canonical column names;
`import_enterprises` sends each row through `upsert_enterprise`, one transaction per row, and
reports what was created, updated, left unchanged or skipped (with the sheet's row number).
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from models.access import ADMIN
from models.errors import DomainError, Problem, Problems
from models.messages import message
from models.ops.enterprises import FLAG_FIELDS, ContactData, EnterpriseData, upsert_enterprise
from models.rules.actor import Actor
from models.rules.roles import CoordinateSystem, EnterpriseScale
from models.tables.org import Region

# Canonical key -> accepted headers (already normalised: no spaces, ASCII parentheses).
# The first alias is the name shown to people when the column is missing.
_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("企业名称", "单位名称", "企业(单位)名称"),
    "credit_code": ("统一社会信用代码", "信用代码", "社会信用代码"),
    "region": ("所属区域", "所属乡镇", "所属镇街", "乡镇街道", "区域"),
    "industry_code": ("行业代码", "国民经济行业代码", "行业分类代码"),
    "scale": ("企业规模", "规模"),
    "legal_representative": ("法定代表人", "法人代表", "法人"),
    "contact_name": ("联系人",),
    "contact_mobile": ("联系电话", "联系人电话", "手机号码", "手机"),
    "contact_position": ("联系人职务", "职务"),
    "address": ("地址", "注册地址", "经营地址", "详细地址"),
    "longitude": ("经度",),
    "latitude": ("纬度",),
    "coordinate_system": ("坐标系",),
    "above_scale_industry": ("规上工业", "是否规上工业"),
    "qualified_construction": ("资质内建筑业",),
    "above_limit_trade": ("限上批零住餐", "限上商贸"),
    "above_scale_service": ("规上服务业",),
    "real_estate_development": ("房地产开发",),
}
_HEADER_KEY = {alias: key for key, aliases in _ALIASES.items() for alias in aliases}
REQUIRED_COLUMNS = ("name", "credit_code", "region")
# Statistics-bureau sheets often carry a title (and a blank line) above the header.
HEADER_SEARCH_ROWS = 10

_COLUMN_EN = {
    "name": "Enterprise name",
    "credit_code": "Credit code",
    "region": "Region",
    "industry_code": "Industry code",
    "scale": "Scale",
    "legal_representative": "Legal representative",
    "contact_name": "Contact",
    "contact_mobile": "Contact phone",
    "contact_position": "Contact position",
    "address": "Address",
    "longitude": "Longitude",
    "latitude": "Latitude",
    "coordinate_system": "Coordinate system",
    "above_scale_industry": "Above-scale industry",
    "qualified_construction": "Qualified construction",
    "above_limit_trade": "Above-limit trade",
    "above_scale_service": "Above-scale service",
    "real_estate_development": "Real estate development",
}


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(p.title() for p in rest)


# Problem field (as upsert_enterprise names it) -> sheet column, so messages name the column.
_FIELD_COLUMN = {_camel(k): k for k in _ALIASES} | {
    "regionId": "region",
    "contacts.name": "contact_name",
    "contacts.mobile": "contact_mobile",
    "contacts.position": "contact_position",
}

_SCALES = {
    "大型": EnterpriseScale.LARGE,
    "中型": EnterpriseScale.MEDIUM,
    "小型": EnterpriseScale.SMALL,
    "微型": EnterpriseScale.MICRO,
}
_COORDINATE_SYSTEMS = {
    "WGS84": CoordinateSystem.WGS84,
    "GPS": CoordinateSystem.WGS84,
    "GCJ02": CoordinateSystem.GCJ02,
    "国测局": CoordinateSystem.GCJ02,
    "火星坐标": CoordinateSystem.GCJ02,
    "BD09": CoordinateSystem.BD09,
    "百度": CoordinateSystem.BD09,
}
_TRUE = frozenset({"是", "y", "yes", "1", "true", "√", "✓", "✔"})
_FALSE = frozenset({"否", "n", "no", "0", "false", "×", "✗"})
# str.strip() keeps zero-width spaces and stray BOMs that copy-paste leaves in cells.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"


@dataclass(frozen=True)
class SheetRow:
    row_number: int  # the spreadsheet's own 1-based row number
    values: dict[str, str]


@dataclass(frozen=True)
class SkippedRow:
    row_number: int
    code: str
    field: str | None
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)

    def summary(self, locale: str = "zh") -> str:
        if locale == "en":
            rows = "row" if len(self.skipped) == 1 else "rows"
            return (
                f"Import finished: {self.created} created, {self.updated} updated, "
                f"{self.unchanged} unchanged, {len(self.skipped)} {rows} skipped"
            )
        return (
            f"导入完成：新增 {self.created} 家，更新 {self.updated} 家，"
            f"未变化 {self.unchanged} 家，跳过 {len(self.skipped)} 行"
        )


# --- reading the file ---


def cell_text(value: Any) -> str:
    """A cell as an admin would read it: 13800138000.0 is "13800138000", spaces trimmed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value).strip().strip(_INVISIBLE).strip()


def _header_key(raw: str) -> str | None:
    text = re.sub(r"\s+", "", raw).replace("（", "(").replace("）", ")")
    return _HEADER_KEY.get(text.strip("*＊"))


def _rows_from_xlsx(path: Path) -> list[tuple[int, list[str]]]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError):
        raise DomainError("UNREADABLE_FILE") from None
    try:
        if not wb.worksheets:
            return []
        ws = wb.worksheets[0]
        # Some writers record a wrong sheet size; reading to the real end avoids losing rows.
        ws.reset_dimensions()
        # min_row=1: read-only sheets yield an empty row for every missing row, so the
        # position in this iteration is the spreadsheet's row number.
        return [
            (number, [cell_text(v) for v in row])
            for number, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)
        ]
    finally:
        wb.close()


def _rows_from_csv(path: Path) -> list[tuple[int, list[str]]]:
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel on Chinese Windows saves "CSV" in the ANSI code page (GBK/GB18030).
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise DomainError("UNREADABLE_FILE") from None
    try:
        # Numbered by record, not by line: Excel shows a quoted multi-line cell as one row.
        return [
            (number, [cell_text(v) for v in record])
            for number, record in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)
        ]
    except csv.Error:
        raise DomainError("UNREADABLE_FILE") from None


def read_sheet(path: Path) -> list[SheetRow]:
    """Rows below the header, keyed by canonical column; refuses a file missing a required
    column (UNKNOWN_HEADER) or of another type (UNSUPPORTED_FILE)."""
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        raw = _rows_from_xlsx(path)
    elif suffix == ".csv":
        raw = _rows_from_csv(path)
    else:
        raise DomainError("UNSUPPORTED_FILE")

    header_at, columns = _find_header(raw)
    out: list[SheetRow] = []
    for number, cells in raw[header_at + 1 :]:
        values = {key: cells[i] if i < len(cells) else "" for i, key in columns.items()}
        if any(values.values()):
            out.append(SheetRow(number, values))
    return out


def _find_header(raw: list[tuple[int, list[str]]]) -> tuple[int, dict[int, str]]:
    """Index into `raw` of the header row and its column position -> canonical key."""
    for index, (_, cells) in enumerate(raw[:HEADER_SEARCH_ROWS]):
        keys = [_header_key(c) for c in cells]
        if "name" not in keys:
            continue
        columns: dict[int, str] = {}
        for i, key in enumerate(keys):
            if key is not None and key not in columns.values():
                columns[i] = key
        problems = Problems()
        for key in REQUIRED_COLUMNS:
            if key not in columns.values():
                problems.add("UNKNOWN_HEADER", None, value=_ALIASES[key][0])
        problems.raise_if_any()
        return index, columns
    raise DomainError("UNKNOWN_HEADER", None, value=_ALIASES["name"][0])


# --- turning a row into EnterpriseData ---


@dataclass(frozen=True)
class _RegionRef:
    id: int
    path: str


class _Regions:
    """Every region, loaded once; a cell may hold a division code or a region name."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.by_code: dict[str, _RegionRef] = {}
        self.by_name: dict[str, list[_RegionRef]] = {}
        for r in rows:
            ref = _RegionRef(r["id"], r["path"])
            if r["code"]:
                self.by_code[r["code"]] = ref
            self.by_name.setdefault(r["name"], []).append(ref)

    def resolve(self, actor: Actor, value: str) -> int:
        if not value:
            raise DomainError("REQUIRED", "regionId")
        by_code = self.by_code.get(value)
        if by_code is not None:
            return by_code.id  # upsert_enterprise checks the actor's scope over it
        named = self.by_name.get(value, [])
        mine = [r for r in named if actor.covers(r.path, ADMIN)]
        if len(mine) == 1:
            return mine[0].id
        if named and not mine:
            raise DomainError("REGION_OUT_OF_SCOPE", "regionId")
        # Unknown, or the same name in several of the actor's regions (parks, villages):
        # guessing would file the enterprise in the wrong place.
        raise DomainError("UNKNOWN_REGION", "regionId", value=value)


def _flag(values: dict[str, str], key: str) -> bool | None:
    raw = values.get(key, "")
    if not raw:
        return None  # blank keeps the stored flag
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise DomainError("INVALID_CHOICE", _camel(key), value=raw)


def _coordinate(values: dict[str, str], key: str) -> float | None:
    raw = values.get(key, "")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise DomainError("INVALID_COORDINATES", key) from None


def _scale(raw: str) -> str | None:
    if not raw:
        return None
    known = _SCALES.get(raw.removesuffix("企业"))
    # An unknown value goes through so upsert_enterprise refuses it as INVALID_CHOICE.
    return known.value if known else raw.upper()


def _coordinate_system(raw: str) -> str | None:
    if not raw:
        return None
    compact = re.sub(r"[\s\-_.]", "", raw).upper()
    known = _COORDINATE_SYSTEMS.get(compact)
    return known.value if known else raw


def _contacts(values: dict[str, str]) -> list[ContactData] | None:
    name, mobile = values.get("contact_name", ""), values.get("contact_mobile", "")
    if not name and not mobile:
        return None  # no contact in the sheet keeps the enterprise's contacts
    # A name without a mobile is refused by upsert_enterprise as INVALID_MOBILE.
    return [ContactData(name, mobile, values.get("contact_position", ""))]


def _blank_as_none(values: dict[str, str], key: str) -> str | None:
    return values.get(key) or None


def row_data(values: dict[str, str], region_id: int) -> EnterpriseData:
    """The EnterpriseData of one row; a blank optional cell leaves the stored value alone."""
    data = EnterpriseData(
        name=values.get("name", ""),
        credit_code=values.get("credit_code", ""),
        region_id=region_id,
        legal_representative=_blank_as_none(values, "legal_representative"),
        address=_blank_as_none(values, "address"),
        longitude=_coordinate(values, "longitude"),
        latitude=_coordinate(values, "latitude"),
        coordinate_system=_coordinate_system(values.get("coordinate_system", "")),
        industry_code=_blank_as_none(values, "industry_code"),
        scale=_scale(values.get("scale", "")),
        contacts=_contacts(values),
    )
    for flag in FLAG_FIELDS:
        setattr(data, flag, _flag(values, flag))
    return data


def _duplicate_key(raw: str) -> str:
    return re.sub(r"[\s\-]", "", raw).upper()


def _skip(row_number: int, problem: Problem, locale: str) -> SkippedRow:
    params = dict(problem.params)
    column = _FIELD_COLUMN.get(re.sub(r"\.\d+\.", ".", problem.field or ""))
    if column is not None:
        # Name the column the admin sees in the sheet, not the API field.
        params["label"] = _COLUMN_EN[column] if locale == "en" else _ALIASES[column][0]
    text = message(problem.code, locale, problem.field, **params)
    return SkippedRow(row_number, problem.code, problem.field, text)


async def import_enterprises(actor: Actor, path: Path, *, locale: str = "zh") -> ImportReport:
    """Create or update one enterprise per row, each row in its own transaction.

    A refused row is reported with its row number and the others still land; the whole file
    is refused before anything is written when it cannot be read or lacks a required column.
    """
    rows = await asyncio.to_thread(read_sheet, path)
    regions = _Regions(await Region.all().values("id", "name", "code", "path"))
    report = ImportReport()
    first_row_of: dict[str, int] = {}
    for row in rows:
        key = _duplicate_key(row.values.get("credit_code", ""))
        if key and key in first_row_of:
            problem = Problem("DUPLICATE_IN_FILE", "creditCode", {"row": first_row_of[key]})
            report.skipped.append(_skip(row.row_number, problem, locale))
            continue
        if key:
            # Kept even if this row is refused: which of two rows is right is the admin's call.
            first_row_of[key] = row.row_number
        try:
            region_id = regions.resolve(actor, row.values.get("region", ""))
            _, outcome = await upsert_enterprise(actor, row_data(row.values, region_id))
        except DomainError as err:
            report.skipped.append(_skip(row.row_number, err.problems[0], locale))
            continue
        if outcome == "created":
            report.created += 1
        elif outcome == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
    return report
