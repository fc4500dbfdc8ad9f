"""What people read about agency requests (帮办代办): refusal messages, field labels, state and
action names, and the status line of their notifications (zh, en)."""

from __future__ import annotations

from typing import Any

AGENCY_MESSAGES: dict[str, tuple[str, str]] = {
    "MATERIAL_NOT_WAIVABLE": (
        "材料「{name}」不在本事项可容缺受理的材料之列",
        "{name} is not among the materials this procedure may accept missing",
    ),
    "UNKNOWN_MATERIAL": (
        "材料「{name}」不是本事项所需材料",
        "{name} is not a material of this procedure",
    ),
    "PROMISE_IN_PAST": (
        "承诺补交日期不能早于今天",
        "The promised date cannot be in the past",
    ),
    "MATERIAL_NOT_OWED": (
        "材料「{name}」不是待补交的容缺材料",
        "{name} is not a missing material still owed",
    ),
    "NOTHING_TO_SUPPLY": (
        "当前没有需要补交的材料",
        "No materials are owed on this request",
    ),
    "ALREADY_RATED": ("已评价过，不能重复评价", "This request has already been rated"),
    "NO_OPEN_RECTIFICATION": ("没有待完成的整改", "There is no open rectification"),
    "AGENT_NOT_AT_POINT": (
        "该人员不是本服务点的帮办员",
        "This person is not an agent of this service point",
    ),
    "PROCEDURE_UNAVAILABLE": (
        "该事项或服务点已停用，暂不能申请帮办代办",
        "This procedure or its service point is no longer available",
    ),
}

# Refusals worded for an agency request where the demand's wording would say 诉求.
AGENCY_SUBJECT_MESSAGES: dict[str, tuple[str, str]] = {
    "INVALID_STATE": (
        "帮办代办申请当前为「{state}」状态，不能执行「{action}」",
        "The agency request is {state}; {action} is not possible now",
    ),
    "CONFLICT": (
        "该帮办代办申请已被他人处理，请刷新后重试",
        "Someone else acted on this agency request first; reload and try again",
    ),
}

AGENCY_STATE_NAMES: dict[str, tuple[str, str]] = {
    "SUBMITTED": ("待受理", "submitted"),
    "ACCEPTED": ("已受理", "accepted"),
    "MATERIALS_REQUESTED": ("待补正", "waiting for materials"),
    "IN_HANDLING": ("办理中", "in handling"),
    "COMPLETED": ("已办结", "completed"),
    "REJECTED": ("不予受理", "rejected"),
    "CANCELLED": ("已撤销", "cancelled"),
}

AGENCY_ACTION_NAMES: dict[str, tuple[str, str]] = {
    "SUBMIT": ("提交", "submit"),
    "ACCEPT": ("受理", "accept"),
    "REQUEST_MATERIALS": ("要求补正", "request materials"),
    "SUPPLY_MATERIALS": ("补交材料", "supply materials"),
    "START_HANDLING": ("开始办理", "start handling"),
    "COMPLETE": ("办结", "complete"),
    "REJECT": ("不予受理", "reject"),
    "CANCEL": ("撤销", "cancel"),
    "RATE": ("评价", "rate"),
    "ASSIGN_AGENT": ("指派帮办员", "assign an agent"),
    "RECORD_RECTIFICATION": ("整改反馈", "record the rectification"),
}

# What an allowed action's button may say beside it (ActionState.hint), by action.
AGENCY_ACTION_HINTS: dict[str, tuple[str, str]] = {
    "SUPPLY_MATERIALS": ("承诺补交日期 {due}", "Promised by {due}"),
    "COMPLETE": ("承诺办结期限 {due}", "Due {due}"),
    "RECORD_RECTIFICATION": ("整改期限 {due}", "Rectification due {due}"),
}

# procedureId, materials and description are labelled by the service point and demand modules.
AGENCY_LABELS: dict[str, tuple[str, str]] = {
    "agencyRequestId": ("帮办代办申请", "Agency request"),
    "missingMaterials": ("容缺材料", "Missing materials"),
    "promisedBy": ("承诺补交日期", "Promised date"),
    "resultText": ("办理结果", "Result"),
    "certificateNumber": ("证照编号", "Certificate number"),
    "agentId": ("帮办员", "Agent"),
}

# The status line of an AGENCY_REQUEST_CHANGED notification, by what happened.
AGENCY_UPDATES: dict[str, tuple[str, str]] = {
    "SUBMITTED": ("收到新的帮办代办申请", "new request received"),
    "ACCEPTED": ("已受理", "accepted"),
    "ACCEPTED_MISSING": (
        "已容缺受理，请按承诺日期补交材料",
        "accepted; please supply the missing materials as promised",
    ),
    "MATERIALS_REQUESTED": ("请补正材料", "please supply the requested materials"),
    "MATERIALS_SUPPLIED": ("企业已补交材料", "the enterprise supplied materials"),
    "IN_HANDLING": ("办理中", "in handling"),
    "COMPLETED": ("已办结，请评价", "completed; please rate it"),
    "REJECTED": ("不予受理", "rejected"),
    "CANCELLED": ("企业已撤销申请", "cancelled by the enterprise"),
    "RATED": ("企业已评价", "rated by the enterprise"),
    "RATED_BADLY": ("收到差评，请在整改期限内整改", "rated badly; rectification opened"),
    "ASSIGNED": ("已指派给您办理", "assigned to you"),
}


def agency_status(data: dict[str, Any], locale: str) -> str:
    """The readable status of an agency notification's data ({"update"} or {"state"})."""
    i = 1 if locale == "en" else 0
    update = data.get("update")
    if update in AGENCY_UPDATES:
        return AGENCY_UPDATES[update][i]
    state = data.get("state")
    if state in AGENCY_STATE_NAMES:
        return AGENCY_STATE_NAMES[state][i]
    return str(data.get("status") or "")
