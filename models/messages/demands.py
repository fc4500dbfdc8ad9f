"""What people read about demands: refusal messages, state and action names (zh, en)."""

from __future__ import annotations

DEMAND_MESSAGES: dict[str, tuple[str, str]] = {
    "INVALID_STATE": (
        "诉求当前为「{state}」状态，不能执行「{action}」",
        "The demand is {state}; {action} is not possible now",
    ),
    "CONFLICT": (
        "诉求已被他人处理，请刷新后重试",
        "Someone else acted on this demand first; reload and try again",
    ),
    "PENDING_REQUEST": (
        "该诉求有待审批的申请，请等待审批结果",
        "A request on this demand is waiting for a decision",
    ),
    "NO_PENDING_REQUEST": ("没有待审批的申请", "There is no request waiting for a decision"),
    # Each cause its own code (they replace RETURN_NOT_ALLOWED and EXTENSION_NOT_ALLOWED).
    "RETURN_WINDOW_CLOSED": (
        "退单期限已过（截至 {until}）",
        "The return window has closed (it ended on {until})",
    ),
    "EXTENSION_PAST_DEADLINE": (
        "已超过办理期限（{until}），不能申请延期",
        "Past the deadline ({until}): an extension can no longer be requested",
    ),
    "EXTENSION_CAP_USED_UP": (
        "延期额度已用完（累计上限 {cap} 个工作日）",
        "The extension cap of {cap} working days is used up",
    ),
    "EXTENSION_CAP_EXCEEDED": (
        "延期天数超出上限，最多还可申请 {max} 个工作日（累计上限 {cap} 个工作日）",
        "Too many days: at most {max} more working days (cap {cap})",
    ),
    # They replace APPEAL_NOT_ALLOWED.
    "NO_BAD_RATING": ("只有差评可以申诉", "Only a bad rating can be appealed"),
    "ALREADY_APPEALED": (
        "该评价已申诉过，每个评价只能申诉一次",
        "This rating has already been appealed; a rating can be appealed once",
    ),
    "ESCALATION_AT_MAXIMUM": ("已是最高督办级别", "Already at the highest escalation level"),
    "INVALID_ESCALATION_LEVEL": (
        "督办级别须高于当前级别（{current}）且不超过 3",
        "The level must be above the current one ({current}) and at most 3",
    ),
    "INVALID_MERGE_TARGET": (
        "只能合并到另一件未办结的诉求",
        "A demand can only be merged into another open demand",
    ),
    "SOURCE_NOT_ALLOWED": (
        "您不能登记来源为「{value}」的诉求",
        "You cannot record a demand from source {value}",
    ),
    "INVALID_LIMIT": ("办理时限须为 1 到 365 个工作日", "The limit must be 1 to 365 working days"),
    "INVALID_DAYS": ("天数须为正整数", "The number of days must be positive"),
    "DUPLICATE_DEPARTMENT": (
        "协办部门不能与主办部门相同",
        "An assisting department cannot also be the lead department",
    ),
    "TOO_MANY_ATTACHMENTS": ("附件最多 {max} 个", "At most {max} attachments"),
    "CLIENT_ID_REUSED": (
        "该请求编号已用于另一个内容不同的操作",
        "This client id was already used for a call with different content",
    ),
    "INVALID_CLIENT_MUTATION_ID": (
        "请求编号无效（应为 UUID 或 1-64 个字符）",
        "The client id must be a UUID (or 1 to 64 characters where any id is taken)",
    ),
    "INVALID_POLICY_VALUE": ("政策参数取值无效：{label}", "Invalid policy value: {label}"),
    "DUPLICATE_CODE": ("编码已存在", "This code is already in use"),
}

STATE_NAMES: dict[str, tuple[str, str]] = {
    "DRAFT": ("草稿", "Draft"),
    "SUBMITTED": ("待受理", "Submitted"),
    "DISPATCHED": ("待签收", "Dispatched"),
    "IN_PROGRESS": ("办理中", "In progress"),
    "PENDING_APPROVAL": ("待审批", "Pending approval"),
    "PENDING_REVIEW": ("待审核", "Pending review"),
    "PENDING_VISIT": ("待回访", "Pending return visit"),
    "CLOSED": ("已办结", "Closed"),
    "REJECTED": ("不予受理", "Rejected"),
    "WITHDRAWN": ("已撤回", "Withdrawn"),
    "MERGED": ("已合并", "Merged"),
    "SUSPENDED": ("已中止", "Suspended"),
}

ACTION_NAMES: dict[str, tuple[str, str]] = {
    "SUBMIT": ("提交", "submit"),
    "REJECT": ("不予受理", "reject"),
    "ANSWER_DIRECTLY": ("直接办结", "answer directly"),
    "MERGE": ("合并", "merge"),
    "DISPATCH": ("派单", "dispatch"),
    "CLAIM": ("签收", "claim"),
    "RETURN": ("退单", "return"),
    "DECIDE_RETURN": ("审批退单", "decide the return"),
    "REQUEST_EXTENSION": ("申请延期", "request an extension"),
    "DECIDE_EXTENSION": ("审批延期", "decide the extension"),
    "SUSPEND": ("申请中止", "suspend"),
    "DECIDE_SUSPENSION": ("审批中止", "decide the suspension"),
    "RESUME": ("恢复办理", "resume"),
    "REPLY": ("答复", "reply"),
    "APPROVE_REPLY": ("审批答复", "approve the reply"),
    "REVIEW_REPLY": ("审核答复", "review the reply"),
    "RECORD_RETURN_VISIT": ("回访", "record a return visit"),
    "RATE": ("评价", "rate"),
    "ESCALATE": ("督办", "escalate"),
    "WITHDRAW": ("撤回", "withdraw"),
    "APPEAL_RATING": ("申诉", "appeal the rating"),
    "DECIDE_APPEAL": ("审理申诉", "decide the appeal"),
}

# What an allowed action's button may say beside it (ActionState.hint), by action.
ACTION_HINTS: dict[str, tuple[str, str]] = {
    "RETURN": ("退单截至 {until}", "Can be returned until {until}"),
    "REQUEST_EXTENSION": (
        "还可延期 {remaining} 个工作日（截至 {until}）",
        "{remaining} more working days may be requested (until {until})",
    ),
    "REPLY": ("答复期限 {due}", "Reply due {due}"),
}

DEMAND_LABELS: dict[str, tuple[str, str]] = {
    "title": ("标题", "Title"),
    "description": ("诉求内容", "Description"),
    "reason": ("理由", "Reason"),
    "answer": ("答复内容", "Answer"),
    "text": ("答复内容", "Reply text"),
    "comment": ("评价意见", "Comment"),
    "outcome": ("办理结果", "Outcome"),
    "rating": ("满意度", "Rating"),
    "categoryId": ("诉求类别", "Category"),
    "urgency": ("紧急程度", "Urgency"),
    "source": ("诉求来源", "Source"),
    "enterpriseId": ("企业", "Enterprise"),
    "departmentId": ("承办部门", "Department"),
    "demandId": ("诉求", "Demand"),
    "intoId": ("合并目标", "Merge target"),
    "limitDays": ("办理时限", "Limit"),
    "days": ("天数", "Days"),
    "level": ("督办级别", "Level"),
    "workOrderPrefix": ("工单号前缀", "Work-order number prefix"),
}
