"""What notifications say (zh by default, en on request): a title and a body per kind, filled
from the event's data. Used for the inbox and for push texts alike."""

from __future__ import annotations

from typing import Any

from models.messages.agency import agency_status
from models.rules.notification_kinds import NotificationKind as K

# kind → ((zh title, zh body), (en title, en body))
TEMPLATES: dict[K, tuple[tuple[str, str], tuple[str, str]]] = {
    K.DEMAND_DISPATCHED: (
        ("新诉求待签收", "新诉求待签收：{title}{ref}，办理期限 {deadline}"),
        ("New demand to claim", "New demand to claim: {title}{ref}, due {deadline}"),
    ),
    K.DEMAND_RETURN_DECIDED: (
        ("退单申请{decision_zh}", "退单申请{decision_zh}：{title}{ref}"),
        ("Return request {decision_en}", "Your return request was {decision_en}: {title}{ref}"),
    ),
    K.DEMAND_EXTENSION_DECIDED: (
        ("延期申请{decision_zh}", "延期申请{decision_zh}：{title}{ref}"),
        ("Extension {decision_en}", "Your extension request was {decision_en}: {title}{ref}"),
    ),
    K.DEMAND_SUSPENSION_DECIDED: (
        ("中止申请{decision_zh}", "中止申请{decision_zh}：{title}{ref}"),
        ("Suspension {decision_en}", "Your suspension request was {decision_en}: {title}{ref}"),
    ),
    K.DEMAND_REPLIED: (
        ("诉求已答复", "您的诉求已答复，请查看并评价：{title}{ref}"),
        (
            "Demand answered",
            "Your demand has been answered; please review and rate it: {title}{ref}",
        ),
    ),
    K.DEMAND_RETURN_VISIT_DUE: (
        ("诉求待回访", "诉求已答复，请回访企业：{title}{ref}"),
        ("Return visit due", "Answered; a return visit to the enterprise is due: {title}{ref}"),
    ),
    K.DEMAND_RATED_BADLY: (
        ("差评预警", "企业对诉求办理不满意，已转整改：{title}{ref}"),
        ("Bad rating", "The enterprise is dissatisfied; rectification opened: {title}{ref}"),
    ),
    K.DEMAND_ESCALATED: (
        ("诉求督办（{level}级）", "诉求已被{level}级督办，请尽快办理：{title}{ref}"),
        ("Escalated (level {level})", "Escalated to level {level}; please act now: {title}{ref}"),
    ),
    K.DEMAND_WARNING: (
        ("诉求即将到期", "诉求将于 {deadline} 到期，请抓紧办理：{title}{ref}"),
        ("Demand due soon", "Due on {deadline}; please act: {title}{ref}"),
    ),
    K.DEMAND_OVERDUE: (
        ("诉求已超期", "诉求已超过办理期限（{deadline}）：{title}{ref}"),
        ("Demand overdue", "Past its deadline ({deadline}): {title}{ref}"),
    ),
    K.AGENCY_REQUEST_CHANGED: (
        ("帮办代办进度更新", "{procedure}{ref}：{status}"),
        ("Agency request update", "{procedure}{ref}: {status}"),
    ),
    K.VISIT_TOMORROW: (
        ("明日走访提醒", "明天 {time} 走访{enterprise}"),
        ("Visit tomorrow", "Visit to {enterprise} tomorrow at {time}"),
    ),
}


class _Blank(dict):  # a missing parameter renders empty, never breaks a message
    def __missing__(self, key: str) -> str:
        return ""


def render(kind: str, data: dict[str, Any], locale: str = "zh") -> tuple[str, str]:
    """The notification's title and body in the reader's language."""
    try:
        pair = TEMPLATES[K(kind)]
    except ValueError:
        return kind, ""
    title, body = pair[1] if locale == "en" else pair[0]
    params = _Blank(data)
    approved = data.get("approved")
    params["decision_zh"] = "已批准" if approved else "未批准"
    params["decision_en"] = "approved" if approved else "refused"
    # The work-order number (工单号) after the subject; none in notices written before it.
    number = data.get("number")
    params["ref"] = (
        (f" (no. {number})" if locale == "en" else f"（工单号 {number}）") if number else ""
    )
    if pair is TEMPLATES[K.AGENCY_REQUEST_CHANGED]:
        params["status"] = agency_status(data, locale)
    return title.format_map(params), body.format_map(params)
