"""What people read about visits: refusal messages, field labels and status names (zh, en)."""

from __future__ import annotations

VISIT_MESSAGES: dict[str, tuple[str, str]] = {
    "PARTICIPANT_NOT_ELIGIBLE": (
        "{label}中有人不是该企业所在区域的在岗干部",
        "{label}: everyone on a visit must be an active cadre of the enterprise's region",
    ),
    "TOO_MANY_PARTICIPANTS": (
        "走访人员不能超过 {max} 人",
        "At most {max} people on one visit",
    ),
    "OUT_OF_RANGE": (
        "{label}应在 {min} 到 {max} 之间",
        "{label} must be between {min} and {max}",
    ),
    "INVALID_LOCATION": (
        "定位无效，请在获取到定位后再签到",
        "The position is not valid; check in once the phone has a location fix",
    ),
    "TOO_MANY_POLICIES": ("送达政策不能超过 {max} 项", "At most {max} policies per visit"),
    "INVALID_PHOTO": (
        "照片无效：须为本人上传、尚未使用的 JPEG、PNG 或 HEIC 图片",
        "Invalid photo: it must be a JPEG, PNG or HEIC image you uploaded and have not used yet",
    ),
    "ENDS_BEFORE_START": ("结束时间不能早于走访时间", "The end time is before the visit time"),
    "TOO_MANY_DEMANDS": (
        "一次走访最多登记 {max} 条诉求",
        "At most {max} demands can be raised in one visit",
    ),
    "PLANNED_IN_PAST": ("计划走访时间不能早于当前时间", "A visit cannot be planned in the past"),
    "VISIT_INVALID_STATUS": (
        "走访当前为「{status}」状态，不能执行此操作",
        "The visit is {status}; this is not possible now",
    ),
    "VISIT_ALREADY_COMPLETED": (
        "该走访已由他人登记完成，无需再次登记或取消",
        "This visit has already been logged; it needs no completing or cancelling again",
    ),
    "VISIT_LOCKED": (
        "走访记录已超过可修改时限，不能再修改",
        "The visit record is past its editing window and locked",
    ),
}

VISIT_LABELS: dict[str, tuple[str, str]] = {
    "leadId": ("带队领导", "Lead visitor"),
    "participantIds": ("陪同人员", "Accompanying cadres"),
    "mode": ("走访方式", "Visit mode"),
    "visitedAt": ("走访时间", "Visit time"),
    "endedAt": ("结束时间", "End time"),
    "plannedAt": ("计划走访时间", "Planned time"),
    "purpose": ("走访事由", "Purpose"),
    "notes": ("走访情况", "Notes"),
    "policies": ("送达政策", "Policies delivered"),
    "policyId": ("政策", "Policy"),
    "photoIds": ("照片", "Photos"),
    "checkIn": ("签到定位", "Check-in"),
    "latitude": ("纬度", "Latitude"),
    "longitude": ("经度", "Longitude"),
    "accuracy": ("定位精度", "Accuracy"),
    "clientId": ("客户端编号", "Client id"),
    "visitId": ("走访", "Visit"),
    "demands": ("诉求", "Demands"),
}

VISIT_STATUS_NAMES: dict[str, tuple[str, str]] = {
    "PLANNED": ("计划中", "planned"),
    "COMPLETED": ("已完成", "completed"),
    "CANCELLED": ("已取消", "cancelled"),
}
