"""The demand's vocabulary: states, sources, urgencies, outcomes, ratings and actions."""

from __future__ import annotations

from enum import StrEnum


class DemandState(StrEnum):
    DRAFT = "DRAFT"  # captured offline, not yet submitted
    SUBMITTED = "SUBMITTED"  # 待受理
    DISPATCHED = "DISPATCHED"  # 待签收
    IN_PROGRESS = "IN_PROGRESS"  # 办理中
    PENDING_APPROVAL = "PENDING_APPROVAL"  # 待审批 (department leader's sign-off)
    PENDING_REVIEW = "PENDING_REVIEW"  # 待审核 (dispatcher's check)
    PENDING_VISIT = "PENDING_VISIT"  # 待回访
    CLOSED = "CLOSED"  # 已办结
    REJECTED = "REJECTED"  # 不予受理
    WITHDRAWN = "WITHDRAWN"  # 撤回
    MERGED = "MERGED"  # 合并 (duplicate of another)
    SUSPENDED = "SUSPENDED"  # 中止 (clock stopped)


# A demand is "open" while somebody still owes work on it; only open demands can be overdue.
FINAL_STATES = frozenset(
    {DemandState.CLOSED, DemandState.REJECTED, DemandState.WITHDRAWN, DemandState.MERGED}
)
OPEN_STATES = frozenset(DemandState) - FINAL_STATES - {DemandState.DRAFT}
# States whose deadline clock runs: dispatched and not yet replied, not suspended.
CLOCK_STATES = frozenset(
    {DemandState.DISPATCHED, DemandState.IN_PROGRESS, DemandState.PENDING_APPROVAL}
)


class DemandSource(StrEnum):
    VISIT = "VISIT"
    APP = "APP"
    HOTLINE_12345 = "HOTLINE_12345"
    SERVICE_POINT = "SERVICE_POINT"
    OTHER = "OTHER"


class Urgency(StrEnum):
    NORMAL = "NORMAL"  # 一般
    URGENT = "URGENT"  # 紧急
    CRITICAL = "CRITICAL"  # 特急


class ReplyOutcome(StrEnum):
    RESOLVED = "RESOLVED"  # 已解决
    EXPLAINED = "EXPLAINED"  # 已解释
    PARTIAL = "PARTIAL"  # 部分解决


class Satisfaction(StrEnum):
    """The five national levels of 好差评."""

    VERY_SATISFIED = "VERY_SATISFIED"
    SATISFIED = "SATISFIED"
    BASIC = "BASIC"
    DISSATISFIED = "DISSATISFIED"
    VERY_DISSATISFIED = "VERY_DISSATISFIED"


BAD_RATINGS = frozenset({Satisfaction.DISSATISFIED, Satisfaction.VERY_DISSATISFIED})


class RejectReason(StrEnum):
    NOT_IN_SCOPE = "NOT_IN_SCOPE"  # 不属于受理范围
    DUPLICATE = "DUPLICATE"  # 重复诉求
    INSUFFICIENT_INFO = "INSUFFICIENT_INFO"  # 信息不全无法办理
    LEGAL_PROCEEDINGS = "LEGAL_PROCEEDINGS"  # 已进入诉讼、仲裁等法定程序
    OTHER = "OTHER"


class ClosureKind(StrEnum):
    SATISFIED = "SATISFIED"  # rated at a satisfied level
    UNREACHED = "UNREACHED"  # return visit failed the policy's number of times
    APPEAL_UPHELD = "APPEAL_UPHELD"  # reopened by a bad rating the supervisor found unfair


class PendingKind(StrEnum):
    """A request waiting for someone's decision; the demand's state does not change meanwhile."""

    RETURN = "RETURN"  # 退单
    EXTENSION = "EXTENSION"  # 延期
    SUSPENSION = "SUSPENSION"  # 中止
    APPEAL = "APPEAL"  # 申诉


class RequestDecision(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REFUSED = "REFUSED"


class RectificationState(StrEnum):
    OPEN = "OPEN"  # 整改中
    DONE = "DONE"  # 已整改 (replied again)
    WAIVED = "WAIVED"  # appeal upheld: the bad rating stays in the record, out of rankings


class DemandAction(StrEnum):
    """Every transition, as the app's buttons and the timeline name them."""

    SUBMIT = "SUBMIT"
    REJECT = "REJECT"
    ANSWER_DIRECTLY = "ANSWER_DIRECTLY"
    MERGE = "MERGE"
    DISPATCH = "DISPATCH"
    CLAIM = "CLAIM"
    RETURN = "RETURN"
    DECIDE_RETURN = "DECIDE_RETURN"
    REQUEST_EXTENSION = "REQUEST_EXTENSION"
    DECIDE_EXTENSION = "DECIDE_EXTENSION"
    SUSPEND = "SUSPEND"
    DECIDE_SUSPENSION = "DECIDE_SUSPENSION"
    RESUME = "RESUME"
    REPLY = "REPLY"
    APPROVE_REPLY = "APPROVE_REPLY"
    REVIEW_REPLY = "REVIEW_REPLY"
    RECORD_RETURN_VISIT = "RECORD_RETURN_VISIT"
    RATE = "RATE"
    ESCALATE = "ESCALATE"
    WITHDRAW = "WITHDRAW"
    APPEAL_RATING = "APPEAL_RATING"
    DECIDE_APPEAL = "DECIDE_APPEAL"
