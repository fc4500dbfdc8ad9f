"""What each export (导出) holds: its columns with Chinese and English headers, and the cell
each column takes from a prepared row. Pure: no database; models.ops.exports fetches the rows
and derives the clock's values (overdue, on time) with models.rules.demand_view, and
server/exports.py writes them as CSV or XLSX.

Every list covers the demands of the asker's scope (stats_scope: regions, department = the lead
department 主办, category, source) *submitted* in the period (Asia/Shanghai days, both ends
included). Derived values are as of the day of the export:

- demands (诉求明细): every such demand, whatever became of it.
- problem-list (问题清单, docs/design.md section 8.7): the problems actually taken on — rejected (不予受理),
  withdrawn and merged demands are left out — with what was asked (title and the first
  120 characters of the description), who handles it, where it stands, its deadline, whether it
  is overdue now and the reply's outcome.
- rectification-list (整改清单): demands that got a bad rating (不满意/非常不满意), now or
  before a rectification (a rectification was opened): the current rating and its comment (a
  rectified demand shows its new rating), the rectification deadline, state and completion
  time, and whether it was done on time (models.rules.demand_view.rectified_on_time).
- responsibility-list (责任清单): the dispatched demands (a lead department was named) with the
  responsible department, the handler who claimed it, the department's leader (its lead
  HANDLER grants), the deadline at dispatch, approved extension and suspension working days,
  the effective deadline, whether it was replied on time (models.rules.demand_view.
  replied_on_time), the overdue working days (overdue_working_days) and the escalation level
  (督办级别).

- department-ranking (部门排名): the lead departments ranked by the composite score
  (models.ops.stats_rankings, the same figures as the `departmentRanking` query): rank,
  score, demands submitted, overdue now, and each weighted rate with its numerator and
  denominator (rates in percent, 2 decimals) and the handling time.

A new export is one `ListSpec` here and one entry in models.ops.exports.EXPORTS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any

from models.messages.demands import STATE_NAMES
from models.rules.clock import TZ

Cell = str | int | float | date | datetime | None
Names = Mapping[str, tuple[str, str]]

SUMMARY_CHARS = 120  # of the description in the problem list


class Fmt(Enum):
    TEXT = "TEXT"
    INT = "INT"
    NUMBER = "NUMBER"  # a decimal figure as computed (rates in percent, means)
    DATE = "DATE"
    DATETIME = "DATETIME"  # shown in Asia/Shanghai, without a zone
    YES_NO = "YES_NO"  # True 是, False 否, None empty
    NAME = "NAME"  # a code shown by its name in `names`


SOURCE_NAMES: Names = {
    "VISIT": ("走访", "Visit"),
    "APP": ("企业端", "App"),
    "HOTLINE_12345": ("12345热线", "12345 hotline"),
    "SERVICE_POINT": ("服务点", "Service point"),
    "OTHER": ("其他", "Other"),
}
URGENCY_NAMES: Names = {
    "NORMAL": ("一般", "Normal"),
    "URGENT": ("紧急", "Urgent"),
    "CRITICAL": ("特急", "Critical"),
}
OUTCOME_NAMES: Names = {
    "RESOLVED": ("已解决", "Resolved"),
    "EXPLAINED": ("已解释", "Explained"),
    "PARTIAL": ("部分解决", "Partly resolved"),
}
RATING_NAMES: Names = {
    "VERY_SATISFIED": ("非常满意", "Very satisfied"),
    "SATISFIED": ("满意", "Satisfied"),
    "BASIC": ("基本满意", "Basically satisfied"),
    "DISSATISFIED": ("不满意", "Dissatisfied"),
    "VERY_DISSATISFIED": ("非常不满意", "Very dissatisfied"),
}
RECTIFICATION_NAMES: Names = {
    "OPEN": ("整改中", "In rectification"),
    "DONE": ("已整改", "Rectified"),
    "WAIVED": ("申诉成立免予整改", "Waived (appeal upheld)"),
}
YES_NO: tuple[tuple[str, str], tuple[str, str]] = (("是", "Yes"), ("否", "No"))


@dataclass(frozen=True, slots=True)
class Column:
    key: str  # the prepared row's key
    zh: str
    en: str
    fmt: Fmt = Fmt.TEXT
    names: Names | None = None
    width: int = 14  # characters, for the XLSX column

    def header(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh

    def cell(self, row: Mapping[str, Any], locale: str) -> Cell:
        value = row.get(self.key)
        if value is None:
            return None
        en = locale == "en"
        match self.fmt:
            case Fmt.INT:
                return int(value)
            case Fmt.NUMBER:
                return float(value)
            case Fmt.DATE:
                return value if isinstance(value, date) else date.fromisoformat(str(value))
            case Fmt.DATETIME:
                return value.astimezone(TZ).replace(tzinfo=None, microsecond=0)
            case Fmt.YES_NO:
                return YES_NO[0 if value else 1][en]
            case Fmt.NAME:
                pair = (self.names or {}).get(str(value))
                return pair[en] if pair else str(value)
        return str(value)


@dataclass(frozen=True, slots=True)
class ListSpec:
    slug: str  # the URL's name: /exports/<slug>.csv
    zh: str  # the list's name, the sheet's and the file's
    en: str
    columns: tuple[Column, ...]

    def title(self, locale: str) -> str:
        return self.en if locale == "en" else self.zh

    def headers(self, locale: str) -> list[str]:
        return [c.header(locale) for c in self.columns]

    def cells(self, row: Mapping[str, Any], locale: str) -> list[Cell]:
        return [c.cell(row, locale) for c in self.columns]


def file_name(spec: ListSpec, start: date, end: date, ext: str, locale: str) -> str:
    """问题清单-2026-10-01至2026-10-31.xlsx; problem-list-2026-10-01-to-2026-10-31.xlsx."""
    if locale == "en":
        return f"{spec.slug}-{start.isoformat()}-to-{end.isoformat()}.{ext}"
    return f"{spec.zh}-{start.isoformat()}至{end.isoformat()}.{ext}"


def ascii_file_name(spec: ListSpec, start: date, end: date, ext: str) -> str:
    """The fallback for clients that do not read RFC 5987 names."""
    return f"{spec.slug}-{start.isoformat()}-{end.isoformat()}.{ext}"


# --- the columns ---------------------------------------------------------------------------

# 编号: the work-order number (工单号) the app shows and a handler reads out.
NUMBER = Column("number", "工单号", "Work-order no.", width=18)
ENTERPRISE = Column("enterprise_name", "企业名称", "Enterprise", width=30)
CREDIT_CODE = Column("credit_code", "统一社会信用代码", "Credit code", width=22)
REGION = Column("region_name", "区域", "Region", width=12)
SOURCE = Column("source", "来源", "Source", Fmt.NAME, SOURCE_NAMES, width=10)
CATEGORY = Column("category_name", "类别", "Category", width=12)
TITLE = Column("title", "标题", "Title", width=36)
SUMMARY = Column("summary", "诉求内容摘要", "Description (start)", width=50)
STATE = Column("state", "状态", "State", Fmt.NAME, STATE_NAMES, width=10)
URGENCY = Column("urgency", "紧急程度", "Urgency", Fmt.NAME, URGENCY_NAMES, width=8)
DEPARTMENT = Column("department_name", "承办部门", "Department", width=24)
HANDLER = Column("handler_name", "经办人", "Handler", width=10)
LEADER = Column("leader_names", "部门负责人", "Department leader", width=12)
SUBMITTED = Column("submitted_at", "提交时间", "Submitted", Fmt.DATETIME, width=18)
DISPATCHED = Column("dispatched_at", "派单时间", "Dispatched", Fmt.DATETIME, width=18)
EFFECTIVE_DEADLINE = Column(
    "effective_deadline", "办理期限", "Deadline", Fmt.DATE, width=12
)  # extensions and suspensions counted in, as the app shows it
DEADLINE_AT_DISPATCH = Column("deadline", "派单期限", "Deadline at dispatch", Fmt.DATE, width=12)
EXTENSION_DAYS = Column("extension_days", "延期工作日", "Extension working days", Fmt.INT)
SUSPENDED_DAYS = Column("suspended_days", "中止工作日", "Suspended working days", Fmt.INT)
REPLIED = Column("replied_at", "答复时间", "Replied", Fmt.DATETIME, width=18)
OUTCOME = Column("reply_outcome", "答复结果", "Reply outcome", Fmt.NAME, OUTCOME_NAMES)
CLOSED = Column("closed_at", "办结时间", "Closed", Fmt.DATETIME, width=18)
OVERDUE = Column("overdue", "是否超期", "Overdue", Fmt.YES_NO, width=8)
ON_TIME = Column("on_time", "是否按期", "On time", Fmt.YES_NO, width=8)
OVERDUE_DAYS = Column("overdue_days", "超期工作日", "Overdue working days", Fmt.INT)
ESCALATION = Column("escalation_level", "督办级别", "Escalation level", Fmt.INT, width=8)
RATING = Column("rating", "满意度", "Satisfaction", Fmt.NAME, RATING_NAMES, width=10)
RATING_COMMENT = Column("rating_comment", "评价意见", "Rating comment", width=30)
RATED = Column("rated_at", "评价时间", "Rated", Fmt.DATETIME, width=18)
RECTIFICATION_DEADLINE = Column(
    "rectification_deadline", "整改期限", "Rectification deadline", Fmt.DATE, width=12
)
RECTIFICATION_STATE = Column(
    "rectification_state", "整改状态", "Rectification", Fmt.NAME, RECTIFICATION_NAMES
)
RECTIFIED = Column("rectified_at", "整改完成时间", "Rectified", Fmt.DATETIME, width=18)
RECTIFIED_ON_TIME = Column("rectified_on_time", "是否按期", "On time", Fmt.YES_NO, width=8)

DEMANDS = ListSpec(
    "demands",
    "诉求明细",
    "Demands",
    (
        NUMBER,
        ENTERPRISE,
        CREDIT_CODE,
        REGION,
        SOURCE,
        CATEGORY,
        TITLE,
        URGENCY,
        STATE,
        DEPARTMENT,
        SUBMITTED,
        DISPATCHED,
        EFFECTIVE_DEADLINE,
        CLOSED,
        OVERDUE,
        RATING,
    ),
)
PROBLEM_LIST = ListSpec(
    "problem-list",
    "问题清单",
    "Problem list",
    (
        NUMBER,
        ENTERPRISE,
        REGION,
        CATEGORY,
        TITLE,
        SUMMARY,
        DEPARTMENT,
        STATE,
        EFFECTIVE_DEADLINE,
        OVERDUE,
        OUTCOME,
        REPLIED,
    ),
)
RECTIFICATION_LIST = ListSpec(
    "rectification-list",
    "整改清单",
    "Rectification list",
    (
        NUMBER,
        ENTERPRISE,
        REGION,
        TITLE,
        DEPARTMENT,
        Column("rating", "评价", "Rating", Fmt.NAME, RATING_NAMES, width=10),
        RATING_COMMENT,
        RATED,
        RECTIFICATION_DEADLINE,
        RECTIFICATION_STATE,
        RECTIFIED,
        RECTIFIED_ON_TIME,
    ),
)
RESPONSIBILITY_LIST = ListSpec(
    "responsibility-list",
    "责任清单",
    "Responsibility list",
    (
        NUMBER,
        TITLE,
        ENTERPRISE,
        REGION,
        DEPARTMENT,
        HANDLER,
        LEADER,
        DEADLINE_AT_DISPATCH,
        EXTENSION_DAYS,
        SUSPENDED_DAYS,
        EFFECTIVE_DEADLINE,
        STATE,
        ON_TIME,
        OVERDUE_DAYS,
        ESCALATION,
    ),
)


def _rate_columns(key: str, zh: str, en: str, part_zh: str, whole_zh: str) -> tuple[Column, ...]:
    """A rate as three columns: its numerator, denominator and the percentage."""
    return (
        Column(f"{key}_n", f"{part_zh}(件)", f"{en}: count", Fmt.INT),
        Column(f"{key}_d", f"{whole_zh}(件)", f"{en}: of", Fmt.INT),
        Column(f"{key}_pct", f"{zh}(%)", f"{en} (%)", Fmt.NUMBER),
    )


DEPARTMENT_RANKING = ListSpec(
    "department-ranking",
    "部门排名",
    "Department ranking",
    (
        Column("rank", "排名", "Rank", Fmt.INT, width=6),
        Column("name", "部门", "Department", width=24),
        Column("score", "综合得分", "Score", Fmt.NUMBER),
        Column("submitted", "受理诉求(件)", "Demands submitted", Fmt.INT),
        Column("overdue_now", "当前超期(件)", "Overdue now", Fmt.INT),
        *_rate_columns("on_time", "按时办结率", "On-time rate", "按时办结", "应办结"),
        *_rate_columns("satisfaction", "满意率", "Satisfaction rate", "满意", "已评价"),
        *_rate_columns("response", "响应率", "Response rate", "按时签收", "已交办"),
        *_rate_columns("closure", "办结率", "Closure rate", "已办结", "已受理"),
        Column(
            "handling_median",
            "办理时长中位数(工作日)",
            "Median handling (working days)",
            Fmt.NUMBER,
        ),
        Column("handling_mean", "平均办理时长(工作日)", "Mean handling (working days)", Fmt.NUMBER),
    ),
)
