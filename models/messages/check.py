"""What the consistency check (`enterprise-desk check`, models.ops.consistency) says about each
promise it found broken, in Simplified Chinese and English."""

from __future__ import annotations

CHECK_MESSAGES: dict[str, tuple[str, str]] = {
    "DEMAND_NO_EVENTS": ("诉求没有任何时间线事件", "demands without any timeline event"),
    "DEMAND_LAST_EVENT": (
        "诉求记录的最新事件不是其时间线上最新的事件",
        "demands whose recorded latest event is not their newest timeline event",
    ),
    "DEMAND_STATE": (
        "诉求状态与最新时间线事件的目标状态不一致",
        "demands whose state differs from their newest timeline event's target state",
    ),
    "DEMAND_VERSION": (
        "诉求的版本号与时间线事件数不一致",
        "demands whose version differs from their number of timeline events",
    ),
    "DEMAND_NUMBER": (
        "诉求已提交却没有工单号，或草稿已有工单号",
        "demands submitted without a work-order number, or drafts with one",
    ),
    "DEMAND_TIMELINE_CHAIN": (
        "诉求时间线断链（首个事件不是提交，或某事件的起始状态不是上一事件的目标状态）",
        "demands whose timeline is not a chain (the first event is not a submission, or an "
        "event does not start from the state the previous one reached)",
    ),
    "DEMAND_PENDING_REQUEST": (
        "诉求的待决申请标记（退单/延期/中止）与待决申请记录不一致",
        "demands whose pending marker (return/extension/suspension) disagrees with their "
        "requests awaiting a decision",
    ),
    "DEMAND_APPEAL_REQUEST": (
        "诉求的申诉待决标记与待决申诉记录不一致",
        "demands whose pending appeal disagrees with their appeals awaiting a decision",
    ),
    "AGENCY_NO_EVENTS": (
        "帮办代办申请没有任何时间线事件",
        "agency requests without any timeline event",
    ),
    "AGENCY_LAST_EVENT": (
        "帮办代办申请记录的最新事件不是其时间线上最新的事件",
        "agency requests whose recorded latest event is not their newest timeline event",
    ),
    "AGENCY_STATE": (
        "帮办代办申请状态与最新时间线事件的目标状态不一致",
        "agency requests whose state differs from their newest timeline event's target state",
    ),
    "AGENCY_VERSION": (
        "帮办代办申请的版本号与时间线事件数不一致",
        "agency requests whose version differs from their number of timeline events",
    ),
    "AGENCY_NUMBER": (
        "帮办代办申请没有工单号",
        "agency requests without a work-order number",
    ),
    "AGENCY_TIMELINE_CHAIN": (
        "帮办代办申请时间线断链",
        "agency requests whose timeline is not a chain",
    ),
    "NOTICE_INBOX": (
        "通知事件的收件箱条数与其收件人不一致",
        "notification events whose inbox rows differ from their recipients",
    ),
    "NOTICE_WITHOUT_CHANGE": (
        "通知了一次不存在的流转（同一时刻没有对应的时间线事件）",
        "notices of a transition that has no timeline event at that moment",
    ),
    "INBOX_ORPHAN": (
        "收件箱通知指向不存在的用户或事件，或收件人不在事件的收件人名单中",
        "inbox rows whose user or event is missing, or whose user the event does not name",
    ),
    "OUTBOX_MISSING": (
        "收件箱通知缺少推送发件箱记录（用户当时已有设备且未屏蔽该类通知）",
        "inbox rows without outbox rows although the user had a device and did not mute the kind",
    ),
    "OUTBOX_ORPHAN": (
        "推送发件箱记录指向不存在的通知或设备",
        "outbox rows whose notification or device is missing",
    ),
    "OUTBOX_STATUS": (
        "推送发件箱记录的状态与完成时间/错误信息不符",
        "outbox rows whose status disagrees with their finish time or error",
    ),
}

# What `samples` are ids of, by table.
CHECK_SUBJECTS: dict[str, tuple[str, str]] = {
    "demand": ("诉求", "demand"),
    "agency_request": ("帮办代办申请", "agency request"),
    "notification_event": ("通知事件", "notification event"),
    "notification": ("收件箱通知", "inbox row"),
    "push_message": ("推送记录", "outbox row"),
}

CHECK_TEXTS: dict[str, tuple[str, str]] = {
    "consistent": (
        "数据一致：{checks} 项检查全部通过（{seconds} 秒）",
        "consistent: all {checks} checks passed ({seconds} s)",
    ),
    "inconsistent": (
        "数据不一致：{failed} / {checks} 项检查未通过（{seconds} 秒）",
        "inconsistent: {failed} of {checks} checks failed ({seconds} s)",
    ),
    "finding": ("{count} 条{what}", "{count} {what}"),
    "samples": ("例如 {subject} id {ids}", "e.g. {subject} ids {ids}"),
}


def check_text(key: str, locale: str, **params: object) -> str:
    zh, en = CHECK_MESSAGES.get(key) or CHECK_TEXTS[key]
    return (en if locale == "en" else zh).format(**params)


def subject_name(table: str, locale: str) -> str:
    zh, en = CHECK_SUBJECTS.get(table, (table, table))
    return en if locale == "en" else zh
