"""What people read about service points, their procedures and appointments (zh, en)."""

from __future__ import annotations

SERVICE_POINT_MESSAGES: dict[str, tuple[str, str]] = {
    "INVALID_OPENING_HOURS": (
        "营业时间有误（{weekday}）：{reason}",
        "Opening hours are not valid ({weekday}): {reason}",
    ),
    "INVALID_PHONE": (
        "电话号码无效（须为中国大陆手机号或带区号的固定电话）",
        "Not a valid phone number: give a mainland mobile number or a landline with its area code",
    ),
    "DEPARTMENT_NOT_SERVING": (
        "该部门不属于服务点所在区域或其上级、下级区域",
        "The department belongs neither to the service point's region, above it, nor below it",
    ),
    "DUPLICATE_MATERIAL": (
        "材料「{value}」重复",
        "The material {value} is listed twice",
    ),
    "PROMISED_OVER_STATUTORY": (
        "承诺时限（{promised} 个工作日）不能超过法定时限（{statutory} 个工作日）",
        "The promised limit ({promised} working days) exceeds the statutory one ({statutory})",
    ),
    "SERVICE_POINT_REQUIRED": (
        "帮办员角色必须指定服务点",
        "A service agent grant needs a service point",
    ),
    "SERVICE_POINT_NOT_ALLOWED": (
        "只有帮办员角色可以指定服务点",
        "Only a service agent grant names a service point",
    ),
    "SERVICE_POINT_OUT_OF_REGION": (
        "服务点不在该区域内",
        "The service point does not lie in that region",
    ),
    # Appointments (预约).
    "INVALID_SLOT": (
        "该时间不是服务点当天可预约的时段",
        "That time is not one of the service point's slots on that day",
    ),
    "SLOT_IN_PAST": ("不能预约已开始或已过去的时段", "That slot has already started"),
    "SLOT_TOO_FAR": (
        "只能预约 {days} 天内的时段",
        "Slots can be booked at most {days} days ahead",
    ),
    "SLOT_FULL": ("该时段已约满，请选择其他时段", "That slot is full; choose another one"),
    "ALREADY_BOOKED": (
        "该企业已预约此时段",
        "This enterprise already has an appointment in that slot",
    ),
    "APPOINTMENT_NOT_BOOKED": (
        "该预约已取消",
        "The appointment is already cancelled",
    ),
    "APPOINTMENT_STARTED": (
        "预约时段已开始，不能取消",
        "The appointment has started and can no longer be cancelled",
    ),
}

# Labels the demand and visit modules already give (description, departmentId, enterpriseId,
# reason) are theirs.
SERVICE_POINT_LABELS: dict[str, tuple[str, str]] = {
    "openingHours": ("营业时间", "Opening hours"),
    "phone": ("联系电话", "Phone"),
    "slotMinutes": ("每个预约时段的分钟数", "Slot length in minutes"),
    "slotCapacity": ("每个预约时段可约数", "Appointments per slot"),
    "servicePointId": ("服务点", "Service point"),
    "procedureId": ("事项", "Procedure"),
    "materials": ("材料清单", "Materials"),
    "statutoryDays": ("法定时限（工作日）", "Statutory limit (working days)"),
    "promisedDays": ("承诺时限（工作日）", "Promised limit (working days)"),
    "fees": ("收费标准", "Fees"),
    "onlineUrl": ("网上办理地址", "Online address"),
    "startsAt": ("预约时段", "Slot"),
}

# Named parameters of INVALID_OPENING_HOURS, shown by their names.
WEEKDAY_NAMES: dict[str, tuple[str, str]] = {
    "MON": ("星期一", "Monday"),
    "TUE": ("星期二", "Tuesday"),
    "WED": ("星期三", "Wednesday"),
    "THU": ("星期四", "Thursday"),
    "FRI": ("星期五", "Friday"),
    "SAT": ("星期六", "Saturday"),
    "SUN": ("星期日", "Sunday"),
}
SCHEDULE_REASONS: dict[str, tuple[str, str]] = {
    "UNKNOWN_WEEKDAY": ("不是有效的星期", "not a day of the week"),
    "DUPLICATE_WEEKDAY": ("同一天只能填写一次", "the day is listed twice"),
    "TOO_MANY_PERIODS": ("每天最多 4 个时间段", "at most 4 periods a day"),
    "BAD_PERIOD": ("时间段须包含开始和结束时间", "a period has a start and an end"),
    "BAD_TIME": ("时间格式须为 HH:MM", "times are HH:MM"),
    "ENDS_BEFORE_START": ("开始时间须早于结束时间", "a period must start before it ends"),
    "OVERLAP": ("时间段不能重叠", "periods overlap"),
}
SERVICE_POINT_NAMED_PARAMS = {"weekday": WEEKDAY_NAMES, "reason": SCHEDULE_REASONS}
