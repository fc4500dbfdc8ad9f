"""What people read: each stable code's message in Simplified Chinese (default) and English.

This module holds the general codes and the lookup (`message`, `resolve_locale`); each domain's
catalogue is a module of this package: agency, demands, visits, service_points, exports, stats,
graphql, live and requests are merged in here; notifications (inbox and push texts) and check
(`enterprise-desk check`) are read by their users directly."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from models.messages.agency import (
    AGENCY_ACTION_HINTS,
    AGENCY_ACTION_NAMES,
    AGENCY_LABELS,
    AGENCY_MESSAGES,
    AGENCY_STATE_NAMES,
    AGENCY_SUBJECT_MESSAGES,
)
from models.messages.demands import (
    ACTION_HINTS,
    ACTION_NAMES,
    DEMAND_LABELS,
    DEMAND_MESSAGES,
    STATE_NAMES,
)
from models.messages.exports import EXPORT_LABELS
from models.messages.graphql import GRAPHQL_MESSAGES
from models.messages.live import LIVE_MESSAGES
from models.messages.requests import REQUEST_MESSAGES
from models.messages.service_points import (
    SERVICE_POINT_LABELS,
    SERVICE_POINT_MESSAGES,
    SERVICE_POINT_NAMED_PARAMS,
)
from models.messages.stats import STATS_MESSAGES
from models.messages.visits import VISIT_LABELS, VISIT_MESSAGES, VISIT_STATUS_NAMES

DEFAULT_LOCALE = "zh"

_MESSAGES: dict[str, tuple[str, str]] = {
    "UNAUTHENTICATED": ("请先登录", "Please sign in first"),
    "FORBIDDEN": ("无权执行此操作", "You are not allowed to do this"),
    "NOT_FOUND": ("对象不存在或无权查看", "Not found, or not visible to you"),
    "INTERNAL_ERROR": (
        "服务器内部错误，请稍后再试",
        "Internal server error, please try again later",
    ),
    "DATABASE_UNAVAILABLE": (
        "数据库暂时不可用，请稍后重试",
        "The database is temporarily unavailable; please try again shortly",
    ),
    # Also the answer to a disabled account and to sign-ins held back by the per-account
    # delays (models.ops.auth): the caller cannot tell them apart, the audit log can.
    "INVALID_CREDENTIALS": (
        "用户名或密码错误；连续失败多次后，请等几分钟再试",
        "Wrong username or password; after several failures, wait a few minutes and try again",
    ),
    "TOO_MANY_ATTEMPTS": (
        "登录尝试过于频繁，请稍后再试",
        "Too many sign-in attempts from this address; try again later",
    ),
    "ONE_LOGIN_PER_REQUEST": (
        "登录和刷新登录须单独发送：每个请求只调用一次，且不含其他字段",
        "Signing in and refreshing a session are sent alone: one call per request, with no "
        "other field",
    ),
    "INVALID_REFRESH_TOKEN": (
        "登录已失效，请重新登录",
        "The session has expired; please sign in again",
    ),
    "REQUIRED": ("{label}不能为空", "{label} is required"),
    "TOO_MANY_IDS": ("一次最多处理 {max} 条", "At most {max} at a time"),
    "TOO_LONG": ("{label}不能超过 {max} 个字符", "{label} must be at most {max} characters"),
    "INVALID_CREDIT_CODE": (
        "统一社会信用代码格式不正确（应为 18 位）",
        "The unified social credit code is malformed (18 characters expected)",
    ),
    "INVALID_CREDIT_CODE_CHECK_DIGIT": (
        "统一社会信用代码校验位错误",
        "The unified social credit code fails its check digit",
    ),
    "DUPLICATE_CREDIT_CODE": (
        "该统一社会信用代码已登记",
        "An enterprise with this credit code already exists",
    ),
    "INVALID_MOBILE": (
        "手机号码无效（须为中国大陆手机号）",
        "Not a valid mainland China mobile number",
    ),
    "DUPLICATE_MOBILE": (
        "该联系人手机号已存在",
        "A contact with this mobile number already exists",
    ),
    "INVALID_REGION_CODE": (
        "区划代码应为 6、9 或 12 位数字",
        "A division code has 6, 9 or 12 digits",
    ),
    "DUPLICATE_REGION_CODE": ("区划代码已被使用", "This division code is already in use"),
    "INVALID_INDUSTRY_CODE": (
        "行业代码不符合 GB/T 4754（如 C3311）",
        "The industry code does not follow GB/T 4754 (e.g. C3311)",
    ),
    "INVALID_COORDINATES": ("经纬度超出范围", "Latitude or longitude out of range"),
    "INVALID_CHOICE": ("{label}取值无效：{value}", "Invalid {label}: {value}"),
    "INVALID_DATE": ("日期无效：{value}", "Invalid date: {value}"),
    "INVALID_DATE_RANGE": ("结束日期不能早于开始日期", "The end date is before the start date"),
    "UNKNOWN_REGION": ("找不到区域：{value}", "Unknown region: {value}"),
    "REGION_OUT_OF_SCOPE": ("该区域不在您的管辖范围内", "That region is outside your scope"),
    "INVALID_PARENT_LEVEL": (
        "上级区域层级不符：{level} 不能设在 {parent} 之下",
        "A {level} cannot sit under a {parent}",
    ),
    "DUPLICATE_NAME": ("同一上级下已存在同名记录", "A record with this name already exists here"),
    "DUPLICATE_USERNAME": ("用户名已存在", "This username is taken"),
    "INVALID_USERNAME": (
        "用户名只能包含字母、数字、下划线、点和连字符（3-64 位）",
        "Usernames are 3-64 letters, digits, underscores, dots or hyphens",
    ),
    "WEAK_PASSWORD": ("密码至少 8 位，且不能过于简单", "Passwords need at least 8 characters"),
    "DEPARTMENT_REQUIRED": ("承办人角色必须指定部门", "A handler grant needs a department"),
    "DEPARTMENT_OUT_OF_REGION": (
        "部门不属于该区域",
        "The department does not belong to that region",
    ),
    "REGION_REQUIRED": ("该角色必须指定区域", "This role needs a region"),
    "DUPLICATE_GRANT": ("该用户已有此授权", "The user already has this grant"),
    "NOT_A_CADRE": ("包联领导须为干部", "An assigned leader must hold a cadre grant"),
    "VERSION_CONFLICT": (
        "数据已被他人修改，请刷新后重试",
        "Someone else changed this record; reload and try again",
    ),
    "UNKNOWN_HEADER": ("缺少必需的列：{value}", "Missing required column: {value}"),
    "INVALID_CURSOR": ("分页游标无效", "Invalid page cursor"),
    "DATE_OUT_OF_RANGE": (
        "日期须在 {min} 到 {max} 之间",
        "Dates must be between {min} and {max}",
    ),
    "SEARCH_TOO_LONG": (
        "搜索或筛选的文字不能超过 {max} 个字符",
        "Search and filter text must be at most {max} characters",
    ),
    "INVALID_PAGE_SIZE": (
        "每页数量须在 0 到 {max} 之间",
        "Page size must be between 0 and {max}",
    ),
    "PAGE_DIRECTION_CONFLICT": (
        "一次只能向一个方向翻页：向后翻页与向前翻页的条数不能同时指定",
        "Page one way at a time: give the number of rows to read forwards or backwards, not both",
    ),
    "INVALID_OFFSET": ("跳过的条数不能为负数", "The offset cannot be negative"),
    "UNSUPPORTED_FILE": ("只支持 .xlsx 或 .csv 文件", "Only .xlsx or .csv files are supported"),
    "UNREADABLE_FILE": (
        "文件无法读取，请确认是有效的 .xlsx 或 .csv 文件",
        "The file cannot be read; is it a valid .xlsx or .csv file?",
    ),
    "DUPLICATE_IN_FILE": (
        "统一社会信用代码与第 {row} 行重复，本行未导入",
        "Same credit code as row {row}; this row was not imported",
    ),
    # Attachments (附件).
    "FILE_TOO_LARGE": ("文件不能超过 {max} MB", "Files must be at most {max} MB"),
    "EMPTY_FILE": ("文件为空", "The file is empty"),
    "IMAGE_TOO_LARGE": (
        "图片尺寸过大，不能超过 {max} 百万像素",
        "The image is too large: at most {max} megapixels",
    ),
    "UNSUPPORTED_FILE_TYPE": (
        "不支持的文件类型，或文件内容与扩展名不符（支持图片 JPG/PNG/WEBP/HEIC/GIF、PDF、"
        "Word/Excel/PowerPoint 文档和 UTF-8 文本）",
        "Unsupported file type, or the content does not match the file name (allowed: "
        "JPG/PNG/WEBP/HEIC/GIF images, PDF, Word/Excel/PowerPoint documents, UTF-8 text)",
    ),
    "INVALID_UPLOAD": (
        "请以 multipart/form-data 格式上传一个名为 file 的文件",
        "Send one file in a multipart/form-data part named file",
    ),
    "INVALID_FILE_NAME": (
        "无法识别文件名的编码，请以 UTF-8 编码发送文件名",
        "The file name's encoding cannot be read: send the name in UTF-8",
    ),
    "INVALID_ATTACHMENT": ("附件已被使用，不能重复使用", "An attachment is already used elsewhere"),
    # Also what a queued call meets when its uploads were removed as unused before it arrived.
    "UPLOAD_NOT_FOUND": (
        "{label}中有文件不在服务器上（上传后长时间未使用会被清除），请重新上传后再提交",
        "{label}: a file is not on the server (uploads left unused are removed after a while); "
        "upload it again and resend",
    ),
    "TOO_MANY_ATTACHMENTS": ("附件不能超过 {max} 个", "At most {max} attachments are allowed"),
    "TOO_MANY_UNLINKED_UPLOADS": (
        "已上传但尚未使用的文件已达 {max} 个，请先提交使用这些文件，再上传新的文件",
        "You already have {max} uploaded files not yet used: submit them before uploading more",
    ),
    "UNLINKED_UPLOADS_TOO_LARGE": (
        "已上传但尚未使用的文件合计不能超过 {max} MB，请先提交使用这些文件，再上传新的文件",
        "Uploaded files not yet used may total at most {max} MB: submit them before uploading more",
    ),
    # GraphQL multipart requests (uploads through /graphql).
    "UPLOAD_EXPECTED": (
        "请按 GraphQL multipart 请求规范以 multipart/form-data 上传文件",
        "Send the file in a GraphQL multipart request (multipart/form-data)",
    ),
    "REQUEST_TOO_LARGE": ("请求不能超过 {max} MB", "The request must be at most {max} MB"),
    "TOO_MANY_FILES": ("一次请求最多上传 {max} 个文件", "At most {max} files per request"),
    "MULTIPART_FIELD_TOO_LARGE": (
        "表单字段 {name} 不能超过 {max} KB",
        "The form field {name} must be at most {max} KB",
    ),
    "MULTIPART_MALFORMED": (
        "multipart/form-data 请求体不完整或无法解析",
        "The multipart/form-data body is cut short or cannot be parsed",
    ),
    "MULTIPART_ORDER": (
        "须按 GraphQL multipart 请求规范的顺序发送：先发送操作，再发送文件映射，最后发送文件",
        "Send the operation first, then the file map, then the files (GraphQL multipart request)",
    ),
    "MULTIPART_INVALID_OPERATIONS": (
        "操作须为一个 JSON 对象：含查询文本（字符串），可含变量（对象）和操作名（字符串），"
        "不支持批量请求",
        "The operation must be one JSON object with the query text (a string) and optionally "
        "its variables (an object) and operation name (a string); no batching",
    ),
    "MULTIPART_MUTATION_ONLY": (
        "只有变更（mutation）可以上传文件",
        "Only mutations may upload files",
    ),
    "MULTIPART_INVALID_MAP": (
        "文件映射须为 JSON 对象，把每个文件的表单字段名映射到一组路径",
        "The file map must be a JSON object mapping each file's form field name to a list of "
        "paths",
    ),
    "MULTIPART_INVALID_PATH": (
        "文件映射中的路径 {path} 须指向变量中一个值为 null 的位置，且只能使用一次",
        "The file map's path {path} must point to a null placeholder in the variables, once",
    ),
    "MULTIPART_UNEXPECTED_PART": (
        "表单字段 {name} 既不是操作和文件映射，也不是文件映射中列出的文件",
        "The form field {name} is neither the operation, the file map nor a file the map lists",
    ),
    "MULTIPART_MISSING_FILE": (
        "文件映射中列出的文件 {name} 没有随请求发送",
        "The file {name} listed in the file map was not sent",
    ),
    # The working-day calendar (工作日历).
    "WORKING_DAYS_OUT_OF_RANGE": (
        "工作日天数须在 {min} 到 {max} 之间",
        "The number of working days must be between {min} and {max}",
    ),
    "YEAR_OUT_OF_RANGE": (
        "年份须在 {min} 到 {max} 之间",
        "The year must be between {min} and {max}",
    ),
    "DATE_OUTSIDE_YEAR": ("日期 {value} 不在 {year} 年内", "{value} does not lie in {year}"),
    "DUPLICATE_DATE": ("日期 {value} 重复", "{value} is listed twice"),
    "HOLIDAY_AND_WORKDAY": (
        "{value} 不能既是放假日又是调休上班日",
        "{value} cannot be both a holiday and a make-up workday",
    ),
    "REDUNDANT_HOLIDAY": (
        "{value} 是周末，本就休息，只需填写周一至周五的放假日",
        "{value} is a weekend day and already a day off; list only weekday holidays",
    ),
    "REDUNDANT_WORKDAY": (
        "{value} 是周一至周五，本就上班，只需填写周末的调休上班日",
        "{value} is a weekday and already a working day; list only weekend make-up workdays",
    ),
    "REDUNDANT_REGION_DAY": (
        "{value} 在上级日历中已是同样的安排，无需单独设置",
        "{value} is already so in the calendar above this region",
    ),
    "CALENDAR_YEAR_NOT_ENTERED": (
        "{year} 年的节假日安排尚未录入",
        "No holiday arrangement has been entered for {year}",
    ),
    # The support policy catalog (惠企政策).
    "INVALID_URL": (
        "{label}无效，须为以 http:// 或 https:// 开头的完整网址",
        "{label} is not valid: give a full address starting with http:// or https://",
    ),
}


def resolve_locale(accept_language: str | None) -> str:
    """Pick "en" only when the client prefers English; everything else reads Chinese."""
    if not accept_language:
        return DEFAULT_LOCALE
    best, best_q = DEFAULT_LOCALE, -1.0
    for part in accept_language.split(","):
        lang, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        tag = lang.strip().lower()[:2]
        if tag in ("zh", "en") and weight > best_q:
            best, best_q = tag, weight
    return best


_LABELS: dict[str, tuple[str, str]] = {
    "name": ("名称", "Name"),
    "username": ("用户名", "Username"),
    "displayName": ("姓名", "Display name"),
    "password": ("密码", "Password"),
    "creditCode": ("统一社会信用代码", "Credit code"),
    "regionId": ("所属区域", "Region"),
    "region": ("所属区域", "Region"),
    "level": ("区域层级", "Region level"),
    "role": ("角色", "Role"),
    "scale": ("企业规模", "Scale"),
    "coordinateSystem": ("坐标系", "Coordinate system"),
    "contacts": ("联系人", "Contact"),
    "address": ("地址", "Address"),
    "legalRepresentative": ("法定代表人", "Legal representative"),
    "file": ("文件", "File"),
    "attachmentIds": ("附件", "Attachments"),
    "year": ("年份", "Year"),
    "note": ("备注", "Note"),
    "holidays": ("放假日期", "Holidays"),
    "days": ("日期", "Days"),
    "issuer": ("发文机关", "Issuer"),
    "documentNumber": ("文号", "Document number"),
    "url": ("网址", "Web address"),
    "summary": ("政策摘要", "Summary"),
    "includeInactive": ("含已停用", "Include inactive"),
    "code": ("编码", "Code"),
    "position": ("职务", "Position"),
    "rank": ("职级", "Rank"),
    "ids": ("要处理的条目", "The items to act on"),
    "provider": ("推送通道", "Push provider"),
    "platform": ("设备平台", "Platform"),
    "token": ("设备推送令牌", "Device token"),
    "appVersion": ("应用版本", "App version"),
    "language": ("语言", "Language"),
}
# A field without a label reads as this: a message names no code identifier (the error's
# `field` says which one it is).
_NO_LABEL = ("此项", "This field")


def label(field: str | None, locale: str) -> str:
    if not field:
        return ""
    # "contacts.0.name" is a name; "holidays.2" one of the holidays.
    names = [part for part in field.split(".") if not part.isdigit()]
    pair = _LABELS.get(names[-1], _NO_LABEL) if names else _NO_LABEL
    return pair[1] if locale == "en" else pair[0]


_MESSAGES.update(DEMAND_MESSAGES)
_MESSAGES.update(VISIT_MESSAGES)
_LABELS.update(DEMAND_LABELS)
_LABELS.update(VISIT_LABELS)
_MESSAGES.update(SERVICE_POINT_MESSAGES)
_LABELS.update(SERVICE_POINT_LABELS)
# Parameters that are codes themselves, shown by their names.
_NAMED_PARAMS = {"state": STATE_NAMES, "action": ACTION_NAMES, "status": VISIT_STATUS_NAMES}
_NAMED_PARAMS.update(SERVICE_POINT_NAMED_PARAMS)
_MESSAGES.update(AGENCY_MESSAGES)
_MESSAGES.update(STATS_MESSAGES)
_MESSAGES.update(REQUEST_MESSAGES)
_MESSAGES.update(GRAPHQL_MESSAGES)
_MESSAGES.update(LIVE_MESSAGES)
_LABELS.update(AGENCY_LABELS)
_LABELS.update(EXPORT_LABELS)
# A refusal may name its subject (e.g. subject="AGENCY"): then its wording and the names of
# its state and action come from that subject's tables.
_SUBJECT_MESSAGES = {"AGENCY": AGENCY_SUBJECT_MESSAGES}
_SUBJECT_NAMES = {"AGENCY": {"state": AGENCY_STATE_NAMES, "action": AGENCY_ACTION_NAMES}}
_HINTS = {None: ACTION_HINTS, "AGENCY": AGENCY_ACTION_HINTS}
_FIELDS = re.compile(r"\{(\w+)\}")  # a template's parameters
_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def day_text(day: date | None, locale: str) -> str:
    """A day as a message names it: 12月9日, Dec 9 (the exact date is in the API's fields)."""
    if day is None:
        return "—"
    if locale == "en":
        return f"{_MONTHS_EN[day.month - 1]} {day.day}"
    return f"{day.month}月{day.day}日"


def message(
    code: str, locale: str = DEFAULT_LOCALE, field: str | None = None, **params: Any
) -> str:
    subject = params.pop("subject", None)
    pair = _SUBJECT_MESSAGES.get(subject, {}).get(code) or _MESSAGES.get(code)
    if pair is None:
        return code
    template = pair[1] if locale == "en" else pair[0]
    params.setdefault("label", label(field, locale))
    return _filled(template, locale, subject, params)


def _filled(template: str, locale: str, subject: str | None, params: dict[str, Any]) -> str:
    for key, names in {**_NAMED_PARAMS, **_SUBJECT_NAMES.get(subject or "", {})}.items():
        if params.get(key) in names:
            params[key] = names[params[key]][1 if locale == "en" else 0]
    for key, value in params.items():
        if isinstance(value, date) and not isinstance(value, datetime):
            params[key] = day_text(value, locale)
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def action_hint(
    action: str, locale: str = DEFAULT_LOCALE, subject: str | None = None, **params: Any
) -> str | None:
    """What an allowed action's button may say beside it (its day or amount), or None."""
    pair = _HINTS.get(subject, {}).get(action)
    if pair is None or any(params.get(k) is None for k in _FIELDS.findall(pair[0])):
        return None
    return _filled(pair[1] if locale == "en" else pair[0], locale, subject, params)
